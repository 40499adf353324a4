"""The neighbour protocol (REACT 2024): equal-length clips, (N, S, T, 25) reactions scored
against the listeners the split's appropriateness (neighbour) matrix marks."""

from __future__ import annotations

import numpy as np

from reactdiff.config import Params
from reactdiff.data.emotions import clip_emotions, load_split_emotions
from reactdiff.data.formats import Layout
from reactdiff.data.readers import load_npy
from reactdiff.data.splits import neighbour_matrix_name
from reactdiff.evaluation.baselines import BASELINES, TrainStats
from reactdiff.evaluation.metrics import compute_all_items
from reactdiff.evaluation.protocols.base import (
    BASELINE_SEED,
    ItemValues,
    ModelRows,
    Results,
    train_rels,
)
from reactdiff.evaluation.realism import realism_metrics
from reactdiff.evaluation.report_text import lags


def run(
    params: Params, layout: Layout, split: str, models: ModelRows, device: str, progress: bool
) -> tuple[Results, ItemValues, dict]:
    """Every clip's first ``frames`` frames, the split's neighbour matrix as it is."""
    ev, fmt, split_dir = params.evaluate, layout.fmt, params.split.out
    data = load_split_emotions(layout, split, fmt.frames, split_dir / f"{split}.csv")
    neighbours = load_npy(split_dir / neighbour_matrix_name(split))
    stats = TrainStats.from_sequences(
        clip_emotions(layout, "train", train_rels(params), fmt.frames)
    )
    rng = np.random.default_rng([ev.gt_seed, BASELINE_SEED])
    results, per_item, real_3dmm = {}, {}, None
    for name in ev.methods:
        face = None
        if name in models.methods:
            pred, face = models.fixed(name, progress)
            real_3dmm = real_3dmm or models.real_3dmm(fmt.frames)
        else:
            pred = BASELINES[name](data.speaker, data.listener, stats, ev.samples, rng)
        scores, per_item[name] = compute_all_items(
            pred, data.listener, data.speaker, neighbours, device=device, progress=progress
        )
        results[name] = {**scores, **realism_metrics(pred, data.listener, face, real_3dmm)}
    context = {
        "protocol": fmt.protocol,
        "split": split,
        "n": len(data.samples),
        "samples": ev.samples,
        "frames": fmt.frames,
        "neighbours": float(neighbours.sum(axis=1).mean()),
    }
    return results, per_item, context


def notes(context: dict) -> str:
    """The report's notes: what was scored and how FRSyn and FRRea are read."""
    return (
        f"Split `{context['split']}`: N = {context['n']} mirrored samples, S = {context['samples']} "
        f"reactions each, T = {context['frames']} frames, {context['neighbours']:.1f} appropriate "
        "listeners per speaker on average.\n\n"
        "FRCorr sums over the S samples (perfect = S). FRSyn is the official script's: first sample "
        "of each speaker (FRSyn (all samples), `FRSyn_all` in the metrics JSON, averages every "
        f"sample; {lags(context)}). FRRea is the Fréchet distance of emotion-space frame features "
        "`[x_t, x_t - x_{t-1}]`, not the image-based FID of the challenge (no renderer or "
        "Inception weights here)."
    )
