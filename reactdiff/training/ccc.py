"""Concordance correlation per dimension, for monitoring reconstructions during training."""

from __future__ import annotations

import torch


def ccc_per_dim(pred: torch.Tensor, truth: torch.Tensor) -> torch.Tensor:
    """CCC of each last-axis dimension over all frames (population statistics); NaN where the
    truth is constant, since agreement with a constant is undefined."""
    p = pred.reshape(-1, pred.shape[-1]).double()
    t = truth.reshape(-1, truth.shape[-1]).double()
    mp, mt = p.mean(0), t.mean(0)
    vp, vt = p.var(0, unbiased=False), t.var(0, unbiased=False)
    cov = ((p - mp) * (t - mt)).mean(0)
    ccc = 2 * cov / (vp + vt + (mp - mt) ** 2)
    return torch.where(vt > 0, ccc, torch.full_like(ccc, float("nan")))
