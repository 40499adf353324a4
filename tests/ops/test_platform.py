"""The platform of `make platform-up` (ops.platform) as several machines on one: a real
PostgreSQL with the MLflow and Prefect servers on it, a `cpu` worker in the orchestrator's
checkout, and a `gpu`-pool worker that sees neither that checkout nor MLflow's database. The
reactdiff-pipeline/gpu-workspace deployment runs on a tiny synthetic REACT 2025 (MARS) drop: its
training stages run in the gpu worker's own clone, their data goes through the DVC remote and
their MLflow runs through the tracking server, which keeps them in PostgreSQL. Then everything
is stopped.

It is also the end-to-end test of the pipeline flow itself (statuses, nested runs, Prefect
artifacts, registered models, the 2025 protocol): tests/test_pipeline.py runs the REACT 2024
pipeline through `dvc repro`, and tests/ops/test_prefect_stack.py a deployment of
`make prefect-up`."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import threading
import time
import urllib.request
from pathlib import Path

import psycopg2
import pytest
import yaml

from flows.workspace import WORKSPACES_ENV
from ops import platform, prefect_stack
from ops.supervisor import port_free, process_running, recorded_pid
from reactdiff.processes import pid_alive
from tests.helpers.repo import repo_copy_env, tiny_mars_params

GPU_STAGES = ["train_mmt", "train_ddim", "train_kin"]
ALL_STAGES = ["data", "validate", "split", "features", *GPU_STAGES, "evaluate"]
WAIT_S = 900


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


def _lock(workspace: Path) -> dict:
    return yaml.safe_load((workspace / "dvc.lock").read_text())["stages"]


def _logs(state: Path) -> str:
    return "\n".join(f"--- {log.name}\n{log.read_text()[-4000:]}" for log in state.glob("*.log"))


def _mlflow_checks(
    p: platform.Platform, work: Path, gpu_workspace: Path, tmp: Path, monkeypatch
) -> None:
    """The runs, registered models and artifacts, read back from the server over HTTP."""
    from mlflow import MlflowClient

    from reactdiff.config import load_params
    from reactdiff.tracking import registered_model_file

    client = MlflowClient(p.mlflow_uri)
    experiment = client.get_experiment_by_name("reactdiff")
    runs = client.search_runs([experiment.experiment_id])
    (parent,) = [r for r in runs if r.data.tags["stage"] == "pipeline"]
    children = {r.data.tags["stage"]: r for r in runs if r is not parent}
    assert sorted(children) == sorted(ALL_STAGES) and parent.info.status == "FINISHED"
    rows = _query(p, "mlflow", "SELECT run_uuid, status FROM runs")
    assert sorted(rows) == sorted((r.info.run_id, "FINISHED") for r in runs)  # in PostgreSQL
    for child in children.values():
        assert child.data.tags["mlflow.parentRunId"] == parent.info.run_id
        assert child.info.status == "FINISHED"
    tags = parent.data.tags
    assert tags["stages"] == ",".join(ALL_STAGES) and tags["prefect.flow_run_id"]
    for stage in set(ALL_STAGES) - set(GPU_STAGES):
        assert tags[f"stage.{stage}"] == "ran"
    assert tags["stage.dvc push"] == "pushed to remote 'shared'"
    commit = tags["git_commit"].removesuffix("-dirty")
    for stage in GPU_STAGES:  # logged by the worker, from its clone of the same commit
        assert children[stage].data.tags["git_commit"].startswith(commit)
        assert tags[f"stage.{stage}"] == (
            "ran on reactdiff-workspace-stage/gpu; restored here from the run cache"
        )
    assert children["data"].data.metrics["seconds"] > 0
    assert children["validate"].data.metrics["failures"] == 0
    assert children["split"].data.metrics["test_pairs"] == 2  # 1 dyad x 2 sessions
    assert children["train_mmt"].data.metrics["val_emotion_ccc"] > -1
    evaluate = children["evaluate"].data
    assert evaluate.params["protocol"] == "session"  # REACT 2025's evaluation protocol
    assert evaluate.metrics["B_MeanFr/FRSyn"] == 49 and evaluate.metrics["GT/FRDist"] == 0
    assert "FRDvs" not in " ".join(evaluate.metrics)  # the 2025 metric list
    listed = client.list_artifacts(children["validate"].info.run_id, "validation")
    assert {a.path for a in listed} >= {"validation/summary.json", "validation/data_docs"}
    listed = client.list_artifacts(children["evaluate"].info.run_id, "evaluation")
    assert {a.path for a in listed} >= {"evaluation/eval.md", "evaluation/eval.json"}

    versions = {m.name: m.latest_versions for m in client.search_registered_models()}
    assert sorted(versions) == ["reactdiff", "reactdiff-kin", "reactdiff-mmt"]
    assert {v.run_id for vs in versions.values() for v in vs} == {
        children[s].info.run_id for s in GPU_STAGES
    }
    # the champion alias is set by evaluate, on the orchestrator, only when the sha256 of the
    # model file it evaluated (restored from the run cache) is that of the registered version
    champion = client.get_model_version_by_alias("reactdiff", "champion")
    assert champion.run_id == children["train_ddim"].info.run_id
    params = load_params(work / "params.yaml")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", p.mlflow_uri)
    fetched = registered_model_file("models:/reactdiff@champion", params, tmp / "fetched")
    trained = (gpu_workspace / "models" / "reactdiff.pt").read_bytes()
    assert fetched.read_bytes() == trained == (work / "models" / "reactdiff.pt").read_bytes()
    assert list((p.state / "mlartifacts").rglob("reactdiff.pt")), "not in the server's store"


def _prefect_checks(p: platform.Platform, flow_run_id) -> None:
    """The pipeline's flow run (a row of PostgreSQL) with its artifacts, and its two stage
    subflows on the gpu pool, all completed."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        ArtifactFilter,
        ArtifactFilterFlowRunId,
        FlowRunFilter,
        FlowRunFilterId,
        FlowRunFilterParentFlowRunId,
    )

    with get_client(sync_client=True) as client:
        subflows = client.read_flow_runs(
            flow_run_filter=FlowRunFilter(
                parent_flow_run_id=FlowRunFilterParentFlowRunId(any_=[flow_run_id])
            )
        )
        assert sorted(r.name for r in subflows) == sorted(GPU_STAGES)
        assert all(r.state.is_completed() and r.work_pool_name == "gpu" for r in subflows)
        tasks = client.read_task_runs(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[subflows[0].id]))
        )
        found = client.read_artifacts(
            artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id]))
        )
    artifacts = {a.key: a.data for a in found}
    assert set(artifacts) == {"mlflow-run", "validation-summary", "evaluation"}
    assert p.mlflow_uri in artifacts["mlflow-run"]  # a link to the parent run
    summary = artifacts["validation-summary"]
    assert "passed" in summary and "| suite | rows | expectations | failed | result |" in summary
    assert "B_MeanFr" in artifacts["evaluation"] and "FRDist" in artifacts["evaluation"]
    rows = _query(p, "prefect", "SELECT state_type FROM flow_run WHERE id = %s", str(flow_run_id))
    assert rows == [("COMPLETED",)]
    names = sorted(t.name for t in tasks)
    stage = subflows[0].name
    assert names == sorted(
        ["prepare workspace", f"dvc pull {stage}'s inputs", stage, f"dvc push {stage}"]
    )


@pytest.mark.slow
def test_training_stages_run_on_a_gpu_worker_in_its_own_workspace(state_dir, tmp_path, monkeypatch):
    from prefect.deployments import run_deployment
    from prefect.settings import PREFECT_API_URL, temporary_settings

    work, env = repo_copy_env(tmp_path, commit=True)
    tiny_mars_params(work / "params.yaml")
    remote = tmp_path / "dvc-remote"
    subprocess.run(
        ["dvc", "remote", "add", "--local", "-d", "shared", str(remote)], cwd=work, env=env
    ).check_returncode()
    gpu_machine = tmp_path / "gpu-machine"  # the gpu worker's working directory
    gpu_machine.mkdir()
    monkeypatch.setenv("PREFECT_WORKER_QUERY_SECONDS", "2")  # the workers pick runs up quickly
    ports = platform.Ports.free()
    with platform.running_platform(state_dir, ports) as p:
        assert (state_dir / "credentials.env").stat().st_mode & 0o777 == 0o600
        with pytest.raises(platform.AlreadyRunning):
            platform.up(state_dir, ports)
        platform.orchestrate(p, work, ["cpu"])
        gpu_env = p.client_env()
        gpu_env[WORKSPACES_ENV] = str(gpu_machine / "workspaces")
        del gpu_env["MLFLOW_TRACKING_URI"]  # the flow hands it over
        prefect_stack.start_worker("gpu", p.state, gpu_env, cwd=gpu_machine)
        with temporary_settings({PREFECT_API_URL: p.prefect_api_url}):
            flow_run = run_deployment("reactdiff-pipeline/gpu-workspace", timeout=WAIT_S)
            if not flow_run.state.is_completed():
                pytest.fail(f"{flow_run.state.message}\n{_logs(p.state)}", pytrace=False)
            _prefect_checks(p, flow_run.id)
        (gpu_workspace,) = (gpu_machine / "workspaces").iterdir()
        _mlflow_checks(p, work, gpu_workspace, tmp_path, monkeypatch)
        pids = [int(f.read_text()) for f in state_dir.glob("*.pid")]
        assert len(pids) == 5 and all(pid_alive(pid) for pid in pids)  # 3 services, 2 workers
        assert platform.down(state_dir) == [
            "worker-cpu",
            "worker-gpu",
            *reversed(platform.SERVICES),
        ]
    assert all(_group_gone(pid) for pid in pids), pids
    assert all(port_free(port) for port in (ports.pg, ports.mlflow, ports.prefect))
    assert not (state_dir / "postgres" / "postmaster.pid").exists()
    assert platform.down(state_dir) == []  # nothing left to stop, and no error

    raw = work / "data/raw"
    assert (raw / "test/facial-attributes/speaker/session1").is_dir()
    assert not (raw / "test.csv").exists()  # MARS has no split CSVs: the split stage writes them
    assert (work / "data/splits/neighbour_emotion_test.npy").is_file()
    assert "REACT 2025 protocol" in (work / "reports/eval.md").read_text()
    assert sum(1 for f in remote.rglob("*") if f.is_file()) > 100  # the drop, models, ...

    # the worker's lock holds the stages up to its last, the orchestrator's all: the same
    orchestrator, worker = _lock(work), _lock(gpu_workspace)
    assert list(orchestrator) == ALL_STAGES and list(worker) == ALL_STAGES[:-1]
    assert {s: orchestrator[s] for s in worker} == worker
    status = subprocess.run(["dvc", "status", "--json"], cwd=work, env=env, capture_output=True)
    assert status.stdout.strip() == b"{}", status


def _api(url: str, body: dict | None = None) -> dict:
    """A JSON request to a platform server (POST when ``body`` is given), its JSON answer."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data, {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read() or b"null")


def _until(check, what: str, timeout_s: float = 60.0):
    """Poll ``check`` until it returns something true; that value."""
    deadline = time.monotonic() + timeout_s
    while not (value := check()):
        if time.monotonic() > deadline:
            pytest.fail(f"not within {timeout_s} s: {what}", pytrace=False)
        time.sleep(0.5)
    return value


def _data_intact(p: platform.Platform, run_id: str) -> None:
    """The run logged and the variable set before the kills, read back through the servers."""
    run = _api(f"{p.mlflow_uri}/api/2.0/mlflow/runs/get?run_id={run_id}")["run"]
    assert run["data"]["metrics"] == [{"key": "m", "value": 1.5, "timestamp": 0, "step": 0}]
    assert _api(f"{p.prefect_api_url}/variables/name/heal_probe")["value"] == "kept"


def _kill9(pid: int) -> None:
    """SIGKILL ``pid`` and wait until it is gone (reaped, when it is our child)."""
    os.kill(pid, signal.SIGKILL)
    _until(lambda: not process_running(pid), f"pid {pid} gone after SIGKILL", 10)


def _all_running(state: Path) -> bool:
    return all(h.state == "running" for h in platform.health(state).values())


@pytest.mark.slow
def test_up_brings_back_a_killed_service_and_status_says_degraded(state_dir, capsys):
    """kill -9 of PostgreSQL, then of MLflow, then of Prefect, then of a worker: each time
    `up` starts only what died (the rest keeps its pid) and the data is all there."""
    with platform.running_platform(state_dir) as p:
        mlflow_api = f"{p.mlflow_uri}/api/2.0/mlflow"
        experiment = _api(f"{mlflow_api}/experiments/create", {"name": "heal"})
        run = _api(f"{mlflow_api}/runs/create", {"experiment_id": experiment["experiment_id"]})
        run_id = run["run"]["info"]["run_id"]
        metric = {"run_id": run_id, "key": "m", "value": 1.5, "timestamp": 0, "step": 0}
        _api(f"{mlflow_api}/runs/log-metric", metric)
        _api(f"{p.prefect_api_url}/variables/", {"name": "heal_probe", "value": "kept"})
        assert _all_running(state_dir)

        before = platform.running(state_dir)
        # a backend that outlives its postmaster for a while (stopped here, resumed during
        # `up`) keeps the shared memory: the new postmaster refuses it, and is started again
        held = p.connect("mlflow")
        with held.cursor() as cur:
            cur.execute("SELECT pg_backend_pid()")
            (backend,) = cur.fetchone()
        os.kill(backend, signal.SIGSTOP)
        _kill9(before["postgres"])
        _until(
            lambda: platform.health(state_dir)["mlflow"].state == "degraded",
            "MLflow reported degraded without its database",
        )
        capsys.readouterr()
        assert platform.main(["--state", str(state_dir), "status"]) == 1
        out = capsys.readouterr().out
        assert re.search(r"^postgres +stopped ", out, re.M), out
        assert re.search(
            r"^mlflow +degraded \(pid \d+\) .* its database does not answer", out, re.M
        )
        assert re.search(r"^prefect +degraded \(pid \d+\) ", out, re.M), out
        for name in platform.SERVICES:
            if name != "postgres":  # killed above
                _kill9(before[name])
            else:
                threading.Timer(3.0, os.kill, (backend, signal.SIGCONT)).start()
            platform.up(state_dir)  # on the saved ports
            after = platform.running(state_dir)
            assert after[name] not in (None, before[name])
            others = [other for other in platform.SERVICES if other != name]
            assert [after[o] for o in others] == [before[o] for o in others]  # left alone
            _until(lambda: _all_running(state_dir), f"all healthy after {name} came back")
            _data_intact(p, run_id)
            before = after
        assert platform.SHMEM_IN_USE in (state_dir / "postgres.log").read_text()
        with contextlib.suppress(psycopg2.Error):
            held.close()
        with pytest.raises(platform.AlreadyRunning):
            platform.up(state_dir)

        # a worker: `up` (make platform-up) starts it again, without deploying anything
        ports = ["--pg-port", str(p.ports.pg), "--mlflow-port", str(p.ports.mlflow)]
        argv = ["--state", str(state_dir), "up", *ports, "--prefect-port", str(p.ports.prefect)]
        assert platform.main([*argv, "--workers", "cpu"]) == 0
        assert "started again: worker-cpu" in capsys.readouterr().out
        worker = recorded_pid(state_dir, "worker-cpu")
        _kill9(worker)
        assert platform.main([*argv, "--workers", "cpu"]) == 0
        assert "started again: worker-cpu" in capsys.readouterr().out
        assert recorded_pid(state_dir, "worker-cpu") not in (None, worker)
        assert platform.running(state_dir) == before
