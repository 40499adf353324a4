"""Make generated emotion look like the challenge's data: AUs 0/1, valence/arousal in [-1, 1],
expression probabilities that sum to 1."""

from __future__ import annotations

import torch

AUS = slice(0, 15)
VA = slice(15, 17)
EXPRESSIONS = slice(17, 25)


def postprocess_emotion(emotion: torch.Tensor, au_threshold: float = 0.5) -> torch.Tensor:
    """(..., 25) raw decoder output -> challenge format (a new tensor)."""
    out = emotion.clone()
    out[..., AUS] = (emotion[..., AUS] >= au_threshold).to(emotion.dtype)
    out[..., VA] = emotion[..., VA].clamp(-1.0, 1.0)
    probs = emotion[..., EXPRESSIONS].clamp_min(0.0)
    total = probs.sum(dim=-1, keepdim=True)
    uniform = torch.full_like(probs, 1.0 / probs.shape[-1])
    out[..., EXPRESSIONS] = torch.where(total > 0, probs / total.clamp_min(1e-12), uniform)
    return out
