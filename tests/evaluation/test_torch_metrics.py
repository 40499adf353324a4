"""Torch FRCorr / TLCC / FRSyn (on CPU tensors) against the numpy/numba metrics, quirks included."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from reactdiff.evaluation import metrics as m
from reactdiff.evaluation import torch_metrics as tm
from reactdiff.evaluation.tlcc import MAX_LAG, tlcc_offsets
from tests.helpers.emotions import emotion_sequences

RTOL = 1e-12


def _walks(rng: np.random.Generator, lead: tuple[int, ...], t: int) -> np.ndarray:
    """Smooth random walks (..., t, 25), float64."""
    return np.cumsum(rng.standard_normal((*lead, t, 25)), axis=-2) / np.sqrt(t)


def _neighbours(rng: np.random.Generator, n: int, j: int, p: float = 0.4) -> np.ndarray:
    nb = (rng.random((n, j)) < p).astype(np.int64)
    nb[np.arange(n), rng.integers(0, j, n)] = 1  # at least one neighbour per speaker
    return nb


# --------------------------------------------------------------------------- FRCorr
def _corr_case(name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(sorted(["square", "pool", "repeated", "long"]).index(name))
    if name == "square":
        return (
            emotion_sequences(rng, (6, 3), 110),
            emotion_sequences(rng, (6,), 110),
            _neighbours(rng, 6, 6),
        )
    if name == "pool":
        return _walks(rng, (5, 4), 120), emotion_sequences(rng, (9,), 120), _neighbours(rng, 5, 9)
    if name == "long":
        return _walks(rng, (3, 2), 750), _walks(rng, (4,), 750), _neighbours(rng, 3, 4, 0.7)
    pred, lis = emotion_sequences(rng, (5, 4), 100), emotion_sequences(rng, (7,), 100)
    pred[0, 1:] = pred[0, 0]  # all samples identical
    pred[1, 2] = pred[1, 0]  # two identical samples
    pred[2, :, :, 4] = 0.1  # constant column, not exactly representable
    pred[3, 3] = pred[3, 3, :1]  # a whole constant sample
    lis[2, :, 16] = -0.2  # constant column in the pool
    lis[3] = lis[3, :1]  # a whole constant pool sequence
    nb = _neighbours(rng, 5, 7)
    nb[4] = 0
    nb[4, 3] = 1  # the single neighbour is the constant sequence
    return pred, lis, nb


@pytest.mark.parametrize("name", ["square", "pool", "repeated", "long"])
def test_fr_corr_torch_matches_numpy(name: str) -> None:
    pred, lis, nb = _corr_case(name)
    want = m.fr_corr(pred, lis, nb)
    assert tm.fr_corr_torch(pred, lis, nb, device="cpu") == pytest.approx(want, rel=RTOL, abs=0)


def test_fr_corr_torch_in_small_chunks_and_tensors(monkeypatch: pytest.MonkeyPatch) -> None:
    """One speaker per chunk; float32 / bool tensors in (the values the numpy metric sees)."""
    pred, lis, nb = _corr_case("pool")
    pred32, lis32 = torch.from_numpy(pred).float(), torch.from_numpy(lis).float()
    want = m.fr_corr(pred32, lis32, nb)
    monkeypatch.setattr(tm, "_CHUNK_BYTES", 1)
    got = tm.fr_corr_torch(pred32, lis32, torch.from_numpy(nb == 1), device="cpu")
    assert got == pytest.approx(want, rel=RTOL, abs=0)


def test_fr_corr_torch_no_neighbour_raises_like_numpy() -> None:
    pred, lis, nb = _corr_case("square")
    nb[2] = 0
    with pytest.raises(ValueError):
        m.fr_corr(pred, lis, nb)
    with pytest.raises(ValueError, match="speaker 2 has no neighbour"):
        tm.fr_corr_torch(pred, lis, nb, device="cpu")


# --------------------------------------------------------------------------- TLCC
def _shifted(sp: np.ndarray, lag: int, rng: np.random.Generator, noise: float) -> np.ndarray:
    """The speaker moved by ``lag`` frames plus a smooth perturbation: a clear TLCC peak."""
    return np.roll(sp, lag, axis=0) + noise * _walks(rng, (), sp.shape[0])


def _random_rows(t: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Independent walks, shifted copies (lags beyond +-MAX_LAG too), i.i.d. 0/1 AU columns."""
    rng = np.random.default_rng(seed)
    sp = _walks(rng, (4,), t)
    sp[1:3, :, :15] = rng.random((2, t, 15)) < 0.5  # binary AUs without long runs
    owner = rng.integers(0, 4, 40)
    rows = _walks(rng, (40,), t)
    for u in range(10, 40):
        rows[u] = _shifted(sp[owner[u]], int(rng.integers(-60, 61)), rng, rng.choice([0, 0.3]))
    rows[5] = sp[owner[5]]  # mime: offset 0
    return rows.astype(np.float32), sp.astype(np.float32), owner


def _quirk_rows(t: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict[int, int]]:
    """Rows whose offsets come from NaN lags, and the offsets the quirks must give."""
    rng = np.random.default_rng(t)
    sp = _walks(rng, (4,), t) + 3.0  # a large mean: centring leaves round-off in constants
    sp[1, :, 7] = 0.1  # a speaker dimension constant everywhere
    sp[2, : t - 20, 11] = 0.7  # a constant speaker prefix: NaN for lags >= 20
    sp[3] = emotion_sequences(rng, (), t)  # thresholded AUs: natural constant runs
    owner = np.array([0, 0, 0, 0, 0, 1, 2, 2, 3, 3, 0, 2])
    rows = np.stack([_shifted(sp[k], int(rng.integers(-30, 31)), rng, 0.2) for k in owner])
    rows[0, :, 3] = 0.1  # constant everywhere: every lag NaN
    rows[1, 10:, 5] = 1.0 / 3.0  # constant suffix (t - 10 frames): NaN for lags >= 10
    rows[2, : t - 40, 9] = -0.3  # constant prefix: NaN from lag -MAX_LAG on
    rows[3, : t - 60, 9] = -0.3  # constant prefix too short for any overlap: no NaN
    rows[4, t - 60 :, 2] = 0.0  # constant suffix too short for any overlap: no NaN
    rows[9, :, :15] = rows[9, :, :15] > 0.5  # 0/1 columns
    rows[10] = sp[0]  # mime
    rows[11] = sp[2]  # mime of the constant-prefix speaker: its own prefix makes lag -49 NaN
    expected = {0: MAX_LAG, 1: 10, 2: MAX_LAG, 5: MAX_LAG, 6: 20, 10: 0, 11: MAX_LAG}
    return rows.astype(np.float32), sp.astype(np.float32), owner, expected


@pytest.mark.parametrize("t", [120, 750])
def test_tlcc_offsets_torch_random(t: int) -> None:
    rows, sp, owner = _random_rows(t, seed=t)
    want = tlcc_offsets(rows, sp, owner)
    assert len(set(want.tolist())) > 10  # offsets spread over many lags: a real comparison
    np.testing.assert_array_equal(tm.tlcc_offsets_torch(rows, sp, owner, device="cpu"), want)


@pytest.mark.parametrize("t", [120, 750])
def test_tlcc_offsets_torch_quirks(t: int) -> None:
    rows, sp, owner, expected = _quirk_rows(t)
    want = tlcc_offsets(rows, sp, owner)
    assert {u: int(want[u]) for u in expected} == expected  # the quirks are exercised
    got = tm.tlcc_offsets_torch(torch.from_numpy(rows), torch.from_numpy(sp), owner, device="cpu")
    assert got.dtype == np.int64
    np.testing.assert_array_equal(got, want)


def test_tlcc_offsets_torch_in_small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    rows, sp, owner, _ = _quirk_rows(120)
    monkeypatch.setattr(tm, "_CHUNK_BYTES", 1)  # one row per chunk
    np.testing.assert_array_equal(
        tm.tlcc_offsets_torch(rows, sp, owner, device="cpu"), tlcc_offsets(rows, sp, owner)
    )


# --------------------------------------------------------------------------- FRSyn
@pytest.mark.parametrize("samples", ["first", "all"])
def test_fr_syn_torch_matches_numpy(samples: str) -> None:
    rng = np.random.default_rng(11)
    t = 110
    sp = _walks(rng, (5,), t)
    pred = np.stack(
        [
            [_shifted(sp[k], int(rng.integers(-40, 41)), rng, 0.2) for _ in range(3)]
            for k in range(5)
        ]
    )
    pred[0, 1] = pred[0, 0]  # identical samples (deduplicated by fr_syn)
    pred[1, :, :, 6] = 0.25  # constant dimension: offset 49
    pred[2, 2, 40:, 8] = 0.5  # constant suffix: NaN from lag 40 on
    want = m.fr_syn(pred, sp, samples=samples)
    assert want != MAX_LAG  # not every offset is the NaN one
    assert tm.fr_syn_torch(pred, sp, samples=samples, device="cpu") == want


def test_fr_syn_torch_rejects_unknown_samples() -> None:
    with pytest.raises(ValueError, match="samples must be"):
        tm.fr_syn_torch(np.zeros((1, 1, 100, 25)), np.zeros((1, 100, 25)), samples="some")
