"""The session protocol (REACT 2025, MARS): items of any length, each with its own ground truths.

The 2024 protocol (:mod:`reactdiff.evaluation.metrics`) scores equal-length clips against the
listeners its neighbour matrix marks. The 2025 baseline (``trainer/motion_diffusion.py`` test()
and ``dataset/react_2025.py`` of the official repository) differs, and this module follows it:

- an item is one speaker clip (both directions of a dyad are items), of any length;
- its ground truths are its true listener plus ``gt_samples`` listener clips of the same session,
  drawn by :func:`draw_ground_truths`;
- the AUs of the predictions are rounded (``torch.round``: half to even) before scoring;
- a ground truth of another length is aligned to the prediction's: the official learned
  post-processor's network is not public in readable form, so :func:`crop_alignment`
  (deterministic; whole items also pad, :func:`pad_to_item`) is the default,
  :func:`load_post_processor` plugs in a TorchScript aligner and
  :mod:`reactdiff.evaluation.post_processor` wraps the challenge's network, exported as
  TorchScript, as the challenge does;
- FRCorr, FRDist, FRDiv, FRVar, FRSyn (first sample, official) and FRSyn_all; no FRDvs, no FRRea.

``evaluate.session_scoring: whole`` (the default) scores as the challenge does: each item whole,
against its ground truths brought to its length, the metric per item and its mean over items
(:func:`score_whole_items`). ``chunked`` (:func:`score_session_protocol`) cuts items into
``chunk_frames`` (750) pieces, each an item of the 2024 metrics with its own rectangular row of
appropriate ground truths (a listener pool, see
:func:`reactdiff.evaluation.inputs.validate_metric_inputs`), and weights items by their chunks:
its numbers depend on item length and are not comparable with the challenge's.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from reactdiff.config import Params
from reactdiff.data.columns import AU_SLICE, EMOTION_DIM
from reactdiff.data.emotions import whole_clip_emotions
from reactdiff.data.formats import Layout
from reactdiff.data.readers import load_npy
from reactdiff.data.splits import clips_of, mirrored, neighbour_matrix_name, read_split_csv
from reactdiff.errors import InputError
from reactdiff.evaluation.baselines import BASELINES, TrainStats
from reactdiff.evaluation.inputs import (
    MIN_FRAMES,
    MetricInputError,
    as_numpy,
    validate_metric_inputs,
)
from reactdiff.evaluation.metrics import (
    fr_corr,
    fr_dist,
    fr_div,
    fr_syn,
    fr_var,
    require_finite,
)
from reactdiff.evaluation.post_processor import ChallengeAlignment, load_challenge_post_processor
from reactdiff.evaluation.protocols.base import (
    BASELINE_SEED,
    ItemValues,
    ModelRows,
    Results,
    train_rels,
)
from reactdiff.evaluation.realism import realism_metrics
from reactdiff.evaluation.report_text import lags

__all__ = [
    "ALIGNMENTS",
    "SESSION_METRIC_KEYS",
    "AlignFn",
    "ProtocolError",
    "SessionProtocol",
    "TorchScriptAlignment",
    "crop_alignment",
    "draw_ground_truths",
    "load_post_processor",
    "pad_to_item",
    "score_session_protocol",
    "score_whole_items",
]

#: (pred (S, L, 25), ground truth (L_j, 25)) -> the ground truth aligned to the prediction,
#: (L, 25), or its first frames only (n <= L, as :func:`crop_alignment` does).
AlignFn = Callable[[np.ndarray, np.ndarray], np.ndarray]
SESSION_METRIC_KEYS = ("FRCorr", "FRDist", "FRDiv", "FRVar", "FRSyn", "FRSyn_all")
_BATCH = 256  # chunks scored together: bounds the memory of the stacked pred and pool


class ProtocolError(InputError):
    """An input of the session protocol (``name``: an item, a listener, a post-processor file)
    is wrong."""


@dataclass(frozen=True)
class SessionProtocol:
    """How items are drawn ground truths and cut into chunks."""

    gt_samples: int = 9  # ground truths drawn per item besides its true listener
    chunk_frames: int = 750  # items are scored in chunks of this many frames
    # a shorter (last) chunk is not scored: the metrics need MIN_FRAMES (TLCC lags +-49)
    min_chunk_frames: int = MIN_FRAMES
    seed: int = 0

    def __post_init__(self) -> None:
        if self.gt_samples < 0:
            raise ProtocolError("gt_samples", f"must be >= 0, got {self.gt_samples}")
        if not MIN_FRAMES <= self.min_chunk_frames <= self.chunk_frames:
            raise ProtocolError(
                "min_chunk_frames",
                f"must lie in [{MIN_FRAMES}, chunk_frames = {self.chunk_frames}] (the metrics "
                f"need {MIN_FRAMES} frames), got {self.min_chunk_frames}",
            )


# --------------------------------------------------------------------------- ground truths
def draw_ground_truths(
    appropriate: Sequence[Sequence[int]], protocol: SessionProtocol
) -> list[list[int]]:
    """Per item k: [k, d_1 .. d_gt_samples], its true listener first, as the baseline draws them.

    ``appropriate[k]``: the listener indices appropriate for item k (same session), its true
    listener k included (the listener of item k has index k), in the order given (the draws
    depend on it). The candidates are the others, or the true listener alone when there are
    none; ``gt_samples`` of them are drawn without replacement when there are enough, else with
    replacement. One ``random.Random(seed)`` is consumed in item order, so the draws are
    reproducible and do not depend on the global random state.
    """
    rng = random.Random(protocol.seed)
    drawn = []
    for k, listeners in enumerate(appropriate):
        others = [int(j) for j in listeners if int(j) != k]
        candidates = others or [k]
        if len(candidates) >= protocol.gt_samples:
            picks = rng.sample(candidates, protocol.gt_samples)
        else:
            picks = rng.choices(candidates, k=protocol.gt_samples)
        drawn.append([k, *picks])
    return drawn


# --------------------------------------------------------------------------- alignment
def crop_alignment(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """The ground truth's first min(L, L_j) frames: a deterministic stand-in for the learned
    post-processor.

    A cropped ground truth covers only frames [0, min(L, L_j)) of the item; a chunk is scored
    against the ground truths that cover it completely, a whole item against all of them, the
    shorter ones padded (:func:`pad_to_item`). The true listener always covers the
    whole item: the item's length L is min(speaker, true listener), so the caller guarantees
    L <= the true listener's length (:func:`score_session_protocol` refuses a chunk that no
    ground truth covers).
    """
    return gt[: pred.shape[1]]


@dataclass(frozen=True)
class TorchScriptAlignment:
    """A TorchScript post-processor as an :data:`AlignFn`: numpy float32 in, (L, 25) out."""

    module: Any = field(repr=False)
    path: Path

    def __call__(self, pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
        length = pred.shape[1]
        p = torch.from_numpy(np.ascontiguousarray(pred, dtype=np.float32))
        g = torch.from_numpy(np.ascontiguousarray(gt, dtype=np.float32))
        try:
            with torch.no_grad():
                out = self.module(p, g)
        except (RuntimeError, TypeError, ValueError) as err:
            raise ProtocolError(
                str(self.path), f"failed on pred {tuple(pred.shape)}, gt {tuple(gt.shape)}: {err}"
            ) from err
        if not isinstance(out, torch.Tensor):
            raise ProtocolError(str(self.path), f"returned {type(out).__name__}, not a tensor")
        if tuple(out.shape) != (length, EMOTION_DIM):
            raise ProtocolError(
                str(self.path),
                f"returned shape {tuple(out.shape)} for pred {tuple(pred.shape)} and gt "
                f"{tuple(gt.shape)}, expected ({length}, {EMOTION_DIM})",
            )
        aligned = out.detach().cpu().float().numpy()
        if not np.isfinite(aligned).all():
            raise ProtocolError(str(self.path), "returned NaN/inf values")
        return aligned


def load_post_processor(path: Path) -> AlignFn:
    """A TorchScript module ``forward(pred (S, L, 25), gt (L_j, 25)) -> (L, 25)`` as an AlignFn.

    Loaded on the CPU with ``torch.jit.load`` (TorchScript code, no pickled Python objects).
    Its output is checked on every call: shape (L, 25) and finite, else ProtocolError naming the
    file.
    """
    path = Path(path)
    if not path.is_file():
        raise ProtocolError(str(path), "no such post-processor file")
    try:
        module = torch.jit.load(str(path), map_location="cpu")
    except (RuntimeError, ValueError) as err:
        raise ProtocolError(str(path), f"not a TorchScript module: {err}") from err
    return TorchScriptAlignment(module.eval(), path)


#: evaluate.alignment -> the loader of its evaluate.post_processor file (crop needs none)
ALIGNMENTS: dict[str, Callable[[Path], AlignFn]] = {
    "torchscript": load_post_processor,
    "challenge": load_challenge_post_processor,
}


def _alignment_name(align: AlignFn | None) -> str:
    if align is None or align is crop_alignment:
        return "crop"
    if isinstance(align, TorchScriptAlignment):
        return "torchscript"
    if isinstance(align, ChallengeAlignment):
        return "challenge"
    return getattr(align, "__name__", type(align).__name__)


# --------------------------------------------------------------------------- scoring
@dataclass
class _Batch:
    """Chunks of one length, to be scored together against their pooled ground truths."""

    preds: list[np.ndarray] = field(default_factory=list)
    speakers: list[np.ndarray] = field(default_factory=list)
    pool: list[np.ndarray] = field(default_factory=list)
    rows: list[range] = field(default_factory=list)  # each chunk's columns in the pool
    origins: list[tuple[int, int, int]] = field(default_factory=list)  # (item, start, stop)

    def add(
        self,
        pred: np.ndarray,
        speaker: np.ndarray,
        gts: list[np.ndarray],
        origin: tuple[int, int, int],
    ) -> None:
        """Copies of the chunk's arrays: a view would keep the item's whole rounded pred (or
        aligned ground truth, or speaker converted from a tensor) alive until it is scored."""
        self.preds.append(pred.copy())
        self.speakers.append(speaker.copy())
        self.rows.append(range(len(self.pool), len(self.pool) + len(gts)))
        self.pool.extend(gt.copy() for gt in gts)
        self.origins.append(origin)

    def __len__(self) -> int:
        return len(self.preds)

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """pred (n, S, T, 25), speaker (n, T, 25), pool (J, T, 25), neighbours (n, J) bool."""
        neighbours = np.zeros((len(self), len(self.pool)), dtype=bool)
        for i, cols in enumerate(self.rows):
            neighbours[i, cols.start : cols.stop] = True
        return np.stack(self.preds), np.stack(self.speakers), np.stack(self.pool), neighbours

    def describe(self) -> str:
        shown = ", ".join(
            f"row {i}: item {k} [{a}, {b})" for i, (k, a, b) in enumerate(self.origins[:4])
        )
        return shown + (f" and {len(self) - 4} more" if len(self) > 4 else "")


def _score_batch(batch: _Batch, device: str) -> dict[str, float]:
    """The 2024 metrics of one batch, the pool in place of the listeners."""
    pred, speaker, pool, neighbours = batch.arrays()
    try:
        validate_metric_inputs(pred, pool, speaker, neighbours, pool=True)
    except MetricInputError as err:
        raise ProtocolError(
            err.name, f"{err.problem} (a batch of {pred.shape[2]}-frame chunks, {batch.describe()})"
        ) from err
    return {
        "FRCorr": fr_corr(pred, pool, neighbours, device=device),
        "FRDist": fr_dist(pred, pool, neighbours, device=device),
        "FRDiv": fr_div(pred),
        "FRVar": fr_var(pred),
        "FRSyn": fr_syn(pred, speaker, samples="first", device=device),
        "FRSyn_all": fr_syn(pred, speaker, samples="all", device=device),
    }


def _weighted_mean(parts: list[tuple[dict[str, float], int]]) -> dict[str, float]:
    """Mean over chunks from per-batch means; a single batch's values are returned as they are
    (bit-identical to scoring its chunks directly)."""
    if len(parts) == 1:
        return dict(parts[0][0])
    total = sum(n for _, n in parts)
    return {
        key: math.fsum(values[key] * n for values, n in parts) / total
        for key in SESSION_METRIC_KEYS
    }


def _round_aus(pred: np.ndarray) -> np.ndarray:
    """A copy with the AUs rounded half to even (np.round, as torch.round): binary AUs."""
    out = np.array(pred, copy=True)
    if out.dtype.kind == "f":
        out[..., AU_SLICE] = np.round(out[..., AU_SLICE])
    return out


def _chunk_bounds(length: int, size: int) -> list[tuple[int, int]]:
    return [(a, min(a + size, length)) for a in range(0, length, size)]


def _check_item(k: int, pred: np.ndarray, speaker: np.ndarray, samples: int) -> None:
    if pred.ndim != 3 or pred.shape[2] != EMOTION_DIM:
        raise ProtocolError(f"preds[{k}]", f"expected (S, L, {EMOTION_DIM}), got {pred.shape}")
    if pred.shape[0] != samples:
        raise ProtocolError(
            f"preds[{k}]", f"S = {pred.shape[0]} samples, item 0 has {samples}; S must be equal"
        )
    if speaker.shape != pred.shape[1:]:
        raise ProtocolError(
            f"speakers[{k}]",
            f"shape {speaker.shape} does not match pred's ({pred.shape[1]}, {EMOTION_DIM})",
        )


def _listener(listeners: Sequence[Any], j: int, k: int) -> np.ndarray:
    if not 0 <= j < len(listeners):
        raise ProtocolError(
            f"ground_truths[{k}]", f"listener {j} out of range (there are {len(listeners)})"
        )
    gt = as_numpy(listeners[j])
    if gt.ndim != 2 or gt.shape[1] != EMOTION_DIM:
        raise ProtocolError(f"listeners[{j}]", f"expected (L, {EMOTION_DIM}), got {gt.shape}")
    return gt


def _aligned(align: AlignFn, pred: np.ndarray, gt: np.ndarray, k: int, j: int) -> np.ndarray:
    """The aligned ground truth; it may cover only the item's first frames (crop)."""
    out = as_numpy(align(pred, gt))
    if out.ndim != 2 or out.shape[1] != EMOTION_DIM or out.shape[0] > pred.shape[1]:
        raise ProtocolError(
            f"alignment of listener {j} to item {k}",
            f"returned shape {out.shape}, expected (n <= {pred.shape[1]}, {EMOTION_DIM})",
        )
    return out


@dataclass
class _Tally:
    scored: int = 0
    dropped: int = 0
    dropped_frames: int = 0
    items_without_chunks: int = 0
    gts: int = 0  # distinct ground truths over scored chunks


def score_session_protocol(
    preds: Sequence[np.ndarray],
    speakers: Sequence[np.ndarray],
    listeners: Sequence[np.ndarray],
    ground_truths: Sequence[Sequence[int]],
    protocol: SessionProtocol,
    align: AlignFn | None = None,
    round_aus: bool = True,
    device: str = "cpu",
    progress: bool = False,
) -> tuple[dict[str, float], dict]:
    """The REACT 2025 metrics (:data:`SESSION_METRIC_KEYS`) of all items, and their context.

    preds[k] (S, L_k, 25), speakers[k] (L_k, 25), listeners[j] (L_j, 25) of any length,
    ground_truths[k] the listener indices of item k (:func:`draw_ground_truths`; repeats count
    once, as max/min over them are unchanged). AUs of the predictions are rounded (copies) unless
    ``round_aus`` is False. Each item's ground truths are aligned by ``align`` (None: crop),
    the item cut into chunks [a, a + chunk_frames); a last chunk shorter than min_chunk_frames is
    dropped (counted). A chunk is scored against the ground truths covering it completely; the
    final value of each metric is its mean over all scored chunks. ``device``: the metrics'.
    Raises ProtocolError for a wrong input or when no chunk can be scored.
    """
    n_items = len(preds)
    if not n_items or len(speakers) != n_items or len(ground_truths) != n_items:
        raise ProtocolError(
            "preds",
            f"{n_items} preds, {len(speakers)} speakers, {len(ground_truths)} ground-truth lists: "
            "need one of each per item, at least one item",
        )
    align_fn = align or crop_alignment
    size, tally = protocol.chunk_frames, _Tally()
    samples = as_numpy(preds[0]).shape[0]
    planned = sum(
        1
        for p in preds
        for a, b in _chunk_bounds(np.shape(p)[1] if np.ndim(p) == 3 else 0, size)
        if b - a >= protocol.min_chunk_frames
    )
    bar = _progress(planned, progress)
    pending: dict[int, _Batch] = {}
    parts: list[tuple[dict[str, float], int]] = []

    def flush(length: int) -> None:
        batch = pending.pop(length)
        parts.append((_score_batch(batch, device), len(batch)))
        bar.update(len(batch))

    for k in range(n_items):
        pred, speaker = as_numpy(preds[k]), as_numpy(speakers[k])
        _check_item(k, pred, speaker, samples)
        if round_aus:
            pred = _round_aus(pred)
        gt_ids = list(dict.fromkeys(int(j) for j in ground_truths[k]))
        if not gt_ids:
            raise ProtocolError(f"ground_truths[{k}]", "empty: an item needs its true listener")
        gts = [_aligned(align_fn, pred, _listener(listeners, j, k), k, j) for j in gt_ids]
        scored_before = tally.scored
        for a, b in _chunk_bounds(pred.shape[1], size):
            if b - a < protocol.min_chunk_frames:
                tally.dropped += 1
                tally.dropped_frames += b - a
                continue
            cover = [g[a:b] for g in gts if g.shape[0] >= b]
            if not cover:
                raise ProtocolError(
                    f"ground_truths[{k}]",
                    f"no ground truth covers frames [{a}, {b}) of item {k} ({pred.shape[1]} "
                    "frames): the true listener must be at least as long as the item",
                )
            pending.setdefault(b - a, _Batch()).add(pred[:, a:b], speaker[a:b], cover, (k, a, b))
            tally.scored += 1
            tally.gts += len(cover)
            if len(pending[b - a]) >= _BATCH:
                flush(b - a)
        if tally.scored == scored_before:
            tally.items_without_chunks += 1
    for length in sorted(pending):
        flush(length)
    bar.close()
    if not tally.scored:
        raise ProtocolError(
            "preds",
            f"nothing to score: all {n_items} items are shorter than min_chunk_frames = "
            f"{protocol.min_chunk_frames}",
        )
    context = {
        "scoring": "chunked",
        "items": n_items,
        "scored_chunks": tally.scored,
        "dropped_chunks": tally.dropped,
        "dropped_frames": tally.dropped_frames,
        "items_without_chunks": tally.items_without_chunks,
        "chunk_frames": size,
        "min_chunk_frames": protocol.min_chunk_frames,
        "gt_per_chunk": tally.gts / tally.scored,  # distinct ground truths per scored chunk
        "alignment": _alignment_name(align),
        "au_rounding": round_aus,
    }
    return require_finite(_weighted_mean(parts)), context


# --------------------------------------------------------------------------- whole items
def pad_to_item(gt: np.ndarray, length: int) -> tuple[np.ndarray, int]:
    """The ground truth brought to ``length`` frames, and how many frames were added.

    The challenge aligns a ground truth of another length with its learned post-processor; the
    fallback here crops a longer one (its first ``length`` frames, :func:`crop_alignment`) and
    holds the last frame of a shorter one: a real face state, where the zeros the
    post-processor pads its input with would be no emotion distribution at all.
    """
    missing = length - gt.shape[0]
    if missing <= 0:
        return gt[:length], 0
    return np.concatenate([gt, np.repeat(gt[-1:], missing, axis=0)]), missing


def _item_values(
    pred: np.ndarray, speaker: np.ndarray, pool: np.ndarray, where: str, device: str
) -> dict[str, float]:
    """The metrics of one item against its ground-truth pool: the 2024 metrics of a batch of
    one, so an item's value is exactly what REACT 2024 gives that item alone. ``where`` names
    the item (and its pool's listeners) in errors."""
    p, sp = pred[None], speaker[None]
    neighbours = np.ones((1, len(pool)), dtype=bool)
    try:
        validate_metric_inputs(p, pool, sp, neighbours, pool=True)
    except MetricInputError as err:
        raise ProtocolError(where, f"{err.name}: {err.problem}") from err
    return {
        "FRCorr": fr_corr(p, pool, neighbours, device=device),
        "FRDist": fr_dist(p, pool, neighbours, device=device),
        "FRDiv": fr_div(p),
        "FRVar": fr_var(p),
        "FRSyn": fr_syn(p, sp, samples="first", device=device),
        "FRSyn_all": fr_syn(p, sp, samples="all", device=device),
    }


def score_whole_items(
    preds: Sequence[np.ndarray],
    speakers: Sequence[np.ndarray],
    listeners: Sequence[np.ndarray],
    ground_truths: Sequence[Sequence[int]],
    align: AlignFn | None = None,
    round_aus: bool = True,
    device: str = "cpu",
    progress: bool = False,
) -> tuple[dict[str, float], dict[str, np.ndarray], dict]:
    """The REACT 2025 metrics as the challenge computes them: per item, mean over items.

    Inputs as :func:`score_session_protocol`'s. Each item k is scored whole against its distinct
    ground truths, each brought to its length L_k by ``align`` (None: crop) and then
    :func:`pad_to_item`. Returns the means, the per-item values (metric -> (N_scored,), their
    mean is the reported number: the bootstrap's input) and the context. An item shorter than
    MIN_FRAMES cannot be scored (TLCC lags +-49) and is left out, counted.
    """
    n_items = len(preds)
    if not n_items or len(speakers) != n_items or len(ground_truths) != n_items:
        raise ProtocolError(
            "preds",
            f"{n_items} preds, {len(speakers)} speakers, {len(ground_truths)} ground-truth lists: "
            "need one of each per item, at least one item",
        )
    align_fn = align or crop_alignment
    samples = as_numpy(preds[0]).shape[0]
    values: dict[str, list[float]] = {key: [] for key in SESSION_METRIC_KEYS}
    short, gts, padded, padded_frames, frames = 0, 0, 0, 0, 0
    bar = _progress(n_items, progress, "REACT 2025 items", "item")
    for k in range(n_items):
        pred, speaker = as_numpy(preds[k]), as_numpy(speakers[k])
        _check_item(k, pred, speaker, samples)
        bar.update(1)
        if pred.shape[1] < MIN_FRAMES:
            short += 1
            continue
        if round_aus:
            pred = _round_aus(pred)
        gt_ids = list(dict.fromkeys(int(j) for j in ground_truths[k]))
        if not gt_ids:
            raise ProtocolError(f"ground_truths[{k}]", "empty: an item needs its true listener")
        pool = []
        for j in gt_ids:
            gt, added = pad_to_item(
                _aligned(align_fn, pred, _listener(listeners, j, k), k, j), pred.shape[1]
            )
            pool.append(gt)
            padded += added > 0
            padded_frames += added
        where = f"item {k} (pool rows: listeners {gt_ids})"
        for key, value in _item_values(pred, speaker, np.stack(pool), where, device).items():
            values[key].append(value)
        gts += len(pool)
        frames += pred.shape[1]
    bar.close()
    scored = n_items - short
    if not scored:
        raise ProtocolError(
            "preds", f"nothing to score: all {n_items} items are shorter than {MIN_FRAMES} frames"
        )
    per_item = {key: np.asarray(v, dtype=np.float64) for key, v in values.items()}
    means = require_finite({key: math.fsum(v) / scored for key, v in values.items()})
    context = {
        "scoring": "whole",
        "items": n_items,
        "scored_items": scored,
        "short_items": short,
        "mean_item_frames": frames / scored,
        "gt_per_item": gts / scored,  # distinct ground truths per scored item
        "padded_gts": padded,  # ground truths shorter than their item, last frame held
        "padded_frames": padded_frames,
        "alignment": _alignment_name(align),
        "au_rounding": round_aus,
    }
    return means, per_item, context


def _progress(
    total: int, enabled: bool, desc: str = "REACT 2025 chunks", unit: str = "chunk"
) -> Any:
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit=unit, disable=not enabled)


def run(
    params: Params, layout: Layout, split: str, models: ModelRows, device: str, progress: bool
) -> tuple[Results, ItemValues, dict]:
    """Whole clips, ground truths drawn from each item's session."""
    ev, split_dir = params.evaluate, params.split.out
    samples = mirrored(read_split_csv(split_dir / f"{split}.csv"))
    emotions = whole_clip_emotions(layout, split, clips_of(samples))
    listeners = [emotions[s.listener] for s in samples]
    lengths = [min(len(emotions[s.speaker]), len(emotions[s.listener])) for s in samples]
    speakers = [emotions[s.speaker][:n] for s, n in zip(samples, lengths, strict=True)]
    neighbours = load_npy(split_dir / neighbour_matrix_name(split))
    protocol = SessionProtocol(
        gt_samples=ev.gt_samples, chunk_frames=ev.chunk_frames, seed=ev.gt_seed
    )
    ground_truths = draw_ground_truths([np.flatnonzero(row) for row in neighbours], protocol)
    align = ALIGNMENTS[ev.alignment](ev.post_processor) if ev.post_processor else None
    train = whole_clip_emotions(layout, "train", train_rels(params))
    stats = TrainStats.from_clips(list(train.values()), ev.chunk_frames)
    rng = np.random.default_rng([ev.gt_seed, BASELINE_SEED])
    results, item_values, info, real_3dmm = {}, {}, {}, None
    for name in ev.methods:
        faces = None
        if name in models.methods:
            preds, faces = models.whole_clips(name, progress)
            preds = [p[:, :n] for p, n in zip(preds, lengths, strict=True)]
            faces = [f[:, :n] for f, n in zip(faces, lengths, strict=True)]
            real_3dmm = real_3dmm or [
                f[:n] for f, n in zip(models.real_3dmm(None), lengths, strict=True)
            ]
        else:
            preds = [
                BASELINES[name](sp[None], li[:n][None], stats, ev.samples, rng)[0]
                for sp, li, n in zip(speakers, listeners, lengths, strict=True)
            ]
        if ev.session_scoring == "whole":
            results[name], item_values[name], info = score_whole_items(
                preds, speakers, listeners, ground_truths, align, device=device, progress=progress
            )
        else:  # chunks weight items by their length: no per-item values to resample
            results[name], info = score_session_protocol(
                preds,
                speakers,
                listeners,
                ground_truths,
                protocol,
                align,
                device=device,
                progress=progress,
            )
        real = [li[:n] for li, n in zip(listeners, lengths, strict=True)]
        results[name].update(realism_metrics(preds, real, faces, real_3dmm))
    context = {
        **info,
        "protocol": layout.fmt.protocol,
        "split": split,
        "n": len(samples),
        "samples": ev.samples,
        "gt_samples": ev.gt_samples,
        "min_chunk_frames": protocol.min_chunk_frames,
        "min_item_frames": MIN_FRAMES,
        "seed": ev.gt_seed,
        "aligner": str(ev.post_processor),
    }
    return results, item_values, context


def notes(context: dict) -> str:
    """The report's notes: items, how they were scored, ground truths and alignment of the run."""
    whole = context["scoring"] == "whole"
    if context["alignment"] == "challenge":
        aligned = (
            "aligned to the item's length by the challenge's post-processor (its segment "
            f"wrapper around the TorchScript auto-encoder {context['aligner']})"
        )
    elif context["alignment"] != "crop":
        aligned = (
            f"aligned to the item's length by the TorchScript post-processor {context['aligner']}"
        )
    elif whole:
        aligned = (
            "cropped to the item's length, or, when shorter, padded by holding their last frame "
            f"({context['padded_gts']} padded, {context['padded_frames']} frames): the challenge's "
            "learned post-processor is not used"
        )
    else:
        aligned = "cropped: each scored only on the chunks it covers whole"
    if whole:
        scored = (
            f"each scored whole ({context['mean_item_frames']:.0f} frames on average), as the "
            f"challenge scores: {context['scored_items']} items scored, {context['short_items']} "
            f"shorter than {context['min_item_frames']} frames left out"
        )
        per, mean = f"{context['gt_per_item']:.1f} distinct per item", "the scored items"
    else:
        scored = (
            f"scored in chunks of {context['chunk_frames']} frames: {context['scored_chunks']} "
            f"chunks scored, {context['dropped_chunks']} shorter than "
            f"{context['min_chunk_frames']} frames left out ({context['dropped_frames']} frames). "
            "**Chunked scoring weights items by their length: not comparable with the "
            "challenge's numbers**"
        )
        per, mean = f"{context['gt_per_chunk']:.1f} distinct per chunk", "the scored chunks"
    return (
        f"REACT 2025 protocol, split `{context['split']}`: {context['n']} items (both directions "
        f"of every clip pair), S = {context['samples']} reactions each, {scored}. Ground truths "
        f"per item: its own listener and {context['gt_samples']} drawn from its session (seed "
        f"{context['seed']}; {per} on average); those of other lengths are {aligned}. Generated "
        "AUs are rounded to 0/1 before scoring.\n\n"
        f"FRCorr sums over the S samples (perfect = S); every metric is a mean over {mean}. "
        "FRSyn is the official script's: first sample of each item (FRSyn (all samples), "
        f"`FRSyn_all` in metrics/eval.json, averages every sample; {lags(context)})."
    )
