"""Shared fixtures: tiny synthetic drops built once per test session in a temp dir."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path

import pytest

from reactdiff.data.formats.react2024 import ReactLayout
from reactdiff.data.synthetic.react2024 import write_drop
from tests.helpers.params import params_with, repo_params, tiny_spec
from tests.helpers.stores import changes, environment_store, private_store, snapshot

# Each test process (one per xdist worker) gets a Prefect home of its own: the temporary Prefect
# servers of the flow tests then neither share one SQLite database nor fill the user's history.
_PREFECT_HOME = tempfile.mkdtemp(prefix="reactdiff-test-prefect-")
os.environ["PREFECT_HOME"] = _PREFECT_HOME
atexit.register(shutil.rmtree, _PREFECT_HOME, ignore_errors=True)
# Under pytest-xdist the cores are shared out between the worker processes (and the processes
# their tests start): OpenMP threads of two processes on the same cores spin against each other.
if workers := int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "0")):
    _THREADS = str(max(1, (os.cpu_count() or 1) // workers))
    os.environ["OMP_NUM_THREADS"] = os.environ["MKL_NUM_THREADS"] = _THREADS
    import torch

    torch.set_num_threads(int(_THREADS))

TINY = tiny_spec()


@pytest.fixture(scope="session")
def tiny_drop_master(tmp_path_factory) -> Path:
    """3 sessions (2 NoXI, 1 RECOLA) x 2 clips, with video. Never modify: copy it."""
    return write_drop(tmp_path_factory.mktemp("drop") / "react", TINY, progress=False)


@pytest.fixture(scope="session")
def tiny_drop_novideo_master(tmp_path_factory) -> Path:
    return write_drop(
        tmp_path_factory.mktemp("drop") / "react", tiny_spec(video=False), progress=False
    )


@pytest.fixture
def tiny_drop(tiny_drop_master, tmp_path) -> Path:
    """A private, modifiable copy of the tiny drop (with video)."""
    return Path(shutil.copytree(tiny_drop_master, tmp_path / "react"))


@pytest.fixture
def tiny_drop_novideo(tiny_drop_novideo_master, tmp_path) -> Path:
    return Path(shutil.copytree(tiny_drop_novideo_master, tmp_path / "react"))


@pytest.fixture(scope="session")
def tiny_store_master(tiny_drop_master, tmp_path_factory) -> Path:
    """mfcc + emotion + 3dmm of every clip of the tiny drop. Never modify: copy it."""
    from reactdiff.features.extract import extract_features, split_clips

    out = tmp_path_factory.mktemp("features") / "store"
    extract_features(
        ReactLayout(tiny_drop_master),
        out,
        split_clips(ReactLayout(tiny_drop_master)),
        repo_params().features,
        workers=1,
        progress=False,
    )
    return out


@pytest.fixture(scope="session")
def tiny_reactdiff(tiny_store_master, tiny_drop_master, tmp_path_factory):
    """(params, folder, train_ddim summary) of a ReactDiff trained briefly on the tiny store."""
    from reactdiff.stages.train_mmt import datasets
    from reactdiff.training.ddim import train_ddim
    from reactdiff.training.mmt import load_mmt, train_mmt

    tmp = tmp_path_factory.mktemp("ddim")
    train = {"epochs": 2, "batch_size": 8, "lr": 3e-3, "device": "cpu"}
    params = params_with(
        {
            "features": {"out": str(tiny_store_master)},
            "split": {"out": str(tiny_drop_master)},
            "train_mmt": {
                **train,
                "checkpoint": str(tmp / "mmt_ckpt.pt"),
                "model_out": str(tmp / "mmt.pt"),
                "metrics_file": str(tmp / "mmt.json"),
                "plots_dir": str(tmp / "plots_mmt"),
            },
            "train_ddim": {
                **train,
                "checkpoint": str(tmp / "ddim_ckpt.pt"),
                "model_out": str(tmp / "reactdiff.pt"),
                "metrics_file": str(tmp / "ddim.json"),
                "plots_dir": str(tmp / "plots_ddim"),
            },
            "sampling": {"steps": 5},
        }
    )
    m = params.mmt
    train_mmt(params, *datasets(params, [*m.video_streams, *m.audio_streams]), progress=False)
    mmt, std3 = load_mmt(params.train_mmt.model_out)
    summary = train_ddim(params, mmt, std3, *datasets(params, mmt.streams), progress=False)
    return params, tmp, summary


# every experiment a test logs to: created with its artifacts in the store's folder
EXPERIMENTS = (
    repo_params().tracking.experiment,
    "tracking-test",
    "stage-run-test",
    "generate-test",
)


def pytest_sessionstart(session: pytest.Session) -> None:
    """Every test not asking for its own store uses one in a temp dir, never the user's."""
    session.config._user_state = snapshot()
    session.config._mlflow_dir = Path(tempfile.mkdtemp(prefix="reactdiff-tests-mlflow-"))
    session.config._mlflow_uri = environment_store(session.config._mlflow_dir, EXPERIMENTS)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Fail the run if any test wrote into the checkout's MLflow store or Prefect state."""
    before = getattr(session.config, "_user_state", None)
    if before is None:
        return
    shutil.rmtree(session.config._mlflow_dir, ignore_errors=True)
    changed = changes(before, snapshot())
    if changed:
        lines = "\n  ".join(changed[:20])
        print(f"\nERROR: the tests changed the user's MLflow/Prefect state:\n  {lines}")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture(autouse=True)
def _session_store(request, monkeypatch) -> None:
    """Undo a test's own store (or a library's change of the variable) for the next test."""
    monkeypatch.setenv("MLFLOW_TRACKING_URI", request.config._mlflow_uri)


@pytest.fixture
def mlflow_store(tmp_path, monkeypatch) -> str:
    """A private MLflow store of this test alone."""
    uri = private_store(tmp_path / "mlflow", EXPERIMENTS)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    return uri


@pytest.fixture(scope="session")
def mars_master(tmp_path_factory) -> Path:
    """A hand-made REACT 2025 tree (tests/helpers/react2025_tree.py) with its splits (``splits/``) and
    mfcc + emotion + 3dmm store (``store/``) next to it (``root/``). Never modify: copy it."""
    from reactdiff.data.formats.react2025 import MarsLayout
    from reactdiff.features.extract import extract_features, split_clips
    from reactdiff.stages.split import write_splits
    from tests.helpers.react2025_tree import write_mars_tree

    base = tmp_path_factory.mktemp("mars")
    layout = MarsLayout(write_mars_tree(base / "root"))
    write_splits(layout, base / "splits")
    extract_features(
        layout,
        base / "store",
        split_clips(layout),
        repo_params().features,
        workers=1,
        progress=False,
    )
    return base
