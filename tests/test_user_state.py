"""The session check that tests leave the user's MLflow store and Prefect state alone."""

from __future__ import annotations

import os

from tests.helpers.stores import changes, snapshot


def test_the_check_sees_a_write_into_the_users_store(tmp_path):
    (tmp_path / "mlflow.db").write_bytes(b"runs")
    (tmp_path / ".prefect-local").mkdir()
    (tmp_path / ".prefect-local" / "server.pid").write_text("1")
    before = snapshot(tmp_path)
    assert changes(before, snapshot(tmp_path)) == []
    (tmp_path / "mlflow.db").write_bytes(b"runs + a FAILED features run")
    (tmp_path / "mlruns").mkdir()
    (tmp_path / "mlruns" / "meta.yaml").write_text("x")
    os.utime(tmp_path / ".prefect-local" / "server.pid", ns=(1, 1))
    assert changes(before, snapshot(tmp_path)) == [
        f"created {tmp_path / 'mlruns' / 'meta.yaml'}",
        f"changed {tmp_path / '.prefect-local' / 'server.pid'}",
        f"changed {tmp_path / 'mlflow.db'}",
    ]


def test_tests_use_a_private_store():
    assert os.environ["MLFLOW_TRACKING_URI"].startswith("sqlite:///")
    assert "reactdiff-tests-mlflow-" in os.environ["MLFLOW_TRACKING_URI"]
