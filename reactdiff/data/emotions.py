"""Emotion sequences of a split in the challenge's mirrored sample order, or of whole clips.

Each clip is read once, then indexed for both roles: sample k's speaker and listener are the
two sides of row k (rows as given, then mirrored). This is what evaluation works on.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from reactdiff.data.columns import read_emotion
from reactdiff.data.formats.base import Layout
from reactdiff.data.splits import Pair, mirrored, read_split_csv


@dataclass(frozen=True)
class SplitEmotions:
    samples: list[Pair]
    speaker: np.ndarray  # (N, T, 25) float32, N = 2 x pairs
    listener: np.ndarray  # (N, T, 25) float32


def clip_emotions(layout: Layout, split: str, rels: list[str], frames: int) -> np.ndarray:
    """(len(rels), frames, 25) float32, one read per clip."""
    return np.stack([read_emotion(layout.clip_path(split, rel, "emotion"), frames) for rel in rels])


def whole_clip_emotions(layout: Layout, split: str, rels: list[str]) -> dict[str, np.ndarray]:
    """Every clip's whole emotion sequence (T_i, 25) float32, by rel path: clips of a format
    without a fixed length."""
    return {rel: read_emotion(layout.clip_path(split, rel, "emotion")) for rel in rels}


def load_split_emotions(
    layout: Layout, split: str, frames: int, split_csv: Path | None = None
) -> SplitEmotions:
    """Speaker and listener emotion of every sample; ``split_csv`` defaults to the layout's
    pairs."""
    pairs = read_split_csv(split_csv) if split_csv is not None else layout.pairs(split)
    samples = mirrored(pairs)
    rels = list(dict.fromkeys(r for p in pairs for r in (p.speaker, p.listener)))
    index = {rel: i for i, rel in enumerate(rels)}
    emotions = clip_emotions(layout, split, rels, frames)
    speaker = emotions[[index[p.speaker] for p in samples]]
    listener = emotions[[index[p.listener] for p in samples]]
    return SplitEmotions(samples=samples, speaker=speaker, listener=listener)
