"""Fast metrics against the slow reference (tests/evaluation/reference.py), incl. quirks."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from reactdiff.evaluation import metrics as m
from reactdiff.evaluation.inputs import MAX_ABS
from tests.evaluation import reference as ref
from tests.helpers.emotions import emotion_sequences

RTOL = 1e-5


def _neighbours(rng: np.random.Generator, n: int, p: float = 0.4) -> np.ndarray:
    nb = (rng.random((n, n)) < p).astype(np.int64)
    np.fill_diagonal(nb, 1)
    return nb


def _case(seed: int, n: int = 6, s: int = 3, t: int = 110) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {
        "pred": emotion_sequences(rng, (n, s), t),
        "listener": emotion_sequences(rng, (n,), t),
        "speaker": emotion_sequences(rng, (n,), t),
        "neighbours": _neighbours(rng, n),
    }


def _adversarial(seed: int) -> dict[str, np.ndarray]:
    """Constant columns and sequences, identical samples, single-neighbour rows, T = 100."""
    c = _case(seed, n=6, s=3, t=100)
    p, lis, nb = c["pred"], c["listener"], c["neighbours"]
    p[0, 0, :, 3] = 0.5  # constant column in pred
    lis[1, :, 16] = -0.2  # constant column in a listener
    p[2, :, :, 5] = 1.0  # constant in every sample
    lis[2] = lis[2, :1]  # whole constant listener sequence
    p[3, 1] = p[3, 0]  # identical samples
    p[4, 2] = np.repeat(p[4, 2, :1], 100, axis=0)  # whole constant sample
    nb[5] = 0
    nb[5, 5] = 1  # a single neighbour (itself)
    nb[1] = 0
    nb[1, 2] = 1  # a single neighbour (someone else, constant listener)
    return c


CASES = {
    "random": lambda: _case(0),
    "adversarial": lambda: _adversarial(1),
    "s1": lambda: _case(2, n=5, s=1, t=105),
    "long": lambda: _case(3, n=4, s=2, t=130),
}


@pytest.fixture(params=sorted(CASES))
def case(request: pytest.FixtureRequest) -> dict[str, np.ndarray]:
    return CASES[request.param]()


def test_fr_corr(case: dict) -> None:
    got = m.fr_corr(case["pred"], case["listener"], case["neighbours"])
    want = ref.fr_corr(case["pred"], case["listener"], case["neighbours"])
    assert got == pytest.approx(want, rel=RTOL, abs=1e-12)


def test_fr_dist(case: dict) -> None:
    got = m.fr_dist(case["pred"], case["listener"], case["neighbours"])
    want = ref.fr_dist(case["pred"], case["listener"], case["neighbours"])
    assert got == pytest.approx(want, rel=RTOL)


def test_fr_dist_torch_backend_on_cpu() -> None:
    c = _adversarial(4)
    got = m.fr_dist(c["pred"], c["listener"], c["neighbours"], backend="torch")
    want = ref.fr_dist(c["pred"], c["listener"], c["neighbours"])
    assert got == pytest.approx(want, rel=RTOL)


@pytest.mark.parametrize("name", ["fr_div", "fr_var", "fr_dvs"])
def test_diversity(case: dict, name: str) -> None:
    got = getattr(m, name)(case["pred"])
    want = getattr(ref, name)(case["pred"])
    assert got == pytest.approx(want, rel=RTOL, abs=1e-12)


def test_fr_div_identical_samples_is_zero() -> None:
    c = _case(5)
    pred = np.repeat(c["pred"][:, :1], 4, axis=1)
    assert m.fr_div(pred) == pytest.approx(0.0, abs=1e-15)


def test_fr_syn_first(case: dict) -> None:
    got = m.fr_syn(case["pred"], case["speaker"], samples="first")
    assert got == ref.fr_syn(case["pred"], case["speaker"], samples="first")


def test_fr_syn_all() -> None:
    c = _adversarial(6)
    got = m.fr_syn(c["pred"], c["speaker"], samples="all")
    assert got == ref.fr_syn(c["pred"], c["speaker"], samples="all")


def test_fr_syn_quirks() -> None:
    """Constant dimension -> offset 49; constant only on some lags -> first NaN lag."""
    rng = np.random.default_rng(7)
    t = 100
    sp = emotion_sequences(rng, (3,), t)
    sp[:, :, :15] = rng.random((3, t, 15))  # no accidental constant AU
    pred = np.repeat(sp[:, None], 2, axis=1).copy()  # mime: offset 0
    pred[1, 0, :, 20] = 0.125  # constant dimension: offset 49
    pred[2, 0, :80, 3] = 0.0  # constant prefix: NaN only for lags whose window fits in it
    offsets = [ref.tlcc_offset(pred[k, 0], sp[k]) for k in range(3)]
    assert offsets[0] == 0 and offsets[1] == 49
    assert m.fr_syn(pred, sp) == pytest.approx(np.mean(offsets))


def test_fr_rea_emotion(case: dict) -> None:
    got = m.fr_rea_emotion(case["pred"], case["listener"])
    want = ref.fr_rea_emotion(case["pred"], case["listener"])
    assert got == pytest.approx(want, rel=RTOL, abs=1e-9)


def test_compute_all_keys_and_torch_inputs() -> None:
    c = _case(8, n=4, s=2, t=100)
    tensors = {k: torch.from_numpy(v) for k, v in c.items()}
    out = m.compute_all(
        tensors["pred"].float(),
        tensors["listener"].float(),
        tensors["speaker"].float(),
        tensors["neighbours"],
    )
    assert tuple(out) == m.METRIC_KEYS
    assert all(isinstance(v, float) for v in out.values())
    assert out["FRDist"] == pytest.approx(
        ref.fr_dist(c["pred"], c["listener"], c["neighbours"]), rel=RTOL
    )


def test_unique_samples() -> None:
    x = np.zeros((4, 3, 2))
    x[1] = 1
    x[3] = 1
    reps, inverse = m.unique_samples(x)
    assert reps.tolist() == [0, 1] and inverse.tolist() == [0, 1, 0, 1]


# --------------------------------------------------------------------------- validation
def _valid() -> dict[str, np.ndarray]:
    return _case(9, n=3, s=2, t=100)


def _bad(**changes: object) -> dict[str, object]:
    c: dict[str, object] = dict(_valid())
    c.update(changes)
    return c


def _nan_pred() -> np.ndarray:
    p = _valid()["pred"].copy()
    p[1, 0, 5, 7] = np.nan
    p[2, 1, 0, 0] = np.inf
    return p


BAD = {
    "pred rank": (lambda: _bad(pred=_valid()["pred"][0]), "pred", "dims"),
    "pred 24 dims": (lambda: _bad(pred=_valid()["pred"][..., :24]), "pred", "24"),
    "pred short": (
        lambda: _bad(
            pred=_valid()["pred"][:, :, :99],
            listener=_valid()["listener"][:, :99],
            speaker=_valid()["speaker"][:, :99],
        ),
        "pred",
        "99",
    ),
    "pred nan": (lambda: _bad(pred=_nan_pred()), "pred", "2 NaN/inf"),
    "listener N": (lambda: _bad(listener=_valid()["listener"][:2]), "listener", "N = 2"),
    "listener T": (lambda: _bad(listener=_valid()["listener"][:, :-1]), "listener", "T = 99"),
    "listener 24": (lambda: _bad(listener=_valid()["listener"][..., 1:]), "listener", "24"),
    "speaker rank": (lambda: _bad(speaker=_valid()["speaker"][..., 0]), "speaker", "dims"),
    "speaker inf": (
        lambda: _bad(speaker=np.where(np.arange(25) == 3, np.inf, _valid()["speaker"])),
        "speaker",
        "NaN/inf",
    ),
    "neighbours square": (lambda: _bad(neighbours=np.ones((3, 2))), "neighbours", "square"),
    "neighbours N": (lambda: _bad(neighbours=np.eye(4)), "neighbours", "N = 3"),
    "neighbours values": (lambda: _bad(neighbours=np.eye(3) * 2), "neighbours", "0/1"),
    "neighbours empty row": (lambda: _bad(neighbours=np.diag([1, 0, 1])), "neighbours", "row 1"),
    "pred complex": (lambda: _bad(pred=_valid()["pred"] + 0j), "pred", "complex array"),
    "pred bool": (lambda: _bad(pred=_valid()["pred"] > 0.5), "pred", "boolean array"),
    "speaker string": (
        lambda: _bad(speaker=np.full((3, 100, 25), "a")),
        "speaker",
        "string array",
    ),
    "listener object": (
        lambda: _bad(listener=_valid()["listener"].astype(object)),
        "listener",
        "object array",
    ),
    "pred float32 1e30": (
        lambda: _bad(pred=_valid()["pred"].astype(np.float32) * np.float32(1e30)),
        "pred",
        "|value| > 1e+06",
    ),
    "listener float64 1e300": (
        lambda: _bad(listener=_valid()["listener"] + 1e300),
        "listener",
        "7500 value(s) with |value| > 1e+06",
    ),
    "speaker int64 min": (
        lambda: _bad(speaker=np.full((3, 100, 25), np.iinfo(np.int64).min)),
        "speaker",
        "first -9223372036854775808",
    ),
    "neighbours complex": (
        lambda: _bad(neighbours=np.eye(3, dtype=complex)),
        "neighbours",
        "complex array",
    ),
    "neighbours string": (
        lambda: _bad(neighbours=np.eye(3).astype(str)),
        "neighbours",
        "string array",
    ),
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_validation_names_the_input(name: str) -> None:
    build, culprit, detail = BAD[name]
    c = build()
    with pytest.raises(m.MetricInputError) as err:
        m.validate_metric_inputs(c["pred"], c["listener"], c["speaker"], c["neighbours"])
    assert str(err.value).startswith(culprit) and detail in str(err.value)


def test_validation_accepts_valid_inputs() -> None:
    c = _valid()
    m.validate_metric_inputs(c["pred"], c["listener"], c["speaker"], c["neighbours"])


def test_compute_all_validates_first() -> None:
    c = _bad(pred=_valid()["pred"][..., :24])
    with pytest.raises(m.MetricInputError, match="pred"):
        m.compute_all(c["pred"], c["listener"], c["speaker"], c["neighbours"])


def _at_bound(c: dict[str, np.ndarray], dtype: type) -> dict[str, np.ndarray]:
    """Every emotion value at -MAX_ABS or +MAX_ABS: the extreme of the accepted domain."""
    out = dict(c)
    for key in ("pred", "listener", "speaker"):
        out[key] = np.where(c[key] > 0.5, MAX_ABS, -MAX_ABS).astype(dtype)
    return out


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("build", [_valid, lambda: _adversarial(10)], ids=["random", "adversarial"])
def test_inputs_at_the_bound_give_finite_metrics(build, dtype) -> None:
    c = _at_bound(build(), dtype)
    out = m.compute_all(c["pred"], c["listener"], c["speaker"], c["neighbours"])
    assert all(np.isfinite(v) for v in out.values()), out


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64])
def test_bound_is_inclusive(dtype) -> None:
    c = _at_bound(_valid(), dtype)
    m.validate_metric_inputs(c["pred"], c["listener"], c["speaker"], c["neighbours"])
    above = np.nextafter(dtype(MAX_ABS), dtype(np.inf)) if dtype != np.int64 else MAX_ABS + 1
    c["speaker"][2, 99, 24] = above
    with pytest.raises(m.MetricInputError, match=r"speaker: 1 value\(s\).*\(2, 99, 24\)"):
        m.validate_metric_inputs(c["pred"], c["listener"], c["speaker"], c["neighbours"])


def test_first_bad_value_is_located_across_chunks() -> None:
    pred = np.zeros((70, 1, 100, 25), dtype=np.float32)
    pred[66, 0, 3, 4] = -2e6
    pred[69, 0, 0, 0] = 3e6
    with pytest.raises(m.MetricInputError, match=r"2 value\(s\).*first -2000000\.0 at index "):
        m.validate_metric_inputs(pred)
    with pytest.raises(m.MetricInputError, match=r"\(66, 0, 3, 4\)"):
        m.validate_metric_inputs(pred)


def _as(c: dict[str, np.ndarray], dtype: type, neighbours: type) -> dict[str, object]:
    out: dict[str, object] = {k: c[k].astype(dtype) for k in ("pred", "listener", "speaker")}
    out["neighbours"] = c["neighbours"].astype(neighbours)
    return out


@pytest.mark.parametrize(
    ("dtype", "neighbours"),
    [(np.int16, bool), (np.uint8, np.float32), (np.float16, np.int64)],
)
def test_integer_and_half_inputs_score_as_their_values(dtype, neighbours) -> None:
    """Accepted dtypes are converted, never misread: the metrics of their float64 values."""
    c = _valid()
    c = {k: (np.round(np.abs(v) * 100) if k != "neighbours" else v) for k, v in c.items()}
    got = m.compute_all(**_as(c, dtype, neighbours))
    want = m.compute_all(**_as(_as(c, dtype, neighbours), np.float64, np.int64))
    assert got == pytest.approx(want, rel=1e-6)


def test_bfloat16_tensors_are_accepted() -> None:
    c = {k: torch.from_numpy(v) for k, v in _valid().items()}
    half = {k: v.to(torch.bfloat16) if k != "neighbours" else v for k, v in c.items()}
    widened = {k: v.float() if k != "neighbours" else v for k, v in half.items()}
    assert m.compute_all(**half) == pytest.approx(m.compute_all(**widened), rel=1e-12)


def test_compute_all_refuses_a_non_finite_result(monkeypatch: pytest.MonkeyPatch) -> None:
    """Unreachable inside the accepted domain; if a metric ever breaks, no NaN goes out."""
    monkeypatch.setattr(m, "fr_rea_emotion", lambda pred, listener: float("nan"))
    c = _valid()
    with pytest.raises(m.MetricValueError, match="FRRea_emotion = nan"):
        m.compute_all(c["pred"], c["listener"], c["speaker"], c["neighbours"])


def test_per_item_values_are_each_speaker_scored_alone(case: dict) -> None:
    """Item k's value is the metric of speaker k alone (its neighbours as a listener pool), and
    the mean of the items is the aggregate: the bootstrap resamples exactly these."""
    p, lis, sp, nb = case["pred"], case["listener"], case["speaker"], case["neighbours"]
    result, items = m.compute_all_items(p, lis, sp, nb)
    assert result == m.compute_all(p, lis, sp, nb)
    assert set(items) == set(m.ITEM_KEYS)
    for key, values in items.items():
        assert values.shape == (p.shape[0],)
        assert values.mean() == pytest.approx(result[key], rel=1e-12, abs=1e-12), key
    for k in range(p.shape[0]):
        one = slice(k, k + 1)
        alone = {
            "FRCorr": m.fr_corr(p[one], lis, nb[one]),
            "FRDist": m.fr_dist(p[one], lis, nb[one]),
            "FRDiv": m.fr_div(p[one]),
            "FRVar": m.fr_var(p[one]),
            "FRSyn": m.fr_syn(p[one], sp[one]),
            "FRSyn_all": m.fr_syn(p[one], sp[one], samples="all"),
        }
        for key, value in alone.items():
            assert items[key][k] == pytest.approx(value, rel=1e-12, abs=1e-12), (key, k)


def test_per_item_functions_match_compute_all_items() -> None:
    c = _case(9, n=5, s=3, t=104)
    p, lis, sp, nb = c["pred"], c["listener"], c["speaker"], c["neighbours"]
    _, items = m.compute_all_items(p, lis, sp, nb)
    assert np.array_equal(m.fr_corr_items(p, lis, nb), items["FRCorr"])
    assert np.array_equal(m.fr_dist_items(p, lis, nb), items["FRDist"])
    assert np.array_equal(m.fr_div_items(p), items["FRDiv"])
    assert np.array_equal(m.fr_var_items(p), items["FRVar"])
    assert np.array_equal(m.fr_syn_items(p, sp, "all"), items["FRSyn_all"])


def test_torch_per_item_values_match_numpy() -> None:
    """The GPU code paths (run here on the CPU) give the same per-speaker values."""
    from reactdiff.evaluation import torch_metrics as tm

    c = _case(10, n=5, s=3, t=104)
    p, lis, sp, nb = c["pred"], c["listener"], c["speaker"], c["neighbours"]
    corr, corr_items = tm.fr_corr_torch_parts(p, lis, nb, device="cpu")
    assert corr == tm.fr_corr_torch(p, lis, nb, device="cpu")
    np.testing.assert_allclose(corr_items, m.fr_corr_items(p, lis, nb), rtol=1e-12)
    for samples in ("first", "all"):
        syn, syn_items = tm.fr_syn_torch_parts(p, sp, samples, device="cpu")
        assert syn == m.fr_syn(p, sp, samples) and syn_items.mean() == pytest.approx(syn)
        np.testing.assert_array_equal(syn_items, m.fr_syn_items(p, sp, samples))
