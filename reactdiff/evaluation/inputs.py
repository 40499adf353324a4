"""Input conversion and validation for the metrics: a bad input fails fast, naming the culprit.

The accepted domain is documented in :func:`validate_metric_inputs`; inside it every metric is
finite (:func:`reactdiff.evaluation.metrics.compute_all` checks that it is).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from reactdiff.data.columns import EMOTION_DIM
from reactdiff.errors import InputError

N_DIMS = EMOTION_DIM
MIN_FRAMES = 100
_CHUNK = 64  # samples per value check, to bound the temporary boolean arrays

# Largest accepted |value| of pred, listener and speaker. REACT emotion features lie in [-1, 1]
# (AUs 0/1, valence/arousal in [-1, 1], probabilities in [0, 1]); 1e6 leaves room for rescaled
# features while every intermediate of every metric stays finite and accurate: a squared
# difference is at most (2e6)^2 = 4e12, so FRDist's float32 local costs (sums of 25 squares) and
# a DTW path of 2T - 1 of them stay far below float32's 3.4e38 for any realistic T; FRVar, FRDiv
# and FRDvs sum such squares in float64; FRRea's covariances (entries <= 4e12) and their 50 x 50
# product (<= 1e27) stay far below float64's 1.8e308; integers up to 1e6 are exact in float32.
MAX_ABS = 1e6

_EMOTION_KINDS = "iuf"  # signed and unsigned integers, floats
_EMOTION_VALUES = "real numbers (integer or float; not bool, complex, string or object)"
_NEIGHBOUR_KINDS = "biuf"  # and bool: the natural dtype of a 0/1 matrix
_KIND_NAMES = {
    "b": "boolean",
    "c": "complex",
    "U": "string",
    "S": "bytes",
    "O": "object",
    "V": "structured",
    "M": "datetime",
    "m": "timedelta",
}


class MetricInputError(InputError):
    """An input of the metrics (``name``: pred, listener, speaker, neighbours) is wrong."""


def as_numpy(x: Any) -> np.ndarray:
    """numpy view of an array or tensor (no copy for CPU tensors; bfloat16 becomes float32)."""
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu()
        if x.dtype == torch.bfloat16:  # numpy has no bfloat16
            x = x.float()
        return x.numpy()
    return np.asarray(x)


def _check_dtype(name: str, x: np.ndarray, kinds: str, expected: str) -> None:
    """Refuse what the metrics would misread: complex (imaginary part dropped), strings..."""
    if x.dtype.kind not in kinds:
        kind = _KIND_NAMES.get(x.dtype.kind, "non-numeric")
        raise MetricInputError(name, f"{kind} array (dtype {x.dtype}), expected {expected}")


def _check_rank(name: str, x: np.ndarray, rank: int, layout: str) -> None:
    if x.ndim != rank:
        raise MetricInputError(name, f"expected {rank} dims {layout}, got shape {x.shape}")
    if rank >= 3 and x.shape[-1] != N_DIMS:
        raise MetricInputError(
            name, f"last dim must be {N_DIMS} emotion features, got {x.shape[-1]} (shape {x.shape})"
        )


def _can_exceed(dtype: np.dtype) -> bool:
    """Whether a value of ``dtype`` can lie outside [-MAX_ABS, MAX_ABS] (float16 cannot)."""
    info = np.finfo(dtype) if dtype.kind == "f" else np.iinfo(dtype)
    return float(info.max) > MAX_ABS or float(info.min) < -MAX_ABS


class _Tally:
    """How many values of a chunked array are bad, and the first bad one."""

    def __init__(self) -> None:
        self.count = 0
        self.first: tuple[tuple[int, ...], Any] | None = None

    def add(self, chunk: np.ndarray, bad: np.ndarray, start: int) -> None:
        n_bad = int(bad.sum())
        if n_bad and self.first is None:
            index = np.unravel_index(int(np.flatnonzero(bad)[0]), bad.shape)
            self.first = ((int(index[0]) + start, *(int(i) for i in index[1:])), chunk[index])
        self.count += n_bad


def _check_values(name: str, x: np.ndarray) -> None:
    """No NaN/inf and every |value| <= MAX_ABS, checked chunk by chunk along the first axis."""
    nonfinite, outside = _Tally(), _Tally()
    is_float, bounded = x.dtype.kind == "f", not _can_exceed(x.dtype)
    for start in range(0, x.shape[0], _CHUNK):
        chunk = x[start : start + _CHUNK]
        if is_float:
            nonfinite.add(chunk, ~np.isfinite(chunk), start)
        if not bounded:  # NaN compares False: counted once, above
            outside.add(chunk, (chunk > MAX_ABS) | (chunk < -MAX_ABS), start)
    if nonfinite.count:
        index, _ = nonfinite.first
        raise MetricInputError(name, f"{nonfinite.count} NaN/inf value(s), first at index {index}")
    if outside.count:
        index, value = outside.first
        raise MetricInputError(
            name,
            f"{outside.count} value(s) with |value| > {MAX_ABS:g}, first {value.item()!r} at "
            f"index {index}; the metrics accept |value| <= {MAX_ABS:g} (REACT emotion features "
            "lie in [-1, 1])",
        )


def _check_neighbours(m: np.ndarray, n: int, pool: int | None = None) -> None:
    """``pool`` None: a square (N, N) matrix; else (N, pool), or (N, any J) when pool is -1."""
    _check_dtype("neighbours", m, _NEIGHBOUR_KINDS, "a 0/1 matrix (bool, integer or float)")
    if pool is None:
        if m.ndim != 2 or m.shape[0] != m.shape[1]:
            raise MetricInputError("neighbours", f"expected a square (N, N) matrix, got {m.shape}")
        if m.shape[0] != n:
            raise MetricInputError(
                "neighbours", f"size {m.shape[0]} does not match N = {n} of pred"
            )
    else:
        _check_pool_shape(m, n, pool)
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


def _check_pool_shape(m: np.ndarray, n: int, pool: int) -> None:
    """Rows are pred's N speakers, columns the J sequences of the listener pool."""
    if m.ndim != 2:
        raise MetricInputError("neighbours", f"expected an (N, J) matrix, got shape {m.shape}")
    if m.shape[0] != n:
        raise MetricInputError("neighbours", f"{m.shape[0]} rows do not match N = {n} of pred")
    if pool >= 0 and m.shape[1] != pool:
        raise MetricInputError(
            "neighbours", f"{m.shape[1]} columns do not match J = {pool} of the listener pool"
        )


def _check_emotion(name: str, x: np.ndarray, rank: int, layout: str) -> None:
    _check_dtype(name, x, _EMOTION_KINDS, _EMOTION_VALUES)
    _check_rank(name, x, rank, layout)


def validate_metric_inputs(
    pred: Any,
    listener: Any = None,
    speaker: Any = None,
    neighbours: Any = None,
    *,
    pool: bool = False,
) -> None:
    """Raise MetricInputError naming the input that is wrong; None inputs are skipped.

    pred (N, S, T, 25), listener (N, T, 25), speaker (N, T, 25), neighbours (N, N) 0/1 with at
    least one 1 per row; T >= 100. ``pool`` True: listener is a pool (J, T, 25) of any J >= 1
    (e.g. the ground truths of several protocols' items) and neighbours is (N, J), row k
    marking the pool sequences appropriate for speaker k.

    Accepted domain, in which every metric is finite: pred, listener and speaker hold real
    numbers, i.e. an integer or float dtype (float16 to float64; torch bfloat16 too), the metrics
    converting them to float; bool is refused (valence/arousal and probabilities are not 0/1, so
    a bool array is a wrong file), and so are complex (the imaginary part would be dropped),
    string and object arrays. Every value is finite with ``|value| <= MAX_ABS`` (1e6; the REACT
    features lie in [-1, 1], see ``MAX_ABS`` for why 1e6 keeps every metric finite).
    neighbours may be bool, integer or float, its values exactly 0 or 1.
    """
    p = as_numpy(pred)
    _check_emotion("pred", p, 4, "(N, S, T, 25)")
    n, _, t, _ = p.shape
    if t < MIN_FRAMES:
        raise MetricInputError("pred", f"T = {t} frames, need at least {MIN_FRAMES}")
    if n < 1 or p.shape[1] < 1:
        raise MetricInputError("pred", f"empty array of shape {p.shape}")
    _check_values("pred", p)
    pool_size = -1 if pool else None  # -1: a pool whose size is not known (listener None)
    if listener is not None:
        a = as_numpy(listener)
        if pool:
            _check_sequences("listener", a, t, None, "(J, T, 25)")
            pool_size = a.shape[0]
        else:
            _check_sequences("listener", a, t, n, "(N, T, 25)")
    if speaker is not None:
        _check_sequences("speaker", as_numpy(speaker), t, n, "(N, T, 25)")
    if neighbours is not None:
        _check_neighbours(as_numpy(neighbours), n, pool_size)


def _check_sequences(name: str, a: np.ndarray, t: int, n: int | None, layout: str) -> None:
    """(N, T, 25) matching pred's N (or any J >= 1 when ``n`` is None) and T."""
    _check_emotion(name, a, 3, layout)
    if n is None and a.shape[0] < 1:
        raise MetricInputError(name, f"empty pool of shape {a.shape}, need J >= 1 sequences")
    if n is not None and a.shape[0] != n:
        raise MetricInputError(name, f"N = {a.shape[0]} does not match N = {n} of pred")
    if a.shape[1] != t:
        raise MetricInputError(name, f"T = {a.shape[1]} does not match T = {t} of pred")
    _check_values(name, a)
