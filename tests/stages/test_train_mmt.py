"""The train_mmt stage on the tiny drop's feature store: outputs, reload, tracking."""

import json

import pytest
import torch
from typer.testing import CliRunner

from reactdiff.features.dataset import PairFeatureDataset
from reactdiff.stages import train_mmt
from reactdiff.training.mmt import load_mmt
from tests.helpers.params import params_with


@pytest.fixture
def params(tiny_store_master, tiny_drop_master, tmp_path):
    return params_with(
        {
            "features": {"out": str(tiny_store_master)},
            "split": {"out": str(tiny_drop_master)},
            "train_mmt": {
                **{"epochs": 3, "batch_size": 4, "lr": 3e-3, "device": "cpu"},
                "checkpoint": str(tmp_path / "ckpt.pt"),
                "model_out": str(tmp_path / "mmt.pt"),
                "metrics_file": str(tmp_path / "mmt.json"),
                "plots_dir": str(tmp_path / "plots"),
            },
        }
    )


def test_train_mmt_writes_model_metrics_and_plots(params, tmp_path):
    result = train_mmt.run(params, train_mmt.Options(progress=False))
    metrics = json.loads((tmp_path / "mmt.json").read_text())
    summary = result.metrics
    assert metrics["epochs"] == 3 and metrics["val_loss"] < metrics["val_loss_first_epoch"]
    assert summary["val_emotion_ccc"] == metrics["val_emotion_ccc"]
    assert len(result.documents["val_emotion_ccc_per_dim.json"]) == 25
    assert result.model.registered_name == "reactdiff-mmt"
    lines = (tmp_path / "plots" / "loss.csv").read_text().splitlines()
    assert lines[0] == "epoch,train_loss,val_loss" and len(lines) == 4

    model, std3 = load_mmt(tmp_path / "mmt.pt")
    val = PairFeatureDataset(
        params.features.out, "val", list(model.streams), splits_dir=params.split.out
    )
    item = val[0]
    with torch.no_grad():
        face, emotion = model({k: v[None] for k, v in item["listener"].items()})
    assert face.shape == (1, 750, 58) and emotion.shape == (1, 750, 25)
    # the 3DMM standardiser round-trips and was fitted on train targets
    assert torch.allclose(
        std3.inverse(std3(item["listener_3dmm"])), item["listener_3dmm"], atol=1e-4
    )


def test_cli_logs_run_and_registers_model(params, tmp_path, mlflow_store, monkeypatch):
    import mlflow
    import yaml

    from reactdiff.cli import app

    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(params.model_dump(mode="json", by_alias=True)))
    result = CliRunner().invoke(app, ["train-mmt", "--params", str(path)])
    assert result.exit_code == 0, result.output
    runs = mlflow.search_runs(experiment_names=["reactdiff"])
    run = runs.iloc[0]
    assert run["tags.stage"] == "train_mmt" and run["status"] == "FINISHED"
    assert run["metrics.val_loss"] > 0 and run["params.scale"] == "demo"
    history = mlflow.MlflowClient().get_metric_history(run["run_id"], "val_loss")
    assert [m.step for m in history] == [1, 2, 3]
    version = mlflow.MlflowClient().get_model_version("reactdiff-mmt", "1")
    loaded = mlflow.pytorch.load_model(version.source)
    assert loaded.cfg.latent_dim == params.mmt.sizes.latent_dim
