"""The reactdiff-pipeline flow in-process (Prefect's test harness, no server of our own): a
failed stage fails the flow run and the MLflow parent run. The whole pipeline through the flow
(a nested run per stage, both models registered, the Prefect artifacts) runs end to end on the
platform, in tests/flows/test_platform.py."""

from __future__ import annotations

import pytest
from mlflow import MlflowClient

from flows.pipeline import pipeline

STAGES = ["data", "validate", "split"]
HARNESS_STARTUP_S = 180


@pytest.fixture(scope="module")
def prefect_harness():
    from prefect.testing.utilities import prefect_test_harness

    # its server starts in a subprocess: on a 2-core CI machine beside another busy test
    # process, Prefect's default 30 s was not enough
    with prefect_test_harness(server_startup_timeout=HARNESS_STARTUP_S):
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
