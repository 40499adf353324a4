"""flows.workspace on a two-stage DVC repo: what the orchestrator hands over and refuses to, the
worker's clone, and the run-cache round trip that brings a stage run elsewhere back, with its
`cache: false` outputs."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from flows.dvc_stages import dvc_command
from flows.workspace import (
    REMOTE_ENV,
    WORKSPACE_REMOTE,
    Handoff,
    WorkspaceError,
    make_handoff,
    prepare,
    push_uncached_outputs,
    workspace_path,
)
from reactdiff.cli import RESTORE_ONLY_ENV, app
from tests.helpers.repo import BIN

DVC_YAML = {
    "stages": {
        "make": {
            "cmd": "python make.py",
            "deps": ["make.py"],
            "params": ["n"],
            "outs": ["out"],
        },
        "train": {
            "cmd": "python train.py",
            "deps": ["train.py", "out"],
            "outs": ["model.txt"],
            "metrics": [{"metrics.json": {"cache": False}}],
        },
    }
}
MAKE = "import pathlib, yaml\nn = yaml.safe_load(open('params.yaml'))['n']\n" + (
    "pathlib.Path('out').mkdir(exist_ok=True); pathlib.Path('out/x').write_text(str(n))\n"
)
TRAIN = (
    "import json, os, pathlib\n"
    "assert not os.environ.get('" + RESTORE_ONLY_ENV + "'), 'ran where it was to be restored'\n"
    "x = pathlib.Path('out/x').read_text()\n"
    "pathlib.Path('model.txt').write_text(x * 3)\n"
    "pathlib.Path('metrics.json').write_text(json.dumps({'loss': len(x)}))\n"
)
GIT = ["git", "-c", "user.name=test", "-c", "user.email=test@example.com"]


@pytest.fixture
def env() -> dict[str, str]:
    return {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}


def _run(cmd: list[str], cwd: Path, env: dict[str, str]) -> str:
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    assert done.returncode == 0, (cmd, done.stdout, done.stderr)
    return done.stdout


@pytest.fixture
def orchestrator(tmp_path, env) -> Path:
    """A committed two-stage DVC repo with a DVC remote; `make` has run (after the commit)."""
    repo = tmp_path / "orchestrator"
    repo.mkdir()
    (repo / "dvc.yaml").write_text(yaml.safe_dump(DVC_YAML, sort_keys=False))
    (repo / "params.yaml").write_text("n: 1\n")
    (repo / "make.py").write_text(MAKE)
    (repo / "train.py").write_text(TRAIN)
    _run(["git", "init", "-q"], repo, env)
    _run(["dvc", "init", "-q"], repo, env)
    _run([*GIT, "add", "-A"], repo, env)
    _run([*GIT, "commit", "-qm", "pipeline"], repo, env)
    _run(["dvc", "remote", "add", "--local", "-d", "shared", str(tmp_path / "remote")], repo, env)
    (repo / "params.yaml").write_text("n: 7\n")  # changed after the commit: handed over
    _run(["dvc", "repro", "-s", "make"], repo, env)
    _run(["dvc", "push", "make"], repo, env)
    return repo


def test_the_handoff_carries_params_and_lock_and_refuses_other_changes(orchestrator, env):
    handoff = make_handoff(orchestrator)
    assert handoff.repository == str(orchestrator.resolve())  # no origin: the path
    assert handoff.commit == _run(["git", "rev-parse", "HEAD"], orchestrator, env).strip()
    assert handoff.files["params.yaml"] == "n: 7\n" and "make:" in handoff.files["dvc.lock"]
    assert handoff.dvc_remote == str(orchestrator.parent / "remote")
    assert Handoff(**handoff.as_dict()) == handoff  # a flow parameter survives JSON

    (orchestrator / "train.py").write_text(TRAIN + "# edited\n")
    (orchestrator / "notes.py").write_text("")
    with pytest.raises(WorkspaceError, match=r"2 file\(s\) .* differ from it: notes.py, train.py"):
        make_handoff(orchestrator)
    _run(["git", "checkout", "train.py"], orchestrator, env)
    (orchestrator / "notes.py").unlink()
    _run(["dvc", "remote", "remove", "--local", "shared"], orchestrator, env)
    with pytest.raises(WorkspaceError, match="no default DVC remote"):
        make_handoff(orchestrator)


def test_the_worker_clones_the_commit_once_and_follows_it(orchestrator, tmp_path, env):
    root = tmp_path / "workspaces"
    handoff = make_handoff(orchestrator)
    workspace = prepare(handoff, root, env)
    assert workspace == workspace_path(root, handoff.repository) and workspace.parent == root
    assert (workspace / "params.yaml").read_text() == "n: 7\n"
    assert (workspace / "dvc.lock").read_text() == handoff.files["dvc.lock"]
    assert _run(["dvc", "remote", "default"], workspace, env).strip() == WORKSPACE_REMOTE

    (orchestrator / "make.py").write_text(MAKE + "# v2\n")
    _run([*GIT, "commit", "-qam", "v2"], orchestrator, env)
    moved = prepare(make_handoff(orchestrator), root, {**env, REMOTE_ENV: "/mnt/elsewhere"})
    assert moved == workspace and (workspace / "make.py").read_text().endswith("# v2\n")
    listed = _run(["dvc", "remote", "list"], workspace, env)
    assert "/mnt/elsewhere" in listed  # the remote as this worker reaches it

    missing = Handoff(handoff.repository, "0" * 40, {}, handoff.dvc_remote)
    with pytest.raises(WorkspaceError, match="is not in"):
        prepare(missing, root, env)


@pytest.mark.parametrize("overrides", [{}, {"n": 12}], ids=["repro", "experiment"])
def test_a_stage_run_in_a_workspace_is_restored_from_the_run_cache(
    orchestrator, tmp_path, env, overrides
):
    """The commands the flows run (dvc_command): `dvc repro`, or `dvc exp run -S` when params
    are overridden, which every stage of the run repeats."""
    if overrides:
        _run(dvc_command("make", overrides), orchestrator, env)
        _run(["dvc", "push", "make"], orchestrator, env)
    workspace = prepare(make_handoff(orchestrator), tmp_path / "workspaces", env)
    _run(["dvc", "pull", "make"], workspace, env)
    _run(dvc_command("train", overrides, pull=True), workspace, env)
    _run(["dvc", "push", "--run-cache", "train"], workspace, env)
    assert push_uncached_outputs(workspace, "train") == 1  # metrics.json

    restore = {**env, RESTORE_ONLY_ENV: "train"}  # train.py fails if it runs
    out = _run(dvc_command("train", overrides, pull=True), orchestrator, restore)
    assert "Stage 'train' is cached - skipping run" in out
    n = str(overrides.get("n", 7))
    assert (orchestrator / "metrics.json").read_text() == f'{{"loss": {len(n)}}}'
    assert (orchestrator / "model.txt").read_text() == n * 3
    lock = (orchestrator / "dvc.lock").read_text()
    assert lock == (workspace / "dvc.lock").read_text()


def test_a_stage_command_refuses_to_run_where_it_was_to_be_restored(monkeypatch):
    monkeypatch.setenv(RESTORE_ONLY_ENV, "train_mmt")
    result = CliRunner().invoke(app, ["train-mmt"])
    assert result.exit_code == 2
    assert "stage 'train_mmt' ran on another machine" in result.output
    assert "the DVC remote lacks" in result.output
