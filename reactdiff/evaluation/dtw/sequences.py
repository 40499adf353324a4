"""The layout the CPU kernels read: dim-major float32 sequences and their AU bit masks.

0/1 action units make the AU local cost an integer (the popcount of an XOR of bit masks), which
the kernels use to skip 15 dimensions and the screen to know its AU group exactly.
"""

from __future__ import annotations

import numpy as np

from reactdiff.evaluation.dtw.groups import AU_END

NO_MASK = np.empty(0, dtype=np.int32)  # empty AU mask: AUs not 0/1, generic local cost


def _all_binary(au: np.ndarray) -> np.ndarray:
    """Whether every AU value of each sequence is 0 or 1 (integer AU costs): (..., a, b) -> (...)."""
    return ((au == 0) | (au == 1)).all(axis=(-1, -2))


def au_masks(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """AU bit masks (..., T) int32 of (..., 25, T) sequences, and whether each one has 0/1 AUs."""
    au = x[..., :AU_END, :]
    binary = _all_binary(au)
    bits = (1 << np.arange(AU_END, dtype=np.int32))[:, None]
    return ((au == 1) * bits).sum(axis=-2, dtype=np.int32), binary


def binary_aus_time_major(x: np.ndarray) -> np.ndarray:
    """(N,) whether each (T, 25) sequence of (N, T, 25) has 0/1 AUs (integer AU costs)."""
    return _all_binary(x[..., :AU_END])


def to_dim_major(x: np.ndarray, dtype: type = np.float32) -> np.ndarray:
    """(..., T, 25) array of any float dtype -> (..., 25, T) of its float32 values.

    ``dtype`` float32 (default, fast) or float64 (local costs bit-identical to tslearn).
    """
    x32 = np.asarray(x, dtype=np.float32)
    return np.ascontiguousarray(np.swapaxes(x32, -1, -2), dtype=dtype)
