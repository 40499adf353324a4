"""FRDist's DTW on a CUDA GPU (numba-cuda): every (sample, neighbour) pair screened in float32,
the possible minima recomputed exactly, so the result is the CPU path's, bit for bit.

The scheme is the CPU path's (:mod:`reactdiff.evaluation.dtw.screen`), with the GPU doing both
DPs:

* the **screen** runs one thread per pair over the whole DP matrix in float32, row by row, the
  previous row in global memory laid out pair-fastest (coalesced) and the three dimension
  groups in one pass. Pairs are ordered by neighbour, so the threads of a warp mostly read the
  same neighbour frame (a broadcast) and keep their own sample's frame in registers. The
  float32 DP is within the CPU screen's error bound of the exact value (the bound allows
  fused multiply-adds and flush-to-zero, which the GPU may use), so the same interval
  ``D_lo <= D <= D_hi`` holds (``screen.screen_intervals``);
* the **exact** kernel recomputes every pair whose ``D_lo`` does not exceed its sample's
  smallest ``D_hi``, with the arithmetic of the CPU's exact kernel operation for operation:
  local costs in float32 summed in the same order, the DP in float64, every addition and
  product through libdevice's round-to-nearest intrinsics, which the compiler never fuses into
  a multiply-add. The DP's values do not depend on the order its cells are visited (each cell
  is one addition of its local cost to the minimum of three neighbours), so row order gives
  the anti-diagonal kernel's numbers. The minimum of these exact values over a set that
  contains the true minimum is the CPU result.

numba-cuda rather than Triton or a C++ extension: the kernels are the CPU kernels' loops
written for one thread, they compile at first use without a build step, and numba's CUDA
simulator (``NUMBA_ENABLE_CUDASIM=1``) runs them on the CPU, which is how the tests check
them on machines without a GPU. The simulator executes the kernels as Python with NumPy
scalars: correctly rounded, never fused, which is what the intrinsics guarantee on a GPU.
"""

from __future__ import annotations

import math

import numba
import numpy as np
from numba import cuda

from reactdiff.evaluation.dtw.dispatch import require_cuda
from reactdiff.evaluation.dtw.groups import AU_END, N_DIMS, VA_END, combine_groups
from reactdiff.evaluation.dtw.screen import screen_intervals, screenable
from reactdiff.evaluation.dtw.sequences import binary_aus_time_major

_THREADS = 128  # threads per block
_PAIRS_PER_LAUNCH = 1 << 17  # bounds the DP rows in GPU memory: 3 x (T + 1) x this x 4-8 bytes

if numba.config.ENABLE_CUDASIM:  # NumPy scalars: correctly rounded and never fused already

    def _fadd(x, y):
        return x + y

    def _fsub(x, y):
        return x - y

    def _fmul(x, y):
        return x * y

    def _dadd(x, y):
        return x + y

else:  # pragma: no cover - needs a GPU
    from numba.cuda import libdevice

    _fadd, _fsub, _fmul = libdevice.fadd_rn, libdevice.fsub_rn, libdevice.fmul_rn
    _dadd = libdevice.dadd_rn


@cuda.jit(device=True, inline=True)
def _clear_rows(rows, p, n, inf):  # pragma: no cover - GPU
    """Row -1 of pair p's DP: every cell infinite (the virtual corner is the caller's)."""
    for c in range(n + 1):
        rows[0, c, p] = inf
        rows[1, c, p] = inf
        rows[2, c, p] = inf


@cuda.jit(device=True, inline=True)
def _write_out(rows, out, p, n):  # pragma: no cover - GPU
    """The last cell of each group's DP: the squared DTW."""
    out[p, 0] = rows[0, n, p]
    out[p, 1] = rows[1, n, p]
    out[p, 2] = rows[2, n, p]


@cuda.jit(cache=True)
def _screen_kernel(samples, listeners, pair_u, pair_j, rows, out):  # pragma: no cover - GPU
    """out[p] = float32 squared DTW per group of (samples[pair_u[p]], listeners[pair_j[p]]),
    both (T, 25); ``rows`` (3, T + 1, P) scratch, index 0 the j = -1 border."""
    p = cuda.grid(1)
    if p >= pair_u.shape[0]:
        return
    u, j, n = pair_u[p], pair_j[p], samples.shape[1]
    inf = np.float32(np.inf)
    a = cuda.local.array(N_DIMS, numba.float32)
    _clear_rows(rows, p, n, inf)
    for i in range(n):
        for d in range(N_DIMS):
            a[d] = samples[u, i, d]
        start = np.float32(0.0) if i == 0 else inf  # the virtual cell (-1, -1) is 0
        diag0 = diag1 = diag2 = start
        left0 = left1 = left2 = inf
        for c in range(n):
            x = a[0] - listeners[j, c, 0]
            c0 = x * x
            for d in range(1, AU_END):
                x = a[d] - listeners[j, c, d]
                c0 = c0 + x * x
            x = a[AU_END] - listeners[j, c, AU_END]
            c1 = x * x
            for d in range(AU_END + 1, VA_END):
                x = a[d] - listeners[j, c, d]
                c1 = c1 + x * x
            x = a[VA_END] - listeners[j, c, VA_END]
            c2 = x * x
            for d in range(VA_END + 1, N_DIMS):
                x = a[d] - listeners[j, c, d]
                c2 = c2 + x * x
            up = rows[0, c + 1, p]
            left0 = c0 + min(up, left0, diag0)
            diag0 = up
            rows[0, c + 1, p] = left0
            up = rows[1, c + 1, p]
            left1 = c1 + min(up, left1, diag1)
            diag1 = up
            rows[1, c + 1, p] = left1
            up = rows[2, c + 1, p]
            left2 = c2 + min(up, left2, diag2)
            diag2 = up
            rows[2, c + 1, p] = left2
    _write_out(rows, out, p, n)


@cuda.jit(device=True, inline=True)
def _group_cost(a, listeners, j, c, lo, hi):  # pragma: no cover - GPU
    """The CPU exact kernel's float32 local cost of dims [lo, hi): the first two squares
    added, then (cost + x^2) + y^2 per further pair, then + x^2 for an odd last dim."""
    x = _fsub(a[lo], listeners[j, c, lo])
    y = _fsub(a[lo + 1], listeners[j, c, lo + 1])
    cost = _fadd(_fmul(x, x), _fmul(y, y))
    d = lo + 2
    while d + 2 <= hi:
        x = _fsub(a[d], listeners[j, c, d])
        y = _fsub(a[d + 1], listeners[j, c, d + 1])
        cost = _fadd(_fadd(cost, _fmul(x, x)), _fmul(y, y))
        d += 2
    if d < hi:
        x = _fsub(a[d], listeners[j, c, d])
        cost = _fadd(cost, _fmul(x, x))
    return cost


@cuda.jit(cache=True)
def _exact_kernel(samples, listeners, pair_u, pair_j, rows, out):  # pragma: no cover - GPU
    """out[p] = squared DTW per group of the pair as the CPU exact kernel computes it
    (float32 local costs, float64 DP); ``rows`` (3, T + 1, P) float64 scratch."""
    p = cuda.grid(1)
    if p >= pair_u.shape[0]:
        return
    u, j, n = pair_u[p], pair_j[p], samples.shape[1]
    inf = np.inf
    a = cuda.local.array(N_DIMS, numba.float32)
    _clear_rows(rows, p, n, inf)
    for i in range(n):
        for d in range(N_DIMS):
            a[d] = samples[u, i, d]
        start = 0.0 if i == 0 else inf
        diag0 = diag1 = diag2 = start
        left0 = left1 = left2 = inf
        for c in range(n):
            c0 = np.float64(_group_cost(a, listeners, j, c, 0, AU_END))
            c1 = np.float64(_group_cost(a, listeners, j, c, AU_END, VA_END))
            c2 = np.float64(_group_cost(a, listeners, j, c, VA_END, N_DIMS))
            up = rows[0, c + 1, p]
            left0 = _dadd(c0, min(up, left0, diag0))
            diag0 = up
            rows[0, c + 1, p] = left0
            up = rows[1, c + 1, p]
            left1 = _dadd(c1, min(up, left1, diag1))
            diag1 = up
            rows[1, c + 1, p] = left1
            up = rows[2, c + 1, p]
            left2 = _dadd(c2, min(up, left2, diag2))
            diag2 = up
            rows[2, c + 1, p] = left2
    _write_out(rows, out, p, n)


def _run(kernel, samples, listeners, pair_u: np.ndarray, pair_j: np.ndarray, dtype) -> np.ndarray:
    """``kernel`` over the pairs, in launches of at most ``_PAIRS_PER_LAUNCH``: (P, 3)."""
    n = samples.shape[1]
    out = np.empty((len(pair_u), 3), dtype=dtype)
    for start in range(0, len(pair_u), _PAIRS_PER_LAUNCH):
        u = cuda.to_device(np.ascontiguousarray(pair_u[start : start + _PAIRS_PER_LAUNCH]))
        j = cuda.to_device(np.ascontiguousarray(pair_j[start : start + _PAIRS_PER_LAUNCH]))
        count = u.shape[0]
        rows = cuda.device_array((3, n + 1, count), dtype=dtype)
        result = cuda.device_array((count, 3), dtype=dtype)
        kernel[math.ceil(count / _THREADS), _THREADS](samples, listeners, u, j, rows, result)
        out[start : start + count] = result.copy_to_host()
    return out


class CudaListeners:
    """The listener pool (J, T, 25) float32, copied to the GPU once for every FRDist chunk."""

    def __init__(self, listeners: np.ndarray) -> None:
        require_cuda()
        host = np.ascontiguousarray(listeners, dtype=np.float32)
        self.screenable = screenable(host, time_axis=1)
        self.binary = binary_aus_time_major(host)  # (J,) 0/1 AUs
        self.frames = host.shape[1]
        self.device = cuda.to_device(host)


def min_dtw_cuda(
    samples: np.ndarray,
    owner: np.ndarray,
    listeners: CudaListeners,
    indptr: np.ndarray,
    indices: np.ndarray,
) -> np.ndarray:
    """For each sample u (T, 25) float32, the min over listeners j in row owner[u] of the CSR
    matrix of FRDist's D: (U,) float64, inf for a sample without neighbours; what
    :func:`reactdiff.evaluation.dtw.cpu.min_dtw_tasks` returns, bit for bit."""
    samples = np.ascontiguousarray(samples, dtype=np.float32)
    if samples.shape[1] != listeners.frames:
        raise ValueError(
            f"samples have {samples.shape[1]} frames, the listeners {listeners.frames}"
        )
    counts = indptr[owner + 1] - indptr[owner]
    pair_u = np.repeat(np.arange(len(owner)), counts)
    if not len(pair_u):
        return np.full(len(owner), np.inf)
    pair_j = np.concatenate([indices[indptr[k] : indptr[k + 1]] for k in owner])
    order = np.lexsort((pair_u, pair_j))  # by neighbour: a warp reads the same frames
    pair_u, pair_j = pair_u[order], pair_j[order]
    on_gpu = cuda.to_device(samples)
    if listeners.screenable and screenable(samples, time_axis=1):
        screened = _run(_screen_kernel, on_gpu, listeners.device, pair_u, pair_j, np.float32)
        exact_au = binary_aus_time_major(samples)[pair_u] & listeners.binary[pair_j]
        lo, hi = screen_intervals(screened, exact_au, samples.shape[1])
        limit = np.full(len(owner), np.inf)
        np.minimum.at(limit, pair_u, hi)
        keep = lo <= limit[pair_u]
        pair_u, pair_j = pair_u[keep], pair_j[keep]
    exact = _run(_exact_kernel, on_gpu, listeners.device, pair_u, pair_j, np.float64)
    best = np.full(len(owner), np.inf)
    np.minimum.at(best, pair_u, combine_groups(exact))
    return best
