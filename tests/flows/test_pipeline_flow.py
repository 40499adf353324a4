"""The reactdiff-pipeline flow in-process (Prefect's test harness, no server of our own) on a
tiny drop: one MLflow parent run with a nested run per stage, both models registered; a failed
stage fails both runs."""

from __future__ import annotations

import subprocess

import pytest
from mlflow import MlflowClient

from flows.pipeline import pipeline
from tests.helpers.repo import tiny_mars_params

STAGES = ["data", "validate", "split"]
ALL_STAGES = [*STAGES, "features", "train_mmt", "train_ddim", "evaluate"]


@pytest.fixture(scope="module")
def prefect_harness():
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness():
        yield


def _runs(uri: str) -> tuple[object, dict]:
    """The one parent run of the store and its nested runs by stage (one run each)."""
    client = MlflowClient(uri)
    experiment = client.get_experiment_by_name("reactdiff")
    runs = client.search_runs([experiment.experiment_id])
    parents = [r for r in runs if r.data.tags["stage"] == "pipeline"]
    assert len(parents) == 1, [r.data.tags["stage"] for r in runs]
    children = {r.data.tags["stage"]: r for r in runs if r is not parents[0]}
    assert len(children) == len(runs) - 1, "a stage logged more than one run"
    for child in children.values():
        assert child.data.tags["mlflow.parentRunId"] == parents[0].info.run_id
    return parents[0], children


def _artifacts(flow_run_id: str) -> dict[str, object]:
    """The Prefect artifacts of one flow run, by key."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

    with get_client(sync_client=True) as client:
        found = client.read_artifacts(
            artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id]))
        )
    return {a.key: a for a in found}


@pytest.mark.slow
def test_every_stage_logs_a_run_nested_under_the_pipeline_run(prefect_harness, in_repo_copy):
    """On a synthetic REACT 2025 (MARS) drop, switched by the one param: the REACT 2024
    pipeline runs end to end in tests/test_pipeline.py and tests/flows/test_deployment.py."""
    work, uri = in_repo_copy
    tiny_mars_params(work / "params.yaml")
    remote = work.parent / "dvc-remote"
    subprocess.run(["dvc", "remote", "add", "--local", "-d", "local", str(remote)], check=True)
    statuses = pipeline()  # every stage of dvc.yaml, in its order, then dvc push
    assert list(statuses.items()) == [(s, "ran") for s in ALL_STAGES] + [
        ("dvc push", "pushed to remote 'local'")
    ]
    assert sum(1 for f in remote.rglob("*") if f.is_file()) > 100  # the drop, models, ...

    parent, children = _runs(uri)
    assert parent.info.status == "FINISHED"
    tags = parent.data.tags
    assert tags["stages"] == ",".join(ALL_STAGES) and tags["git_commit"]
    assert tags["prefect.flow_run_id"] and tags["stage.split"] == "ran"
    assert set(children) == set(ALL_STAGES)
    assert all(run.info.status == "FINISHED" for run in children.values())
    assert children["data"].data.metrics["seconds"] > 0
    assert children["validate"].data.metrics["failures"] == 0
    assert children["split"].data.metrics["test_pairs"] == 2  # 1 dyad x 2 sessions
    assert children["train_mmt"].data.metrics["val_emotion_ccc"] > -1
    evaluate = children["evaluate"].data
    assert evaluate.params["protocol"] == "react2025"
    assert evaluate.metrics["B_MeanFr/FRSyn"] == 49 and evaluate.metrics["GT/FRDist"] == 0
    assert "FRDvs" not in " ".join(evaluate.metrics)  # the 2025 metric list
    raw = work / "data/raw"
    assert (raw / "test/facial-attributes/speaker/session1").is_dir()
    assert not (raw / "test.csv").exists()  # MARS has no split CSVs: the split stage writes them
    assert (work / "data/splits/neighbour_emotion_test.npy").is_file()
    assert "REACT 2025 protocol" in (work / "reports/eval.md").read_text()
    client = MlflowClient(uri)
    artifacts = client.list_artifacts(children["validate"].info.run_id, "validation")
    assert {a.path for a in artifacts} >= {"validation/summary.json", "validation/data_docs"}
    artifacts = client.list_artifacts(children["evaluate"].info.run_id, "evaluation")
    assert {a.path for a in artifacts} >= {"evaluation/eval.md", "evaluation/eval.json"}
    for name in ("reactdiff-mmt", "reactdiff"):
        assert len(client.search_model_versions(f"name='{name}'")) == 1
    assert client.get_model_version_by_alias("reactdiff", "champion").version in (1, "1")

    artifacts = _artifacts(tags["prefect.flow_run_id"])
    assert set(artifacts) == {"mlflow-run", "validation-summary", "evaluation"}
    assert parent.info.run_id in artifacts["mlflow-run"].data
    summary = artifacts["validation-summary"].data
    assert "passed" in summary and "| suite | rows | expectations | failed | result |" in summary
    table = artifacts["evaluation"].data
    assert "B_MeanFr" in table and "FRDist" in table


@pytest.mark.slow
def test_failed_validation_fails_the_flow_and_the_parent_run(
    prefect_harness, in_repo_copy, tiny_drop_novideo
):
    """A real root with one bad AU value: validate exits 1, which no retry can fix."""
    emotion = next((tiny_drop_novideo / "train" / "Emotion").rglob("*.csv"))
    emotion.write_text(emotion.read_text().replace("\n0,", "\n0.5,", 1))
    _, uri = in_repo_copy

    state = pipeline(stages=STAGES, data_source=str(tiny_drop_novideo), return_state=True)
    assert state.is_failed()
    assert f"FAIL {emotion}: AU1 is not 0/1" in state.message
    assert "stage 'validate' failed (the stage command exited with 1)" in state.message

    parent, children = _runs(uri)
    assert parent.info.status == "FAILED"
    assert f"FAIL {emotion}: AU1 is not 0/1" in parent.data.tags["error"]
    assert parent.data.tags["stage.validate"] == "failed"
    summary = _artifacts(parent.data.tags["prefect.flow_run_id"])["validation-summary"].data
    assert "FAILED" in summary and f"FAIL {emotion}: AU1 is not 0/1" in summary
    assert parent.data.params["data.source"] == str(tiny_drop_novideo)
    assert set(children) == {"data", "validate"}  # and validate ran once: it was not retried
    assert children["validate"].info.status == "FAILED"
    error = children["validate"].data.tags["error"]
    assert error.startswith("DataQualityError: validate:") and f"FAIL {emotion}" in error
