"""Build the latent diffusion model, and its sampling settings, that params.yaml describes."""

from __future__ import annotations

from reactdiff.config import DDIMParams, ModelScale
from reactdiff.diffusion.schedule import make_scheduler
from reactdiff.models.denoiser import DenoiserConfig, LatentDiffusion
from reactdiff.models.reactdiff import Sampling


def denoiser_config(ddim: DDIMParams, mmt: ModelScale) -> DenoiserConfig:
    """The U-Net sizes of ``ddim.sizes`` over the MMT's latent windows (``mmt`` = mmt.sizes)."""
    s = ddim.sizes
    return DenoiserConfig(
        window_size=mmt.window_size,
        latent_dim=mmt.latent_dim,
        cond_dim=s.cond_dim,
        base_width=s.base_width,
        width_mults=tuple(s.width_mults),
        blocks_per_level=s.blocks_per_level,
        time_dim=s.time_dim,
        groups=s.groups,
        dropout=s.dropout,
        cfg_dropout=ddim.cfg_dropout,
    )


def make_latent_diffusion(ddim: DDIMParams, mmt: ModelScale) -> LatentDiffusion:
    """A freshly initialised model (load a checkpoint's ``state_dict`` into it to restore one)."""
    return LatentDiffusion(denoiser_config(ddim, mmt), make_scheduler(ddim))


def make_sampling(ddim: DDIMParams) -> Sampling:
    """The sampling settings a saved ReactDiff carries (steps, eta, guidance, x0 clipping)."""
    return Sampling(ddim.sampling_steps, ddim.eta, ddim.guidance, ddim.clip_x0)
