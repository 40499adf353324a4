"""REACT-like emotion sequences for the metric tests."""

from __future__ import annotations

import numpy as np


def emotion_sequences(rng: np.random.Generator, lead: tuple[int, ...], t: int) -> np.ndarray:
    """(..., t, 25) float64: smooth walks thresholded into 0/1 AUs (long constant runs),
    valence/arousal in [-1, 1], expression probabilities summing to 1."""
    z = np.cumsum(rng.standard_normal((*lead, t, 25)), axis=-2) / 5
    x = np.empty_like(z)
    x[..., :15] = z[..., :15] > 0.3
    x[..., 15:17] = np.tanh(z[..., 15:17])
    e = np.exp(z[..., 17:])
    x[..., 17:] = e / e.sum(-1, keepdims=True)
    return x
