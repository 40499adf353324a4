"""Baselines as METRICS.md defines them, and the evaluate stage's sanity on a synthetic drop."""

import json

import numpy as np
import pytest

from reactdiff.config import ConfigError, parse_params
from reactdiff.data.splits import run_split_stage
from reactdiff.evaluation.baselines import BASELINES, TrainStats
from reactdiff.evaluation.stage import run_evaluate_stage


def test_baseline_definitions():
    rng = np.random.default_rng(0)
    speaker, listener = rng.random((2, 3, 120, 25), dtype=np.float32)
    train = rng.random((4, 120, 25), dtype=np.float32)
    stats = TrainStats.from_sequences(train)
    out = {name: fn(speaker, listener, stats, 5, rng) for name, fn in BASELINES.items()}
    for pred in out.values():
        assert pred.shape == (3, 5, 120, 25)
    np.testing.assert_array_equal(out["GT"][:, 2], listener)
    np.testing.assert_array_equal(out["B_Mime"][:, 4], speaker)
    np.testing.assert_allclose(out["B_MeanSeq"][1, 0], train.mean(axis=0), rtol=1e-6)
    np.testing.assert_allclose(out["B_MeanFr"][2, 3, 77], train.mean(axis=(0, 1)), rtol=1e-6)
    rand = out["B_Random"]
    assert rand.min() >= 0 and rand.max() < 1
    assert not np.array_equal(rand[:, 0], rand[:, 1])  # copies drawn independently


@pytest.fixture(scope="module")
def evaluated(tiny_drop_master, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("eval")
    params = parse_params(
        {
            "data": {"source": str(tiny_drop_master)},
            "split": {"out": str(tmp / "splits")},
            "evaluate": {
            "methods": ["GT", "B_Random", "B_Mime", "B_MeanSeq", "B_MeanFr"],
                "metrics_file": str(tmp / "eval.json"),
                "report_file": str(tmp / "eval.md"),
                "plot_file": str(tmp / "eval.png"),
            },
        }
    )
    run_split_stage(tiny_drop_master, params.split.out)
    results, context = run_evaluate_stage(params, progress=False)
    return tmp, results, context


def test_evaluate_outputs(evaluated):
    tmp, results, context = evaluated
    assert json.loads((tmp / "eval.json").read_text()) == results
    assert list(results) == ["GT", "B_Random", "B_Mime", "B_MeanSeq", "B_MeanFr"]
    keys = {"FRCorr", "FRDist", "FRDiv", "FRVar", "FRDvs", "FRSyn", "FRSyn_all", "FRRea_emotion"}
    assert all(set(row) == keys for row in results.values())
    md = (tmp / "eval.md").read_text()
    assert "| B_MeanFr |" in md and "FRRea (emotion-space FD)" in md
    assert (tmp / "eval.png").read_bytes()[:4] == b"\x89PNG"
    assert context["n"] == 4 and context["samples"] == 10


def test_sanity_on_synthetic_drop(evaluated):
    _, r, _ = evaluated
    others = [m for m in r if m != "GT"]
    assert all(r["GT"]["FRCorr"] > r[m]["FRCorr"] for m in others)
    assert all(r["GT"]["FRDist"] < r[m]["FRDist"] for m in others)
    assert r["B_Random"]["FRDiv"] == pytest.approx(1 / 6, rel=0.02)
    assert abs(r["B_Random"]["FRCorr"]) < 0.5
    assert r["B_MeanFr"]["FRSyn"] == 49
    assert r["GT"]["FRDiv"] == 0 and r["B_Mime"]["FRDiv"] == 0


def test_unknown_method_is_a_config_error(tiny_drop_master):
    params = parse_params(
        {"data": {"source": str(tiny_drop_master)}, "evaluate": {"methods": ["GT", "ReactDif"]}}
    )
    with pytest.raises(ConfigError, match=r"evaluate\.methods: unknown method\(s\) \['ReactDif'\]"):
        run_evaluate_stage(params, progress=False)
