"""FRDist's three dimension groups and their weights, and how the group DTWs combine into D.

One place for the group boundaries and the weighting, shared by every DTW path: numba freezes
these module globals into the kernels as literals when it compiles them.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from reactdiff.data.columns import AU_SLICE, EMOTION_DIM, EXPR_SLICE, VA_SLICE

N_DIMS = EMOTION_DIM
#: group boundaries: AUs [0, AU_END), valence and arousal [AU_END, VA_END), expressions after
AU_END, VA_END = AU_SLICE.stop, VA_SLICE.stop
# the official weights: the AU and expression distances are means, the VA distance a sum
W_AU, W_VA, W_EXPR = 1 / (AU_END - AU_SLICE.start), 1.0, 1 / (EXPR_SLICE.stop - EXPR_SLICE.start)
#: (first dim, end dim, weight) of the three FRDist dimension groups.
GROUPS: tuple[tuple[int, int, float], ...] = (
    (0, AU_END, W_AU),
    (AU_END, VA_END, W_VA),
    (VA_END, N_DIMS, W_EXPR),
)


@numba.njit(cache=True, nogil=True)
def weighted_distance(d0: float, d1: float, d2: float) -> float:
    """Weighted sum of the three group DTWs, in the official script's order."""
    res = 0.0
    res += W_AU * math.sqrt(d0)
    res += W_VA * math.sqrt(d1)
    res += W_EXPR * math.sqrt(d2)
    return res


@numba.njit(cache=True, nogil=True)
def combine_groups(sq: np.ndarray) -> np.ndarray:
    """FRDist's weighted D (P,) from squared per-group DTWs (P, 3), as the kernels combine them."""
    out = np.empty(sq.shape[0])
    for p in range(sq.shape[0]):
        out[p] = weighted_distance(sq[p, 0], sq[p, 1], sq[p, 2])
    return out


def weighted_sum(dist: np.ndarray) -> np.ndarray:
    """FRDist's D (...) from per-group DTW distances (..., 3), square roots already taken."""
    res = np.zeros(dist.shape[:-1])
    for g, (_, _, w) in enumerate(GROUPS):
        res = res + w * dist[..., g]
    return res
