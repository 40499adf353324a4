"""Dynamic time warping for FRDist: a pruned numba kernel (CPU) and a torch wavefront (any device).

FRDist compares a generated reaction with each appropriate real listener reaction through three
DTWs (AUs 0:15, valence/arousal 15:17, expressions 17:25), weighted 1/15, 1 and 1/8, and keeps the
minimum over the neighbours. Both paths reproduce ``tslearn.metrics.dtw`` (classic DTW, no window,
squared Euclidean local cost, float64 accumulation, square root at the end) on float32 inputs, as
the official REACT script casts with ``.astype(np.float32)``.

The CPU kernel takes float32 or float64 arrays (holding float32 values). Local costs are computed
in that dtype, the DP accumulates in float64. float64 is bit-identical to tslearn; float32 (the
default, ~1.5x faster: twice the SIMD lanes, half the memory) differs by ~1e-9 relative (at most
~1e-7), far inside the 1e-5 budget, and identical sequences still give exactly 0.

The CPU kernel prunes work that cannot change the minimum:

* the three groups share one pass over the DP matrix, swept by anti-diagonals so that every cell of
  a diagonal is independent (SIMD) and local costs are computed on the fly (no T x T buffer);
* candidates are visited in order of their diagonal (no-warping) cost, an upper bound of the DTW;
* a candidate is abandoned as soon as the lower bound ``sum_g w_g sqrt(min over two consecutive
  anti-diagonals of the cumulative cost)`` exceeds the best value so far (every warping path
  crosses one of two consecutive anti-diagonals, and costs only grow along a path).

Floating-point addition is monotone, so the lower bound never exceeds the computed DTW, and a
candidate is abandoned only against an exactly computed value: the pruned minimum is
bit-identical to the brute-force minimum of the same kernel. (How much it saves depends on the
spread of the neighbours' DTWs: ~10% on the synthetic benchmark, where they are within ~20%.)

When both sequences of a pair have 0/1 AUs (real listener reactions, GT and mime baselines, the
benchmark workload), the AU cost of a cell is the popcount of the XOR of 15-bit masks: the same
integer as the sum of squares, at a fraction of the work (~1.5x per pair). Samples run on a thread
pool; the kernels release the GIL.
"""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor

import numba
import numpy as np
import torch

#: (first dim, end dim, weight) of the three FRDist dimension groups.
GROUPS: tuple[tuple[int, int, float], ...] = ((0, 15, 1 / 15), (15, 17, 1.0), (17, 25, 1 / 8))
N_DIMS = 25
_G0, _G1 = 15, 17  # group boundaries, as literals for the kernels
_W0, _W1, _W2 = 1 / 15, 1.0, 1 / 8
_CHECK_EVERY = 50  # anti-diagonals between two abandon checks (each scans two diagonals)
_NO_MASK = np.empty(0, dtype=np.int64)  # empty AU mask: AUs not 0/1, generic local cost


@numba.njit(cache=True, nogil=True, inline="always")
def _popcount16(x: int) -> int:
    """Number of set bits of a value below 2**16 (SWAR, vectorizable)."""
    x = x - ((x >> 1) & 0x5555)
    x = (x & 0x3333) + ((x >> 2) & 0x3333)
    x = (x + (x >> 4)) & 0x0F0F
    return (x + (x >> 8)) & 0x1F


@numba.njit(cache=True, nogil=True)
def _local_costs(arev: np.ndarray, b: np.ndarray, off: int, jlo: int, jhi: int,
                 cost: np.ndarray, amrev: np.ndarray, bm: np.ndarray) -> None:
    """Squared distances of cells (T-1-off-j, j), j in [jlo, jhi], per group.

    Sums dimensions in order from 0.0, as tslearn does (bit-identical costs). Two dimensions per
    pass over contiguous 1-D slices: few enough pointers for LLVM to vectorize the inner loop,
    half the accumulator loads and stores of one dimension per pass. When both sequences have
    0/1 AUs (non-empty bit masks ``amrev``, ``bm``), the AU cost is the popcount of the XOR of
    the masks: exactly the same sum of squares, 8 passes fewer.
    """
    m = jhi - jlo + 1
    first_group = 0
    if amrev.shape[0] > 0 and bm.shape[0] > 0:
        first_group = 1
        ma = amrev[off + jlo:off + jhi + 1]
        mb = bm[jlo:jhi + 1]
        c0 = cost[0, jlo:jhi + 1]
        for t in range(m):
            c0[t] = _popcount16(ma[t] ^ mb[t])
    for g, lo, hi in ((0, 0, _G0), (1, _G0, _G1), (2, _G1, N_DIMS)):
        if g < first_group:
            continue
        cg = cost[g, jlo:jhi + 1]
        a0 = arev[lo, off + jlo:off + jhi + 1]
        b0 = b[lo, jlo:jhi + 1]
        a1 = arev[lo + 1, off + jlo:off + jhi + 1]
        b1 = b[lo + 1, jlo:jhi + 1]
        for t in range(m):  # every group has at least two dimensions
            x = a0[t] - b0[t]
            y = a1[t] - b1[t]
            cg[t] = x * x + y * y
        dim = lo + 2
        while dim + 2 <= hi:
            a0 = arev[dim, off + jlo:off + jhi + 1]
            b0 = b[dim, jlo:jhi + 1]
            a1 = arev[dim + 1, off + jlo:off + jhi + 1]
            b1 = b[dim + 1, jlo:jhi + 1]
            for t in range(m):
                x = a0[t] - b0[t]
                y = a1[t] - b1[t]
                cg[t] = cg[t] + x * x + y * y
            dim += 2
        if dim < hi:
            a0 = arev[dim, off + jlo:off + jhi + 1]
            b0 = b[dim, jlo:jhi + 1]
            for t in range(m):
                x = a0[t] - b0[t]
                cg[t] += x * x


@numba.njit(cache=True, nogil=True)
def _combine(d0: float, d1: float, d2: float) -> float:
    """Weighted sum of the three group DTWs, in the official script's order."""
    res = 0.0
    res += _W0 * math.sqrt(d0)
    res += _W1 * math.sqrt(d1)
    res += _W2 * math.sqrt(d2)
    return res


@numba.njit(cache=True, nogil=True)
def diagonal_cost(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Per-group cost of the no-warping path of two (25, T) sequences: an upper bound on DTW^2.

    Local costs use exactly the arithmetic of :func:`_local_costs` (input dtype, same order),
    accumulation is float64 like the DP, so the bound also holds for the computed values.
    """
    n = b.shape[1]
    out = np.zeros(3)
    for t in range(n):
        for g, lo, hi in ((0, 0, _G0), (1, _G0, _G1), (2, _G1, N_DIMS)):
            x = a[lo, t] - b[lo, t]
            c = x * x
            for dim in range(lo + 1, hi):
                x = a[dim, t] - b[dim, t]
                c = c + x * x
            out[g] += c
    return out


@numba.njit(cache=True, nogil=True)
def dtw3_abandon(arev: np.ndarray, b: np.ndarray, threshold: float, bufs: np.ndarray,
                 cost: np.ndarray, out: np.ndarray, amrev: np.ndarray, bm: np.ndarray) -> bool:
    """Squared DTW of the three groups between a (time-reversed) and b, both (25, T).

    Writes the three squared costs to ``out`` and returns True, or returns False as soon as the
    weighted lower bound exceeds ``threshold`` (pass ``inf`` to never abandon).
    ``bufs`` is scratch (3, 3, T + 1), ``cost`` scratch (3, T); ``amrev`` (reversed) and ``bm``
    are the AU bit masks of 0/1 sequences (empty: not binary, see :func:`au_masks`).
    """
    n = b.shape[1]
    bufs[:] = np.inf
    for d in range(2 * n - 1):
        jlo = max(0, d - n + 1)
        jhi = min(d, n - 1)
        _local_costs(arev, b, n - 1 - d, jlo, jhi, cost, amrev, bm)
        cur = d % 3
        p1 = (d + 2) % 3
        p2 = (d + 1) % 3
        if d == 0:
            for g in range(3):
                bufs[g, 0, 1] = cost[g, 0]
            continue
        m = jhi - jlo + 1
        for g in range(3):
            c = bufs[g, cur, jlo + 1:jhi + 2]
            up = bufs[g, p1, jlo + 1:jhi + 2]
            left = bufs[g, p1, jlo:jhi + 1]
            diag = bufs[g, p2, jlo:jhi + 1]
            cg = cost[g, jlo:jhi + 1]
            for t in range(m):
                c[t] = cg[t] + min(up[t], left[t], diag[t])
        if d % _CHECK_EVERY == 0 and threshold < np.inf:
            lb = np.empty(3)
            jlo1 = max(0, d - n)
            jhi1 = min(d - 1, n - 1)
            for g in range(3):
                low = np.inf
                for j in range(jlo, jhi + 1):
                    low = min(low, bufs[g, cur, j + 1])
                for j in range(jlo1, jhi1 + 1):
                    low = min(low, bufs[g, p1, j + 1])
                lb[g] = low
            if _combine(lb[0], lb[1], lb[2]) > threshold:
                return False
    last = (2 * n - 2) % 3
    for g in range(3):
        out[g] = bufs[g, last, n]
    return True


@numba.njit(cache=True, nogil=True)
def _min_over_candidates(arev: np.ndarray, a: np.ndarray, amrev: np.ndarray,
                         listeners: np.ndarray, lmasks: np.ndarray, lbinary: np.ndarray,
                         cand: np.ndarray, bufs: np.ndarray, cost: np.ndarray) -> float:
    """min over candidate listeners of the weighted DTW, pruned (see module docstring)."""
    nc = cand.shape[0]
    ub = np.empty(nc)
    for c in range(nc):
        dc = diagonal_cost(a, listeners[cand[c]])
        ub[c] = _combine(dc[0], dc[1], dc[2])
    order = np.argsort(ub, kind="mergesort")
    best = np.inf
    out = np.empty(3)
    no_mask = np.empty(0, dtype=np.int64)
    for c in order:
        j = cand[c]
        bm = lmasks[j] if lbinary[j] else no_mask
        if dtw3_abandon(arev, listeners[j], best, bufs, cost, out, amrev, bm):
            v = _combine(out[0], out[1], out[2])
            if v < best:
                best = v
    return best


@numba.njit(cache=True, nogil=True)
def _min_dtw_task(a: np.ndarray, amask: np.ndarray, listeners: np.ndarray, lmasks: np.ndarray,
                  lbinary: np.ndarray, cand: np.ndarray) -> float:
    n = a.shape[1]
    arev = np.ascontiguousarray(a[:, ::-1])
    amrev = np.ascontiguousarray(amask[::-1])
    bufs = np.empty((3, 3, n + 1))
    cost = np.empty((3, n), dtype=a.dtype)
    return _min_over_candidates(arev, a, amrev, listeners, lmasks, lbinary, cand, bufs, cost)


def au_masks(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """AU bit masks (..., T) int64 of (..., 25, T) sequences, and whether each one has 0/1 AUs."""
    au = x[..., :_G0, :]
    binary = ((au == 0) | (au == 1)).all(axis=(-1, -2))
    bits = (1 << np.arange(_G0, dtype=np.int64))[:, None]
    return ((au == 1) * bits).sum(axis=-2).astype(np.int64), binary


def min_dtw_tasks(samples: np.ndarray, owner: np.ndarray, listeners: np.ndarray,
                  indptr: np.ndarray, indices: np.ndarray, threads: int | None = None) -> np.ndarray:
    """For each sample u (25, T), min over listeners j in row owner[u] of the CSR matrix of D.

    samples (U, 25, T) and listeners (N, 25, T) share a dtype (see module docstring). Tasks run
    on a thread pool (the kernel releases the GIL), one task per sample.
    """
    threads = threads or numba.get_num_threads()
    smasks, sbinary = au_masks(samples)
    lmasks, lbinary = au_masks(listeners)

    def task(u: int) -> float:
        k = owner[u]
        amask = smasks[u] if sbinary[u] else _NO_MASK
        return _min_dtw_task(samples[u], amask, listeners, lmasks, lbinary,
                             indices[indptr[k]:indptr[k + 1]])

    with ThreadPoolExecutor(max_workers=threads) as pool:
        return np.fromiter(pool.map(task, range(samples.shape[0])), dtype=np.float64,
                           count=samples.shape[0])


@numba.njit(cache=True, parallel=True)
def _dtw3_pairs(a: np.ndarray, b: np.ndarray, amasks: np.ndarray, bmasks: np.ndarray,
                binary: np.ndarray) -> np.ndarray:
    n_pairs = a.shape[0]
    n = a.shape[2]
    result = np.empty((n_pairs, 3))
    for p in numba.prange(n_pairs):
        arev = np.ascontiguousarray(a[p][:, ::-1])
        bufs = np.empty((3, 3, n + 1))
        cost = np.empty((3, n), dtype=a.dtype)
        out = np.empty(3)
        amrev = np.ascontiguousarray(amasks[p][::-1])
        bm = bmasks[p]
        if not binary[p]:
            amrev = amrev[:0]
            bm = bm[:0]
        dtw3_abandon(arev, b[p], np.inf, bufs, cost, out, amrev, bm)
        result[p] = out
    return result


def dtw3_pairs(a: np.ndarray, b: np.ndarray, use_masks: bool = True) -> np.ndarray:
    """Squared per-group DTW of the pairs (a[p], b[p]), each (25, T): shape (P, 3), float64.

    No pruning; ``use_masks`` False forces the generic AU cost even for 0/1 AUs.
    """
    amasks, abin = au_masks(a)
    bmasks, bbin = au_masks(b)
    return _dtw3_pairs(a, b, amasks, bmasks, abin & bbin & use_masks)


def to_dim_major(x: np.ndarray, dtype: type = np.float32) -> np.ndarray:
    """(..., T, 25) array of any float dtype -> (..., 25, T) of its float32 values.

    ``dtype`` float32 (default, fast) or float64 (local costs bit-identical to tslearn).
    """
    x32 = np.asarray(x, dtype=np.float32)
    return np.ascontiguousarray(np.swapaxes(x32, -1, -2), dtype=dtype)


def weighted_dtw(a: np.ndarray, b: np.ndarray, dtype: type = np.float32) -> np.ndarray:
    """FRDist's D(a, b) for pairs of (P, T, 25) sequences (numba), as float64 (P,)."""
    sq = dtw3_pairs(to_dim_major(a, dtype), to_dim_major(b, dtype))
    return _weighted(np.sqrt(sq))


def _weighted(dist: np.ndarray) -> np.ndarray:
    res = np.zeros(dist.shape[:-1])
    for g, (_, _, w) in enumerate(GROUPS):
        res = res + w * dist[..., g]
    return res


# --------------------------------------------------------------------------- torch wavefront
def dtw_wavefront(a: torch.Tensor, b: torch.Tensor,
                  groups: tuple[tuple[int, int, float], ...] = GROUPS,
                  a_index: torch.Tensor | None = None,
                  b_index: torch.Tensor | None = None) -> torch.Tensor:
    """DTW distance per group of many pairs at once, by anti-diagonals (any torch device).

    Pairs are (a[p], b[p]) for a (P, T1, D), b (P, T2, D), or (a[a_index[p]], b[b_index[p]])
    when indices are given (sequences are then gathered one diagonal at a time, never copied
    per pair). Returns (P, G) float64 distances (square roots), like ``tslearn.metrics.dtw`` on
    every pair and group. Inputs are cast to float32 (as the official script does), then float64.
    """
    a = a.to(torch.float32).to(torch.float64)
    b = b.to(torch.float32).to(torch.float64)
    dev = a.device
    if a_index is None:
        a_index = torch.arange(a.shape[0], device=dev)
    if b_index is None:
        b_index = torch.arange(b.shape[0], device=dev)
    n_pairs, t1, t2 = a_index.shape[0], a.shape[1], b.shape[1]
    ai, bi = a_index.to(dev)[:, None], b_index.to(dev)[:, None]
    # diagonal buffers indexed by i + 1 (index 0 is the i = -1 border)
    prev2 = torch.full((n_pairs, len(groups), t1 + 1), float("inf"), dtype=torch.float64,
                       device=dev)
    prev1 = prev2.clone()
    for d in range(t1 + t2 - 1):
        ilo, ihi = max(0, d - t2 + 1), min(d, t1 - 1)
        i = torch.arange(ilo, ihi + 1, device=dev)[None, :]
        diff = a[ai, i] - b[bi, d - i]
        sq = diff * diff
        cost = torch.stack([sq[..., lo:hi].sum(-1) for lo, hi, _ in groups], dim=1)
        cur = torch.full_like(prev1, float("inf"))
        if d == 0:
            cur[:, :, 1] = cost[:, :, 0]
        else:
            up = prev1[:, :, ilo:ihi + 1]  # (i - 1, j)
            left = prev1[:, :, ilo + 1:ihi + 2]  # (i, j - 1)
            diag = prev2[:, :, ilo:ihi + 1]  # (i - 1, j - 1)
            cur[:, :, ilo + 1:ihi + 2] = cost + torch.minimum(torch.minimum(up, left), diag)
        prev2, prev1 = prev1, cur
    return torch.sqrt(prev1[:, :, t1])


def weighted_dtw_torch(a: torch.Tensor, b: torch.Tensor, a_index: torch.Tensor | None = None,
                       b_index: torch.Tensor | None = None) -> torch.Tensor:
    """FRDist's D for pairs (see :func:`dtw_wavefront`) with the torch wavefront: float64 (P,)."""
    dist = dtw_wavefront(a, b, GROUPS, a_index, b_index)
    res = torch.zeros(dist.shape[0], dtype=torch.float64, device=dist.device)
    for g, (_, _, w) in enumerate(GROUPS):
        res = res + w * dist[:, g]
    return res
