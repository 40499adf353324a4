"""Dynamic time warping for FRDist: a screened numba kernel (CPU; the GPU kernels are in
:mod:`reactdiff.evaluation.dtw_cuda`), a torch wavefront (any torch device, brute force).

FRDist compares a generated reaction with each appropriate real listener reaction through three
DTWs (AUs 0:15, valence/arousal 15:17, expressions 17:25), weighted 1/15, 1 and 1/8, and keeps the
minimum over the neighbours. Both paths reproduce ``tslearn.metrics.dtw`` (classic DTW, no window,
squared Euclidean local cost, float64 accumulation, square root at the end) on float32 inputs, as
the official REACT script casts with ``.astype(np.float32)``.

**Exact kernel** (:func:`dtw3_abandon`). Local costs are computed in the input dtype, the DP
accumulates in float64. float64 inputs are bit-identical to tslearn; float32 (the default)
differs by ~1e-9 relative (at most ~1e-7), far inside the 1e-5 budget, and identical sequences
still give exactly 0. The three groups share one pass over the DP matrix, swept by
anti-diagonals so that every cell of a diagonal is independent (SIMD).

**Screen, then exact** (:func:`min_dtw_tasks`, float32 inputs). FRDist needs only the minimum
over ~20 neighbours, whose DTWs typically lie within ~1% of each other (too close for early
abandoning to save anything: at most ~1% of the cells even with the final minimum known in
advance). So every neighbour is first *screened* by a cheaper float32 DP, and only those that
can still be the minimum are recomputed with the exact kernel:

* the screen (:func:`_screen`) runs the neighbours of a speaker as SIMD lanes against one
  sample, in blocks of 8 (one 256-bit float32 vector): rows follow the neighbours' time (lane
  data), columns the sample's time (one value broadcast to all lanes), two rows per sweep,
  float32 accumulation (twice the lanes of float64), squares added by fused multiply-adds
  and, for 0/1 AUs, a hardware popcount of int32 bit masks. When a speaker's neighbour count
  leaves a partial lane block, its last neighbours are screened the other way round, with the
  speaker's samples as lanes (DTW is symmetric);
* error bound: a local cost is a sum of d <= 15 squares, each >= 0, so both kernels compute
  it within a relative (d + 2) u of the exact real cost (u = 2^-24: a rounding of the
  difference, one of the square or the fused add, d - 1 of the sum), and the two differ by
  a relative 2 (d + 2) u <= 34 u at most. With nonnegative local costs, a DP computed with
  unit roundoff u stays within a factor (1 ± u)^k of the exact-arithmetic DP on the same
  costs, k = 2T - 2 being the most rounded additions on a path (induction over the cells: the
  min is exact, costs are >= 0), and scaling every cost by at most (1 ± r) scales the DP by
  at most as much. For the float32 screen F and the float64 kernel E of a group this gives
  ``F (1 - 2 (k + 34) u) - e <= E <= F (1 + 2 (k + 34) u) + e`` with ``e = (k + 1) 2^-118``:
  the first-order term is (k + 34) u + k 2^-53, the factor 2 is a safety margin and e covers
  flush-to-zero (at most 2^-126 per operation, 20 operations per cell); ±1.8e-4 at T = 750.
  With 0/1 AUs on both sides the AU group is exact (integer costs, sums < 2^24). ``sqrt``,
  the weights and the sum are monotone in floating point, so ``D_lo <= D <= D_hi`` for the
  weighted value D of every neighbour;
* only neighbours with ``D_lo <= min over neighbours of D_hi`` are recomputed exactly (in order
  of ``D_lo``, abandoning a DP as soon as its running lower bound passes the best value, and
  reusing the exact AU group): an excluded neighbour has
  ``D > D_lo > D_hi(best screened) >= D(best screened)``. The result is bit-identical to the
  brute-force minimum of the exact kernel. On the benchmark workload exactly one neighbour per
  sample is recomputed.

The screen needs inputs that cannot overflow float32 (finite, ``|x| <= 2^40``) and T <= 80000;
otherwise (and for float64 inputs) :func:`min_dtw_tasks` falls back to the exact kernel on every
neighbour, ordered by the diagonal (no-warping) upper bound, with early abandoning.

LLVM only vectorises the screen's lane loop if it knows the row buffers do not alias (see
:class:`_NoAliasCompiler`), and only keeps the DP's carries in registers when the lane loop has
a literal trip count (one 8-lane block). Measured on the benchmark machine (2 cores, T = 750,
binary AUs; the machine's speed varies by ~30% from run to run): the exact kernel costs ~2 ms
per pair (~10 cycles per DP cell), the screen ~0.3-0.4 ms per lane (~1.6 cycles per cell, 1.7x
less than with a run-time lane count and separate multiplies and adds); with lane padding
(~1.12 lanes per pair) and the exact recomputation, FRDist costs ~0.5-0.66 ms of CPU per
(sample, neighbour) pair. Continuous AUs (15 more dimensions in the local cost) cost ~2x.
Speakers run on a thread pool, largest first; the kernels release the GIL.
"""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numba
import numpy as np
import torch
from llvmlite import ir as llvm_ir
from numba.core import types as nb_types
from numba.core.compiler import Compiler
from numba.extending import intrinsic

from reactdiff.data.format import AU_SLICE, EMOTION_DIM, EXPR_SLICE, VA_SLICE

N_DIMS = EMOTION_DIM
# group boundaries (AUs | valence, arousal | expressions): numba freezes these module globals
# into the kernels as literals when it compiles them
_G0, _G1 = AU_SLICE.stop, VA_SLICE.stop
# the official weights: the AU and expression distances are means, the VA distance a sum
_W0, _W1, _W2 = 1 / (_G0 - AU_SLICE.start), 1.0, 1 / (EXPR_SLICE.stop - EXPR_SLICE.start)
#: (first dim, end dim, weight) of the three FRDist dimension groups.
GROUPS: tuple[tuple[int, int, float], ...] = ((0, _G0, _W0), (_G0, _G1, _W1), (_G1, N_DIMS, _W2))
_CHECK_EVERY = 50  # anti-diagonals between two abandon checks (each scans two diagonals)
_NO_MASK = np.empty(0, dtype=np.int32)  # empty AU mask: AUs not 0/1, generic local cost
_LANE_BLOCK = 8  # screen lanes are padded to a multiple of this (one 256-bit float32 vector)
_SCREEN_MAX_ABS = 2.0**40  # larger inputs could overflow the float32 screen: exact path
_SCREEN_MAX_T = 80_000  # keeps the rounding bound 2 (2T - 2) 2^-24 below 1%


@intrinsic
def _popcount32(typingctx, x):  # numba intrinsic: (typing context, argument types)
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
            c0[t] = _popcount32(ma[t] ^ mb[t])
    for g, lo, hi in ((0, 0, _G0), (1, _G0, _G1), (2, _G1, N_DIMS)):
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
            if _combine(lb[0], lb[1], lb[2]) > threshold:
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
    """min over candidate listeners of the weighted DTW, pruned (see module docstring)."""
    nc = cand.shape[0]
    ub = np.empty(nc)
    for c in range(nc):
        dc = diagonal_cost(a, listeners[cand[c]])
        ub[c] = _combine(dc[0], dc[1], dc[2])
    order = np.argsort(ub, kind="mergesort")
    best = np.inf
    out = np.empty(3)
    no_mask = np.empty(0, dtype=np.int32)
    for c in order:
        j = cand[c]
        bm = lmasks[j] if lbinary[j] else no_mask
        if dtw3_abandon(arev, listeners[j], best, bufs, cost, out, amrev, bm):
            v = _combine(out[0], out[1], out[2])
            if v < best:
                best = v
    return best


@numba.njit(cache=True, nogil=True)
def _min_dtw_task(
    a: np.ndarray,
    amask: np.ndarray,
    listeners: np.ndarray,
    lmasks: np.ndarray,
    lbinary: np.ndarray,
    cand: np.ndarray,
) -> float:
    n = a.shape[1]
    arev = np.ascontiguousarray(a[:, ::-1])
    amrev = np.ascontiguousarray(amask[::-1])
    bufs = np.empty((3, 3, n + 1))
    cost = np.empty((3, n), dtype=a.dtype)
    return _min_over_candidates(arev, a, amrev, listeners, lmasks, lbinary, cand, bufs, cost)


# --------------------------------------------------------------------------- float32 screen
class _NoAliasCompiler(Compiler):
    """Numba pipeline that declares a kernel's array arguments ``noalias`` to LLVM.

    Without it, LLVM guards the vectorised lane loop with run-time overlap checks between the
    arrays, hoists those checks out of the column loop over the whole row, where the load and
    store ranges do overlap, and runs the scalar loop instead (4-6x slower). Callers must pass
    distinct buffers for everything the kernel writes.
    """

    def define_pipelines(self) -> list:
        self.state.flags.noalias = True
        return super().define_pipelines()


@numba.njit(cache=True, nogil=True, inline="always")
def _lane_sqdist(col: tuple, j: int, blk: tuple, i: int, lane: int, lo: int, hi: int) -> np.float32:
    """Squared distance over dims [lo, hi) of column j of the sequence and row i of a lane.

    Sums in dimension order from dim lo, like :func:`_local_costs`; the caller compiles with
    ``contract``, so each square is added by one fused multiply-add. Every term is >= 0, so
    the cost stays within a relative (hi - lo + 2) 2^-24 of the exact one (as the exact
    kernel's does), whatever the magnitude of the values.
    """
    seq, lanes = col[0], blk[0]
    x = seq[j, lo] - lanes[i, lo, lane]
    c = x * x
    for dim in range(lo + 1, hi):
        x = seq[j, dim] - lanes[i, dim, lane]
        c = c + x * x
    return c


@numba.njit(cache=True, nogil=True, inline="always")
def _lane_costs(col: tuple, j: int, blk: tuple, i: int, lane: int, binary: bool) -> tuple:
    """Local costs (AU, VA, expressions) of row i of a lane against column j of the sequence.

    ``col`` is (sequence, its AU masks), ``blk`` (lanes, their AU masks) of one lane block.
    ``binary``: AU cost from the bit masks (popcount: the exact integer sum of squares). Pass
    it as a literal inside vectorised loops (a run-time branch there defeats the vectoriser).
    """
    if binary:
        c0 = np.float32(_popcount32(blk[1][i, lane] ^ col[1][j]))
    else:
        c0 = _lane_sqdist(col, j, blk, i, lane, 0, _G0)
    return (
        c0,
        _lane_sqdist(col, j, blk, i, lane, _G0, _G1),
        _lane_sqdist(col, j, blk, i, lane, _G1, N_DIMS),
    )


@numba.njit(cache=True, nogil=True, pipeline_class=_NoAliasCompiler, fastmath={"contract"})
def _screen_rows(
    i: int, blk: tuple, col: tuple, binary: bool, prev: tuple, cur: tuple, carry: tuple
) -> None:
    """DP rows i and i + 1 of one lane block and all groups, from ``prev`` (row i - 1) to ``cur``.

    ``prev``/``cur`` hold one (T + 1, 8) buffer per group, index 0 being the j = -1 border.
    Row i is kept in registers and three (8,) buffers per group in ``carry``: the cell to the
    left in row i, the cell to the left in row i + 1 and the diagonal of row i + 1. Two rows per
    sweep halve the row-buffer traffic and the per-column overhead (~10% faster than one).
    The lane loop is innermost, so that it is vectorised, and its trip count is the literal
    ``_LANE_BLOCK``: LLVM then turns it into one vector operation and keeps the carries in
    registers across columns (1.4x faster than a run-time width; 16 lanes run out of registers).
    (The DP update is written out per group: an inlined helper that stores into its array
    arguments blocks the vectoriser.)
    """
    p0, p1, p2 = prev
    q0, q1, q2 = cur
    a0, a1, a2, b0, b1, b2, d0, d1, d2 = carry
    for lane in range(_LANE_BLOCK):
        a0[lane] = a1[lane] = a2[lane] = np.inf
        b0[lane] = b1[lane] = b2[lane] = np.inf
        d0[lane] = d1[lane] = d2[lane] = np.inf
    q0[0] = q1[0] = q2[0] = np.inf
    for j in range(col[0].shape[0]):
        if binary:
            for lane in range(_LANE_BLOCK):
                c0, c1, c2 = _lane_costs(col, j, blk, i, lane, True)
                e0, e1, e2 = _lane_costs(col, j, blk, i + 1, lane, True)
                v = c0 + min(p0[j + 1, lane], p0[j, lane], a0[lane])
                w = e0 + min(v, d0[lane], b0[lane])
                a0[lane] = d0[lane] = v
                b0[lane] = q0[j + 1, lane] = w
                v = c1 + min(p1[j + 1, lane], p1[j, lane], a1[lane])
                w = e1 + min(v, d1[lane], b1[lane])
                a1[lane] = d1[lane] = v
                b1[lane] = q1[j + 1, lane] = w
                v = c2 + min(p2[j + 1, lane], p2[j, lane], a2[lane])
                w = e2 + min(v, d2[lane], b2[lane])
                a2[lane] = d2[lane] = v
                b2[lane] = q2[j + 1, lane] = w
        else:  # the same, with the AU cost from the 15 dimensions
            for lane in range(_LANE_BLOCK):
                c0, c1, c2 = _lane_costs(col, j, blk, i, lane, False)
                e0, e1, e2 = _lane_costs(col, j, blk, i + 1, lane, False)
                v = c0 + min(p0[j + 1, lane], p0[j, lane], a0[lane])
                w = e0 + min(v, d0[lane], b0[lane])
                a0[lane] = d0[lane] = v
                b0[lane] = q0[j + 1, lane] = w
                v = c1 + min(p1[j + 1, lane], p1[j, lane], a1[lane])
                w = e1 + min(v, d1[lane], b1[lane])
                a1[lane] = d1[lane] = v
                b1[lane] = q1[j + 1, lane] = w
                v = c2 + min(p2[j + 1, lane], p2[j, lane], a2[lane])
                w = e2 + min(v, d2[lane], b2[lane])
                a2[lane] = d2[lane] = v
                b2[lane] = q2[j + 1, lane] = w


@numba.njit(cache=True, nogil=True, fastmath={"contract"})
def _screen_first_row(blk: tuple, col: tuple, binary: bool, cur: tuple) -> None:
    """Row 0 alone (odd T): D(0, j) = c(0, j) + D(0, j - 1), as the DP computes it. Scalar, 1/T."""
    for lane in range(_LANE_BLOCK):
        for j in range(col[0].shape[0]):
            c = _lane_costs(col, j, blk, 0, lane, binary)
            for g in range(3):
                cur[g][j + 1, lane] = c[g] if j == 0 else c[g] + cur[g][j, lane]
    for g in range(3):
        cur[g][0] = np.inf


@numba.njit(cache=True, nogil=True)
def _screen(
    lanes: tuple, seq: np.ndarray, smask: np.ndarray, binary: bool, out: np.ndarray
) -> None:
    """float32 squared per-group DTW of seq (T, 25) and every lane: out (3, width).

    ``lanes`` is :func:`_to_lanes`'s (data, AU masks) in blocks of 8 lanes, swept one block
    at a time.
    """
    data, masks = lanes
    n = seq.shape[0]
    col = (seq, smask)
    dt = np.float32
    w = _LANE_BLOCK
    prev0 = (np.empty((n + 1, w), dt), np.empty((n + 1, w), dt), np.empty((n + 1, w), dt))
    cur0 = (np.empty((n + 1, w), dt), np.empty((n + 1, w), dt), np.empty((n + 1, w), dt))
    carry = (
        np.empty(w, dt),
        np.empty(w, dt),
        np.empty(w, dt),
        np.empty(w, dt),
        np.empty(w, dt),
        np.empty(w, dt),
        np.empty(w, dt),
        np.empty(w, dt),
        np.empty(w, dt),
    )
    for k in range(data.shape[0]):
        blk = (data[k], masks[k])
        prev, cur = prev0, cur0
        for g in range(3):
            prev[g][:] = np.inf
            prev[g][0] = 0.0  # virtual cell (-1, -1): cell (0, 0) = its local cost, exactly
        i = 0
        if n % 2 == 1:
            _screen_first_row(blk, col, binary, cur)
            prev, cur = cur, prev
            i = 1
        while i < n:
            _screen_rows(i, blk, col, binary, prev, cur, carry)
            prev, cur = cur, prev
            i += 2
        for g in range(3):
            out[g, k * w : (k + 1) * w] = prev[g][n]


@numba.njit(cache=True, nogil=True)
def _to_lanes(listeners: np.ndarray, lmasks: np.ndarray, cand: np.ndarray) -> tuple:
    """Candidates listeners[cand] (25, T) as lane blocks for :func:`_screen`.

    Returns (data (blocks, T, 25, 8), int32 AU masks (blocks, T, 8)); lane l is lane l % 8 of
    block l // 8. The lanes are padded to a multiple of 8 (a partial vector would run the
    scalar loop); padding lanes repeat the last candidate and are ignored.
    """
    m = cand.shape[0]
    n = listeners.shape[2]
    blocks = (m + _LANE_BLOCK - 1) // _LANE_BLOCK
    data = np.empty((blocks, n, N_DIMS, _LANE_BLOCK), dtype=np.float32)
    masks = np.zeros((blocks, n, _LANE_BLOCK), dtype=np.int32)
    for lane in range(blocks * _LANE_BLOCK):
        j = cand[min(lane, m - 1)]
        k, lk = lane // _LANE_BLOCK, lane % _LANE_BLOCK
        for dim in range(N_DIMS):
            for t in range(n):
                data[k, t, dim, lk] = listeners[j, dim, t]
        for t in range(n):
            masks[k, t, lk] = lmasks[j, t]
    return data, masks


@numba.njit(cache=True, nogil=True)
def _screen_bounds(sq: float, steps: int, exact: bool) -> tuple[float, float]:
    """Interval holding the exact kernel's squared DTW of a group, from its float32 screen ``sq``.

    See the module docstring: relative 2 (steps + 34) 2^-24 (steps = 2T - 2 roundings on a
    path, 17 in each kernel's local costs) and absolute (steps + 1) 2^-118 for underflow.
    ``exact``: integer AU costs, the screen is exact.
    """
    if exact:
        return sq, sq
    rel = 2.0 * (steps + 34) * 2.0**-24
    slack = (steps + 1) * 2.0**-118
    return max(0.0, sq * (1.0 - rel) - slack), sq * (1.0 + rel) + slack


@numba.njit(cache=True, nogil=True)
def screen_intervals(
    screened: np.ndarray, exact_au: np.ndarray, frames: int
) -> tuple[np.ndarray, np.ndarray]:
    """(D_lo, D_hi), each (P,), around the exact kernel's weighted D of pairs whose float32
    per-group screen is ``screened`` (P, 3) (module docstring); ``exact_au``: both sides have
    0/1 AUs, the AU group is exact. A non-finite screen gives (0, inf): recompute it."""
    steps = 2 * frames - 2
    n = screened.shape[0]
    lo, hi = np.empty(n), np.empty(n)
    for p in range(n):
        lo0, hi0 = _screen_bounds(np.float64(screened[p, 0]), steps, exact_au[p])
        lo1, hi1 = _screen_bounds(np.float64(screened[p, 1]), steps, False)
        lo2, hi2 = _screen_bounds(np.float64(screened[p, 2]), steps, False)
        if math.isfinite(hi0 + hi1 + hi2):
            lo[p], hi[p] = _combine(lo0, lo1, lo2), _combine(hi0, hi1, hi2)
        else:
            lo[p], hi[p] = 0.0, np.inf
    return lo, hi


@numba.njit(cache=True, nogil=True)
def combine_groups(sq: np.ndarray) -> np.ndarray:
    """FRDist's weighted D (P,) from squared per-group DTWs (P, 3), as the kernels combine them."""
    out = np.empty(sq.shape[0])
    for p in range(sq.shape[0]):
        out[p] = _combine(sq[p, 0], sq[p, 1], sq[p, 2])
    return out


@numba.njit(cache=True, nogil=True)
def _screen_speaker(
    samples: np.ndarray,
    smasks: np.ndarray,
    sbinary: np.ndarray,
    rows: np.ndarray,
    listeners: np.ndarray,
    lmasks: np.ndarray,
    lbinary: np.ndarray,
    cand: np.ndarray,
) -> np.ndarray:
    """float32 screen of every (sample rows[r], listener cand[c]) pair: (len(rows), len(cand), 3).

    Tiles of one sample (broadcast) against 8 neighbours (lanes). The last m mod 8 neighbours
    would leave lanes empty in every sample's tile; when cheaper, they are screened the other
    way round, the speaker's samples as lanes against one neighbour at a time (DTW is
    symmetric, and the local costs are the same up to the sign of the differences).
    """
    n = samples.shape[2]
    n_rows, m = rows.shape[0], cand.shape[0]
    f = np.empty((n_rows, m, 3), dtype=np.float32)
    rest = m % _LANE_BLOCK
    rows_width = (n_rows + _LANE_BLOCK - 1) // _LANE_BLOCK * _LANE_BLOCK
    by_sample = m - rest if rest * rows_width < n_rows * _LANE_BLOCK else m
    seq = np.empty((n, N_DIMS), dtype=np.float32)
    smask = np.zeros(n, dtype=np.int32)
    if by_sample > 0:
        lanes = _to_lanes(listeners, lmasks, cand[:by_sample])
        width = lanes[0].shape[0] * _LANE_BLOCK
        out = np.empty((3, width), dtype=np.float32)
        binary = lbinary[cand[:by_sample]].all()
        for r in range(n_rows):
            u = rows[r]
            seq[:] = samples[u].T
            smask[:] = smasks[u]
            _screen(lanes, seq, smask, binary and sbinary[u], out)
            f[r, :by_sample] = out[:, :by_sample].T
    if by_sample < m:
        lanes = _to_lanes(samples, smasks, rows)
        width = lanes[0].shape[0] * _LANE_BLOCK
        out = np.empty((3, width), dtype=np.float32)
        binary = sbinary[rows].all()
        for c in range(by_sample, m):
            j = cand[c]
            seq[:] = listeners[j].T
            smask[:] = lmasks[j]
            _screen(lanes, seq, smask, binary and lbinary[j], out)
            f[:, c] = out[:, :n_rows].T
    return f


@numba.njit(cache=True, nogil=True)
def _min_speaker(
    samples: np.ndarray,
    smasks: np.ndarray,
    sbinary: np.ndarray,
    rows: np.ndarray,
    listeners: np.ndarray,
    lmasks: np.ndarray,
    lbinary: np.ndarray,
    cand: np.ndarray,
    result: np.ndarray,
) -> None:
    """result[r] = min over listeners cand of D(samples[rows[r]], .), screened (module docstring).

    All samples of one speaker share the neighbours. float32 inputs only.
    """
    n = samples.shape[2]
    m = cand.shape[0]
    f = _screen_speaker(samples, smasks, sbinary, rows, listeners, lmasks, lbinary, cand)
    bufs = np.empty((3, 3, n + 1))
    cost = np.empty((3, n), dtype=np.float32)
    out = np.empty(3)
    no_mask = np.empty(0, dtype=np.int32)
    exact_au = np.empty(m, dtype=np.bool_)
    for r in range(rows.shape[0]):
        u = rows[r]
        for c in range(m):  # 0/1 AUs: integer costs, exact screen
            exact_au[c] = sbinary[u] and lbinary[cand[c]]
        lo, hi = screen_intervals(f[r], exact_au, n)
        # exact recomputation of the neighbours that can still be the minimum
        arev = np.ascontiguousarray(samples[u][:, ::-1])
        amrev = np.ascontiguousarray(smasks[u][::-1]) if sbinary[u] else no_mask
        best = np.inf
        limit = hi.min()
        for c in np.argsort(lo, kind="mergesort"):
            if lo[c] > min(best, limit):
                break
            j = cand[c]
            bm = lmasks[j] if lbinary[j] else no_mask
            au_sq = np.float64(f[r, c, 0]) if sbinary[u] and lbinary[j] else -1.0
            if dtw3_abandon(
                arev, listeners[j], min(best, limit), bufs, cost, out, amrev, bm, au_sq
            ):
                best = min(best, _combine(out[0], out[1], out[2]))
        result[r] = best


def dtw3_lanes(a: np.ndarray, listeners: np.ndarray) -> np.ndarray:
    """float32 screen of one (25, T) sequence against (m, 25, T) ones: (m, 3) float64 squared
    per-group DTWs."""
    a = np.ascontiguousarray(a, dtype=np.float32)
    listeners = np.ascontiguousarray(listeners, dtype=np.float32)
    amask, abin = au_masks(a)
    lmasks, lbin = au_masks(listeners)
    lanes = _to_lanes(listeners, lmasks, np.arange(len(listeners)))
    width = lanes[0].shape[0] * _LANE_BLOCK
    out = np.empty((3, width), dtype=np.float32)
    _screen(lanes, np.ascontiguousarray(a.T), amask, bool(abin and lbin.all()), out)
    return out[:, : len(listeners)].T.astype(np.float64)


def _all_binary(au: np.ndarray) -> np.ndarray:
    """Whether every AU value of each sequence is 0 or 1 (integer AU costs): (..., a, b) -> (...)."""
    return ((au == 0) | (au == 1)).all(axis=(-1, -2))


def au_masks(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """AU bit masks (..., T) int32 of (..., 25, T) sequences, and whether each one has 0/1 AUs."""
    au = x[..., :_G0, :]
    binary = _all_binary(au)
    bits = (1 << np.arange(_G0, dtype=np.int32))[:, None]
    return ((au == 1) * bits).sum(axis=-2, dtype=np.int32), binary


def screenable(x: np.ndarray, time_axis: int = -1) -> bool:
    """float32 sequences that the float32 screen cannot overflow (NaN fails too); dim-major
    (..., 25, T) by default, time-major (..., T, 25) with ``time_axis`` pointing at T."""
    return (
        x.dtype == np.float32
        and x.shape[time_axis] <= _SCREEN_MAX_T
        and bool(x.max(initial=0.0) <= _SCREEN_MAX_ABS)
        and bool(-x.min(initial=0.0) <= _SCREEN_MAX_ABS)
    )


def binary_aus_time_major(x: np.ndarray) -> np.ndarray:
    """(N,) whether each (T, 25) sequence of (N, T, 25) has 0/1 AUs (integer AU costs)."""
    return _all_binary(x[..., :_G0])


@dataclass(frozen=True)
class Sequences:
    """(N, 25, T) sequences with what the kernels derive from them, computed once.

    FRDist calls :func:`min_dtw_tasks` once per chunk of speakers, always against the same
    listeners: preparing them once saves two passes over all of them per call.
    """

    data: np.ndarray
    masks: np.ndarray  #: AU bit masks (N, T) int32, see :func:`au_masks`
    binary: np.ndarray  #: (N,) whether each sequence has 0/1 AUs
    screenable: bool  #: see :func:`screenable`

    @classmethod
    def of(cls, x: np.ndarray) -> Sequences:
        masks, binary = au_masks(x)
        return cls(x, masks, binary, screenable(x))


def screen_eligible(samples: np.ndarray, listeners: np.ndarray | Sequences) -> bool:
    """Whether :func:`min_dtw_tasks` may screen: float32, equal lengths, nothing that overflows."""
    lis = listeners if isinstance(listeners, Sequences) else Sequences.of(listeners)
    return samples.shape[-1] == lis.data.shape[-1] and lis.screenable and screenable(samples)


def min_dtw_tasks(
    samples: np.ndarray,
    owner: np.ndarray,
    listeners: np.ndarray | Sequences,
    indptr: np.ndarray,
    indices: np.ndarray,
    threads: int | None = None,
    screen: bool = True,
) -> np.ndarray:
    """For each sample u (25, T), min over listeners j in row owner[u] of the CSR matrix of D.

    samples (U, 25, T) and listeners (N, 25, T, or prepared once as :class:`Sequences`) share
    a dtype (see module docstring). float32 inputs are screened (``screen`` False forces the
    exact kernel on every neighbour; the result is the same bit for bit). Tasks run on a thread
    pool (the kernels release the GIL): one per speaker when screening (its samples share the
    neighbour lanes), largest first so that the threads finish together, else one per sample.
    """
    threads = threads or numba.get_num_threads()
    lis = listeners if isinstance(listeners, Sequences) else Sequences.of(listeners)
    smasks, sbinary = au_masks(samples)
    result = np.empty(samples.shape[0])
    if screen and screen_eligible(samples, lis):
        order = np.argsort(owner, kind="stable")
        bounds = np.flatnonzero(np.diff(owner[order])) + 1
        groups = [g for g in np.split(order, bounds) if len(g)]
        groups.sort(key=lambda g: -len(g) * int(indptr[owner[g[0]] + 1] - indptr[owner[g[0]]]))

        def speaker_task(rows: np.ndarray) -> None:
            k = owner[rows[0]]
            cand = indices[indptr[k] : indptr[k + 1]]
            values = np.empty(len(rows))
            if len(cand):
                _min_speaker(
                    samples, smasks, sbinary, rows, lis.data, lis.masks, lis.binary, cand, values
                )
            else:
                values[:] = np.inf
            result[rows] = values

        with ThreadPoolExecutor(max_workers=threads) as pool:
            list(pool.map(speaker_task, groups))
        return result

    def task(u: int) -> float:
        k = owner[u]
        amask = smasks[u] if sbinary[u] else _NO_MASK
        return _min_dtw_task(
            samples[u], amask, lis.data, lis.masks, lis.binary, indices[indptr[k] : indptr[k + 1]]
        )

    with ThreadPoolExecutor(max_workers=threads) as pool:
        return np.fromiter(
            pool.map(task, range(samples.shape[0])), dtype=np.float64, count=samples.shape[0]
        )


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
def dtw_wavefront(
    a: torch.Tensor,
    b: torch.Tensor,
    groups: tuple[tuple[int, int, float], ...] = GROUPS,
    a_index: torch.Tensor | None = None,
    b_index: torch.Tensor | None = None,
) -> torch.Tensor:
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
    prev2 = torch.full(
        (n_pairs, len(groups), t1 + 1), float("inf"), dtype=torch.float64, device=dev
    )
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
            up = prev1[:, :, ilo : ihi + 1]  # (i - 1, j)
            left = prev1[:, :, ilo + 1 : ihi + 2]  # (i, j - 1)
            diag = prev2[:, :, ilo : ihi + 1]  # (i - 1, j - 1)
            cur[:, :, ilo + 1 : ihi + 2] = cost + torch.minimum(torch.minimum(up, left), diag)
        prev2, prev1 = prev1, cur
    return torch.sqrt(prev1[:, :, t1])


def weighted_dtw_torch(
    a: torch.Tensor,
    b: torch.Tensor,
    a_index: torch.Tensor | None = None,
    b_index: torch.Tensor | None = None,
) -> torch.Tensor:
    """FRDist's D for pairs (see :func:`dtw_wavefront`) with the torch wavefront: float64 (P,)."""
    dist = dtw_wavefront(a, b, GROUPS, a_index, b_index)
    res = torch.zeros(dist.shape[0], dtype=torch.float64, device=dist.device)
    for g, (_, _, w) in enumerate(GROUPS):
        res = res + w * dist[:, g]
    return res
