"""Diffusion in the EDM parametrisation (Karras et al. 2022): noise levels sigma instead of
timesteps, the preconditioning of a denoiser, the noise-level density of training and the
DPM-Solver++(2M) SDE sampler on Karras sigmas, as k-diffusion has them (the kinematics
ReactDiff's released code is built on k-diffusion).

Nothing here knows a network: a denoiser is any callable ``(x, sigma) -> x0 estimate``, so the
sampler can be tested on a toy denoiser whose answer is known.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import NamedTuple

import torch

Denoise = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]  # (x, sigma (B,)) -> x0


class Scalings(NamedTuple):
    """EDM preconditioning at noise level sigma: D(x) = c_skip x + c_out F(c_in x, c_noise)."""

    c_skip: torch.Tensor
    c_out: torch.Tensor
    c_in: torch.Tensor
    c_noise: torch.Tensor


def edm_scalings(sigma: torch.Tensor, sigma_data: float) -> Scalings:
    """Karras et al. (2022), Table 1: the scalings that give the network's input and its target
    unit variance for data of standard deviation ``sigma_data``; c_noise = ln(sigma) / 4."""
    total = sigma**2 + sigma_data**2
    return Scalings(
        c_skip=sigma_data**2 / total,
        c_out=sigma * sigma_data / total.sqrt(),
        c_in=1 / total.sqrt(),
        c_noise=sigma.log() / 4,
    )


def karras_sigmas(steps: int, sigma_min: float, sigma_max: float, rho: float = 7.0) -> torch.Tensor:
    """``steps`` noise levels from sigma_max down to sigma_min, evenly spaced in sigma^(1/rho),
    then a final 0 (``steps`` + 1 values)."""
    ramp = torch.linspace(0, 1, steps, dtype=torch.float64)
    lo, hi = sigma_min ** (1 / rho), sigma_max ** (1 / rho)
    sigmas = (hi + ramp * (lo - hi)) ** rho
    return torch.cat([sigmas, sigmas.new_zeros(1)]).float()


def cosine_sigmas(
    u: torch.Tensor, sigma_data: float, sigma_min: float, sigma_max: float
) -> torch.Tensor:
    """The cosine (v-diffusion) training density: uniform ``u`` in [0, 1) mapped to
    sigma = sigma_data tan(pi/2 v), v uniform between the angles of sigma_min and sigma_max.
    Small ``u`` gives small sigma, so ``u < q`` selects the least-noisy share q of a batch."""
    lo = math.atan(sigma_min / sigma_data) * 2 / math.pi
    hi = math.atan(sigma_max / sigma_data) * 2 / math.pi
    return torch.tan((u * (hi - lo) + lo) * math.pi / 2) * sigma_data


@torch.no_grad()
def sample_dpmpp_2m_sde(
    denoise: Denoise,
    x: torch.Tensor,
    sigmas: torch.Tensor,
    eta: float = 1.0,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """DPM-Solver++(2M) SDE (k-diffusion's ``sample_dpmpp_2m_sde``, midpoint solver) from
    ``x`` at ``sigmas[0]`` (x = noise * sigmas[0]) down the ``sigmas`` (ending at 0).

    ``eta`` = 0 is the deterministic DPM-Solver++(2M); 1 (k-diffusion's default, the code's)
    adds the SDE's fresh noise at each step, drawn from ``generator`` (k-diffusion draws it
    from a Brownian tree, which only makes runs of different step counts share a path).
    """
    old_denoised, h_last = None, None
    ones = x.new_ones(x.shape[0])
    for i in range(len(sigmas) - 1):
        sigma, sigma_next = sigmas[i], sigmas[i + 1]
        denoised = denoise(x, sigma * ones)
        if sigma_next == 0:
            x = denoised
        else:
            h = sigma.log() - sigma_next.log()
            eta_h = eta * h
            x = sigma_next / sigma * (-eta_h).exp() * x + (-h - eta_h).expm1().neg() * denoised
            if old_denoised is not None:
                r = h_last / h
                x = x + 0.5 * (-h - eta_h).expm1().neg() * (1 / r) * (denoised - old_denoised)
            if eta:
                noise = torch.randn(x.shape, generator=generator, device=x.device, dtype=x.dtype)
                x = x + noise * sigma_next * (-2 * eta_h).expm1().neg().sqrt()
            h_last = h
        old_denoised = denoised
    return x
