"""The telemetry switches are written once (reactdiff/telemetry.py) and reach every way in:
the package import, the services of ops/, the tools the Makefile runs."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from reactdiff.telemetry import NO_TELEMETRY, disable_telemetry
from tests.helpers.repo import REPO


def _without_switches() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in NO_TELEMETRY}


USERS = next(iter(NO_TELEMETRY))  # a switch the user set (named here by the module alone)


def test_importing_the_package_turns_every_switch_off_but_keeps_the_users():
    env = {**_without_switches(), USERS: "mine"}
    code = "import json, os, reactdiff; print(json.dumps(dict(os.environ)))"
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    seen = json.loads(done.stdout)
    assert {k: seen[k] for k in NO_TELEMETRY} == {**NO_TELEMETRY, USERS: "mine"}


def test_disable_telemetry_fills_a_mapping():
    env = {USERS: "mine"}
    disable_telemetry(env)
    assert env == {**NO_TELEMETRY, USERS: "mine"}


def test_the_makefile_exports_the_switches(tmp_path):
    probe = tmp_path / "probe.mk"
    probe.write_text("probe:\n\t@env\n")
    done = subprocess.run(
        ["make", "-s", "-f", "Makefile", "-f", str(probe), "probe"],
        cwd=REPO,
        env=_without_switches(),
        capture_output=True,
        text=True,
        check=True,
    )
    exported = dict(line.split("=", 1) for line in done.stdout.splitlines() if "=" in line)
    assert {k: exported.get(k) for k in NO_TELEMETRY} == NO_TELEMETRY


def test_no_other_file_sets_a_switch():
    files = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    found = []
    for rel in files:
        path = REPO / rel
        if rel == "reactdiff/telemetry.py" or rel.startswith("data/") or not path.is_file():
            continue
        text = path.read_bytes().decode(errors="ignore")
        found += [f"{rel}: {name}" for name in NO_TELEMETRY if name in text]
    assert found == [], "set the switches in reactdiff/telemetry.py only"
