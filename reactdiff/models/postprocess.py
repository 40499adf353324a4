"""Make generated emotion look like the challenge's data: AUs 0/1, valence/arousal in [-1, 1],
expression probabilities that sum to 1.

The positions of those groups in the emotion vector are the data format's; a model receives
them as an ``EmotionLayout`` (built from ``reactdiff.data.columns`` by the training stage) and
saves it with its weights.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class EmotionLayout:
    """[start, stop) of each group of the emotion vector."""

    aus: tuple[int, int]  # binary action units
    va: tuple[int, int]  # valence, arousal
    expressions: tuple[int, int]  # probabilities

    @staticmethod
    def from_slices(aus: slice, va: slice, expressions: slice) -> EmotionLayout:
        return EmotionLayout(
            (aus.start, aus.stop), (va.start, va.stop), (expressions.start, expressions.stop)
        )

    @staticmethod
    def from_dict(d: dict) -> EmotionLayout:
        return EmotionLayout(**{k: tuple(v) for k, v in d.items()})


def postprocess_emotion(
    emotion: torch.Tensor, layout: EmotionLayout, au_threshold: float | torch.Tensor = 0.5
) -> torch.Tensor:
    """(..., D) raw decoder output -> challenge format (a new tensor). An AU is on where its
    output is >= ``au_threshold`` (one for all, or one per AU)."""
    aus, va, expr = slice(*layout.aus), slice(*layout.va), slice(*layout.expressions)
    out = emotion.clone()
    out[..., aus] = (emotion[..., aus] >= au_threshold).to(emotion.dtype)
    out[..., va] = emotion[..., va].clamp(-1.0, 1.0)
    probs = emotion[..., expr].clamp_min(0.0)
    total = probs.sum(dim=-1, keepdim=True)
    uniform = torch.full_like(probs, 1.0 / probs.shape[-1])
    out[..., expr] = torch.where(total > 0, probs / total.clamp_min(1e-12), uniform)
    return out
