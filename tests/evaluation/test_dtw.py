"""DTW kernels against the tslearn oracle (the function the official script calls)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from tslearn.metrics import dtw

from reactdiff.evaluation import dtw as fast


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
    diag = fast.diagonal_cost(fast.to_dim_major(a), fast.to_dim_major(b))
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
    no = fast._NO_MASK
    assert fast.dtw3_abandon(arev, b_dm, np.inf, bufs, cost, out, no, no)
    exact = fast._combine(out[0], out[1], out[2])
    assert not fast.dtw3_abandon(arev, b_dm, exact / 2, bufs, cost, out, no, no)
    assert fast.dtw3_abandon(arev, b_dm, exact, bufs, cost, out, no, no)


def test_torch_wavefront_matches_tslearn_on_cpu() -> None:
    a, b = _pairs(4, 4, 100)
    got = fast.dtw_wavefront(torch.from_numpy(a), torch.from_numpy(b)).numpy()
    want = np.stack([_oracle(a[p], b[p]) for p in range(len(a))])
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


def test_torch_wavefront_unequal_lengths() -> None:
    rng = np.random.default_rng(5)
    a, b = rng.random((2, 30, 3)), rng.random((2, 41, 3))
    got = fast.dtw_wavefront(torch.from_numpy(a), torch.from_numpy(b), ((0, 3, 1.0),)).numpy()
    want = [dtw(a[p].astype(np.float32), b[p].astype(np.float32)) for p in range(2)]
    np.testing.assert_allclose(got[:, 0], want, rtol=1e-12)


# --------------------------------------------------------------------------- float32 screen
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
            lo, hi = fast._screen_bounds(screened[p, g], 2 * t - 2, g == 0 and bool(lbin[p]))
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
        b = [
            fast._screen_bounds(screened[p, g], 2 * t - 2, g == 0 and bool(lbin[p]))
            for g in range(3)
        ]
        for g in range(3):
            assert b[g][0] <= exact[p, g] <= b[g][1]
        d = fast._combine(*exact[p])
        lo, hi = fast._combine(*(v[0] for v in b)), fast._combine(*(v[1] for v in b))
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
    f = fast._screen_speaker(s_dm, smasks, sbin, np.arange(n_samples), l_dm, lmasks, lbin, cand)
    for u in range(n_samples):
        exact = fast.dtw3_pairs(np.repeat(s_dm[u : u + 1], n_neighbours, 0), l_dm)
        for c in cand:
            for g in range(3):
                lo, hi = fast._screen_bounds(f[u, c, g], 2 * t - 2, g == 0 and sbin[u])
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
