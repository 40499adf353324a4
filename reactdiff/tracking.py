"""MLflow conventions: one experiment, one run per stage, nested under a pipeline run if any.

``stage_run`` is the one place a stage meets MLflow: it runs the stage and logs the
``StageResult`` it returns (params, metrics, artifacts, the registered model, the champion).

Every stage run is tagged with the stage name, the git commit and the ``dvc.lock`` hashes of
the upstream outputs it reads, so a run can be traced back to the exact data it saw.
The store defaults to ``tracking.default_uri`` (a local SQLite file); MLFLOW_TRACKING_URI
overrides it. The parent run id of a pipeline run comes in REACTDIFF_PARENT_RUN_ID; the
orchestrator opens that run as a ``PipelineRun``, with the same run tags (``run_tags``).
"""

from __future__ import annotations

import dataclasses
import os
import re
import subprocess
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

from reactdiff.config import Params
from reactdiff.dvc_pipeline import locked_output_hashes, stage_definitions, stage_deps
from reactdiff.errors import DataFileError, UserError
from reactdiff.processes import pid_alive, this_host
from reactdiff.stages.result import StageOptions, StageResult

OptionsT = TypeVar("OptionsT", bound=StageOptions)

PARENT_RUN_ENV = "REACTDIFF_PARENT_RUN_ID"


def mlflow_name(name: str) -> str:
    """A metric-key-safe name: MLflow refuses parentheses ("ReactDiff (online)")."""
    return re.sub(r"[^\w\-. /]", "", name).strip()


def tracking_uri(params: Params) -> str:
    return os.environ.get("MLFLOW_TRACKING_URI") or params.tracking.default_uri


def git_commit(cwd: Path = Path()) -> str:
    """HEAD's commit, with '-dirty' when the work tree has uncommitted changes."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=cwd,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "not-a-git-checkout"
    return f"{head}-dirty" if dirty else head


def upstream_hashes(stage: str, cwd: Path = Path()) -> dict[str, str]:
    """dvc.lock hashes of the outputs of earlier stages that ``stage`` depends on."""
    try:
        deps = set(stage_deps(stage_definitions(cwd).get(stage, {})))
        locked = locked_output_hashes(cwd)
    except FileNotFoundError:
        return {}
    return {f"dvc.dep.{path}": digest for path, digest in locked.items() if path in deps}


def _log_epoch(history_row: dict[str, float]) -> None:
    import mlflow

    metrics = {k: v for k, v in history_row.items() if k != "epoch"}
    mlflow.log_metrics(metrics, step=int(history_row["epoch"]))


def _log_result(result: StageResult, params: Params | None = None) -> None:
    """Params, metrics, tags, artifacts, documents; then the model and the champion alias."""
    import mlflow

    if result.run_params:
        mlflow.log_params(result.run_params)
    if result.metrics:
        mlflow.log_metrics({mlflow_name(k): float(v) for k, v in result.metrics.items()})
    if result.tags:
        mlflow.set_tags(result.tags)
    for name, doc in result.documents.items():
        if isinstance(doc, str):
            mlflow.log_text(doc, name)
        else:
            mlflow.log_dict(doc, name)
    for path, where in result.artifacts:
        path = Path(path)
        if path.is_dir():
            mlflow.log_artifacts(str(path), where)
        else:
            mlflow.log_artifact(str(path), where)
    if (m := result.model) is not None:
        model = m.load()
        version = log_registered_model(
            model,
            m.artifact_path,
            m.registered_name,
            m.model_file,
            list(m.files),
            generation=None if params is None else generation_config(params, model),
        )
        result.notes.append(f"registered {m.registered_name} v{version}")
    if (c := result.champion) is not None:
        version = registered_version_of(c.registered_name, c.model_file)
        if version is None:
            note = f"{c.model_file} is not registered in this MLflow store"
        else:
            moved = promote_champion(c.registered_name, version, c.metrics_file, c.method, c.split)
            note = f"{c.registered_name} v{version} " + (
                "is the new champion" if moved else "did not beat the champion"
            )
        mlflow.set_tags(
            {
                "champion": note,
                "champion.split": c.split,
                "champion.metric": f"FRDist of {c.method} ({c.metrics_file})",
            }
        )
        result.notes.append(f"champion: {note}")


def stage_run(
    stage: str,
    run: Callable[[Params, OptionsT], StageResult],
    params: Params,
    options: OptionsT,
) -> StageResult:
    """Run a stage inside its MLflow run (nested under the pipeline's, if any) and log what it
    returns. A stage failure (an exception, or ``result.failure`` once all is logged) marks
    the run FAILED with the error as a tag, and is raised."""
    import mlflow

    mlflow.set_tracking_uri(tracking_uri(params))
    experiment = mlflow.set_experiment(params.tracking.experiment)
    close_stale_runs(mlflow.MlflowClient(), experiment.experiment_id)
    tags = {**run_tags(stage), **upstream_hashes(stage)}
    parent = os.environ.get(PARENT_RUN_ENV) or None
    with mlflow.start_run(run_name=stage, tags=tags, parent_run_id=parent):
        try:
            result = run(params, dataclasses.replace(options, on_epoch=_log_epoch))
            _log_result(result, params)
            result.raise_failure()
        except BaseException as err:
            lines = [f"{type(err).__name__}: {err}", *getattr(err, "failures", [])]
            mlflow.set_tag("error", "\n".join(lines)[:5000])
            mlflow.end_run(end_status(err))
            raise
    return result


HOST_TAG, PID_TAG = "reactdiff.host", "reactdiff.pid"  # the process a run belongs to


def process_tags() -> dict[str, str]:
    """Tags naming this process, so that a later run can tell its run was left RUNNING."""
    return {HOST_TAG: this_host(), PID_TAG: str(os.getpid())}


def run_tags(stage: str) -> dict[str, str]:
    """The tags of every run: its stage ("pipeline" for the parent run), the git commit and
    the process it belongs to."""
    return {"stage": stage, "git_commit": git_commit(), **process_tags()}


class PipelineRun:
    """The MLflow run of a whole pipeline, which the runs of its stages nest under
    (``PARENT_RUN_ENV``). Made with the client API: the stages log to it from other
    processes, so it must not be this process's "active" run."""

    def __init__(
        self,
        params: Params,
        stages: list[str],
        overrides: Mapping[str, Any],
        tags: Mapping[str, str] | None = None,
    ) -> None:
        """Open the run in ``params``' experiment, tagged with the ``stages`` it runs and
        ``tags`` (e.g. the orchestrator's ids), the ``overrides`` of params.yaml as params."""
        from mlflow import MlflowClient

        self.uri = tracking_uri(params)
        self.client = MlflowClient(self.uri)
        name = params.tracking.experiment
        experiment = self.client.get_experiment_by_name(name)
        self.experiment_id = (
            experiment.experiment_id if experiment else self.client.create_experiment(name)
        )
        close_stale_runs(self.client, self.experiment_id)  # of pipelines killed outright
        all_tags = {**run_tags("pipeline"), "stages": ",".join(stages), **(tags or {})}
        run = self.client.create_run(self.experiment_id, tags=all_tags, run_name="pipeline")
        self.id = run.info.run_id
        for key, value in overrides.items():
            self.client.log_param(self.id, key, value)

    def stage_done(self, stage: str, status: str) -> None:
        self.client.set_tag(self.id, f"stage.{stage}", status)

    def finish(self) -> None:
        self.client.set_terminated(self.id, "FINISHED")

    def fail(self, stage: str, error: BaseException) -> None:
        """FAILED with the error as a tag; KILLED when the run was interrupted (cancelled)."""
        self.stage_done(stage, "failed")
        self.client.set_tag(self.id, "error", f"{type(error).__name__}: {error}"[:5000])
        self.client.set_terminated(self.id, end_status(error))


def end_status(err: BaseException) -> str:
    """KILLED for an interruption (Ctrl-C, SIGTERM, a cancelled flow), FAILED for an error."""
    return "FAILED" if isinstance(err, Exception) else "KILLED"


def close_stale_runs(client, experiment_id: str) -> list[str]:
    """Mark KILLED the RUNNING runs of this host whose process is gone (SIGKILL, a crash, a
    lost machine leave them RUNNING forever); returns their ids. A run of a live process, or
    of another host (whose processes this one cannot see), is left alone."""
    host, stale = this_host(), []
    for run in client.search_runs([experiment_id], "attributes.status = 'RUNNING'"):
        tags = run.data.tags
        pid = tags.get(PID_TAG, "")
        if tags.get(HOST_TAG) != host or not pid.isdigit() or pid_alive(int(pid)):
            continue
        client.set_tag(run.info.run_id, "error", f"process {pid} ended without closing this run")
        client.set_terminated(run.info.run_id, "KILLED")
        stale.append(run.info.run_id)
    return stale


def generation_config(params: Params, model: object = None) -> dict[str, object]:
    """How the served ``model`` samples: as ``reactdiff generate`` does with these params (its
    family's settings; a model of no family: the sampling group's own)."""
    return dataclasses.asdict(params.generation(getattr(model, "family", None)))


def log_registered_model(
    model,
    name: str,
    registered_name: str,
    model_file: Path,
    files: list[Path],
    generation: dict[str, object] | None = None,
) -> str:
    """Log ``model`` and register it; returns the new version.

    A reaction model (any family) is logged as a pyfunc (``reactdiff/serving.py`` with
    ``model_file`` as its artifact, the tensor signature and input example the wrapper gives,
    and ``generation`` as its sampling settings, see ``generation_config``), so that
    ``mlflow models serve -m models:/<name>@champion`` serves reactions; any other model is
    logged with MLflow's pytorch flavour.

    ``model_file`` (the stage's output the model was loaded from) and ``files`` are also logged
    as run artifacts under ``name``, and the version is tagged with ``model_file``'s sha256 so
    that a later stage can find the version of the file it evaluated
    (``registered_version_of``), and with that file's artifact path (``MODEL_FILE_TAG``), which
    ``reactdiff generate --model models:/...`` loads.

    Requirements are given, not inferred: inference imports the model in a subprocess, which
    is slow and would pin whatever happens to be installed. The pytorch flavour pickles the
    model: MLflow's default, torch.export ("pt2"), cannot trace a forward that takes a dict of
    streams.
    """
    import mlflow
    import torch

    from reactdiff.models.family import ReactionModel

    requirements = [f"torch=={torch.__version__.split('+')[0]}", "reactdiff"]
    if isinstance(model, ReactionModel):
        info = _log_pyfunc(model, name, registered_name, model_file, requirements, generation)
    else:
        info = mlflow.pytorch.log_model(
            model,
            name=name,
            registered_model_name=registered_name,
            serialization_format="pickle",
            pip_requirements=requirements,
        )
    for path in [model_file, *files]:
        mlflow.log_artifact(str(path), name)
    version = str(info.registered_model_version)
    client = mlflow.MlflowClient()
    client.set_model_version_tag(registered_name, version, FILE_TAG, file_sha256(model_file))
    client.set_model_version_tag(
        registered_name, version, MODEL_FILE_TAG, f"{name}/{Path(model_file).name}"
    )
    return version


def _log_pyfunc(
    model,
    name: str,
    registered_name: str,
    model_file: Path,
    requirements: list[str],
    generation: dict[str, object] | None,
):
    """Log and register the reaction model's pyfunc (``reactdiff/serving.py`` as the model's
    code, MLflow's "models from code": nothing is pickled); returns MLflow's ModelInfo.

    The signature and input example are the model's own streams and widths. Logging serves the
    example once (MLflow's check), so a model that cannot serve fails here, at training time,
    not at the first request.
    """
    import mlflow

    from reactdiff import serving

    return mlflow.pyfunc.log_model(
        name=name,
        registered_model_name=registered_name,
        python_model=serving.__file__,
        artifacts={serving.MODEL_ARTIFACT: str(model_file)},
        model_config={"generation": generation or {}},
        pip_requirements=requirements,
        signature=serving.signature(model),
        input_example=serving.input_example(model),
    )


_MODEL_URI = re.compile(r"models:/(?P<name>[^/@]+)(?:@(?P<alias>[^/@]+)|/(?P<version>\d+))")


def registered_model_file(uri: str, params: Params, dst: Path) -> Path:
    """Download into ``dst`` the model file of the version a ``models:/<name>@<alias>`` (or
    ``/<version>``) URI names.

    The caller loads the weights from that file as it loads any model file (tensors only);
    MLflow's logged model is a pickle, and unpickling a store's contents could run code.
    """
    import mlflow
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    match = _MODEL_URI.fullmatch(uri)
    if match is None:
        raise UserError(f"{uri}: expected models:/<name>@<alias> or models:/<name>/<version>")
    name, alias, number = match["name"], match["alias"], match["version"]
    store = tracking_uri(params)
    mlflow.set_tracking_uri(store)
    client = MlflowClient()
    try:
        registered = client.get_registered_model(name)
    except MlflowException:
        raise UserError(
            f"{uri}: no registered model {name!r} in {store} (run the pipeline to train and "
            f"register one, or pass a model file)"
        ) from None
    versions = sorted(int(v.version) for v in client.search_model_versions(f"name='{name}'"))
    if alias is not None and alias not in registered.aliases:
        have = ", ".join(f"@{a}" for a in sorted(registered.aliases)) or "no aliases"
        raise UserError(f"{uri}: {name} has {have} (versions {versions})")
    if number is not None and int(number) not in versions:
        raise UserError(f"{uri}: {name} has no version {number} (versions {versions})")
    version = client.get_model_version(name, registered.aliases[alias] if alias else number)
    artifact = version.tags.get(MODEL_FILE_TAG)
    if artifact is None or version.run_id is None:
        raise UserError(
            f"{uri}: version {version.version} has no {MODEL_FILE_TAG} tag naming its model "
            f"file (registered by an older reactdiff: re-run its training stage)"
        )
    dst.mkdir(parents=True, exist_ok=True)
    try:
        local = mlflow.artifacts.download_artifacts(
            run_id=version.run_id, artifact_path=artifact, dst_path=str(dst)
        )
    except (MlflowException, OSError) as err:
        raise UserError(f"{uri}: cannot fetch {artifact} of run {version.run_id}: {err}") from None
    return Path(local)


def file_sha256(path: Path | str) -> str:
    import hashlib

    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def registered_version_of(registered_name: str, path: Path | str) -> str | None:
    """The registered version logged from exactly this model file (by its sha256), if any."""
    from mlflow import MlflowClient

    digest = file_sha256(path)
    versions = MlflowClient().search_model_versions(f"name='{registered_name}'")
    matches = [v for v in versions if v.tags.get(FILE_TAG) == digest]
    return str(max(int(v.version) for v in matches)) if matches else None


LEGACY_FRDIST_TAG = "FRDist"  # before issue 28: the test split's FRDist, not comparable


def frdist_tag(split: str) -> str:
    """The model-version tag of the FRDist the champion is chosen on, by split ("val.FRDist")."""
    return f"{split}.FRDist"


FILE_TAG = "file_sha256"  # ties a registered version to the model file it was logged from
MODEL_FILE_TAG = "model_file"  # that file's artifact path in the version's run


def promote_champion(
    registered_name: str,
    version: str,
    eval_metrics: Path,
    method: str,
    split: str,
    alias: str = "champion",
) -> bool:
    """Tag ``version`` with its FRDist and move ``alias`` to it only if that beats the holder.

    The FRDist is ``method``'s row (e.g. "ReactDiff") of the evaluate stage's metrics JSON of
    ``split`` (the selection split, val: test never chooses); it is stored as the model-version
    tag :func:`frdist_tag`, so the next comparison reads it from the registry alone.
    Lower is better; a tie keeps the current champion, and the first version always wins.
    Returns whether the alias moved. A champion chosen before issue 28 (only the test split's
    :data:`LEGACY_FRDIST_TAG`) has no comparable number and is replaced. A champion without
    either tag (an alias set by hand) cannot be compared, so that is an error rather than a
    silent replacement.
    """
    import json
    import math

    from mlflow import MlflowClient

    rows = json.loads(eval_metrics.read_text())
    try:
        frdist = float(rows[method]["FRDist"])
    except KeyError:
        msg = f"no FRDist for method {method!r} (has {sorted(rows)})"
        raise DataFileError(eval_metrics, msg) from None
    if not math.isfinite(frdist):
        raise DataFileError(eval_metrics, f"FRDist of {method!r} is {frdist}")
    tag = frdist_tag(split)
    client = MlflowClient()
    client.set_model_version_tag(registered_name, str(version), tag, str(frdist))
    holder = client.get_registered_model(registered_name).aliases.get(alias)
    if holder is not None:
        champion = client.get_model_version(registered_name, holder)
        if tag in champion.tags:
            if frdist >= float(champion.tags[tag]):
                return False
        elif LEGACY_FRDIST_TAG not in champion.tags:
            raise UserError(
                f"{registered_name}@{alias} (v{champion.version}) has no {tag} tag to "
                f"compare with; tag it or delete the alias"
            )
    client.set_registered_model_alias(registered_name, alias, str(version))
    return True
