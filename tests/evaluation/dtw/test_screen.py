"""The float32 screen: its bounds hold, and the screened minimum is the brute-force one."""

from __future__ import annotations

import numpy as np
import pytest

from reactdiff.evaluation import dtw as fast
from reactdiff.evaluation.dtw.groups import weighted_distance
from reactdiff.evaluation.dtw.screen import _screen_bounds, _screen_speaker


def _brute_force(
    samples: np.ndarray, owner: np.ndarray, listeners: np.ndarray, neighbours: np.ndarray
) -> np.ndarray:
    """Unpruned min over neighbours of the exact kernel's D, one pair at a time."""
    out = np.empty(len(owner))
    for u, k in enumerate(owner):
        nb = np.flatnonzero(neighbours[k])
        out[u] = fast.weighted_dtw(np.repeat(samples[u : u + 1], len(nb), 0), listeners[nb]).min()
    return out


def _screened(
    samples: np.ndarray,
    owner: np.ndarray,
    listeners: np.ndarray,
    neighbours: np.ndarray,
    screen: bool = True,
) -> np.ndarray:
    rows, cols = np.nonzero(neighbours)
    indptr = np.concatenate([[0], np.cumsum(np.bincount(rows, minlength=len(neighbours)))])
    return fast.min_dtw_tasks(
        fast.to_dim_major(samples),
        owner,
        fast.to_dim_major(listeners),
        indptr,
        cols.astype(np.int64),
        screen=screen,
    )


def _smooth(rng: np.random.Generator, shape: tuple[int, ...], binary_aus: bool) -> np.ndarray:
    x = np.cumsum(rng.standard_normal(shape), axis=-2) / 10
    if binary_aus:
        x[..., :15] = x[..., :15] > 0
    return x.astype(np.float32)


@pytest.mark.parametrize("t", [1, 2, 100, 117])
@pytest.mark.parametrize("binary_aus", [False, True])
@pytest.mark.parametrize("scale", [1.0, 1e-20, 1e12])
def test_screen_bounds_hold_at_any_scale(t: int, binary_aus: bool, scale: float) -> None:
    """Odd and even T, a padded lane block (11 lanes), values whose squares underflow (1e-20)
    or are huge (1e12): the screen's interval holds the exact kernel's value.

    The screen adds its squares with fused multiply-adds, so its local costs differ from the
    exact kernel's in the last bits: the relative bound must cover both.
    """
    rng = np.random.default_rng(7)
    x = rng.random((12, t, 25)).astype(np.float32)
    if binary_aus:
        x[..., :15] = x[..., :15] > 0.5
    x[..., 15:] *= np.float32(scale)
    a, lis = fast.to_dim_major(x[0]), fast.to_dim_major(x[1:])
    exact = fast.dtw3_pairs(np.repeat(a[None], len(lis), 0), lis)
    screened = fast.dtw3_lanes(a, lis)
    _, lbin = fast.au_masks(lis)
    for p in range(len(lis)):
        for g in range(3):
            lo, hi = _screen_bounds(screened[p, g], 2 * t - 2, g == 0 and bool(lbin[p]))
            assert lo <= exact[p, g] <= hi


@pytest.mark.parametrize("t", [100, 117, 750])
def test_screen_bounds_contain_the_exact_value(t: int) -> None:
    """float32 screen -> [lo, hi] holds the exact kernel's D, and the interval is narrow."""
    rng = np.random.default_rng(8)
    x = _smooth(rng, (9, t, 25), binary_aus=True)
    x[5, :, :15] += 0.25  # non-binary AUs: no exact AU group for this pair
    a, lis = fast.to_dim_major(x[0]), fast.to_dim_major(x[1:])
    exact = fast.dtw3_pairs(np.repeat(a[None], len(lis), 0), lis)
    screened = fast.dtw3_lanes(a, lis)
    _, lbin = fast.au_masks(lis)
    for p in range(len(lis)):
        b = [_screen_bounds(screened[p, g], 2 * t - 2, g == 0 and bool(lbin[p])) for g in range(3)]
        for g in range(3):
            assert b[g][0] <= exact[p, g] <= b[g][1]
        d = weighted_distance(*exact[p])
        lo, hi = weighted_distance(*(v[0] for v in b)), weighted_distance(*(v[1] for v in b))
        assert lo <= d <= hi
        assert hi - lo <= 4e-4 * d


@pytest.mark.parametrize("t", [100, 117])
@pytest.mark.parametrize("binary_aus", [False, True])
def test_screened_minimum_equals_unpruned_brute_force(t: int, binary_aus: bool) -> None:
    """Random data: the screened minimum is the brute-force float64 minimum, exactly (==)."""
    rng = np.random.default_rng(9)
    n = 9
    listeners = _smooth(rng, (n, t, 25), binary_aus)
    owner = np.array([0, 0, 2, 3, 3, 3, 5, 8])
    samples = listeners[owner] + rng.normal(0, 0.1, (len(owner), t, 25)).astype(np.float32)
    if binary_aus:
        samples[:5, :, :15] = samples[:5, :, :15] > 0.5  # the others have continuous AUs
    neighbours = (rng.random((n, n)) < 0.5).astype(int)
    np.fill_diagonal(neighbours, 1)
    neighbours[8] = 0
    neighbours[8, 4] = 1  # a single neighbour
    got = _screened(samples, owner, listeners, neighbours)
    np.testing.assert_array_equal(got, _brute_force(samples, owner, listeners, neighbours))
    np.testing.assert_array_equal(got, _screened(samples, owner, listeners, neighbours, False))


@pytest.mark.parametrize(("n_samples", "n_neighbours"), [(10, 9), (11, 3), (10, 16), (4, 13)])
def test_screened_minimum_with_transposed_tiles(n_samples: int, n_neighbours: int) -> None:
    """Speakers whose last m mod 8 neighbours are screened with the samples as lanes."""
    rng = np.random.default_rng(13)
    t = 100
    listeners = _smooth(rng, (n_neighbours, t, 25), binary_aus=True)
    samples = listeners[rng.integers(0, n_neighbours, n_samples)]
    samples = samples + rng.normal(0, 0.1, samples.shape).astype(np.float32)
    samples[1:, :, :15] = samples[1:, :, :15] > 0.5  # sample 0 keeps continuous AUs
    owner = np.zeros(n_samples, dtype=np.int64)
    neighbours = np.ones((n_neighbours, n_neighbours), dtype=int)
    got = _screened(samples, owner, listeners, neighbours)
    np.testing.assert_array_equal(got, _brute_force(samples, owner, listeners, neighbours))
    # every screened pair, whichever way it was tiled, brackets the exact value
    s_dm, l_dm = fast.to_dim_major(samples), fast.to_dim_major(listeners)
    (smasks, sbin), (lmasks, lbin) = fast.au_masks(s_dm), fast.au_masks(l_dm)
    cand = np.arange(n_neighbours)
    f = _screen_speaker(s_dm, smasks, sbin, np.arange(n_samples), l_dm, lmasks, lbin, cand)
    for u in range(n_samples):
        exact = fast.dtw3_pairs(np.repeat(s_dm[u : u + 1], n_neighbours, 0), l_dm)
        for c in cand:
            for g in range(3):
                lo, hi = _screen_bounds(f[u, c, g], 2 * t - 2, g == 0 and sbin[u])
                assert lo <= exact[c, g] <= hi
                assert hi - lo <= 1e-3 * exact[c, g]


@pytest.mark.parametrize("rel", [0.0, 1e-7, 1e-6])
def test_screened_minimum_with_near_ties(rel: float) -> None:
    """Neighbours whose D agree to ~1e-7: several survive the screen; the minimum stays exact."""
    rng = np.random.default_rng(10)
    t = 100
    base = _smooth(rng, (1, t, 25), binary_aus=True)[0]
    listeners = np.repeat(base[None], 12, 0)
    for j in range(1, 12):  # duplicated listener, tiny perturbations of the VA / expressions
        listeners[j, :, 15:] *= np.float32(1 + rel * rng.standard_normal((t, 10)))
    listeners[11] = _smooth(rng, (1, t, 25), binary_aus=True)[0]  # one genuinely different
    samples = base[None] + rng.normal(0, 0.05, (3, t, 25)).astype(np.float32)
    samples[:2, :, :15] = samples[:2, :, :15] > 0.5
    owner = np.zeros(3, dtype=np.int64)
    neighbours = np.ones((12, 12), dtype=int)
    got = _screened(samples, owner, listeners, neighbours)
    np.testing.assert_array_equal(got, _brute_force(samples, owner, listeners, neighbours))


def test_screened_minimum_constant_and_identical_sequences() -> None:
    """Constant sequences (zero costs, ties everywhere) and a sample equal to a listener."""
    rng = np.random.default_rng(11)
    t = 100
    listeners = np.zeros((4, t, 25), dtype=np.float32)
    listeners[1] = 1.0
    listeners[2, :, 15:] = 0.5
    listeners[3] = _smooth(rng, (1, t, 25), binary_aus=True)[0]
    samples = np.stack(
        [listeners[0], listeners[2], listeners[3], np.full((t, 25), 0.25, np.float32)]
    )
    owner = np.zeros(4, dtype=np.int64)
    neighbours = np.ones((4, 4), dtype=int)
    got = _screened(samples, owner, listeners, neighbours)
    np.testing.assert_array_equal(got, _brute_force(samples, owner, listeners, neighbours))
    assert got[0] == got[1] == got[2] == 0.0


def test_screened_minimum_with_large_offsets() -> None:
    """Values near 1000, neighbours a small perturbation apart: the minimum stays exact."""
    rng = np.random.default_rng(14)
    t, n = 100, 9
    listeners = _smooth(rng, (n, t, 25), binary_aus=True)
    listeners[..., 15:] += np.float32(1000.0)
    samples = listeners[[0, 3, 3]] + rng.normal(0, 0.01, (3, t, 25)).astype(np.float32)
    samples[:, :, :15] = samples[:, :, :15] > 0.5
    owner = np.array([0, 3, 3])
    neighbours = np.ones((n, n), dtype=int)
    got = _screened(samples, owner, listeners, neighbours)
    np.testing.assert_array_equal(got, _brute_force(samples, owner, listeners, neighbours))


def test_unscreenable_inputs_fall_back_to_the_exact_kernel() -> None:
    """float64 arrays or values that could overflow the float32 screen: same minimum."""
    rng = np.random.default_rng(12)
    t, n = 100, 5
    listeners = _smooth(rng, (n, t, 25), binary_aus=True)
    samples = listeners[[0, 1]] + rng.normal(0, 0.1, (2, t, 25)).astype(np.float32)
    samples[1, 3, 20] = 2.0**41
    owner = np.array([0, 1])
    neighbours = np.ones((n, n), dtype=int)
    assert not fast.screen_eligible(fast.to_dim_major(samples), fast.to_dim_major(listeners))
    assert not fast.screen_eligible(
        fast.to_dim_major(samples[:1], np.float64), fast.to_dim_major(listeners, np.float64)
    )
    got = _screened(samples, owner, listeners, neighbours)
    np.testing.assert_array_equal(got, _brute_force(samples, owner, listeners, neighbours))
