"""The exact DTW kernel: the three group DTWs of a pair in one float64 pass (numba, CPU).

Local costs are computed in the input dtype, the DP accumulates in float64. float64 inputs are
bit-identical to ``tslearn.metrics.dtw``; float32 (the default) differs by ~1e-9 relative (at
most ~1e-7), far inside the 1e-5 budget, and identical sequences still give exactly 0. The three
groups share one pass over the DP matrix, swept by anti-diagonals so that every cell of a
diagonal is independent (SIMD). A DP can be abandoned as soon as its running lower bound passes
a threshold: the screen (:mod:`reactdiff.evaluation.dtw.screen`) and the unscreened minimum
(:func:`min_dtw_exact`) pass the best value found so far.
"""

from __future__ import annotations

import numba
import numpy as np
from llvmlite import ir as llvm_ir
from numba.core import types as nb_types
from numba.extending import intrinsic

from reactdiff.evaluation.dtw.groups import AU_END, N_DIMS, VA_END, weighted_distance, weighted_sum
from reactdiff.evaluation.dtw.sequences import au_masks, to_dim_major

_CHECK_EVERY = 50  # anti-diagonals between two abandon checks (each scans two diagonals)


@intrinsic
def popcount32(typingctx, x):  # numba intrinsic: (typing context, argument types)
    """Number of set bits of an int32 (``llvm.ctpop``: one vpopcntd per vector with AVX-512)."""
    sig = nb_types.int32(nb_types.int32)

    def codegen(context, builder, signature, args):
        fn = builder.module.declare_intrinsic("llvm.ctpop", [llvm_ir.IntType(32)])
        return builder.call(fn, args)

    return sig, codegen


@numba.njit(cache=True, nogil=True)
def _local_costs(
    arev: np.ndarray,
    b: np.ndarray,
    off: int,
    jlo: int,
    jhi: int,
    cost: np.ndarray,
    amrev: np.ndarray,
    bm: np.ndarray,
    skip_au: bool,
) -> None:
    """Squared distances of cells (T-1-off-j, j), j in [jlo, jhi], per group.

    Sums dimensions in order from 0.0, as tslearn does (bit-identical costs). Two dimensions per
    pass over contiguous 1-D slices: few enough pointers for LLVM to vectorize the inner loop,
    half the accumulator loads and stores of one dimension per pass. When both sequences have
    0/1 AUs (non-empty bit masks ``amrev``, ``bm``), the AU cost is the popcount of the XOR of
    the masks: exactly the same sum of squares, 8 passes fewer. ``skip_au``: no AU cost at all.
    """
    m = jhi - jlo + 1
    first_group = 1 if skip_au else 0
    if not skip_au and amrev.shape[0] > 0 and bm.shape[0] > 0:
        first_group = 1
        ma = amrev[off + jlo : off + jhi + 1]
        mb = bm[jlo : jhi + 1]
        c0 = cost[0, jlo : jhi + 1]
        for t in range(m):
            c0[t] = popcount32(ma[t] ^ mb[t])
    for g, lo, hi in ((0, 0, AU_END), (1, AU_END, VA_END), (2, VA_END, N_DIMS)):
        if g < first_group:
            continue
        cg = cost[g, jlo : jhi + 1]
        a0 = arev[lo, off + jlo : off + jhi + 1]
        b0 = b[lo, jlo : jhi + 1]
        a1 = arev[lo + 1, off + jlo : off + jhi + 1]
        b1 = b[lo + 1, jlo : jhi + 1]
        for t in range(m):  # every group has at least two dimensions
            x = a0[t] - b0[t]
            y = a1[t] - b1[t]
            cg[t] = x * x + y * y
        dim = lo + 2
        while dim + 2 <= hi:
            a0 = arev[dim, off + jlo : off + jhi + 1]
            b0 = b[dim, jlo : jhi + 1]
            a1 = arev[dim + 1, off + jlo : off + jhi + 1]
            b1 = b[dim + 1, jlo : jhi + 1]
            for t in range(m):
                x = a0[t] - b0[t]
                y = a1[t] - b1[t]
                cg[t] = cg[t] + x * x + y * y
            dim += 2
        if dim < hi:
            a0 = arev[dim, off + jlo : off + jhi + 1]
            b0 = b[dim, jlo : jhi + 1]
            for t in range(m):
                x = a0[t] - b0[t]
                cg[t] += x * x


@numba.njit(cache=True, nogil=True)
def diagonal_cost(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Per-group cost of the no-warping path of two (25, T) sequences: an upper bound on DTW^2.

    Local costs use exactly the arithmetic of :func:`_local_costs` (input dtype, same order),
    accumulation is float64 like the DP, so the bound also holds for the computed values.
    """
    n = b.shape[1]
    out = np.zeros(3)
    for t in range(n):
        for g, lo, hi in ((0, 0, AU_END), (1, AU_END, VA_END), (2, VA_END, N_DIMS)):
            x = a[lo, t] - b[lo, t]
            c = x * x
            for dim in range(lo + 1, hi):
                x = a[dim, t] - b[dim, t]
                c = c + x * x
            out[g] += c
    return out


@numba.njit(cache=True, nogil=True)
def dtw3_abandon(
    arev: np.ndarray,
    b: np.ndarray,
    threshold: float,
    bufs: np.ndarray,
    cost: np.ndarray,
    out: np.ndarray,
    amrev: np.ndarray,
    bm: np.ndarray,
    au_sq: float = -1.0,
) -> bool:
    """Squared DTW of the three groups between a (time-reversed) and b, both (25, T).

    Writes the three squared costs to ``out`` and returns True, or returns False as soon as the
    weighted lower bound exceeds ``threshold`` (pass ``inf`` to never abandon).
    ``bufs`` is scratch (3, 3, T + 1), ``cost`` scratch (3, T); ``amrev`` (reversed) and ``bm``
    are the AU bit masks of 0/1 sequences (empty: not binary, see :func:`au_masks`).
    ``au_sq`` >= 0: the AU group's squared DTW is already known exactly; it is not recomputed.
    """
    n = b.shape[1]
    skip_au = au_sq >= 0.0
    g0 = 1 if skip_au else 0
    bufs[:] = np.inf
    for d in range(2 * n - 1):
        jlo = max(0, d - n + 1)
        jhi = min(d, n - 1)
        _local_costs(arev, b, n - 1 - d, jlo, jhi, cost, amrev, bm, skip_au)
        cur = d % 3
        p1 = (d + 2) % 3
        p2 = (d + 1) % 3
        if d == 0:
            for g in range(3):
                bufs[g, 0, 1] = cost[g, 0]
            continue
        m = jhi - jlo + 1
        for g in range(3):
            if g < g0:
                continue
            c = bufs[g, cur, jlo + 1 : jhi + 2]
            up = bufs[g, p1, jlo + 1 : jhi + 2]
            left = bufs[g, p1, jlo : jhi + 1]
            diag = bufs[g, p2, jlo : jhi + 1]
            cg = cost[g, jlo : jhi + 1]
            for t in range(m):
                c[t] = cg[t] + min(up[t], left[t], diag[t])
        if d % _CHECK_EVERY == 0 and threshold < np.inf:
            lb = np.empty(3)
            jlo1 = max(0, d - n)
            jhi1 = min(d - 1, n - 1)
            lb[0] = au_sq
            for g in range(g0, 3):
                low = np.inf
                for j in range(jlo, jhi + 1):
                    low = min(low, bufs[g, cur, j + 1])
                for j in range(jlo1, jhi1 + 1):
                    low = min(low, bufs[g, p1, j + 1])
                lb[g] = low
            if weighted_distance(lb[0], lb[1], lb[2]) > threshold:
                return False
    last = (2 * n - 2) % 3
    for g in range(3):
        out[g] = bufs[g, last, n]
    if skip_au:
        out[0] = au_sq
    return True


@numba.njit(cache=True, nogil=True)
def _min_over_candidates(
    arev: np.ndarray,
    a: np.ndarray,
    amrev: np.ndarray,
    listeners: np.ndarray,
    lmasks: np.ndarray,
    lbinary: np.ndarray,
    cand: np.ndarray,
    bufs: np.ndarray,
    cost: np.ndarray,
) -> float:
    """min over candidate listeners of the weighted DTW, by increasing diagonal bound, abandoning."""
    nc = cand.shape[0]
    ub = np.empty(nc)
    for c in range(nc):
        dc = diagonal_cost(a, listeners[cand[c]])
        ub[c] = weighted_distance(dc[0], dc[1], dc[2])
    order = np.argsort(ub, kind="mergesort")
    best = np.inf
    out = np.empty(3)
    no_mask = np.empty(0, dtype=np.int32)
    for c in order:
        j = cand[c]
        bm = lmasks[j] if lbinary[j] else no_mask
        if dtw3_abandon(arev, listeners[j], best, bufs, cost, out, amrev, bm):
            v = weighted_distance(out[0], out[1], out[2])
            if v < best:
                best = v
    return best


@numba.njit(cache=True, nogil=True)
def min_dtw_exact(
    a: np.ndarray,
    amask: np.ndarray,
    listeners: np.ndarray,
    lmasks: np.ndarray,
    lbinary: np.ndarray,
    cand: np.ndarray,
) -> float:
    """min over listeners[cand] of D(a, .) with the exact kernel alone: neighbours ordered by
    the diagonal (no-warping) upper bound, each DP abandoned once it cannot beat the best."""
    n = a.shape[1]
    arev = np.ascontiguousarray(a[:, ::-1])
    amrev = np.ascontiguousarray(amask[::-1])
    bufs = np.empty((3, 3, n + 1))
    cost = np.empty((3, n), dtype=a.dtype)
    return _min_over_candidates(arev, a, amrev, listeners, lmasks, lbinary, cand, bufs, cost)


@numba.njit(cache=True, parallel=True)
def _dtw3_pairs(
    a: np.ndarray, b: np.ndarray, amasks: np.ndarray, bmasks: np.ndarray, binary: np.ndarray
) -> np.ndarray:
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


def weighted_dtw(a: np.ndarray, b: np.ndarray, dtype: type = np.float32) -> np.ndarray:
    """FRDist's D(a, b) for pairs of (P, T, 25) sequences (numba), as float64 (P,)."""
    sq = dtw3_pairs(to_dim_major(a, dtype), to_dim_major(b, dtype))
    return weighted_sum(np.sqrt(sq))
