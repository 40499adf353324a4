"""The platform of `make platform-up` (flows.platform): a real PostgreSQL, and the MLflow and
Prefect servers on it, used over HTTP as a client elsewhere would, then stopped."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path

import pytest

from flows import platform
from reactdiff.processes import pid_alive


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


def _group_gone(pid: int) -> bool:
    try:
        os.killpg(pid, 0)
    except ProcessLookupError:
        return True
    return False


def _query(p: platform.Platform, database: str, query: str, *args: object) -> list[tuple]:
    """The rows of ``query`` in ``database``, read directly with the generated credentials."""
    with contextlib.closing(p.connect(database)) as conn, conn.cursor() as cur:
        cur.execute(query, args)
        return cur.fetchall()


def _mlflow_roundtrip(p: platform.Platform, tmp: Path) -> None:
    """A run with a metric and an artifact, over HTTP; the artifact back over HTTP; the run
    and its metric in PostgreSQL, the artifact in the server's artifact folder."""
    import mlflow
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=p.mlflow_uri)
    experiment_id = client.create_experiment("platform-smoke")
    run_id = client.create_run(experiment_id).info.run_id
    client.log_metric(run_id, "loss", 0.25)
    note = tmp / "note.txt"
    note.write_text("logged over HTTP\n")
    client.log_artifact(run_id, str(note))
    client.set_terminated(run_id)

    got = mlflow.artifacts.download_artifacts(
        run_id=run_id,
        artifact_path="note.txt",
        dst_path=str(tmp / "back"),
        tracking_uri=p.mlflow_uri,
    )
    assert Path(got).read_text() == "logged over HTTP\n"
    assert list((p.state / "mlartifacts").rglob("note.txt")), "the server did not store it"
    assert _query(p, "mlflow", "SELECT status FROM runs WHERE run_uuid = %s", run_id) == [
        ("FINISHED",)
    ]
    metric = "SELECT value FROM metrics WHERE run_uuid = %s AND key = 'loss'"
    assert _query(p, "mlflow", metric, run_id) == [(0.25,)]


def _prefect_roundtrip(p: platform.Platform) -> None:
    """A flow run against the server: the client reads it back, and it is a row of the
    `prefect` database."""
    from prefect import flow
    from prefect.client.orchestration import get_client
    from prefect.logging.handlers import APILogWorker
    from prefect.settings import PREFECT_API_URL, temporary_settings

    @flow(name="platform-smoke")
    def smoke(x: int) -> int:
        return x + 1

    with temporary_settings({PREFECT_API_URL: p.prefect_api_url}):
        state = smoke(1, return_state=True)
        assert state.is_completed() and state.result() == 2
        flow_run_id = state.state_details.flow_run_id
        with get_client(sync_client=True) as client:
            flow_run = client.read_flow_run(flow_run_id)
        APILogWorker.drain_all(timeout=10)  # its logs reach the server before it stops
    assert flow_run.state.is_completed()
    rows = _query(p, "prefect", "SELECT name FROM flow_run WHERE id = %s", str(flow_run_id))
    assert rows == [(flow_run.name,)]


@pytest.mark.slow
def test_platform_serves_mlflow_and_prefect_from_postgres(state_dir, tmp_path):
    ports = platform.Ports.free()
    with platform.running_platform(state_dir, ports) as p:
        pids = platform.running(state_dir)
        assert all(pids.values()), pids
        assert (state_dir / "credentials.env").stat().st_mode & 0o777 == 0o600
        with pytest.raises(platform.AlreadyRunning):
            platform.up(state_dir, ports)
        assert all(pid_alive(pid) for pid in pids.values()), "a second `up` stopped it"

        _mlflow_roundtrip(p, tmp_path)
        _prefect_roundtrip(p)

        assert platform.down(state_dir) == ["prefect", "mlflow", "postgres"]
    assert all(_group_gone(pid) for pid in pids.values()), pids
    assert all(platform._port_free(port) for port in (ports.pg, ports.mlflow, ports.prefect))
    assert not (state_dir / "postgres" / "postmaster.pid").exists()
    assert platform.down(state_dir) == []  # nothing left to stop, and no error
