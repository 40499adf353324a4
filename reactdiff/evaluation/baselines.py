"""The challenge's naive baselines, as the official evaluation defines them: S identical
copies unless drawn at random.

Identical copies are returned as read-only broadcast views: no memory for the S copies, and
the metrics compute each distinct sample once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class TrainStats:
    """What the mean baselines need from the train split."""

    mean_sequence: np.ndarray  # (T, 25): frame-wise mean of all train listener+speaker sequences
    mean_frame: np.ndarray  # (25,): mean over all train frames

    @staticmethod
    def from_sequences(sequences: np.ndarray) -> TrainStats:
        """``sequences`` (M, T, 25): every train clip once (each is a speaker and a listener)."""
        seq = sequences.astype(np.float64)
        return TrainStats(
            seq.mean(axis=0).astype(np.float32), seq.mean(axis=(0, 1)).astype(np.float32)
        )


def _copies(x: np.ndarray, samples: int) -> np.ndarray:
    """(N, T, 25) -> (N, S, T, 25) read-only view of S identical copies."""
    return np.broadcast_to(x[:, None], (x.shape[0], samples, *x.shape[1:]))


def b_random(
    speaker: np.ndarray,
    listener: np.ndarray,
    stats: TrainStats,
    samples: int,
    rng: np.random.Generator,
) -> np.ndarray:
    return rng.random((*speaker.shape[:1], samples, *speaker.shape[1:]), dtype=np.float32)


def b_mime(speaker, listener, stats, samples, rng) -> np.ndarray:
    return _copies(speaker, samples)


def b_mean_seq(speaker, listener, stats, samples, rng) -> np.ndarray:
    n, t = speaker.shape[:2]
    return np.broadcast_to(stats.mean_sequence[:t], (n, samples, t, speaker.shape[2]))


def b_mean_fr(speaker, listener, stats, samples, rng) -> np.ndarray:
    return np.broadcast_to(stats.mean_frame, (*speaker.shape[:1], samples, *speaker.shape[1:]))


def gt(speaker, listener, stats, samples, rng) -> np.ndarray:
    return _copies(listener, samples)


Baseline = Callable[[np.ndarray, np.ndarray, TrainStats, int, np.random.Generator], np.ndarray]
BASELINES: dict[str, Baseline] = {
    "GT": gt,
    "B_Random": b_random,
    "B_Mime": b_mime,
    "B_MeanSeq": b_mean_seq,
    "B_MeanFr": b_mean_fr,
}
