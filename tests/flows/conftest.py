"""Fixtures of the flow tests: a repo copy with a tiny drop to run the flow in."""

from __future__ import annotations

from pathlib import Path

import pytest

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
