"""The challenge's naive baselines, as the official evaluation defines them: S identical
copies unless drawn at random.

Identical copies are returned as read-only broadcast views: no memory for the S copies, and
the metrics compute each distinct sample once.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from reactdiff.data.columns import EMOTION_DIM


@dataclass(frozen=True)
class TrainStats:
    """What the mean baselines need from the train split."""

    mean_sequence: np.ndarray  # (T, 25): frame-wise mean of all train listener+speaker sequences
    # (of their chunks for clips of any length, see from_clips)
    mean_frame: np.ndarray  # (25,): mean over all train frames

    @staticmethod
    def from_sequences(sequences: np.ndarray) -> TrainStats:
        """``sequences`` (M, T, 25): every train clip once (each is a speaker and a listener)."""
        seq = sequences.astype(np.float64)
        return TrainStats(
            seq.mean(axis=0).astype(np.float32), seq.mean(axis=(0, 1)).astype(np.float32)
        )

    @staticmethod
    def from_clips(clips: Sequence[np.ndarray], chunk_frames: int) -> TrainStats:
        """Stats of clips of any length (each (L_i, 25), every train clip once).

        Each clip is cut into pieces of ``chunk_frames`` (the last one shorter), as the
        variable-length protocol scores items in such chunks. mean_sequence[t] is the mean of
        frame t over the pieces that have a frame t: every piece has frame 0, later frames are
        averaged over the pieces long enough only; a frame that no piece reaches (every clip
        shorter) gets mean_frame. mean_frame is the mean over every frame of every clip.
        """
        if chunk_frames < 1:
            raise ValueError(f"chunk_frames must be >= 1, got {chunk_frames}")
        total = np.zeros((chunk_frames, EMOTION_DIM))
        count = np.zeros(chunk_frames, dtype=np.int64)
        for clip in clips:
            _add_pieces(np.asarray(clip, dtype=np.float64), chunk_frames, total, count)
        if count[0] == 0:
            raise ValueError("no frames: every train clip is empty (or there are none)")
        frame = total.sum(axis=0) / count.sum()
        seq = np.where(count[:, None] > 0, total / np.maximum(count, 1)[:, None], frame)
        return TrainStats(seq.astype(np.float32), frame.astype(np.float32))


def _add_pieces(clip: np.ndarray, size: int, total: np.ndarray, count: np.ndarray) -> None:
    """Add the clip's pieces of ``size`` frames, frame by frame, to the running sums."""
    if clip.ndim != 2 or clip.shape[1] != total.shape[1]:
        raise ValueError(f"a train clip must be (L, {total.shape[1]}), got shape {clip.shape}")
    for start in range(0, clip.shape[0], size):
        piece = clip[start : start + size]
        total[: len(piece)] += piece
        count[: len(piece)] += 1


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
    """The train mean sequence, tiled (frame t gets mean_sequence[t % len]) past its length:
    chunked protocols score an item of any length in pieces of that length."""
    n, t = speaker.shape[:2]
    seq = stats.mean_sequence
    seq = seq[:t] if t <= len(seq) else seq[np.arange(t) % len(seq)]
    return np.broadcast_to(seq, (n, samples, t, speaker.shape[2]))


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
