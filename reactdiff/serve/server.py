"""``reactdiff serve``: MLflow's scoring app for a model, behind the guard, under uvicorn.

The app is ``mlflow.pyfunc.scoring_server.init``'s, unchanged: it answers ``/ping``,
``/health``, ``/version`` and every route but ``POST /invocations``, which the guard takes and
the worker pool answers with MLflow's own ``scoring_server.invocations`` (the same parsing,
checks and answers as ``mlflow models serve``, in a process that can be killed).
"""

from __future__ import annotations

import dataclasses
import logging
import tempfile
from pathlib import Path
from types import FrameType

import mlflow
import uvicorn
from mlflow.models import Model
from mlflow.pyfunc import scoring_server

from reactdiff import serving
from reactdiff.config import Params, ServingParams
from reactdiff.models import load_model
from reactdiff.serve.guard import Guard
from reactdiff.serve.workers import WorkerPool

STOP_GRACE_S = 2.0  # at SIGTERM: uvicorn's wait for answers in flight before it cancels them
DEFAULT_HOST = "127.0.0.1"


def local_model(model: str, dst: Path, generation: dict[str, object]) -> str:
    """A local MLflow model directory for ``model``: a model file saved as the project's pyfunc
    with ``generation`` as its sampling settings, or an MLflow model URI (``models:/...``,
    ``runs:/...``, a directory) downloaded into ``dst``."""
    if Path(model).is_file():
        serving.save_pyfunc(Path(model), dst / "model", generation)
        return str(dst / "model")
    return mlflow.artifacts.download_artifacts(artifact_uri=model, dst_path=str(dst))


def model_generation(model: str, params: Params) -> dict[str, object]:
    """The sampling settings a model file is served with: its family's (``sampling.families``,
    else the sampling group's). A logged model carries its own; these are then unused."""
    family = load_model(model).family if Path(model).is_file() else None
    return dataclasses.asdict(params.generation(family))


class _Described:
    """What MLflow's app reads of its model besides ``/invocations`` (which the workers
    answer): the logged model's metadata. ``/ping`` answers 200 once it exists."""

    def __init__(self, model_dir: str) -> None:
        self.metadata = Model.load(model_dir)


def build_app(model_dir: str, pool: WorkerPool, limits: ServingParams) -> Guard:
    """MLflow's scoring app for the model in ``model_dir``, ``/invocations`` guarded and
    answered by ``pool``."""
    return Guard(scoring_server.init(_Described(model_dir)), limits, pool.invoke)


class _Server(uvicorn.Server):
    """uvicorn, whose exit (SIGTERM, Ctrl-C) first kills the workers: requests in flight are
    answered 503 at once instead of holding the shutdown until their computation ends."""

    def __init__(self, config: uvicorn.Config, pool: WorkerPool) -> None:
        super().__init__(config)
        self.pool = pool

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        self.pool.close()
        super().handle_exit(sig, frame)


def serve(
    model: str,
    limits: ServingParams,
    generation: dict[str, object],
    port: int,
    host: str = DEFAULT_HOST,
) -> None:
    """Serve ``model`` (see ``local_model``) on ``host:port`` until SIGTERM or Ctrl-C; the
    workers load the model before the port opens, so ``/ping`` answers once it can serve."""
    with tempfile.TemporaryDirectory(prefix="reactdiff-serve-") as tmp:
        model_dir = local_model(model, Path(tmp), generation)
        pool = WorkerPool(model_dir, limits.max_concurrent, limits.timeout_s)
        app = build_app(model_dir, pool, limits)
        config = uvicorn.Config(app, host=host, port=port, timeout_graceful_shutdown=STOP_GRACE_S)
        try:
            pool.start()
            say = logging.getLogger("uvicorn.error")  # configured by uvicorn.Config
            say.info("%d model worker(s) ready (pids %s); %s", pool.size, pool.pids, limits)
            _Server(config, pool).run()
        finally:
            pool.close()
