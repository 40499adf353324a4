"""The CPU deployment on a real Prefect server and process worker (ops.prefect_stack, as used
by `make prefect-up`), triggered on a tiny drop and waited for."""

from __future__ import annotations

import pytest

from ops import prefect_stack
from ops.supervisor import free_port
from tests.helpers.repo import repo_copy_env, tiny_params

STAGES = ["data", "validate", "split"]
WAIT_S = 300


@pytest.mark.slow
def test_cpu_deployment_completes_every_stage(tmp_path, monkeypatch):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId
    from prefect.deployments import run_deployment
    from prefect.settings import PREFECT_API_URL, temporary_settings

    work, env = repo_copy_env(tmp_path)
    tiny_params(work / "params.yaml")
    monkeypatch.chdir(work)  # `prefect deploy` reads ./prefect.yaml; the pull step moves here
    monkeypatch.setenv("PATH", env["PATH"])
    monkeypatch.setenv("MLFLOW_TRACKING_URI", env["MLFLOW_TRACKING_URI"])
    monkeypatch.setenv("PREFECT_WORKER_QUERY_SECONDS", "2")  # pick the run up quickly
    port, state = free_port(), tmp_path / "prefect"
    try:
        prefect_stack.up(port, ["cpu"], state)
        with temporary_settings({PREFECT_API_URL: prefect_stack.api_url(port)}):
            flow_run = run_deployment(
                "reactdiff-pipeline/cpu", parameters={"stages": STAGES}, timeout=WAIT_S
            )
            with get_client(sync_client=True) as client:
                task_runs = client.read_task_runs(
                    flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run.id]))
                )
    finally:
        stopped = prefect_stack.down(state)
    assert stopped == ["worker-cpu", "server"]
    assert flow_run.state.is_completed(), (flow_run.state, (state / "worker-cpu.log").read_text())
    assert sorted(t.name for t in task_runs) == sorted([*STAGES, "dvc push"])
    assert all(t.state.is_completed() for t in task_runs)
