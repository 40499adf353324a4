"""95% bootstrap intervals over items: how far a metric's mean could move with other speakers.

Items (speaker samples) are resampled with replacement; a metric's interval is the 2.5th and
97.5th percentiles of its mean over the resamples (the percentile method). Every method and
metric of a split is resampled with the same indices, so their intervals are comparable.
"""

from __future__ import annotations

import numpy as np

from reactdiff.errors import ReactdiffError

LEVEL = 0.95


class BootstrapError(ReactdiffError, ValueError):
    """Per-item values that cannot be resampled (none, or not one per item)."""


def resample_indices(n_items: int, resamples: int, seed: int) -> np.ndarray:
    """(resamples, n_items) item indices drawn with replacement, seeded."""
    if n_items < 1:
        raise BootstrapError("no items to resample")
    return np.random.default_rng(seed).integers(0, n_items, size=(resamples, n_items))


def percentile_interval(values: np.ndarray, indices: np.ndarray) -> list[float]:
    """[lo, hi]: the central :data:`LEVEL` percentile interval of the mean of ``values`` (N,)
    over the resamples ``indices`` (B, N)."""
    values = np.asarray(values, dtype=np.float64)
    if values.ndim != 1 or values.shape[0] != indices.shape[1]:
        raise BootstrapError(
            f"per-item values of shape {values.shape}, the resamples draw from "
            f"{indices.shape[1]} items"
        )
    means = values[indices].mean(axis=1)
    tail = 100 * (1 - LEVEL) / 2
    lo, hi = np.percentile(means, [tail, 100 - tail])
    return [float(lo), float(hi)]


def difference_interval(a: np.ndarray, b: np.ndarray, indices: np.ndarray) -> list[float]:
    """[lo, hi] of the mean of ``a - b`` (paired per item) over the resamples: whether two
    methods scored on the same items differ, which their separate intervals understate."""
    return percentile_interval(np.asarray(a, np.float64) - np.asarray(b, np.float64), indices)


def intervals(items: dict[str, np.ndarray], indices: np.ndarray) -> dict[str, list[float]]:
    """metric -> [lo, hi] for every metric of one method's per-item ``items``."""
    result = {}
    for key, values in items.items():
        try:
            result[key] = percentile_interval(values, indices)
        except BootstrapError as err:
            raise BootstrapError(f"metric {key!r}: {err}") from None
    return result


def split_intervals(
    per_item: dict[str, dict[str, np.ndarray]], resamples: int, seed: int
) -> dict[str, dict[str, list[float]]]:
    """method -> metric -> [lo, hi] for every method scored on one split, all drawn from the
    same resamples of the items that were scored (a protocol may leave short items out, so
    their number comes from the values, not from the split)."""
    sizes = {len(v) for items in per_item.values() for v in items.values()}
    if len(sizes) > 1:
        raise BootstrapError(f"the methods' per-item values have different lengths {sorted(sizes)}")
    if not sizes:
        return {}
    indices = resample_indices(sizes.pop(), resamples, seed)
    return {method: intervals(items, indices) for method, items in per_item.items()}
