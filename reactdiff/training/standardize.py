"""Per-feature standardisation with train-split statistics, stored with the model.

The inverse is exact up to float round-off (tested), unlike a normalisation whose inverse is
not its inverse.
"""

from __future__ import annotations

import torch
from torch import nn


class Standardizer(nn.Module):
    def __init__(self, mean: torch.Tensor, std: torch.Tensor, eps: float = 1e-6) -> None:
        super().__init__()
        self.register_buffer("mean", mean.detach().clone().float())
        self.register_buffer("std", std.detach().clone().float().clamp_min(eps))

    @staticmethod
    def fit(x: torch.Tensor) -> Standardizer:
        """Statistics over every axis but the last (feature) one."""
        flat = x.reshape(-1, x.shape[-1]).double()
        return Standardizer(flat.mean(0), flat.std(0, unbiased=False))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.std

    def inverse(self, z: torch.Tensor) -> torch.Tensor:
        return z * self.std + self.mean
