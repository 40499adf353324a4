"""reactdiff.tracking: the champion alias, a stage's run, the pipeline's parent run, the tags."""

from __future__ import annotations

import json
import os

import mlflow
import pytest
import torch
from mlflow import MlflowClient

from reactdiff.errors import UserError
from reactdiff.tracking import (
    LEGACY_FRDIST_TAG,
    frdist_tag,
    log_registered_model,
    promote_champion,
)


def _register(tmp_path, frdist: float | None) -> tuple[str, object]:
    """A new version of `reactdiff` (a tiny module) and an eval.json with its FRDist."""
    module = torch.nn.Linear(2, 1)
    model_file = tmp_path / f"model_{len(list(tmp_path.glob('model_*.pt')))}.pt"
    torch.save(module.state_dict(), model_file)
    with mlflow.start_run():
        version = log_registered_model(module, "model", "reactdiff", model_file, [])
    metrics = tmp_path / f"eval_v{version}.json"
    row = {"FRCorr": 0.1} if frdist is None else {"FRDist": frdist, "FRCorr": 0.1}
    metrics.write_text(json.dumps({"GT": {"FRDist": 0.0}, "ReactDiff": row}))
    return version, metrics


@pytest.fixture(autouse=True)
def fresh_experiment(mlflow_store):
    """Point the fluent API at this test's store; an earlier test's active experiment id
    would otherwise leak in (MLflow caches it per process)."""
    mlflow.set_tracking_uri(mlflow_store)
    mlflow.set_experiment("tracking-test")


def test_champion_moves_only_to_a_lower_frdist(tmp_path):
    client = MlflowClient()

    def champion() -> str:
        return str(client.get_model_version_by_alias("reactdiff", "champion").version)

    v1, m1 = _register(tmp_path, 90.0)
    assert promote_champion("reactdiff", v1, m1, "ReactDiff", "val")  # the first version wins
    v2, m2 = _register(tmp_path, 95.0)
    assert not promote_champion("reactdiff", v2, m2, "ReactDiff", "val")  # worse: stays on v1
    assert champion() == v1
    v3, m3 = _register(tmp_path, 90.0)
    assert not promote_champion("reactdiff", v3, m3, "ReactDiff", "val")  # a tie keeps v1
    v4, m4 = _register(tmp_path, 80.5)
    assert promote_champion("reactdiff", v4, m4, "ReactDiff", "val")
    assert champion() == v4
    tags = {
        v: client.get_model_version("reactdiff", v).tags[frdist_tag("val")] for v in (v1, v2, v4)
    }
    assert tags == {v1: "90.0", v2: "95.0", v4: "80.5"}

    v5, m5 = _register(tmp_path, None)
    with pytest.raises(ValueError, match="no FRDist for method 'ReactDiff'"):
        promote_champion("reactdiff", v5, m5, "ReactDiff", "val")
    client.delete_model_version_tag("reactdiff", v4, frdist_tag("val"))
    with pytest.raises(UserError, match=r"reactdiff@champion \(v4\) has no val.FRDist tag"):
        promote_champion("reactdiff", v3, m3, "ReactDiff", "val")
    assert champion() == v4


def test_a_champion_chosen_on_test_before_issue_28_is_replaced(tmp_path):
    """Its only FRDist is the test split's: not comparable with a val FRDist, so it goes."""
    client = MlflowClient()
    v1, _ = _register(tmp_path, 50.0)
    client.set_model_version_tag("reactdiff", v1, LEGACY_FRDIST_TAG, "50.0")
    client.set_registered_model_alias("reactdiff", "champion", v1)
    v2, m2 = _register(tmp_path, 90.0)
    assert promote_champion("reactdiff", v2, m2, "ReactDiff", "val")
    assert str(client.get_model_version_by_alias("reactdiff", "champion").version) == v2


def test_version_of_a_model_file(tmp_path):
    from reactdiff.tracking import registered_version_of

    v1, _ = _register(tmp_path, 90.0)
    v2, _ = _register(tmp_path, 80.0)
    assert registered_version_of("reactdiff", tmp_path / "model_0.pt") == str(v1)
    assert registered_version_of("reactdiff", tmp_path / "model_1.pt") == str(v2)
    other = tmp_path / "other.pt"
    other.write_bytes(b"never registered")
    assert registered_version_of("reactdiff", other) is None


def test_stage_run_logs_a_stage_result_and_fails_on_its_failure(tmp_path, mlflow_store):
    """One StageResult in, one MLflow run out: params, metrics, tags, files; a failure is
    raised after everything was logged, and the run is FAILED."""
    from reactdiff.errors import DataQualityError
    from reactdiff.stages.result import StageOptions, StageResult
    from reactdiff.tracking import stage_run
    from tests.helpers.params import params_with

    report = tmp_path / "report.json"
    report.write_text("{}")
    params = params_with({"tracking": {"experiment": "stage-run-test"}})
    epochs = []

    def fake_stage(params, options, fail=False) -> StageResult:
        options.on_epoch({"epoch": 1, "train_loss": 0.5})
        epochs.append(1)
        failure = DataQualityError("bad data", ["FAIL x: y"]) if fail else None
        return StageResult(
            summary="done",
            run_params={"a": 1},
            metrics={"ReactDiff (offline)/FRDist": 2.5},
            artifacts=[(report, "reports")],
            documents={"summary.json": {"k": 1}},
            tags={"t": "v"},
            failure=failure,
        )

    result = stage_run("fake", fake_stage, params, StageOptions())
    assert result.summary == "done" and epochs == [1]
    with pytest.raises(DataQualityError, match="bad data"):
        stage_run("fake", lambda p, o: fake_stage(p, o, fail=True), params, StageOptions())
    runs = mlflow.search_runs(experiment_names=["stage-run-test"], order_by=["start_time"])
    assert list(runs["status"]) == ["FINISHED", "FAILED"]
    ok = runs.iloc[0]
    assert ok["params.a"] == "1" and ok["tags.t"] == "v" and ok["tags.stage"] == "fake"
    assert ok["metrics.ReactDiff offline/FRDist"] == 2.5 and ok["metrics.train_loss"] == 0.5
    files = {f.path for f in MlflowClient().list_artifacts(ok["run_id"])}
    assert {"reports", "summary.json"} <= files
    assert "bad data" in runs.iloc[1]["tags.error"]


def test_an_interrupted_stage_run_is_killed_not_failed(mlflow_store):
    from reactdiff.stages.result import StageOptions
    from reactdiff.tracking import stage_run
    from tests.helpers.params import params_with

    def interrupted(params, options):
        raise KeyboardInterrupt

    params = params_with({"tracking": {"experiment": "stage-run-test"}})
    with pytest.raises(KeyboardInterrupt):
        stage_run("fake", interrupted, params, StageOptions())
    runs = mlflow.search_runs(experiment_names=["stage-run-test"])
    assert list(runs["status"]) == ["KILLED"]


def test_stale_running_runs_of_dead_processes_are_closed(mlflow_store):
    import subprocess
    import sys

    from reactdiff.processes import this_host
    from reactdiff.tracking import HOST_TAG, PID_TAG, close_stale_runs

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    client = MlflowClient()
    experiment = client.get_experiment_by_name("tracking-test").experiment_id

    def running(host: str, pid: int) -> str:
        return client.create_run(experiment, tags={HOST_TAG: host, PID_TAG: str(pid)}).info.run_id

    killed = running(this_host(), dead.pid)
    alive = running(this_host(), os.getpid())
    elsewhere = running("another-host", dead.pid)
    untagged = client.create_run(experiment).info.run_id
    assert close_stale_runs(client, experiment) == [killed]
    status = {r: client.get_run(r).info.status for r in (killed, alive, elsewhere, untagged)}
    assert status == {killed: "KILLED", alive: "RUNNING", elsewhere: "RUNNING", untagged: "RUNNING"}
    assert "ended without closing" in client.get_run(killed).data.tags["error"]


def test_the_pipeline_run_is_the_parent_of_its_stage_runs(mlflow_store, monkeypatch):
    """The parent run and a stage run nested under it carry the same run tags (commit,
    process); the parent records the stages, the overrides and how each stage ended."""
    from reactdiff.stages.result import StageOptions, StageResult
    from reactdiff.tracking import HOST_TAG, PARENT_RUN_ENV, PID_TAG, PipelineRun, stage_run
    from tests.helpers.params import params_with

    params = params_with({"tracking": {"experiment": "stage-run-test"}})
    parent = PipelineRun(params, ["data", "split"], {"train_mmt.epochs": 2}, {"flow": "f1"})
    monkeypatch.setenv(PARENT_RUN_ENV, parent.id)
    stage_run("data", lambda p, o: StageResult(summary="ok"), params, StageOptions())
    parent.stage_done("data", "ran")
    parent.fail("split", KeyboardInterrupt())

    client = MlflowClient(mlflow_store)
    run = client.get_run(parent.id)
    tags = run.data.tags
    assert run.info.status == "KILLED" and run.data.params == {"train_mmt.epochs": "2"}
    assert tags["stage"] == "pipeline" and tags["stages"] == "data,split" and tags["flow"] == "f1"
    assert tags["stage.data"] == "ran" and tags["stage.split"] == "failed"
    assert tags["error"] == "KeyboardInterrupt: "
    (child,) = client.search_runs([parent.experiment_id], "tags.stage = 'data'")
    assert child.data.tags["mlflow.parentRunId"] == parent.id
    assert all(child.data.tags[k] == tags[k] for k in ("git_commit", HOST_TAG, PID_TAG))


def test_upstream_hashes_are_the_locked_outputs_a_stage_reads(tmp_path):
    import yaml

    from reactdiff.tracking import upstream_hashes

    assert upstream_hashes("b", tmp_path) == {}  # no dvc.yaml: no tags
    stages = {"a": {"cmd": "a", "outs": ["out/a"]}, "b": {"cmd": "b", "deps": ["out/a", "b.py"]}}
    (tmp_path / "dvc.yaml").write_text(yaml.safe_dump({"stages": stages}))
    assert upstream_hashes("b", tmp_path) == {}  # no dvc.lock yet
    lock = {"stages": {"a": {"outs": [{"path": "out/a", "md5": "aaa.dir"}]}}}
    (tmp_path / "dvc.lock").write_text(yaml.safe_dump(lock))
    assert upstream_hashes("b", tmp_path) == {"dvc.dep.out/a": "aaa.dir"}
    assert upstream_hashes("a", tmp_path) == {} and upstream_hashes("zz", tmp_path) == {}
