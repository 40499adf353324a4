"""MLflow conventions: one experiment, one run per stage, nested under a pipeline run if any.

Every stage run is tagged with the stage name, the git commit and the ``dvc.lock`` hashes of
the upstream outputs it reads, so a run can be traced back to the exact data it saw.
The store defaults to ``tracking.default_uri`` (a local SQLite file); MLFLOW_TRACKING_URI
overrides it. The parent run id of a pipeline run comes in REACTDIFF_PARENT_RUN_ID.
"""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import yaml

from reactdiff.config import Params

PARENT_RUN_ENV = "REACTDIFF_PARENT_RUN_ID"

# No network here, and no one asked to be tracked.
for _var, _value in {
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "DO_NOT_TRACK": "true",
    "GX_ANALYTICS_ENABLED": "false",
    "DVC_NO_ANALYTICS": "1",
}.items():
    os.environ.setdefault(_var, _value)


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
        dvc_yaml = yaml.safe_load((cwd / "dvc.yaml").read_text())
        lock = yaml.safe_load((cwd / "dvc.lock").read_text())
    except FileNotFoundError:
        return {}
    deps = {
        d if isinstance(d, str) else next(iter(d))
        for d in dvc_yaml.get("stages", {}).get(stage, {}).get("deps", [])
    }
    hashes = {}
    for entry in (lock or {}).get("stages", {}).values():
        for out in entry.get("outs", []):
            if out["path"] in deps:
                hashes[f"dvc.dep.{out['path']}"] = out.get("md5") or out.get("hash", "")
    return hashes


@contextlib.contextmanager
def stage_run(stage: str, params: Params, run_params: dict | None = None) -> Iterator:
    """Start the stage's MLflow run; an exception marks it FAILED with the error as a tag."""
    import mlflow

    mlflow.set_tracking_uri(tracking_uri(params))
    mlflow.set_experiment(params.tracking.experiment)
    tags = {"stage": stage, "git_commit": git_commit(), **upstream_hashes(stage)}
    parent = os.environ.get(PARENT_RUN_ENV) or None
    with mlflow.start_run(run_name=stage, tags=tags, parent_run_id=parent) as run:
        if run_params:
            mlflow.log_params(run_params)
        try:
            yield run
        except BaseException as err:
            mlflow.set_tag("error", f"{type(err).__name__}: {err}"[:5000])
            raise


def log_registered_model(
    model, name: str, registered_name: str, model_file: Path, files: list[Path]
) -> str:
    """Log ``model`` (MLflow's pytorch flavour) and register it; returns the new version.

    ``model_file`` (the stage's output the model was loaded from) and ``files`` are logged as
    artifacts, and the version is tagged with ``model_file``'s sha256 so that a later stage
    can find the version of the file it evaluated (``registered_version_of``).

    Requirements are given, not inferred: inference imports the model in a subprocess, which
    is slow and would pin whatever happens to be installed. The model is pickled: MLflow's
    default, torch.export ("pt2"), cannot trace a forward that takes a dict of streams.
    """
    import mlflow
    import torch

    info = mlflow.pytorch.log_model(
        model,
        name=name,
        registered_model_name=registered_name,
        serialization_format="pickle",
        pip_requirements=[f"torch=={torch.__version__.split('+')[0]}", "reactdiff"],
    )
    for path in [model_file, *files]:
        mlflow.log_artifact(str(path), name)
    version = str(info.registered_model_version)
    mlflow.MlflowClient().set_model_version_tag(
        registered_name, version, FILE_TAG, file_sha256(model_file)
    )
    return version


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


FRDIST_TAG = "FRDist"
FILE_TAG = "file_sha256"  # ties a registered version to the model file it was logged from


def promote_champion(
    registered_name: str,
    version: str,
    eval_metrics: Path,
    method: str,
    alias: str = "champion",
) -> bool:
    """Tag ``version`` with its FRDist and move ``alias`` to it only if that beats the holder.

    The FRDist is ``method``'s row (e.g. "ReactDiff") of the evaluate stage's metrics JSON; it
    is stored as a model-version tag, so the next comparison reads it from the registry alone.
    Lower is better; a tie keeps the current champion, and the first version always wins.
    Returns whether the alias moved. A champion without the tag (an alias set by hand) cannot
    be compared, so that is an error rather than a silent replacement.
    """
    import json
    import math

    from mlflow import MlflowClient

    rows = json.loads(eval_metrics.read_text())
    try:
        frdist = float(rows[method]["FRDist"])
    except KeyError:
        msg = f"{eval_metrics}: no FRDist for method {method!r} (has {sorted(rows)})"
        raise ValueError(msg) from None
    if not math.isfinite(frdist):
        raise ValueError(f"{eval_metrics}: FRDist of {method!r} is {frdist}")
    client = MlflowClient()
    client.set_model_version_tag(registered_name, str(version), FRDIST_TAG, str(frdist))
    holder = client.get_registered_model(registered_name).aliases.get(alias)
    if holder is not None:
        champion = client.get_model_version(registered_name, holder)
        if FRDIST_TAG not in champion.tags:
            raise ValueError(
                f"{registered_name}@{alias} (v{champion.version}) has no {FRDIST_TAG} tag to "
                f"compare with; tag it or delete the alias"
            )
        if frdist >= float(champion.tags[FRDIST_TAG]):
            return False
    client.set_registered_model_alias(registered_name, alias, str(version))
    return True
