"""Per-feature standardisation with train-split statistics, stored with the model.

``Standardizer`` scales the 3DMM targets of stage 1; ``LatentTransform`` the latents that are the
diffusion target space of stage 2. It can be fitted from a stream of batches (a split's latents
come batch by batch out of the frozen encoder) and keeps the range of the standardised train
latents, which the sampler clips its x0 predictions to (see ``DDIMScheduler.step``). Both
inverses are exact up to float round-off (tested), unlike a normalisation whose inverse is not
its inverse.
"""

from __future__ import annotations

from collections.abc import Iterable

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


class LatentTransform(Standardizer):
    """z = (x - mean) / std over the last (latent) axis; ``inverse`` undoes it exactly.

    ``low`` and ``high`` are the per-dimension minimum and maximum of the standardised train
    latents: the range a generated x0 is clipped to.
    """

    def __init__(
        self, mean: torch.Tensor, std: torch.Tensor, low: torch.Tensor, high: torch.Tensor
    ) -> None:
        super().__init__(mean, std)
        self.register_buffer("low", low.detach().clone().float())
        self.register_buffer("high", high.detach().clone().float())

    @staticmethod
    def identity(dim: int) -> LatentTransform:
        """A placeholder of the right shape, to ``load_state_dict`` a saved transform into."""
        return LatentTransform(torch.zeros(dim), torch.ones(dim), -torch.ones(dim), torch.ones(dim))

    @staticmethod
    def fit(x: torch.Tensor | Iterable[torch.Tensor]) -> LatentTransform:
        """Statistics over every axis but the last, of one tensor or of an iterable of batches."""
        batches = [x] if isinstance(x, torch.Tensor) else x
        count, total, squares = 0, 0.0, 0.0
        lo = hi = None
        for batch in batches:
            flat = batch.detach().reshape(-1, batch.shape[-1]).double().cpu()
            count += flat.shape[0]
            total = total + flat.sum(0)
            squares = squares + flat.square().sum(0)
            b_lo, b_hi = flat.amin(0), flat.amax(0)
            lo = b_lo if lo is None else torch.minimum(lo, b_lo)
            hi = b_hi if hi is None else torch.maximum(hi, b_hi)
        if count == 0:
            raise ValueError("LatentTransform.fit: no latents to fit")
        mean = total / count
        tf = Standardizer(mean, (squares / count - mean.square()).clamp_min(0).sqrt())
        # standardising is increasing in every dimension: the extremes map to the extremes
        return LatentTransform(tf.mean, tf.std, tf(lo.float()), tf(hi.float()))

    @property
    def x0_range(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(low, high), each (L,): where a standardised latent of the train split can lie."""
        return self.low, self.high
