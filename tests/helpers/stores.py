"""Tests keep to their own MLflow stores, and leave the user's (and Prefect's local state)
exactly as they found them."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
# what a test run must not change in the checkout it runs from
USER_STATE = ("mlflow.db", "mlruns", "mlartifacts", ".prefect-local")


def private_store(directory: Path, experiments: tuple[str, ...]) -> str:
    """A SQLite store in ``directory`` whose ``experiments`` keep their artifacts there too.

    MLflow puts a new experiment's artifacts under ``./mlruns`` of the working directory (the
    checkout, in tests), whatever the store: so the experiments are created here first."""
    from mlflow import MlflowClient

    directory.mkdir(parents=True, exist_ok=True)
    uri = f"sqlite:///{directory / 'mlflow.db'}"
    client = MlflowClient(uri)
    for name in experiments:
        if client.get_experiment_by_name(name) is None:
            location = (directory / "artifacts" / name).as_uri()
            client.create_experiment(name, artifact_location=location)
    return uri


def snapshot(repo: Path = REPO) -> dict[str, str]:
    """Every file of the user's state: its content hash (the store) or size and mtime."""
    state = {}
    for name in USER_STATE:
        top = repo / name
        files = [top] if top.is_file() else sorted(p for p in top.rglob("*") if p.is_file())
        for path in files:
            if path.name == "mlflow.db":
                state[str(path)] = hashlib.sha256(path.read_bytes()).hexdigest()
            else:
                st = path.stat()
                state[str(path)] = f"{st.st_size} {st.st_mtime_ns}"
    return state


def changes(before: dict[str, str], after: dict[str, str]) -> list[str]:
    lines = [f"created {p}" for p in sorted(after.keys() - before.keys())]
    lines += [f"deleted {p}" for p in sorted(before.keys() - after.keys())]
    lines += [f"changed {p}" for p in sorted(before.keys() & after.keys()) if before[p] != after[p]]
    return lines


def environment_store(directory: Path, experiments: tuple[str, ...]) -> str:
    """Make ``private_store(directory)`` the store of this process and its children."""
    uri = private_store(directory, experiments)
    os.environ["MLFLOW_TRACKING_URI"] = uri
    return uri
