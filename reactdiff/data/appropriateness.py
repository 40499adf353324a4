"""The documented rule behind the synthetic appropriateness (neighbour) matrices.

Listener j's real reaction counts as appropriate for speaker k when the two speakers behaved
alike. Each speaker clip is summarised by its profile, the time-mean of its 25 emotion
dimensions, z-scored over the samples of the split (constant dimensions dropped); similarity is
``exp(-mean squared profile difference)`` and ``M[k, j] = 1`` where it exceeds the threshold.
The diagonal is always 1.
"""

from __future__ import annotations

import numpy as np


def speaker_similarity(speaker_emotion: np.ndarray) -> np.ndarray:
    """(N, N) similarity in (0, 1] of speaker behaviour, from (N, T, 25) emotion sequences."""
    profile = speaker_emotion.mean(axis=1).astype(np.float64)
    std = profile.std(axis=0)
    z = (profile[:, std > 0] - profile[:, std > 0].mean(axis=0)) / std[std > 0]
    sq = ((z[:, None, :] - z[None, :, :]) ** 2).mean(axis=-1)
    return np.exp(-sq)


def neighbour_matrix(speaker_emotion: np.ndarray, threshold: float) -> np.ndarray:
    """0/1 uint8 appropriateness matrix over the (mirrored) samples."""
    m = (speaker_similarity(speaker_emotion) > threshold).astype(np.uint8)
    np.fill_diagonal(m, 1)
    return m
