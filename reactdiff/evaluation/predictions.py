"""Reactions of a trained ReactDiff to every speaker of a split, as the metrics take them.

A mode is one row of the evaluation: ``offline`` and ``online`` generation, and
``reconstruct``, the paper's "w/o diffusion" ablation (the speaker's own latent decoded, the
same for every sample).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
from tqdm import tqdm

from reactdiff.models.reactdiff import ReactDiff

MODES = ("offline", "online", "reconstruct")


def model_predictions(
    model: ReactDiff,
    batches: Iterable[dict],
    mode: str,
    samples: int,
    seed: int,
    sampling: dict,
    progress: bool = True,
) -> np.ndarray:
    """(N, S, T, D) emotion for the speakers of ``batches`` (items of a PairFeatureDataset).

    Batch i is sampled with seed ``seed + i``, so a rerun draws the same noise; ``sampling``
    holds the keyword arguments of ``ReactDiff.generate`` (steps, eta, guidance, delay_frames).
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    preds = []
    for i, batch in enumerate(tqdm(batches, desc=f"ReactDiff {mode}", disable=not progress)):
        if mode == "reconstruct":  # deterministic: S identical copies
            emotion = model.reconstruct(batch["speaker"])[1][:, None].expand(-1, samples, -1, -1)
        else:
            _, emotion = model.generate(
                batch["speaker"], samples, online=mode == "online", seed=seed + i, **sampling
            )
        preds.append(emotion.cpu().numpy())
    return np.concatenate(preds)


def clip_predictions(
    model: ReactDiff,
    items: Iterable[dict],
    mode: str,
    samples: int,
    seed: int,
    sampling: dict,
    chunk_frames: int,
    progress: bool = True,
) -> list[np.ndarray]:
    """(S, T_k, D) emotion for each item of clips of any length (items of a PairFeatureDataset
    of whole clips), generated offline in chunks of ``chunk_frames`` and online as one stream.
    Item k is sampled with seed ``seed + k``."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    preds = []
    for k, item in enumerate(tqdm(items, desc=f"ReactDiff {mode}", disable=not progress)):
        if mode == "reconstruct":  # deterministic: S identical copies
            emotion = model.reconstruct_clip(item["speaker"], chunk_frames)[1]
            emotion = emotion.expand(samples, -1, -1)
        else:
            _, emotion = model.generate_clip(
                item["speaker"],
                samples,
                chunk_frames,
                online=mode == "online",
                seed=seed + k,
                **sampling,
            )
        preds.append(emotion.cpu().numpy())
    return preds
