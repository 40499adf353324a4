"""Fixtures of the flow tests: a repo copy with a tiny drop to run the flow in; a platform
state folder."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest

from flows import platform
from reactdiff.tracking import PARENT_RUN_ENV
from tests.helpers.repo import repo_copy_env, tiny_params


@pytest.fixture
def in_repo_copy(tmp_path, monkeypatch) -> tuple[Path, str]:
    """cwd = a committed repo copy (`dvc exp run` needs a commit) with tiny params; returns it
    and its private MLflow store's URI."""
    work, env = repo_copy_env(tmp_path, commit=True)
    tiny_params(work / "params.yaml")
    monkeypatch.chdir(work)
    monkeypatch.setenv("PATH", env["PATH"])
    monkeypatch.setenv("MLFLOW_TRACKING_URI", env["MLFLOW_TRACKING_URI"])
    monkeypatch.delenv(PARENT_RUN_ENV, raising=False)
    return work, env["MLFLOW_TRACKING_URI"]


@pytest.fixture
def state_dir() -> Path:
    """A short state folder (PostgreSQL's socket path is limited to 107 bytes) that the
    unprivileged PostgreSQL user can reach when the tests run as root: pytest's own tmp_path
    lies under a 0700 folder of root's."""
    try:
        platform.pg_bindir()
    except platform.PostgresMissing as exc:
        pytest.skip(str(exc))
    folder = Path(tempfile.mkdtemp(prefix="rd-platform-"))
    folder.chmod(0o711)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)
