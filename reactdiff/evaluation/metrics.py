"""Official REACT 2023/2024 evaluation metrics, exact and fast.

Each function reproduces the official challenge script (quirks included: each function's
docstring names them) to round-off, accepts numpy arrays or torch tensors and returns a
python float. Shapes: pred (N, S, T, 25), listener and speaker (N, T, 25), neighbours (N, N) 0/1.
FRCorr and FRDist also take a listener *pool* (J, T, 25) with neighbours (N, J): row k marks the
pool sequences appropriate for speaker k (the REACT 2025 protocol scores each item against its own
ground truths, see :mod:`reactdiff.evaluation.protocols.session`).
The single metrics trust their inputs; :func:`compute_all` validates them first and refuses a
result that is not finite (see :func:`validate_metric_inputs` for the accepted domain).
The metrics that are a mean over speakers (:data:`ITEM_KEYS`) also give that speaker's value
(the ``*_items`` functions, :func:`compute_all_items`): the confidence intervals resample them.
Each aggregate is computed exactly as before from the same numbers; the mean of its per-item
vector equals it to round-off.

Speed comes from doing less work: CCC moments of all (sample, neighbour) pairs as matrix
products, FRDiv/FRDvs from centred sums (no pairwise distances), a screened numba DTW for FRDist
(see :mod:`reactdiff.evaluation.dtw`), all TLCC lags in one kernel, identical samples of a speaker
computed once, and work chunked over speakers so memory stays bounded.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterator
from typing import Any

import numba
import numpy as np
import scipy.linalg

from reactdiff.devices import resolve_device
from reactdiff.errors import ReactdiffError
from reactdiff.evaluation import dtw as _dtw
from reactdiff.evaluation.inputs import (
    MAX_ABS,
    MetricInputError,
    as_numpy,
    validate_metric_inputs,
)
from reactdiff.evaluation.tlcc import tlcc_offsets

__all__ = [
    "ITEM_KEYS",
    "METRIC_KEYS",
    "MetricInputError",
    "MetricValueError",
    "compute_all",
    "compute_all_items",
    "fr_corr",
    "fr_corr_items",
    "fr_dist",
    "fr_dist_items",
    "fr_div",
    "fr_div_items",
    "fr_dvs",
    "fr_rea_emotion",
    "fr_syn",
    "fr_syn_items",
    "fr_var",
    "fr_var_items",
    "require_finite",
    "validate_metric_inputs",
]

METRIC_KEYS = ("FRCorr", "FRDist", "FRDiv", "FRVar", "FRDvs", "FRSyn", "FRSyn_all", "FRRea_emotion")
# the means over speakers (FRDvs compares speakers, FRRea fits one Gaussian to all: neither is)
ITEM_KEYS = ("FRCorr", "FRDist", "FRDiv", "FRVar", "FRSyn", "FRSyn_all")
_SPEAKER_CHUNK = 32  # speakers per chunk: bounds the float64 copies of pred
CCC_EPS = 1e-8  # the official CCC's denominator term


class MetricValueError(ReactdiffError, ArithmeticError):
    """A metric is NaN or infinite although its inputs passed validation: a bug, not bad input."""


# --------------------------------------------------------------------------- helpers
def metrics_device(requested: str) -> str:
    """Where the metrics run, "cpu" or "cuda", for a ``device`` param: "auto" takes the GPU only
    when both torch and numba can use it (the DTW kernels are numba's); "cuda" without a GPU
    is an error, never a CPU run."""
    device = resolve_device(requested).type
    if device == "cuda":
        if requested == "auto" and not _dtw.cuda_available():
            return "cpu"
        _dtw.require_cuda()
    return device


def describe_device(device: str) -> str:
    """What the metrics run on, for a log line: the GPU's name, or the CPU threads used."""
    if device == "cuda":
        return f"cuda ({_dtw.device_name()})"
    return f"cpu, {numba.get_num_threads()} threads (FRDist)"


def _chunks(n: int, size: int = _SPEAKER_CHUNK) -> Iterator[slice]:
    for start in range(0, n, size):
        yield slice(start, min(n, start + size))


def unique_samples(samples: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the distinct samples along axis 0, and each sample's index into them.

    Naive baselines repeat one sequence S times; each distinct one is then computed once.
    """
    reps: list[int] = []
    seen: dict[int, list[int]] = {}
    inverse = np.empty(samples.shape[0], dtype=np.int64)
    for i, x in enumerate(samples):
        key = hash(x.tobytes())
        for r in seen.get(key, []):
            if np.array_equal(samples[reps[r]], x):
                inverse[i] = r
                break
        else:
            seen.setdefault(key, []).append(len(reps))
            inverse[i] = len(reps)
            reps.append(i)
    return np.asarray(reps, dtype=np.int64), inverse


def _neighbour_lists(neighbours: Any) -> tuple[np.ndarray, np.ndarray]:
    """CSR (indptr, indices) of the 1 entries of each row of the 0/1 matrix."""
    m = as_numpy(neighbours)
    rows, cols = np.nonzero(m == 1)
    indptr = np.zeros(m.shape[0] + 1, dtype=np.int64)
    np.add.at(indptr, rows + 1, 1)
    return np.cumsum(indptr), cols.astype(np.int64)


def _f32(x: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(x, dtype=np.float32)


# --------------------------------------------------------------------------- FRCorr
def _moments(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(..., T, 25) -> centred (..., 25, T), mean (..., 25), population variance (..., 25)."""
    x = np.asarray(x, dtype=np.float64)
    mean = x.mean(axis=-2)
    centred = np.ascontiguousarray(np.swapaxes(x - mean[..., None, :], -1, -2))
    return centred, mean, (centred * centred).mean(axis=-1)


def _ccc(
    cov: np.ndarray, mp: np.ndarray, vp: np.ndarray, ml: np.ndarray, vl: np.ndarray
) -> np.ndarray:
    """Official CCC from moments: cov (U, J, 25), pred moments (U, 25), listener (J, 25)."""
    sp, sl = np.sqrt(vp)[:, None], np.sqrt(vl)[None]
    with np.errstate(divide="ignore", invalid="ignore"):
        r = cov / sp / sl
    r = np.clip(np.nan_to_num(r), -1.0, 1.0)
    num = 2 * r * sl * sp
    den = vl[None] + vp[:, None] + (ml[None] - mp[:, None]) ** 2
    return (num / (den + CCC_EPS)).mean(axis=-1)


def fr_corr(pred: Any, listener: Any, neighbours: Any, device: str | None = None) -> float:
    """FRCorr: mean over speakers of the sum over samples of the max CCC over neighbours.

    ``listener`` (N, T, 25) with square neighbours, or a pool (J, T, 25) with (N, J) ones.
    ``device`` "cuda": batched on the GPU (:mod:`reactdiff.evaluation.torch_metrics`; equal to
    round-off, ~1e-15 relative).
    """
    return _fr_corr_parts(pred, listener, neighbours, device)[0]


def fr_corr_items(
    pred: Any, listener: Any, neighbours: Any, device: str | None = None
) -> np.ndarray:
    """(N,) FRCorr of each speaker: the sum over its samples of the max CCC over neighbours."""
    return _fr_corr_parts(pred, listener, neighbours, device)[1]


def _fr_corr_parts(
    pred: Any, listener: Any, neighbours: Any, device: str | None
) -> tuple[float, np.ndarray]:
    if device not in (None, "cpu"):
        from reactdiff.evaluation.torch_metrics import fr_corr_torch_parts

        return fr_corr_torch_parts(pred, listener, neighbours, device)
    p, lis = as_numpy(pred), as_numpy(listener)
    indptr, indices = _neighbour_lists(neighbours)
    lc, lmean, lvar = _moments(lis)  # (N, 25, T)
    t = p.shape[2]
    total = 0.0
    items = np.empty(p.shape[0])
    for k in range(p.shape[0]):
        reps, inverse = unique_samples(p[k])
        pc, pmean, pvar = _moments(p[k][reps])  # (U, 25, T)
        nb = indices[indptr[k] : indptr[k + 1]]
        cov = np.matmul(pc.transpose(1, 0, 2), lc[nb].transpose(1, 2, 0)) / t  # (25, U, J)
        ccc = _ccc(cov.transpose(1, 2, 0), pmean, pvar, lmean[nb], lvar[nb])
        items[k] = float(ccc.max(axis=1)[inverse].sum())
        total += items[k]
    return total / p.shape[0], items


# --------------------------------------------------------------------------- FRDist
def _chunk_tasks(p: np.ndarray, sl: slice) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct float32 samples of speakers ``sl``: (U, T, 25), owner speaker, multiplicity."""
    samples, owner, weight = [], [], []
    for k in range(sl.start, sl.stop):
        sk = _f32(p[k])
        reps, inverse = unique_samples(sk)
        samples.append(sk[reps])
        owner.extend([k] * len(reps))
        weight.extend(np.bincount(inverse, minlength=len(reps)).tolist())
    return (
        np.concatenate(samples),
        np.asarray(owner, dtype=np.int64),
        np.asarray(weight, dtype=np.float64),
    )


def _progress(total: int, desc: str, enabled: bool) -> Any:
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, disable=not enabled)


def fr_dist(
    pred: Any,
    listener: Any,
    neighbours: Any,
    device: str | None = None,
    progress: bool = False,
    backend: str | None = None,
) -> float:
    """FRDist: mean over speakers of the sum over samples of the min DTW over neighbours.

    ``listener`` (N, T, 25) with square neighbours, or a pool (J, T, 25) with (N, J) ones.
    ``device`` None or "cpu": numba kernels on every core, every neighbour screened by a float32
    DP and only the possible minima recomputed exactly (the same minimum as brute force, bit
    for bit; float32 local costs, ~1e-9 relative to tslearn). "cuda": the same scheme with
    numba-cuda kernels on the current GPU, bit-identical to the CPU result; an error without a
    GPU. ``backend`` ("numba", "cuda" or "torch") overrides the choice; "torch" is the
    brute-force batched anti-diagonal wavefront on any torch ``device`` (slower than both).
    """
    return _fr_dist_parts(pred, listener, neighbours, device, progress, backend)[0]


def fr_dist_items(
    pred: Any,
    listener: Any,
    neighbours: Any,
    device: str | None = None,
    progress: bool = False,
    backend: str | None = None,
) -> np.ndarray:
    """(N,) FRDist of each speaker: the sum over its samples of the min DTW over neighbours."""
    return _fr_dist_parts(pred, listener, neighbours, device, progress, backend)[1]


def _fr_dist_parts(
    pred: Any,
    listener: Any,
    neighbours: Any,
    device: str | None,
    progress: bool,
    backend: str | None,
) -> tuple[float, np.ndarray]:
    p, lis = as_numpy(pred), as_numpy(listener)
    indptr, indices = _neighbour_lists(neighbours)
    pool = _dtw.listener_pool(lis, device, backend)
    total = 0.0
    items = np.zeros(p.shape[0])
    calls = list(_chunks(p.shape[0], pool.speakers_per_call))
    bar = _progress(len(calls), pool.label, progress)
    for call in calls:
        samples, owner, weight = _chunk_tasks(p, call)
        values = pool.min_dtw(samples, owner, indptr, indices)
        # summed in the CPU path's chunks and order, whichever path ran: the same FRDist
        for sl in _chunks(call.stop - call.start):
            part = (owner >= call.start + sl.start) & (owner < call.start + sl.stop)
            total += float(np.dot(values[part], weight[part]))
        np.add.at(items, owner, values * weight)
        bar.update(1)
    bar.close()
    return total / p.shape[0], items


# --------------------------------------------------------------------------- diversity
def fr_div(pred: Any) -> float:
    """FRDiv: mean over speakers of the mean squared distance between ordered sample pairs.

    sum over ordered pairs ||x_i - x_j||^2 = 2 S sum_i ||x_i - mean||^2 (0 when S = 1).
    """
    p = as_numpy(pred)
    n, s = p.shape[:2]
    if s < 2:
        return 0.0
    size = p.shape[2] * p.shape[3]
    total = 0.0
    for sl in _chunks(n):
        x = p[sl].reshape(-1, s, size).astype(np.float64)
        dev = x - x.mean(axis=1, keepdims=True)
        total += float(np.einsum("ksf,ksf->", dev, dev))
    return 2 * s * total / (s * (s - 1) * size) / n


def fr_div_items(pred: Any) -> np.ndarray:
    """(N,) FRDiv of each speaker: the mean squared distance between its ordered sample pairs."""
    p = as_numpy(pred)
    n, s = p.shape[:2]
    if s < 2:
        return np.zeros(n)
    size = p.shape[2] * p.shape[3]
    items = np.empty(n)
    for sl in _chunks(n):
        x = p[sl].reshape(-1, s, size).astype(np.float64)
        dev = x - x.mean(axis=1, keepdims=True)
        items[sl] = 2 * s * np.einsum("ksf,ksf->k", dev, dev) / (s * (s - 1) * size)
    return items


def fr_dvs(pred: Any) -> float:
    """FRDvs: mean squared distance between ordered pairs of speakers, per sample index.

    For each sample index, sum over ordered pairs = 2 N sum_k ||y_k - mean||^2 (0 when N = 1).
    """
    p = as_numpy(pred)
    n, s = p.shape[:2]
    if n < 2:
        return 0.0
    size = p.shape[2] * p.shape[3]
    mean = np.zeros((s, size))
    for sl in _chunks(n):
        mean += p[sl].reshape(-1, s, size).astype(np.float64).sum(axis=0)
    mean /= n
    total = 0.0
    for sl in _chunks(n):
        dev = p[sl].reshape(-1, s, size).astype(np.float64) - mean
        total += float(np.einsum("ksf,ksf->", dev, dev))
    return 2 * n * total / (n * (n - 1) * s) / size


def fr_var(pred: Any) -> float:
    """FRVar: mean over (speaker, sample, dim) of the unbiased variance over time."""
    p = as_numpy(pred)
    total = 0.0
    for sl in _chunks(p.shape[0]):
        total += float(np.var(p[sl].astype(np.float64), axis=2, ddof=1).sum())
    return total / (p.shape[0] * p.shape[1] * p.shape[3])


def fr_var_items(pred: Any) -> np.ndarray:
    """(N,) FRVar of each speaker: its mean over (sample, dim) of the variance over time."""
    p = as_numpy(pred)
    items = np.empty(p.shape[0])
    for sl in _chunks(p.shape[0]):
        items[sl] = np.var(p[sl].astype(np.float64), axis=2, ddof=1).mean(axis=(1, 2))
    return items


# --------------------------------------------------------------------------- FRSyn
def fr_syn(pred: Any, speaker: Any, samples: str = "first", device: str | None = None) -> float:
    """FRSyn: mean |TLCC offset| (frames) between generated reactions and the speaker.

    ``samples="first"`` uses only sample 0 of each speaker, as the official script does;
    ``samples="all"`` averages over every sample. ``device`` "cuda": every lag of every
    reaction at once on the GPU (the same offsets, but for lags whose correlations tie to
    round-off, where the official float32 script is arbitrary too).
    """
    return _fr_syn_parts(pred, speaker, samples, device)[0]


def fr_syn_items(
    pred: Any, speaker: Any, samples: str = "first", device: str | None = None
) -> np.ndarray:
    """(N,) FRSyn of each speaker: its first sample's |TLCC offset| (``samples="first"``) or
    the mean over its samples (``"all"``)."""
    return _fr_syn_parts(pred, speaker, samples, device)[1]


def _fr_syn_parts(
    pred: Any, speaker: Any, samples: str, device: str | None
) -> tuple[float, np.ndarray]:
    if device not in (None, "cpu"):
        from reactdiff.evaluation.torch_metrics import fr_syn_torch_parts

        return fr_syn_torch_parts(pred, speaker, samples, device)
    p, sp = as_numpy(pred), _f32(as_numpy(speaker))
    if samples == "first":
        offsets = tlcc_offsets(_f32(p[:, 0]), sp, np.arange(p.shape[0]))
        return float(offsets.mean()), offsets.astype(np.float64)
    if samples != "all":
        raise ValueError(f"samples must be 'first' or 'all', got {samples!r}")
    total = 0
    items = np.zeros(p.shape[0])
    for sl in _chunks(p.shape[0]):
        reps, owner, weight = _chunk_tasks(p, sl)
        offsets = tlcc_offsets(reps, sp, owner) * weight.astype(np.int64)
        total += int(offsets.sum())
        np.add.at(items, owner, offsets)
    return total / (p.shape[0] * p.shape[1]), items / p.shape[1]


# --------------------------------------------------------------------------- FRRea
def _frame_features(x: np.ndarray) -> np.ndarray:
    """(K, T, 25) -> (K * (T - 1), 50): [x_t, x_t - x_{t-1}] for t = 1..T-1."""
    x = np.asarray(x, dtype=np.float64)
    feats = np.concatenate([x[:, 1:], np.diff(x, axis=1)], axis=-1)
    return feats.reshape(-1, feats.shape[-1])


def _gaussian_fit(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and covariance (ddof 1) of the frame features of (N, T, 25), two passes, chunked."""
    count = x.shape[0] * (x.shape[1] - 1)
    mean = sum(_frame_features(x[sl]).sum(axis=0) for sl in _chunks(x.shape[0])) / count
    cov = np.zeros((mean.size, mean.size))
    for sl in _chunks(x.shape[0]):
        dev = _frame_features(x[sl]) - mean
        cov += dev.T @ dev
    return mean, cov / (count - 1)


def frechet_distance(mu1: np.ndarray, s1: np.ndarray, mu2: np.ndarray, s2: np.ndarray) -> float:
    """Fréchet distance between two Gaussians (the standard FID formula, pytorch-fid style)."""
    diff = mu1 - mu2
    with warnings.catch_warnings():
        # singular covariances are expected (e.g. an AU that never fires)
        warnings.simplefilter("ignore", scipy.linalg.LinAlgWarning)
        covmean = scipy.linalg.sqrtm(s1 @ s2)
        if not np.isfinite(covmean).all():
            offset = np.eye(s1.shape[0]) * 1e-6
            covmean = scipy.linalg.sqrtm((s1 + offset) @ (s2 + offset))
    covmean = np.real(covmean)
    return float(diff @ diff + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean))


def fr_rea_emotion(pred: Any, listener: Any) -> float:
    """FRRea (emotion-space FD): Fréchet distance of emotion frame features, not image FID.

    Gaussian fits of the 50-d features [x_t, x_t - x_{t-1}] of the first generated sample of
    every speaker (pred[:, 0]) and of the real listener reactions. The official FRRea is an
    image FID (rendered faces, Inception features) that needs a renderer and weights.
    """
    p, lis = as_numpy(pred), as_numpy(listener)
    mu1, s1 = _gaussian_fit(p[:, 0])
    mu2, s2 = _gaussian_fit(lis)
    return frechet_distance(mu1, s1, mu2, s2)


# --------------------------------------------------------------------------- all
def compute_all(
    pred: Any,
    listener: Any,
    speaker: Any,
    neighbours: Any,
    device: str = "cpu",
    progress: bool = False,
) -> dict[str, float]:
    """Validate the inputs, then compute every metric; keys are :data:`METRIC_KEYS`.

    FRSyn uses the first sample of each speaker (official script), FRSyn_all every sample.
    Raises MetricInputError for an input outside the accepted domain, MetricValueError (a bug)
    if a metric still comes out NaN or infinite.
    """
    return compute_all_items(pred, listener, speaker, neighbours, device, progress)[0]


def compute_all_items(
    pred: Any,
    listener: Any,
    speaker: Any,
    neighbours: Any,
    device: str = "cpu",
    progress: bool = False,
) -> tuple[dict[str, float], dict[str, np.ndarray]]:
    """:func:`compute_all`'s results, and the (N,) per-speaker values of :data:`ITEM_KEYS`
    (each one's mean is its result, to round-off), from one computation of each metric."""
    validate_metric_inputs(pred, listener, speaker, neighbours)
    parts = {
        "FRCorr": _fr_corr_parts(pred, listener, neighbours, device),
        "FRDist": _fr_dist_parts(pred, listener, neighbours, device, progress, None),
        "FRSyn": _fr_syn_parts(pred, speaker, "first", device),
        "FRSyn_all": _fr_syn_parts(pred, speaker, "all", device),
    }
    items = {key: values for key, (_, values) in parts.items()}
    items.update(FRDiv=fr_div_items(pred), FRVar=fr_var_items(pred))
    result = {
        "FRCorr": parts["FRCorr"][0],
        "FRDist": parts["FRDist"][0],
        "FRDiv": fr_div(pred),
        "FRVar": fr_var(pred),
        "FRDvs": fr_dvs(pred),
        "FRSyn": parts["FRSyn"][0],
        "FRSyn_all": parts["FRSyn_all"][0],
        "FRRea_emotion": fr_rea_emotion(pred, listener),
    }
    return require_finite(result), items


def require_finite(result: dict[str, float]) -> dict[str, float]:
    """The results, once every one is finite: strict JSON (no NaN/Infinity) can hold them."""
    bad = [f"{key} = {value}" for key, value in result.items() if not math.isfinite(value)]
    if bad:
        raise MetricValueError(
            f"{', '.join(bad)}: not finite although the inputs passed validation "
            f"(|value| <= {MAX_ABS:g}); a bug in the metric"
        )
    return result
