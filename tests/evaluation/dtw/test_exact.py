"""The exact DTW kernel against the tslearn oracle (the function the official script calls)."""

from __future__ import annotations

import numpy as np
import pytest
from tslearn.metrics import dtw

from reactdiff.evaluation import dtw as fast
from reactdiff.evaluation.dtw.exact import diagonal_cost
from reactdiff.evaluation.dtw.groups import weighted_distance
from reactdiff.evaluation.dtw.sequences import NO_MASK


def _oracle(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Per-group tslearn DTW of float32 inputs, (3,)."""
    a32, b32 = a.astype(np.float32), b.astype(np.float32)
    return np.array([dtw(a32[:, lo:hi], b32[:, lo:hi]) for lo, hi, _ in fast.GROUPS])


def _pairs(seed: int, n_pairs: int, t: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    a = rng.random((n_pairs, t, 25))
    b = rng.random((n_pairs, t, 25))
    a[:, :, :15] = a[:, :, :15] > 0.6  # binary AUs
    b[1] = a[1]  # identical pair: DTW exactly 0
    b[2, :, 15:17] = 0.25  # a constant group
    a[3] = np.repeat(a[3, :1], t, axis=0)  # a constant sequence
    return a, b


def test_binary_au_masks_give_identical_costs() -> None:
    """0/1 AUs: the popcount AU cost equals the generic sum of squares bit for bit."""
    a, b = _pairs(6, 4, 100)
    b[:, :, :15] = b[:, :, :15] > 0.5
    a_dm, b_dm = fast.to_dim_major(a), fast.to_dim_major(b)
    masks, binary = fast.au_masks(a_dm)
    assert binary.all() and masks.max() < 2**15
    got = fast.dtw3_pairs(a_dm, b_dm)
    np.testing.assert_array_equal(got, fast.dtw3_pairs(a_dm, b_dm, use_masks=False))
    want = np.stack([_oracle(a[p], b[p]) for p in range(len(a))])
    np.testing.assert_allclose(np.sqrt(got), want, rtol=1e-6)
    a_dm[0, 3, 7] = 0.5  # one non-binary AU value: that pair falls back to the generic cost
    assert not fast.au_masks(a_dm)[1][0]


@pytest.mark.parametrize(
    ("t", "dtype", "rtol"),
    [
        (100, np.float64, 1e-12),
        (117, np.float64, 1e-12),
        (100, np.float32, 1e-6),
        (117, np.float32, 1e-6),
    ],
)
def test_numba_dtw_matches_tslearn(t: int, dtype: type, rtol: float) -> None:
    """float64 local costs: bit-level agreement; float32 (default): far inside 1e-5."""
    a, b = _pairs(0, 5, t)
    got = np.sqrt(fast.dtw3_pairs(fast.to_dim_major(a, dtype), fast.to_dim_major(b, dtype)))
    want = np.stack([_oracle(a[p], b[p]) for p in range(len(a))])
    np.testing.assert_allclose(got, want, rtol=rtol, atol=0)
    assert np.all(got[1] == 0)


def test_numba_dtw_unequal_to_diagonal() -> None:
    """A shifted copy: warping makes DTW much smaller than the diagonal bound."""
    rng = np.random.default_rng(1)
    base = np.cumsum(rng.standard_normal((130, 25)), axis=0) / 10
    a, b = base[:120], base[10:]
    got = fast.weighted_dtw(a[None], b[None])[0]
    want = sum(w * d for (_, _, w), d in zip(fast.GROUPS, _oracle(a, b), strict=True))
    np.testing.assert_allclose(got, want, rtol=1e-6)
    diag = diagonal_cost(fast.to_dim_major(a), fast.to_dim_major(b))
    assert got < sum(w * np.sqrt(d) for (_, _, w), d in zip(fast.GROUPS, diag, strict=True))


@pytest.mark.parametrize("binary_aus", [False, True])
def test_pruned_minimum_equals_brute_force(binary_aus: bool) -> None:
    """min_dtw_tasks (ordered by upper bound, early abandoning) = min of all exact DTWs."""
    rng = np.random.default_rng(2)
    t, n = 100, 7
    listeners = np.cumsum(rng.standard_normal((n, t, 25)), axis=1) / 10
    samples = listeners[[0, 3, 5]] + 0.05 * rng.standard_normal((3, t, 25))
    if binary_aus:
        listeners[:, :, :15] = listeners[:, :, :15] > 0
        samples[:2, :, :15] = samples[:2, :, :15] > 0
    neighbours = (rng.random((n, n)) < 0.6).astype(int)
    np.fill_diagonal(neighbours, 1)
    rows, cols = np.nonzero(neighbours)
    indptr = np.concatenate([[0], np.cumsum(np.bincount(rows, minlength=n))])
    owner = np.array([0, 3, 5])
    got = fast.min_dtw_tasks(
        fast.to_dim_major(samples),
        owner,
        fast.to_dim_major(listeners),
        indptr,
        cols.astype(np.int64),
    )
    for u, k in enumerate(owner):
        nb = np.flatnonzero(neighbours[k])
        want = min(
            sum(
                w * d
                for (_, _, w), d in zip(fast.GROUPS, _oracle(samples[u], listeners[j]), strict=True)
            )
            for j in nb
        )
        assert got[u] == pytest.approx(want, rel=1e-6)
        brute = fast.weighted_dtw(np.repeat(samples[u : u + 1], len(nb), 0), listeners[nb])
        assert got[u] == brute.min()  # pruning never changes the minimum


def test_abandon_returns_false_above_threshold() -> None:
    a, b = _pairs(3, 4, 100)
    a_dm, b_dm = fast.to_dim_major(a[0]), fast.to_dim_major(b[0])
    bufs, cost, out = np.empty((3, 3, 101)), np.empty((3, 100), np.float32), np.empty(3)
    arev = np.ascontiguousarray(a_dm[:, ::-1])
    no = NO_MASK
    assert fast.dtw3_abandon(arev, b_dm, np.inf, bufs, cost, out, no, no)
    exact = weighted_distance(out[0], out[1], out[2])
    assert not fast.dtw3_abandon(arev, b_dm, exact / 2, bufs, cost, out, no, no)
    assert fast.dtw3_abandon(arev, b_dm, exact, bufs, cost, out, no, no)
