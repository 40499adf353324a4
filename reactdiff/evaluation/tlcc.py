"""Time-lagged cross correlation offsets for FRSyn, all 99 lags x 25 dimensions in one kernel.

Reproduces the official REACT ``calculate_tlcc``: for lag L in -49..49, the Pearson r of
``shift(pred[:, d], speaker[:, d], L)`` (np.corrcoef on float32 values, clipped to [-1, 1]), the
mean over the 25 dimensions, then ``49 - argmax``. A dimension that is constant on the overlap has
r = NaN, the mean is NaN, and ``np.argmax`` returns the first NaN position. Constancy is detected
exactly (runs of equal float32 values at both ends of each series; an overlap is always a prefix
or a suffix of each series), never through a variance that round-off makes tiny but nonzero.
Window sums come from prefix sums of globally centred series, cross sums from direct dot products,
all in float64, and the mean over dimensions is float64 too. (The official script stores the
per-lag means in a float32 tensor before ``argmax``; two lags whose means differ by less than
float32 resolution could resolve differently there. Offsets are otherwise identical.)
"""

from __future__ import annotations

import math

import numba
import numpy as np

MAX_LAG = 49  # 2 s at 25 fps, minus one: lags -49..49


@numba.njit(cache=True, nogil=True)
def _runs(x: np.ndarray) -> tuple[int, int]:
    """Length of the initial run of equal values, and the start index of the final run."""
    n = x.shape[0]
    first = 1
    while first < n and x[first] == x[0]:
        first += 1
    last = n - 1
    while last > 0 and x[last - 1] == x[n - 1]:
        last -= 1
    return first, last


@numba.njit(cache=True, nogil=True)
def _window_constant(lo: int, hi: int, n: int, first: int, last: int) -> bool:
    """Is x[lo:hi] constant, for a prefix (lo == 0) or suffix (hi == n) window?"""
    if lo == 0 and hi <= first:
        return True
    return hi == n and lo >= last


@numba.njit(cache=True, nogil=True, fastmath={"reassoc", "nsz", "arcp", "contract"})
def _dot(x: np.ndarray, y: np.ndarray) -> float:
    s = 0.0
    for t in range(x.shape[0]):
        s += x[t] * y[t]
    return s


@numba.njit(cache=True, nogil=True)
def _lag_curve(p: np.ndarray, s: np.ndarray, max_lag: int) -> tuple[np.ndarray, np.ndarray]:
    """Mean Pearson r over dimensions per lag, and whether each lag's mean is NaN."""
    n, dims = p.shape
    n_lags = 2 * max_lag + 1
    rs = np.zeros(n_lags)
    is_nan = np.zeros(n_lags, dtype=np.bool_)
    cx = np.empty(n + 1)
    cy = np.empty(n + 1)
    cxx = np.empty(n + 1)
    cyy = np.empty(n + 1)
    for d in range(dims):
        x32 = p[:, d]
        y32 = s[:, d]
        fx, lx = _runs(x32)
        fy, ly = _runs(y32)
        x = x32.astype(np.float64)
        y = y32.astype(np.float64)
        x = x - x.mean()
        y = y - y.mean()
        cx[0] = cy[0] = cxx[0] = cyy[0] = 0.0
        for t in range(n):
            cx[t + 1] = cx[t] + x[t]
            cy[t + 1] = cy[t] + y[t]
            cxx[t + 1] = cxx[t] + x[t] * x[t]
            cyy[t + 1] = cyy[t] + y[t] * y[t]
        for k in range(n_lags):
            lag = k - max_lag
            if lag > 0:
                xa, xb, ya, yb = lag, n, 0, n - lag
            elif lag < 0:
                xa, xb, ya, yb = 0, n + lag, -lag, n
            else:
                xa, xb, ya, yb = 0, n, 0, n
            if _window_constant(xa, xb, n, fx, lx) or _window_constant(ya, yb, n, fy, ly):
                is_nan[k] = True
                continue
            m = xb - xa
            sx = cx[xb] - cx[xa]
            sy = cy[yb] - cy[ya]
            vx = (cxx[xb] - cxx[xa]) - sx * sx / m
            vy = (cyy[yb] - cyy[ya]) - sy * sy / m
            cov = _dot(x[xa:xb], y[ya:yb]) - sx * sy / m
            r = cov / math.sqrt(vx * vy) if vx > 0 and vy > 0 else 0.0
            rs[k] += min(1.0, max(-1.0, r))
    return rs / dims, is_nan


@numba.njit(cache=True, nogil=True)
def tlcc_offset(p: np.ndarray, s: np.ndarray, max_lag: int = MAX_LAG) -> int:
    """|offset| of one (T, 25) float32 reaction against its (T, 25) float32 speaker."""
    rs, is_nan = _lag_curve(p, s, max_lag)
    best = 0
    for k in range(rs.shape[0]):
        if is_nan[k]:
            best = k
            break
        if rs[k] > rs[best]:
            best = k
    return abs(max_lag - best)


@numba.njit(cache=True, parallel=True)
def tlcc_offsets(preds: np.ndarray, speakers: np.ndarray, owner: np.ndarray) -> np.ndarray:
    """|offset| of each preds[u] (T, 25) against speakers[owner[u]]; float32 inputs."""
    out = np.empty(preds.shape[0], dtype=np.int64)
    for u in numba.prange(preds.shape[0]):
        out[u] = tlcc_offset(preds[u], speakers[owner[u]], MAX_LAG)
    return out
