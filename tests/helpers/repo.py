"""A temp copy of the repo, shrunk to a tiny drop, to run DVC and the flows in."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def copy_repo(dst: Path, commit: bool = False) -> Path:
    """The repo's tracked and untracked (not ignored) files, minus data and dvc.lock, in a fresh
    git repo; ``commit`` makes a first commit, which `dvc exp run` needs."""
    files = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    for rel in files:
        if (REPO / rel).is_file() and not rel.startswith("data/") and rel != "dvc.lock":
            (dst / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / rel, dst / rel)
    subprocess.run(["git", "init", "-q"], cwd=dst, check=True)
    if commit:
        git = ["git", "-c", "user.name=test", "-c", "user.email=test@example.com"]
        subprocess.run(["git", "add", "-A"], cwd=dst, check=True)
        subprocess.run([*git, "commit", "-qm", "copy"], cwd=dst, check=True)
    return dst


def tiny_params(path: Path, **data_overrides) -> None:
    params = yaml.safe_load(path.read_text())
    params["data"]["synthetic"].update(sessions=3, clips_per_session=1, workers=1)
    params["data"].update(data_overrides)
    params["train_mmt"].update(epochs=2, batch_size=4)
    params["train_ddim"].update(epochs=2, batch_size=16)
    params["sampling"]["steps"] = 4
    params["evaluate"]["samples"] = 3
    path.write_text(yaml.safe_dump(params, sort_keys=False))


def tiny_mars_params(path: Path) -> None:
    """``tiny_params`` switched to a synthetic REACT 2025 drop of 3 dyads x 2 sessions, clips of
    10-20 s, trained on 300-frame windows."""
    tiny_params(path, format="react2025")
    params = yaml.safe_load(path.read_text())
    params["data"]["synthetic"]["react2025"].update(
        dyads=3, sessions=2, min_seconds=10, max_seconds=20
    )
    params["train_mmt"]["clip_frames"] = 300
    params["evaluate"]["gt_samples"] = 2
    path.write_text(yaml.safe_dump(params, sort_keys=False))


def run(cmd: list[str], cwd: Path, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)


def repo_copy_env(tmp_path: Path, commit: bool = False) -> tuple[Path, dict]:
    """A repo copy in ``tmp_path/repo`` and an environment whose MLflow store is private
    (``tmp_path/mlflow.db``) and whose PATH finds this venv's `dvc` and `reactdiff`."""
    work = copy_repo(tmp_path / "repo", commit)
    env = {
        **os.environ,
        "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}",
        "MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path / 'mlflow.db'}",
    }
    env.pop("REACTDIFF_PARENT_RUN_ID", None)
    return work, env
