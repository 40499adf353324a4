"""Shared fixtures: tiny synthetic drops built once per test session in a temp dir."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from reactdiff.data.synthetic.drop import SynthSpec, write_drop
from tests.helpers.params import params_with

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")

TINY = SynthSpec(sessions=3, clips_per_session=2, seed=7, video=True)


@pytest.fixture(scope="session")
def tiny_drop_master(tmp_path_factory) -> Path:
    """3 sessions (2 NoXI, 1 RECOLA) x 2 clips, with video. Never modify: copy it."""
    return write_drop(tmp_path_factory.mktemp("drop") / "react", TINY, progress=False)


@pytest.fixture(scope="session")
def tiny_drop_novideo_master(tmp_path_factory) -> Path:
    spec = SynthSpec(sessions=3, clips_per_session=2, seed=7, video=False)
    return write_drop(tmp_path_factory.mktemp("drop") / "react", spec, progress=False)


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
    from reactdiff.config import FeaturesParams
    from reactdiff.features.extract import extract_features, split_clips

    out = tmp_path_factory.mktemp("features") / "store"
    extract_features(
        tiny_drop_master,
        out,
        split_clips(tiny_drop_master),
        FeaturesParams(),
        750,
        25,
        workers=1,
        progress=False,
    )
    return out


@pytest.fixture(scope="session")
def tiny_reactdiff(tiny_store_master, tiny_drop_master, tmp_path_factory):
    """(params, folder, train_ddim summary) of a ReactDiff trained briefly on the tiny store."""
    from reactdiff.training.ddim_stage import run_train_ddim
    from reactdiff.training.mmt_stage import run_train_mmt

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
            "ddim": {"sampling_steps": 5},
        }
    )
    run_train_mmt(params, progress=False)
    summary = run_train_ddim(params, progress=False)
    return params, tmp, summary


@pytest.fixture
def mlflow_store(tmp_path, monkeypatch) -> str:
    """A private MLflow store so tests never touch the repo's mlflow.db."""
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    return uri
