"""train_kin on the tiny store: its outputs, the model file through ``load_model``, and the
served pyfunc answering with the model's own generation settings."""

import json
from types import SimpleNamespace

import numpy as np
import pytest

from reactdiff.models import load_model
from reactdiff.models.kinematics.model import KinReactDiff
from reactdiff.serving import ReactionPyfunc
from reactdiff.stages import train_kin
from reactdiff.tracking import generation_config
from tests.helpers.params import params_with


@pytest.fixture(scope="module")
def trained(tiny_store_master, tiny_drop_master, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("kin")
    params = params_with(
        {
            "features": {"out": str(tiny_store_master)},
            "split": {"out": str(tiny_drop_master)},
            "kin": {"window_size": 16, "train_windows": 2},
            "train_kin": {
                "epochs": 1,
                "batch_size": 32,
                "device": "cpu",
                "checkpoint": str(tmp / "ckpt.pt"),
                "model_out": str(tmp / "kin.pt"),
                "metrics_file": str(tmp / "kin.json"),
                "plots_dir": str(tmp / "plots"),
            },
            "sampling": {"families": {"reactdiff-kin": {"steps": 2, "eta": 1.0, "guidance": 1.0}}},
        }
    )
    result = train_kin.run(params, train_kin.Options(progress=False))
    return params, tmp, result


def test_outputs(trained):
    _, tmp, result = trained
    metrics = json.loads((tmp / "kin.json").read_text())
    assert metrics["epochs"] == 1 and metrics["train_sequences"] > 0
    assert {"val_denoising", "val_velocity", "val_pairs"} <= set(metrics)
    assert (tmp / "plots" / "loss.csv").read_text().startswith("epoch,train_loss,val_loss")
    assert result.model.registered_name == "reactdiff-kin"
    assert result.run_params["priors.velocity"] == 1.0


def test_the_model_file_loads_as_its_family(trained):
    _, tmp, _ = trained
    model = load_model(tmp / "kin.pt")
    assert isinstance(model, KinReactDiff) and model.window == 16
    assert model.speaker_streams == {"mfcc": 26, "emotion": 25, "3dmm": 58}
    assert float(model.target.std.min()) > 0  # the train statistics were saved


def test_the_served_pyfunc_answers_with_the_familys_settings(trained):
    params, tmp, _ = trained
    model = load_model(tmp / "kin.pt")
    config = generation_config(params, model)
    assert config["steps"] == 2 and config["eta"] == 1.0  # the family's, not the latent's
    served = ReactionPyfunc()
    served.load_context(
        SimpleNamespace(
            artifacts={"reactdiff": str(tmp / "kin.pt")}, model_config={"generation": config}
        )
    )
    speaker = {s: np.zeros((40, d), np.float32) for s, d in model.speaker_streams.items()}
    for online in (False, True):
        out = served.predict(None, speaker, params={"samples": 2, "seed": 1, "online": online})
        assert out["emotion"].shape == (2, 40, 25) and out["3dmm"].shape == (2, 40, 58)
        assert np.isfinite(out["3dmm"]).all()
