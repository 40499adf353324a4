"""The evaluate stage on the tiny synthetic drop: outputs, and the baselines' sanity."""

import json

import pytest

from reactdiff.config import EVALUATE_METHODS
from reactdiff.data.formats.react2024 import ReactLayout
from reactdiff.evaluation.baselines import BASELINES
from reactdiff.evaluation.predictions import MODES
from reactdiff.evaluation.realism import REALISM_KEYS
from reactdiff.stages import evaluate
from reactdiff.stages.split import write_splits
from tests.helpers.params import params_with
from tests.helpers.toy_family import register_toy_family


@pytest.fixture(scope="module")
def evaluated(tiny_drop_master, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("eval")
    params = params_with(
        {
            "data": {"source": str(tiny_drop_master)},
            "split": {"out": str(tmp / "splits")},
            "evaluate": {
                "methods": ["GT", "B_Random", "B_Mime", "B_MeanSeq", "B_MeanFr"],
                "metrics_file": str(tmp / "eval.json"),
                "report_file": str(tmp / "eval.md"),
                "plot_file": str(tmp / "eval.png"),
                "video_dir": str(tmp / "videos"),
            },
        }
    )
    write_splits(ReactLayout(tiny_drop_master), params.split.out)
    result = evaluate.run(params, evaluate.Options(progress=False))
    return tmp, json.loads((tmp / "eval.json").read_text()), result


def test_evaluate_outputs(evaluated):
    tmp, results, result = evaluated
    assert result.metrics["GT/FRDist"] == results["GT"]["FRDist"]
    assert list(results) == ["GT", "B_Random", "B_Mime", "B_MeanSeq", "B_MeanFr"]
    keys = {"FRCorr", "FRDist", "FRDiv", "FRVar", "FRDvs", "FRSyn", "FRSyn_all", "FRRea_emotion"}
    # the baselines make no 3DMM: realism in emotion space only
    assert all(set(row) == keys | set(REALISM_KEYS) for row in results.values())
    assert results["GT"]["Vel_emotion"] == results["GT"]["Acc_emotion"] == 1  # GT is real
    assert results["B_MeanFr"]["AU_frozen"] == 1  # one frame repeated: nothing moves
    md = (tmp / "eval.md").read_text()
    assert "| B_MeanFr |" in md and "FRRea (emotion-space FD)" in md
    assert "## Realism" in md and "velocity (3DMM)" not in md
    assert (tmp / "eval.png").read_bytes()[:4] == b"\x89PNG"
    assert "4 test samples" in result.summary and result.report == md
    assert result.champion is None  # no ReactDiff row
    assert list((tmp / "videos").iterdir()) == []  # and no ReactDiff reactions to show


def test_sanity_on_synthetic_drop(evaluated):
    _, r, _ = evaluated
    others = [m for m in r if m != "GT"]
    assert all(r["GT"]["FRCorr"] > r[m]["FRCorr"] for m in others)
    assert all(r["GT"]["FRDist"] < r[m]["FRDist"] for m in others)
    assert r["B_Random"]["FRDiv"] == pytest.approx(1 / 6, rel=0.02)
    assert abs(r["B_Random"]["FRCorr"]) < 0.5
    assert r["B_MeanFr"]["FRSyn"] == 49
    assert r["GT"]["FRDiv"] == 0 and r["B_Mime"]["FRDiv"] == 0


def test_the_stage_computes_exactly_the_methods_params_may_name():
    """evaluate.methods is checked against config's names; the stage must dispatch each."""
    assert not set(BASELINES) & set(evaluate.MODELS)
    assert sorted([*BASELINES, *evaluate.MODELS]) == sorted(EVALUATE_METHODS)
    assert {m.mode for m in evaluate.MODELS.values()} == set(MODES)
    assert evaluate.CHAMPION_METHOD in evaluate.MODELS
    params = params_with()
    for method in evaluate.MODELS.values():  # each names the stage that trains its model file
        assert getattr(params, method.trained_by).model_out.suffix == ".pt"


def test_a_model_row_loads_whichever_family_its_file_holds(tmp_path, monkeypatch):
    toy = register_toy_family(monkeypatch)({"emotion": 25})
    toy.save(tmp_path / "toy.pt")
    params = params_with(
        {"train_ddim": {"model_out": str(tmp_path / "toy.pt")}, "evaluate": {"device": "cpu"}}
    )
    assert isinstance(evaluate._model(params, "ReactDiff (offline)"), type(toy))
