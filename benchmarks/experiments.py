"""DVC experiments for the benchmarks that retrain (priors_ablation.py, seeds.py): run one with
``dvc exp run --temp -S key=value ...`` unless it exists, and read its metrics files.

Imported as ``experiments`` by the scripts next to it (``python benchmarks/<script>.py`` puts
this folder first on ``sys.path``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from reactdiff.config import load_params


def dvc(*args: str) -> subprocess.CompletedProcess:
    """dvc of this venv; the stages of a --temp experiment log to this checkout's MLflow store
    (the default store is a path relative to the workspace, which would be the temp copy's)."""
    bin_dir = str(Path(sys.executable).parent)
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}
    if "MLFLOW_TRACKING_URI" not in env:
        uri = load_params().tracking.default_uri
        if uri.startswith("sqlite:///") and not uri.startswith("sqlite:////"):
            uri = f"sqlite:///{Path(uri.removeprefix('sqlite:///')).resolve()}"
        env["MLFLOW_TRACKING_URI"] = uri
    return subprocess.run(["dvc", *args], env=env, text=True, capture_output=True)


def experiment_rev(name: str) -> str | None:
    """The commit of experiment ``name`` (its git ref ends with the name), or None."""
    refs = subprocess.run(
        ["git", "for-each-ref", "refs/exps", "--format=%(refname) %(objectname)"],
        text=True,
        capture_output=True,
        check=True,
    ).stdout.split("\n")
    found = [ref.split()[1] for ref in refs if ref and ref.split()[0].endswith(f"/{name}")]
    return found[-1] if found else None


def run_experiment(name: str, sets: dict[str, Any], rerun: bool) -> str:
    """The commit of experiment ``name`` with params ``sets``: run now unless it exists (or
    ``rerun``); the stages it does not change come from the cache."""
    rev = experiment_rev(name)
    if rev is not None and rerun:
        dvc("exp", "remove", name)
    if rev is None or rerun:
        args = ["exp", "run", "--temp", "-n", name]
        for key, value in sets.items():
            args += ["-S", f"{key}={value}"]
        print(f"{name}: dvc {' '.join(args)}", flush=True)
        result = dvc(*args)
        if result.returncode != 0:
            raise SystemExit(f"{name} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
        rev = experiment_rev(name)
        if rev is None:
            raise SystemExit(f"{name}: dvc exp run succeeded but no experiment ref was found")
    return rev


def metrics_at(rev: str, path: Path) -> dict:
    """The metrics JSON ``path`` (relative to the repository) as experiment ``rev`` wrote it."""
    shown = subprocess.run(
        ["git", "show", f"{rev}:{path.as_posix()}"], text=True, capture_output=True, check=True
    )
    return json.loads(shown.stdout)
