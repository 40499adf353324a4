"""The `reactdiff-pipeline` flow: the DVC stages of dvc.yaml, in order, one Prefect task each.

Each task runs `dvc repro -s <stage>` (or `dvc exp run -S ... -s <stage>` when params are
overridden) in the working directory, which must be the repo root, one at a time: DVC locks the
workspace. The flow opens an MLflow parent run and hands its id to every stage through
REACTDIFF_PARENT_RUN_ID, so each stage's own run is nested under it. A failed stage fails the
parent run and the flow run with the stage's last stderr lines.

    python -m flows.pipeline [--stages data validate] [--set train_mmt.epochs=2] [--data-source PATH]

needs no server (Prefect's ephemeral mode); prefect.yaml deploys the same flow to work pools.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import shlex
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.artifacts import (
    create_link_artifact,
    create_markdown_artifact,
    create_table_artifact,
)
from prefect.cache_policies import NO_CACHE
from prefect.deployments import run_deployment
from prefect.runtime import flow_run
from prefect.settings import PREFECT_API_URL, temporary_settings
from prefect.states import State

from flows.artifacts import evaluation_rows, mlflow_run_url, validation_markdown
from flows.dvc_stages import (
    StageFailed,
    default_remote,
    dvc_command,
    run_streaming,
    select_stages,
    stage_env,
)
from flows.workspace import (
    Handoff,
    WorkspaceError,
    make_handoff,
    prepare,
    push_uncached_outputs,
    workspaces_root,
)
from ops.prefect_stack import temporary_server
from reactdiff.cli import RESTORE_ONLY_ENV
from reactdiff.config import PARAMS_FILE, load_params
from reactdiff.dvc_pipeline import pipeline_stages, upstream_stages
from reactdiff.processes import INTERRUPTED, stop_on_sigterm
from reactdiff.tracking import PipelineRun

STAGE_RETRIES = 2
WORKSPACE_STAGE_FLOW = "reactdiff-workspace-stage"


def _retry_if_transient(task: object, task_run: object, state: State) -> bool:
    """Prefect's retry_condition_fn: retry only what a retry can fix
    (see flows.dvc_stages.is_transient)."""
    err = state.result(raise_on_failure=False)
    return isinstance(err, StageFailed) and err.transient


@task(
    task_run_name="{stage}",
    retries=STAGE_RETRIES,
    retry_delay_seconds=[10, 60],
    retry_condition_fn=_retry_if_transient,
    cache_policy=NO_CACHE,  # a stage has side effects; DVC decides what is up to date
)
def run_stage(
    stage: str,
    overrides: Mapping[str, Any],
    parent_run_id: str | None,
    tracking: str | None,
    workspace: str | None = None,
    restore_only: bool = False,
) -> str:
    """Run one DVC stage, streaming its output to the run logs; returns its status.

    workspace: a worker's own clone to run it in (default: here), with that clone's code and
    `--pull`. restore_only: restore it from the run cache (`--pull`), never run its command."""
    logger = get_run_logger()
    cmd = dvc_command(stage, overrides, pull=workspace is not None or restore_only)
    env = stage_env(parent_run_id, tracking)
    if workspace is not None:
        env["PYTHONPATH"] = workspace  # the commit's code, not this worker's installed copy
    if restore_only:
        env[RESTORE_ONLY_ENV] = stage
    logger.info("$ %s", shlex.join(cmd))
    output = run_streaming(cmd, Path(workspace or Path.cwd()), env, logger.info)
    if output.returncode != 0:
        raise StageFailed(stage, output)
    return output.status


def _dvc(args: list[str], cwd: Path, what: str) -> None:
    """A dvc command other than a stage (push, pull), streamed to the run logs."""
    logger = get_run_logger()
    logger.info("$ dvc %s", shlex.join(args))
    output = run_streaming(["dvc", *args], cwd, stage_env(None), logger.info)
    if output.returncode != 0:
        raise StageFailed(what, output)


def _up_to_date(stage: str, cwd: Path) -> bool:
    """`dvc status <stage>` finds nothing to do."""
    done = subprocess.run(
        ["dvc", "status", "--json", stage], cwd=cwd, env=stage_env(None), capture_output=True
    )
    if done.returncode != 0:
        raise RuntimeError(f"`dvc status {stage}` failed: {done.stderr.decode(errors='replace')}")
    return json.loads(done.stdout or b"{}") == {}


def _run_on_deployment(
    deployment: str,
    stage: str,
    overrides: Mapping[str, Any],
    parent_run_id: str,
    tracking: str,
    **more: Any,
) -> str:
    """Run one stage as a subflow of the stage deployment ``deployment``; wait for it.
    ``more``: further parameters of that deployment's flow."""
    child = run_deployment(
        deployment,
        parameters={
            "stage": stage,
            "overrides": dict(overrides),
            "parent_run_id": parent_run_id,
            "tracking": tracking,
            **more,
        },
        flow_run_name=stage,
    )
    if child.state is None or not child.state.is_completed():
        message = child.state.message if child.state else "no state"
        raise RuntimeError(f"stage {stage!r} on {deployment} ended {child.state_name}: {message}")
    return f"ran on {deployment}"


@task(task_run_name="dvc push {stage}'s inputs", cache_policy=NO_CACHE)
def push_inputs(stage: str) -> None:
    """The outputs ``stage`` depends on, to the DVC remote, where its worker pulls them."""
    if upstream := upstream_stages(Path.cwd(), stage):
        _dvc(["push", *upstream], Path.cwd(), f"dvc push {' '.join(upstream)}")


def _run_in_workspace(
    deployment: str, stage: str, overrides: Mapping[str, Any], parent: PipelineRun
) -> str:
    """Run ``stage`` on a worker in its own clone (``workspace_stage_flow``), then restore it
    here from the run cache that worker pushed (flows.workspace)."""
    if not parent.uri.startswith(("http://", "https://")):
        raise WorkspaceError(
            f"a worker in its own workspace logs to MLflow over HTTP, but this pipeline logs "
            f"to {parent.uri}: set MLFLOW_TRACKING_URI to a tracking server (make platform-up)"
        )
    handoff = make_handoff(Path.cwd())
    if _up_to_date(stage, Path.cwd()):
        return "up to date"
    get_run_logger().info(
        "%s: commit %s of %s, DVC remote %s",
        deployment,
        handoff.commit[:12],
        handoff.repository,
        handoff.dvc_remote,
    )
    push_inputs(stage)
    sent = _run_on_deployment(
        deployment, stage, overrides, parent.id, parent.uri, handoff=handoff.as_dict()
    )
    restored = run_stage(stage, overrides, parent.id, parent.uri, restore_only=True)
    if restored != "restored from the run cache" or not _up_to_date(stage, Path.cwd()):
        raise RuntimeError(
            f"stage {stage!r} {sent}, but restoring it here from the run cache left it "
            f"{restored!r}, not up to date (`dvc status {stage}`)"
        )
    return f"{sent}; restored here from the run cache"


@task(
    task_run_name="dvc push",
    retries=STAGE_RETRIES,
    retry_delay_seconds=[10, 60],
    retry_condition_fn=_retry_if_transient,
    cache_policy=NO_CACHE,
)
def push_outputs() -> str:
    """`dvc push` of the pipeline's outputs to the default DVC remote, so that another clone
    gets them with `dvc pull`; without a remote, a warning says so."""
    remote = default_remote(Path.cwd())
    if remote is None:
        get_run_logger().warning(
            "no default DVC remote (`make remote` sets one): the outputs stay in this "
            "workspace's DVC cache only"
        )
        return "skipped: no DVC remote"
    _dvc(["push"], Path.cwd(), "dvc push")
    return f"pushed to remote {remote.name!r}"


def publish_stage_artifacts(stage: str) -> None:
    """The Prefect artifacts of a stage's outputs, linked to this flow run: the validation
    summary (also after a failed validation) and the evaluation table."""
    params = load_params(PARAMS_FILE)
    if stage == "validate":
        summary = params.validation.report_dir / "summary.json"
        if summary.is_file():
            create_markdown_artifact(
                validation_markdown(summary),
                key="validation-summary",
                description="the validate stage's summary of the drop",
            )
    elif stage == "evaluate":
        create_table_artifact(
            evaluation_rows(params.evaluate.metrics_file),
            key="evaluation",
            description=f"REACT metrics of every method ({params.evaluate.report_file})",
        )


def open_parent_run(stages: list[str], overrides: Mapping[str, Any]) -> PipelineRun:
    """The pipeline's MLflow run (``reactdiff.tracking.PipelineRun``), tagged with this flow
    run, and a link to it among the flow run's artifacts."""
    parent = PipelineRun(
        load_params(PARAMS_FILE),
        stages,
        overrides,
        tags={
            "prefect.flow_run_id": str(flow_run.id),
            "prefect.flow_run_name": str(flow_run.name),
        },
    )
    url, how = mlflow_run_url(parent.uri, parent.experiment_id, parent.id)
    create_link_artifact(
        url,
        link_text="MLflow run 'pipeline'",
        key="mlflow-run",
        description=f"the MLflow parent run of this pipeline run, in {how}",
    )
    return parent


def _merge_overrides(
    overrides: Mapping[str, Any] | None, data_source: str | None
) -> dict[str, Any]:
    merged = dict(overrides or {})
    if data_source is not None:
        if merged.get("data.source", data_source) != data_source:
            raise ValueError("data_source and overrides['data.source'] disagree; give one")
        merged["data.source"] = data_source
    return merged


def _is_training(stage: str) -> bool:
    """Training stages (train_mmt, train_ddim, ...) are the ones worth a GPU."""
    return stage.startswith("train_")


@flow(name="reactdiff-pipeline")
def pipeline(
    stages: list[str] | None = None,
    overrides: dict[str, Any] | None = None,
    data_source: str | None = None,
    gpu_deployment: str | None = None,
) -> dict[str, str]:
    """Run DVC stages in dvc.yaml order under one MLflow parent run.

    stages: the stages to run (default all). overrides: params.yaml values, e.g.
    {"train_mmt.epochs": 2}; when given, each stage runs as a DVC experiment (`dvc exp run -S`).
    data_source: sets data.source (a real REACT root), as an override. gpu_deployment: a
    stage deployment that runs the training stages on its work pool while this flow waits:
    "reactdiff-stage/gpu" (its worker shares this checkout) or "reactdiff-workspace-stage/gpu"
    (its worker clones this commit, and the data goes through the DVC remote); None runs
    every stage here.
    Returns each stage's status: 'ran', 'up to date', 'restored from the run cache' or
    'ran on <deployment>...', and the status of the closing `dvc push` (key "dvc push"). The
    flow run gets Prefect artifacts: a link to the MLflow parent run, the validation summary
    and the evaluation table.
    """
    selected = select_stages(pipeline_stages(Path.cwd()), stages)
    sets = _merge_overrides(overrides, data_source)
    parent = open_parent_run(selected, sets)
    statuses: dict[str, str] = {}
    for stage in selected:
        try:
            if gpu_deployment and _is_training(stage):
                if gpu_deployment.split("/")[0] == WORKSPACE_STAGE_FLOW:
                    status = _run_in_workspace(gpu_deployment, stage, sets, parent)
                else:
                    status = _run_on_deployment(gpu_deployment, stage, sets, parent.id, parent.uri)
            else:
                status = run_stage(stage, sets, parent.id, parent.uri)
        except BaseException as err:
            if isinstance(err, StageFailed) and stage == "validate":
                publish_stage_artifacts(stage)  # a failed validation wrote its summary too
            parent.fail(stage, err)
            raise
        publish_stage_artifacts(stage)
        statuses[stage] = status
        parent.stage_done(stage, status)
    try:
        statuses["dvc push"] = push_outputs()
    except BaseException as err:
        parent.fail("dvc push", err)
        raise
    parent.stage_done("dvc push", statuses["dvc push"])
    parent.finish()
    return statuses


@task(task_run_name="prepare workspace", cache_policy=NO_CACHE)
def prepare_workspace(handoff: Handoff) -> Path:
    workspace = prepare(handoff, workspaces_root(), stage_env(None))
    get_run_logger().info("workspace %s at commit %s", workspace, handoff.commit[:12])
    return workspace


@task(task_run_name="dvc pull {stage}'s inputs", cache_policy=NO_CACHE)
def pull_inputs(workspace: Path, stage: str) -> None:
    if upstream := upstream_stages(workspace, stage):
        _dvc(["pull", *upstream], workspace, f"dvc pull {' '.join(upstream)}")


@task(task_run_name="dvc push {stage}", cache_policy=NO_CACHE)
def push_stage(workspace: Path, stage: str) -> None:
    """The stage's outputs and run-cache entry, uncached outputs included, to the DVC remote."""
    _dvc(["push", "--run-cache", stage], workspace, f"dvc push {stage}")
    pushed = push_uncached_outputs(workspace, stage)
    get_run_logger().info("pushed %d uncached output(s) of %s (metrics, plots)", pushed, stage)


@flow(name=WORKSPACE_STAGE_FLOW)
def workspace_stage_flow(
    stage: str,
    handoff: dict[str, Any],
    overrides: dict[str, Any] | None = None,
    parent_run_id: str | None = None,
    tracking: str | None = None,
) -> str:
    """One DVC stage on a worker that does not share the orchestrator's checkout: what
    `pipeline` sends to a `reactdiff-workspace-stage` deployment. The stage runs in this
    worker's clone of the orchestrator's commit (under REACTDIFF_WORKSPACES) with its inputs
    pulled from the DVC remote; its outputs and run-cache entry are pushed back there.

    handoff: flows.workspace.Handoff as a dict. parent_run_id/tracking: the MLflow parent run
    and the tracking server to nest the stage's run under.
    """
    workspace = prepare_workspace(Handoff(**handoff))
    select_stages(pipeline_stages(workspace), [stage])
    pull_inputs(workspace, stage)
    status = run_stage(stage, overrides or {}, parent_run_id, tracking, workspace=str(workspace))
    push_stage(workspace, stage)
    return status


@flow(name="reactdiff-stage")
def stage_flow(
    stage: str,
    overrides: dict[str, Any] | None = None,
    parent_run_id: str | None = None,
    tracking: str | None = None,
) -> str:
    """One DVC stage on this worker (the `gpu` pool): what `pipeline` sends via gpu_deployment.

    parent_run_id/tracking: the MLflow parent run and store to nest the stage's run under.
    """
    select_stages(pipeline_stages(Path.cwd()), [stage])
    return run_stage(stage, overrides or {}, parent_run_id, tracking)


def _key_value(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    return key, value


@contextlib.contextmanager
def prefect_api() -> Iterator[None]:
    """The Prefect API the flow reports to: PREFECT_API_URL when set (a server of the user's),
    else a temporary server of this command's own (``ops.prefect_stack.temporary_server``)."""
    if PREFECT_API_URL.value():
        yield
        return
    with temporary_server() as url, temporary_settings({PREFECT_API_URL: url}):
        yield


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m flows.pipeline",
        description="Run the DVC stages through the reactdiff-pipeline Prefect flow.",
    )
    parser.add_argument("--stages", nargs="+", metavar="STAGE", help="default: all, in order")
    parser.add_argument(
        "--set",
        dest="overrides",
        type=_key_value,
        action="append",
        metavar="KEY=VALUE",
        help="override a params.yaml value, e.g. train_mmt.epochs=2 (runs a DVC experiment)",
    )
    parser.add_argument("--data-source", metavar="PATH", help="set data.source (a REACT root)")
    args = parser.parse_args(argv)
    stop_on_sigterm()
    try:  # before Prefect starts its temporary server (10 s) only to find a typo
        select_stages(pipeline_stages(Path.cwd()), args.stages)
    except (OSError, ValueError) as err:
        parser.error(str(err))
    try:
        with prefect_api():
            statuses = pipeline(
                stages=args.stages,
                overrides=dict(args.overrides or []),
                data_source=args.data_source,
            )
    except KeyboardInterrupt:
        print("interrupted: the running stage was stopped, its runs marked KILLED", file=sys.stderr)
        return INTERRUPTED
    except StageFailed as failed:
        print(f"error: {failed}", file=sys.stderr)
        return 1
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print("pipeline:", ", ".join(f"{s} {status}" for s, status in statuses.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
