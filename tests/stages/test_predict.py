"""`reactdiff predict` then `reactdiff metrics --predictions`: a folder of a model's reactions to a
split re-scores to exactly the evaluate stage's row (same model, samples and seed), on both
formats; a damaged folder is an error naming the item."""

from __future__ import annotations

import hashlib
import json
import shutil
import zipfile

import pytest
import yaml
from typer.testing import CliRunner

from reactdiff.cli import app
from reactdiff.data.formats import params_layout
from reactdiff.data.formats.react2024 import ReactLayout
from reactdiff.evaluation.submission import MANIFEST, ZIP_NAME, item_file
from reactdiff.stages import evaluate, predict
from reactdiff.stages.split import write_splits
from tests.helpers.params import params_with
from tests.stages.test_evaluate_session import trained  # noqa: F401 (the REACT 2025 model)


def _scored_in(params, tmp, **evaluate_overrides):
    """``params`` with evaluate's outputs in ``tmp``, only the offline row, on the CPU."""
    ev = params.evaluate.model_copy(
        update={
            "methods": (predict.METHOD,),
            "metrics_file": tmp / "eval.json",
            "select_metrics_file": tmp / "val.json",
            "report_file": tmp / "eval.md",
            "plot_file": tmp / "eval.png",
            "video_dir": tmp / "videos",
            "videos": 0,
            "device": "cpu",
            **evaluate_overrides,
        }
    )
    return params.model_copy(update={"evaluate": ev})


def _params_file(params, tmp) -> str:
    path = tmp / "params.yaml"
    path.write_text(yaml.safe_dump(params.model_dump(mode="json", by_alias=True)))
    return str(path)


def _rescore(params, folder, tmp):
    args = ["metrics", "--predictions", str(folder), "--params", _params_file(params, tmp)]
    return CliRunner().invoke(app, [*args, "--device", "cpu"])


@pytest.fixture(scope="module")
def react2024(tiny_reactdiff, tiny_drop_master, tmp_path_factory):
    """The tiny ReactDiff evaluated on the tiny REACT 2024 drop: (params, folder)."""
    trained_params, model_dir, _ = tiny_reactdiff
    tmp = tmp_path_factory.mktemp("predict2024")
    params = params_with(
        {
            "data": {"source": str(tiny_drop_master)},
            "features": {"out": str(trained_params.features.out)},
            "split": {"out": str(tmp / "splits")},
            "train_ddim": {"model_out": str(model_dir / "reactdiff.pt")},
            "sampling": {"steps": 5},
            "evaluate": {"samples": 2},
        }
    )
    write_splits(ReactLayout(tiny_drop_master), params.split.out)
    params = _scored_in(params, tmp)
    evaluate.run(params, evaluate.Options(progress=False))
    return params, tmp


@pytest.mark.slow
def test_react2024_round_trip_gives_the_evaluate_row(react2024, mlflow_store):
    params, tmp = react2024
    out = tmp / "pred"
    made = CliRunner().invoke(
        app, ["predict", "--out", str(out), "--params", _params_file(params, tmp)]
    )
    assert made.exit_code == 0, made.output

    manifest = json.loads((out / MANIFEST).read_text())
    model_file = params.train_ddim.model_out
    assert manifest["model"]["sha256"] == hashlib.sha256(model_file.read_bytes()).hexdigest()
    assert (manifest["split"], manifest["format"], manifest["protocol"]) == (
        "test",
        "react2024",
        "neighbour",
    )
    assert manifest["seed"] == params.base.seed and manifest["samples"] == 2  # evaluate's
    assert manifest["git_commit"] and len(manifest["params_sha256"]) == 64
    expected = predict.expected_folder(params, params_layout(params.data), "test")
    assert [(i["speaker"], i["listener"], i["frames"]) for i in manifest["items"]] == [
        (i.speaker, i.listener, i.frames) for i in expected.items
    ]
    with zipfile.ZipFile(out / ZIP_NAME) as zf:
        assert len(zf.namelist()) == 1 + 2 * len(expected.items)

    scored = _rescore(params, out, tmp)
    assert scored.exit_code == 0, scored.output
    row = json.loads((tmp / "eval.json").read_text())[predict.METHOD]
    assert json.loads(scored.stdout) == row  # exactly: the same arrays, the same scoring
    assert "ci95" in row

    import mlflow

    runs = mlflow.search_runs(
        experiment_names=[params.tracking.experiment], filter_string="tags.stage = 'predict'"
    )
    logged = mlflow.MlflowClient().list_artifacts(runs.run_id[0], "predictions")
    assert {f"predictions/{MANIFEST}", f"predictions/{ZIP_NAME}"} <= {a.path for a in logged}


@pytest.mark.slow
def test_a_damaged_folder_is_refused_naming_the_item(react2024, tmp_path):
    params, _ = react2024
    folder = tmp_path / "pred"
    predict.run(params, predict.Options(out=folder, split="val", progress=False))
    speaker = predict.expected_folder(params, params_layout(params.data), "val").items[1].speaker
    (folder / item_file(speaker, "emotion")).unlink()
    scored = _rescore(params, folder, tmp_path)
    assert scored.exit_code == 2
    assert f"the emotion of item 1 ({speaker})" in scored.output


@pytest.mark.slow
def test_react2025_round_trip_gives_the_evaluate_row(trained, tmp_path):  # noqa: F811
    params = _scored_in(trained[0], tmp_path)
    evaluate.run(params, evaluate.Options(progress=False))
    out = tmp_path / "pred"
    result = predict.run(params, predict.Options(out=out, split="val", progress=False))
    assert result.artifacts == [(out, "predictions")]
    manifest = json.loads((out / MANIFEST).read_text())
    assert (manifest["format"], manifest["protocol"], manifest["samples"]) == (
        "react2025",
        "session",
        params.evaluate.samples,
    )
    frames = {i["frames"] for i in manifest["items"]}
    assert len(frames) > 1  # whole items of their own lengths
    row = json.loads((tmp_path / "val.json").read_text())[predict.METHOD]
    assert predict.score(params, out, None, "cpu", False) == row

    other = tmp_path / "other-seed"
    predict.run(params, predict.Options(out=other, split="val", seed=1, progress=False))
    assert predict.score(params, other, None, "cpu", False)["FRDist"] != row["FRDist"]
    shutil.rmtree(other)


def test_a_folder_is_scored_as_the_row_of_evaluate_it_reproduces():
    assert evaluate.MODELS[predict.METHOD].mode == predict.MODE
    assert predict.METHOD == evaluate.CHAMPION_METHOD  # the row the registry's alias follows


def test_predict_takes_val_or_test(tmp_path):
    result = CliRunner().invoke(app, ["predict", "--out", str(tmp_path / "p"), "--split", "train"])
    assert result.exit_code == 2 and "--split must be val or test, got 'train'" in result.output
    assert not (tmp_path / "p").exists()
