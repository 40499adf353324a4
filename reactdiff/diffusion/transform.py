"""Standardise latents per dimension with train-split statistics (the diffusion target space).

A thin wrapper over the stage-1 ``Standardizer`` (exact inverse, buffers in the checkpoint) that
can also be fitted from a stream of batches, since a split's latents come batch by batch out of
the frozen encoder.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch

from reactdiff.training.standardize import Standardizer


class LatentTransform(Standardizer):
    """z = (x - mean) / std over the last (latent) axis; ``inverse`` undoes it exactly."""

    @staticmethod
    def identity(dim: int) -> LatentTransform:
        """A placeholder of the right shape, to ``load_state_dict`` a saved transform into."""
        return LatentTransform(torch.zeros(dim), torch.ones(dim))

    @staticmethod
    def fit(x: torch.Tensor | Iterable[torch.Tensor]) -> LatentTransform:
        """Statistics over every axis but the last, of one tensor or of an iterable of batches."""
        batches = [x] if isinstance(x, torch.Tensor) else x
        count, total, squares = 0, 0.0, 0.0
        for batch in batches:
            flat = batch.detach().reshape(-1, batch.shape[-1]).double().cpu()
            count += flat.shape[0]
            total = total + flat.sum(0)
            squares = squares + flat.square().sum(0)
        if count == 0:
            raise ValueError("LatentTransform.fit: no latents to fit")
        mean = total / count
        var = (squares / count - mean.square()).clamp_min(0)
        return LatentTransform(mean, var.sqrt())
