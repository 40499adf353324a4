"""Input conversion and validation for the metrics: a bad input fails fast, naming the culprit."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from reactdiff.data.format import EMOTION_DIM
from reactdiff.errors import InputError

N_DIMS = EMOTION_DIM
MIN_FRAMES = 100
_CHUNK = 64  # samples per finiteness check, to bound the temporary boolean array


class MetricInputError(InputError):
    """An input of the metrics (``name``: pred, listener, speaker, neighbours) is wrong."""


def as_numpy(x: Any) -> np.ndarray:
    """numpy view of an array or tensor (no copy for CPU tensors)."""
    if isinstance(x, torch.Tensor):
        return x.detach().cpu().numpy()
    return np.asarray(x)


def _check_rank(name: str, x: np.ndarray, rank: int, layout: str) -> None:
    if x.ndim != rank:
        raise MetricInputError(name, f"expected {rank} dims {layout}, got shape {x.shape}")
    if rank >= 3 and x.shape[-1] != N_DIMS:
        raise MetricInputError(
            name, f"last dim must be {N_DIMS} emotion features, got {x.shape[-1]} (shape {x.shape})"
        )


def _check_finite(name: str, x: np.ndarray) -> None:
    """Count non-finite values chunk by chunk; report how many and the first index."""
    flat = x.reshape(x.shape[0], -1)
    count, first = 0, None
    for start in range(0, flat.shape[0], _CHUNK):
        bad = ~np.isfinite(flat[start : start + _CHUNK])
        n_bad = int(bad.sum())
        if n_bad and first is None:
            pos = int(np.flatnonzero(bad.ravel())[0]) + start * flat.shape[1]
            first = np.unravel_index(pos, x.shape)
        count += n_bad
    if count:
        index = tuple(int(i) for i in first)
        raise MetricInputError(name, f"{count} NaN/inf value(s), first at index {index}")


def _check_neighbours(m: np.ndarray, n: int) -> None:
    if m.ndim != 2 or m.shape[0] != m.shape[1]:
        raise MetricInputError("neighbours", f"expected a square (N, N) matrix, got {m.shape}")
    if m.shape[0] != n:
        raise MetricInputError("neighbours", f"size {m.shape[0]} does not match N = {n} of pred")
    if not np.all((m == 0) | (m == 1)):
        bad = np.argwhere((m != 0) & (m != 1))[0]
        raise MetricInputError(
            "neighbours",
            f"values must be 0/1, got {m[tuple(bad)]!r} at {tuple(int(i) for i in bad)}",
        )
    empty = np.flatnonzero(m.sum(axis=1) == 0)
    if empty.size:
        raise MetricInputError(
            "neighbours",
            f"row {int(empty[0])} has no neighbour (speaker {int(empty[0])}; "
            f"{empty.size} empty row(s))",
        )


def validate_metric_inputs(
    pred: Any, listener: Any = None, speaker: Any = None, neighbours: Any = None
) -> None:
    """Raise MetricInputError naming the input that is wrong; None inputs are skipped.

    pred (N, S, T, 25), listener (N, T, 25), speaker (N, T, 25), neighbours (N, N) 0/1 with at
    least one 1 per row; T >= 100; all values finite.
    """
    p = as_numpy(pred)
    _check_rank("pred", p, 4, "(N, S, T, 25)")
    n, _, t, _ = p.shape
    if t < MIN_FRAMES:
        raise MetricInputError("pred", f"T = {t} frames, need at least {MIN_FRAMES}")
    if n < 1 or p.shape[1] < 1:
        raise MetricInputError("pred", f"empty array of shape {p.shape}")
    _check_finite("pred", p)
    for name, x in (("listener", listener), ("speaker", speaker)):
        if x is None:
            continue
        a = as_numpy(x)
        _check_rank(name, a, 3, "(N, T, 25)")
        if a.shape[0] != n:
            raise MetricInputError(name, f"N = {a.shape[0]} does not match N = {n} of pred")
        if a.shape[1] != t:
            raise MetricInputError(name, f"T = {a.shape[1]} does not match T = {t} of pred")
        _check_finite(name, a)
    if neighbours is not None:
        _check_neighbours(as_numpy(neighbours), n)
