"""The evaluate stage on the tiny synthetic drop: both splits' outputs with their intervals,
the ground truths and B_Random independent of the training seed, and the baselines' sanity."""

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

BASELINE_METHODS = ["GT", "B_Random", "B_Mime", "B_MeanSeq", "B_MeanFr"]


def _evaluate(drop, tmp, seed: int = 42) -> tuple[dict, dict, object]:
    """(val.json, eval.json, the stage's result) of the baselines, training seed ``seed``."""
    params = params_with(
        {
            "base": {"seed": seed},
            "data": {"source": str(drop)},
            "split": {"out": str(tmp / "splits")},
            "evaluate": {
                "methods": BASELINE_METHODS,
                "select_metrics_file": str(tmp / "val.json"),
                "metrics_file": str(tmp / "eval.json"),
                "report_file": str(tmp / "eval.md"),
                "plot_file": str(tmp / "eval.png"),
                "video_dir": str(tmp / "videos"),
            },
        }
    )
    write_splits(ReactLayout(drop), params.split.out)
    result = evaluate.run(params, evaluate.Options(progress=False))
    return (
        json.loads((tmp / "val.json").read_text()),
        json.loads((tmp / "eval.json").read_text()),
        result,
    )


@pytest.fixture(scope="module")
def evaluated(tiny_drop_master, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("eval")
    val, test, result = _evaluate(tiny_drop_master, tmp)
    return tmp, test, result, val


def test_evaluate_outputs(evaluated):
    tmp, results, result, val = evaluated
    assert result.metrics["GT/FRDist"] == results["GT"]["FRDist"]
    assert result.metrics["val/GT/FRDist"] == val["GT"]["FRDist"]
    assert list(results) == list(val) == BASELINE_METHODS
    keys = {"FRCorr", "FRDist", "FRDiv", "FRVar", "FRDvs", "FRSyn", "FRSyn_all", "FRRea_emotion"}
    # the baselines make no 3DMM: realism in emotion space only
    assert all(set(row) == keys | set(REALISM_KEYS) | {"ci95"} for row in results.values())
    assert results["GT"]["Vel_emotion"] == results["GT"]["Acc_emotion"] == 1  # GT is real
    assert results["B_MeanFr"]["AU_frozen"] == 1  # one frame repeated: nothing moves
    md = (tmp / "eval.md").read_text()
    assert "| B_MeanFr |" in md and "FRRea (emotion-space FD)" in md
    assert "## Split `val` (selection" in md and "## Split `test` (report" in md
    assert md.index("## Split `val`") < md.index("## Split `test`")
    assert "### Realism (`test`)" in md and "velocity (3DMM)" not in md
    assert (tmp / "eval.png").read_bytes()[:4] == b"\x89PNG"
    assert "val (chooses)" in result.summary and "4 test (reported)" in result.summary
    assert result.report == md
    assert result.run_params["select_split"] == "val" and result.run_params["gt_seed"] == 42
    assert result.champion is None  # no ReactDiff row
    assert list((tmp / "videos").iterdir()) == []  # and no ReactDiff reactions to show


def test_every_method_has_intervals_around_its_value(evaluated):
    tmp, results, result, val = evaluated
    md = (tmp / "eval.md").read_text()
    for rows in (results, val):
        for name, row in rows.items():
            assert set(row["ci95"]) == {"FRCorr", "FRDist", "FRDiv", "FRVar", "FRSyn", "FRSyn_all"}
            for key, (lo, hi) in row["ci95"].items():
                # a percentile interval of resampled means holds the mean up to round-off
                assert lo - 1e-9 <= row[key] <= hi + 1e-9, (name, key)
    seq = results["B_MeanSeq"]
    lo, hi = seq["ci95"]["FRDist"]
    assert seq["FRDist"] > 1 and f"| {seq['FRDist']:.2f} [{lo:.2f}, {hi:.2f}] |" in md
    assert result.metrics["B_MeanSeq/FRDist/ci95_lo"] == lo
    assert results["GT"]["ci95"]["FRDiv"] == [0.0, 0.0]  # the listener repeated: no diversity


def test_ground_truths_and_b_random_do_not_follow_the_training_seed(
    tiny_drop_master, tmp_path_factory, evaluated
):
    """Two models trained with different base.seed are scored against the same ground truths
    and the same random baseline: evaluate.gt_seed seeds them."""
    _, results, _, val = evaluated
    other_val, other, _ = _evaluate(tiny_drop_master, tmp_path_factory.mktemp("seed"), seed=7)
    assert other == results and other_val == val


def test_react2025_ground_truths_do_not_follow_the_training_seed(mars_master, tmp_path):
    """The session protocol draws each item's ground truths with evaluate.gt_seed: the baselines
    (whose reactions do not depend on the seed but for B_Random's, seeded the same way) score
    the same whatever base.seed, on both splits."""
    rows = []
    for seed in (42, 7):
        tmp = tmp_path / str(seed)
        params = params_with(
            {
                "base": {"seed": seed},
                "data": {"source": str(mars_master / "root"), "format": "auto"},
                "split": {"out": str(mars_master / "splits")},
                "features": {"out": str(mars_master / "store")},
                "evaluate": {
                    "methods": BASELINE_METHODS,
                    "samples": 3,
                    "gt_samples": 2,
                    "select_metrics_file": str(tmp / "val.json"),
                    "metrics_file": str(tmp / "eval.json"),
                    "report_file": str(tmp / "eval.md"),
                    "plot_file": str(tmp / "eval.png"),
                    "video_dir": str(tmp / "videos"),
                },
            }
        )
        evaluate.run(params, evaluate.Options(progress=False))
        rows.append([json.loads((tmp / f).read_text()) for f in ("val.json", "eval.json")])
    assert rows[0] == rows[1]


def test_sanity_on_synthetic_drop(evaluated):
    _, r, _, _ = evaluated
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
