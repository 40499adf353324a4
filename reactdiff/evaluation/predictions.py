"""Reactions of a trained model (any family) to every speaker of a split, as the metrics take
them.

A mode is one row of the evaluation: ``offline`` and ``online`` generation, and
``reconstruct``, the paper's "w/o diffusion" ablation (the speaker's own latent decoded, the
same for every sample), which only a model that ``Reconstructs`` has.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import NamedTuple

import numpy as np
import torch
from tqdm import tqdm

from reactdiff.errors import ConfigError
from reactdiff.generation import Generation
from reactdiff.models.family import ReactionModel, Reconstructs

MODES = ("offline", "online", "reconstruct")
# Equal-length items generated together: a constant, so that the noise of item k (the seed of
# its batch) and with it every row is the same whoever asks for the split's reactions. 32 items
# (S = 10: 320 sequences) keep the CPU's cores busy with few calls: generation of the demo's
# 80-item split took 29% less time than at 8 (the U-Net's per-call overhead); the process's peak
# memory grows from 1.0 to 1.8 GB (demo model, offline).
BATCH = 32


class Reactions(NamedTuple):
    """A model's reactions to a split: emotion (challenge format) and 3DMM, each (N, S, T, D),
    or for clips of any length a list of (S, T_k, D) per item."""

    emotion: np.ndarray | list[np.ndarray]
    face: np.ndarray | list[np.ndarray]


def _check_mode(model: ReactionModel, mode: str) -> None:
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    if mode == "reconstruct" and not isinstance(model, Reconstructs):
        raise ConfigError(
            f"mode reconstruct (the w/o diffusion row): a {model.family} model does not "
            "reconstruct its input"
        )


def model_predictions(
    model: ReactionModel,
    batches: Iterable[dict],
    mode: str,
    samples: int,
    seed: int,
    generation: Generation,
    progress: bool = True,
) -> Reactions:
    """(N, S, T, D) reactions to the speakers of ``batches`` (items of a PairFeatureDataset).

    Batch i is sampled with seed ``seed + i``, so a rerun draws the same noise, as
    ``generation`` says.
    """
    _check_mode(model, mode)
    emotions, faces = [], []
    for i, batch in enumerate(tqdm(batches, desc=f"ReactDiff {mode}", disable=not progress)):
        if mode == "reconstruct":  # deterministic: S identical copies
            face, emotion = (
                y[:, None].expand(-1, samples, -1, -1) for y in model.reconstruct(batch["speaker"])
            )
        else:
            face, emotion = model.generate(
                batch["speaker"],
                samples,
                online=mode == "online",
                seed=seed + i,
                **generation.sampling(),
            )
        emotions.append(emotion.cpu().numpy())
        faces.append(face.cpu().numpy())
    return Reactions(np.concatenate(emotions), np.concatenate(faces))


def clip_predictions(
    model: ReactionModel,
    items: Iterable[dict],
    mode: str,
    samples: int,
    seed: int,
    generation: Generation,
    progress: bool = True,
) -> Reactions:
    """(S, T_k, D) reactions to each item of clips of any length (items of a PairFeatureDataset
    of whole clips), generated offline in chunks of ``generation.chunk_frames`` and online as
    one stream. Item k is sampled with seed ``seed + k``."""
    _check_mode(model, mode)
    emotions, faces = [], []
    for k, item in enumerate(tqdm(items, desc=f"ReactDiff {mode}", disable=not progress)):
        if mode == "reconstruct":  # deterministic: S identical copies
            face, emotion = (
                y.expand(samples, -1, -1)
                for y in model.reconstruct_clip(item["speaker"], generation.chunk_frames)
            )
        else:
            face, emotion = model.generate_clip(
                item["speaker"],
                samples,
                generation.chunk_frames,
                online=mode == "online",
                seed=seed + k,
                **generation.sampling(),
            )
        emotions.append(emotion.cpu().numpy())
        faces.append(face.cpu().numpy())
    return Reactions(emotions, faces)


def split_predictions(
    model: ReactionModel,
    items: Sequence[dict],
    mode: str,
    samples: int,
    seed: int,
    generation: Generation,
    batched: bool,
    progress: bool = True,
) -> Reactions:
    """Per item (S, T_k, D) reactions to every item of a split (a PairFeatureDataset of whole
    clips): the one way the evaluation's model rows and a submission folder are made.

    ``batched`` (clips of one length, scored as (N, S, T, D) arrays): in batches of
    :data:`BATCH` consecutive items, batch i with seed ``seed + i`` (:func:`model_predictions`);
    else one item at a time, in chunks, item k with seed ``seed + k`` (:func:`clip_predictions`).
    """
    if not batched:
        return clip_predictions(model, items, mode, samples, seed, generation, progress)
    loader = torch.utils.data.DataLoader(items, batch_size=BATCH)
    rows = model_predictions(model, loader, mode, samples, seed, generation, progress)
    return Reactions(list(rows.emotion), list(rows.face))
