"""The float32 screen: which neighbours can still be FRDist's minimum, so that only those get an
exact DTW (:mod:`reactdiff.evaluation.dtw.exact`), with a result bit-identical to brute force.

FRDist needs only the minimum over ~20 neighbours, whose DTWs typically lie within ~1% of each
other (too close for early abandoning to save anything: at most ~1% of the cells even with the
final minimum known in advance). So every neighbour is first *screened* by a cheaper float32 DP,
and only those that can still be the minimum are recomputed with the exact kernel:

* the screen (:func:`screen_lanes`) runs the neighbours of a speaker as SIMD lanes against one
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

The screen needs inputs that cannot overflow float32 (finite, ``|x| <= 2^40``) and T <= 80000
(:func:`screenable`); otherwise the CPU path runs the exact kernel on every neighbour.

LLVM only vectorises the screen's lane loop if it knows the row buffers do not alias (see
:class:`_NoAliasCompiler`), and only keeps the DP's carries in registers when the lane loop has
a literal trip count (one 8-lane block). Measured on the benchmark machine (2 cores, T = 750,
binary AUs; the machine's speed varies by ~30% from run to run): the exact kernel costs ~2 ms
per pair (~10 cycles per DP cell), the screen ~0.3-0.4 ms per lane (~1.6 cycles per cell, 1.7x
less than with a run-time lane count and separate multiplies and adds); with lane padding
(~1.12 lanes per pair) and the exact recomputation, FRDist costs ~0.5-0.66 ms of CPU per
(sample, neighbour) pair. Continuous AUs (15 more dimensions in the local cost) cost ~2x.
"""

from __future__ import annotations

import math

import numba
import numpy as np
from numba.core.compiler import Compiler

from reactdiff.evaluation.dtw.exact import dtw3_abandon, popcount32
from reactdiff.evaluation.dtw.groups import AU_END, N_DIMS, VA_END, weighted_distance
from reactdiff.evaluation.dtw.sequences import au_masks

LANE_BLOCK = 8  # screen lanes are padded to a multiple of this (one 256-bit float32 vector)
_SCREEN_MAX_ABS = 2.0**40  # larger inputs could overflow the float32 screen: exact path
_SCREEN_MAX_T = 80_000  # keeps the rounding bound 2 (2T - 2) 2^-24 below 1%


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
        c0 = np.float32(popcount32(blk[1][i, lane] ^ col[1][j]))
    else:
        c0 = _lane_sqdist(col, j, blk, i, lane, 0, AU_END)
    return (
        c0,
        _lane_sqdist(col, j, blk, i, lane, AU_END, VA_END),
        _lane_sqdist(col, j, blk, i, lane, VA_END, N_DIMS),
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
    ``LANE_BLOCK``: LLVM then turns it into one vector operation and keeps the carries in
    registers across columns (1.4x faster than a run-time width; 16 lanes run out of registers).
    (The DP update is written out per group: an inlined helper that stores into its array
    arguments blocks the vectoriser.)
    """
    p0, p1, p2 = prev
    q0, q1, q2 = cur
    a0, a1, a2, b0, b1, b2, d0, d1, d2 = carry
    for lane in range(LANE_BLOCK):
        a0[lane] = a1[lane] = a2[lane] = np.inf
        b0[lane] = b1[lane] = b2[lane] = np.inf
        d0[lane] = d1[lane] = d2[lane] = np.inf
    q0[0] = q1[0] = q2[0] = np.inf
    for j in range(col[0].shape[0]):
        if binary:
            for lane in range(LANE_BLOCK):
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
            for lane in range(LANE_BLOCK):
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
    for lane in range(LANE_BLOCK):
        for j in range(col[0].shape[0]):
            c = _lane_costs(col, j, blk, 0, lane, binary)
            for g in range(3):
                cur[g][j + 1, lane] = c[g] if j == 0 else c[g] + cur[g][j, lane]
    for g in range(3):
        cur[g][0] = np.inf


@numba.njit(cache=True, nogil=True)
def screen_lanes(
    lanes: tuple, seq: np.ndarray, smask: np.ndarray, binary: bool, out: np.ndarray
) -> None:
    """float32 squared per-group DTW of seq (T, 25) and every lane: out (3, width).

    ``lanes`` is :func:`to_lanes`'s (data, AU masks) in blocks of 8 lanes, swept one block
    at a time.
    """
    data, masks = lanes
    n = seq.shape[0]
    col = (seq, smask)
    dt = np.float32
    w = LANE_BLOCK
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
def to_lanes(listeners: np.ndarray, lmasks: np.ndarray, cand: np.ndarray) -> tuple:
    """Candidates listeners[cand] (25, T) as lane blocks for :func:`screen_lanes`.

    Returns (data (blocks, T, 25, 8), int32 AU masks (blocks, T, 8)); lane l is lane l % 8 of
    block l // 8. The lanes are padded to a multiple of 8 (a partial vector would run the
    scalar loop); padding lanes repeat the last candidate and are ignored.
    """
    m = cand.shape[0]
    n = listeners.shape[2]
    blocks = (m + LANE_BLOCK - 1) // LANE_BLOCK
    data = np.empty((blocks, n, N_DIMS, LANE_BLOCK), dtype=np.float32)
    masks = np.zeros((blocks, n, LANE_BLOCK), dtype=np.int32)
    for lane in range(blocks * LANE_BLOCK):
        j = cand[min(lane, m - 1)]
        k, lk = lane // LANE_BLOCK, lane % LANE_BLOCK
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
            lo[p], hi[p] = weighted_distance(lo0, lo1, lo2), weighted_distance(hi0, hi1, hi2)
        else:
            lo[p], hi[p] = 0.0, np.inf
    return lo, hi


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
    rest = m % LANE_BLOCK
    rows_width = (n_rows + LANE_BLOCK - 1) // LANE_BLOCK * LANE_BLOCK
    by_sample = m - rest if rest * rows_width < n_rows * LANE_BLOCK else m
    seq = np.empty((n, N_DIMS), dtype=np.float32)
    smask = np.zeros(n, dtype=np.int32)
    if by_sample > 0:
        lanes = to_lanes(listeners, lmasks, cand[:by_sample])
        width = lanes[0].shape[0] * LANE_BLOCK
        out = np.empty((3, width), dtype=np.float32)
        binary = lbinary[cand[:by_sample]].all()
        for r in range(n_rows):
            u = rows[r]
            seq[:] = samples[u].T
            smask[:] = smasks[u]
            screen_lanes(lanes, seq, smask, binary and sbinary[u], out)
            f[r, :by_sample] = out[:, :by_sample].T
    if by_sample < m:
        lanes = to_lanes(samples, smasks, rows)
        width = lanes[0].shape[0] * LANE_BLOCK
        out = np.empty((3, width), dtype=np.float32)
        binary = sbinary[rows].all()
        for c in range(by_sample, m):
            j = cand[c]
            seq[:] = listeners[j].T
            smask[:] = lmasks[j]
            screen_lanes(lanes, seq, smask, binary and lbinary[j], out)
            f[:, c] = out[:, :n_rows].T
    return f


@numba.njit(cache=True, nogil=True)
def min_dtw_screened(
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
                best = min(best, weighted_distance(out[0], out[1], out[2]))
        result[r] = best


def dtw3_lanes(a: np.ndarray, listeners: np.ndarray) -> np.ndarray:
    """float32 screen of one (25, T) sequence against (m, 25, T) ones: (m, 3) float64 squared
    per-group DTWs."""
    a = np.ascontiguousarray(a, dtype=np.float32)
    listeners = np.ascontiguousarray(listeners, dtype=np.float32)
    amask, abin = au_masks(a)
    lmasks, lbin = au_masks(listeners)
    lanes = to_lanes(listeners, lmasks, np.arange(len(listeners)))
    width = lanes[0].shape[0] * LANE_BLOCK
    out = np.empty((3, width), dtype=np.float32)
    screen_lanes(lanes, np.ascontiguousarray(a.T), amask, bool(abin and lbin.all()), out)
    return out[:, : len(listeners)].T.astype(np.float64)


def screenable(x: np.ndarray, time_axis: int = -1) -> bool:
    """float32 sequences that the float32 screen cannot overflow (NaN fails too); dim-major
    (..., 25, T) by default, time-major (..., T, 25) with ``time_axis`` pointing at T."""
    return (
        x.dtype == np.float32
        and x.shape[time_axis] <= _SCREEN_MAX_T
        and bool(x.max(initial=0.0) <= _SCREEN_MAX_ABS)
        and bool(-x.min(initial=0.0) <= _SCREEN_MAX_ABS)
    )
