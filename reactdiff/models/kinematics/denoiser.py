"""The EDM-preconditioned denoiser of the kinematics ReactDiff, with classifier-free guidance.

D(x; sigma) = c_skip x + c_out F(c_in x, c_noise) (``reactdiff.diffusion.karras``) around the
temporal U-Net, on windows of standardised listener frames, conditioned on the speaker's audio
and facial frames (cross-attention keys) and on the previous window's last frame. For
classifier-free guidance a window's speaker can be the learned null condition (one key per
stream): training drops it with probability ``cfg_dropout``, sampling mixes the conditional
and the unconditional estimate with a guidance scale.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn

from reactdiff.diffusion.karras import edm_scalings
from reactdiff.models.kinematics.network import KinNetConfig, TemporalUNet


@dataclass
class Window:
    """What one batch of windows is conditioned on: frame positions (B, T), the previous
    listener frame (B, D; zeros before a clip's first window), and the speaker's keys."""

    positions: torch.Tensor
    past: torch.Tensor
    audio: torch.Tensor  # (B, K, audio_dim)
    visual: torch.Tensor  # (B, K, visual_dim)
    # sampling: the attention layers' keys and values, computed at the first step (and the
    # guided pair of windows); None: nothing kept (training)
    cache: dict | None = field(default=None, compare=False)

    def repeat(self, n: int) -> Window:
        """Each row n times (sample-major: row s * B + b)."""
        return Window(*(v.repeat(n, *([1] * (v.dim() - 1))) for v in self.values()))

    def values(self) -> tuple[torch.Tensor, ...]:
        return self.positions, self.past, self.audio, self.visual


class KinDenoiser(nn.Module):
    def __init__(self, cfg: KinNetConfig, sigma_data: float) -> None:
        super().__init__()
        self.cfg, self.sigma_data = cfg, sigma_data
        self.net = TemporalUNet(cfg)
        self.null_audio = nn.Parameter(torch.zeros(cfg.audio_dim))
        self.null_visual = nn.Parameter(torch.zeros(cfg.visual_dim))

    def condition(self, window: Window, drop: torch.Tensor | None) -> Window:
        """``window`` with the speaker of the rows where ``drop`` (B,) is True replaced by the
        null condition (None: no row)."""
        if drop is None:
            return window
        keep = ~drop[:, None, None]
        audio = torch.where(keep, window.audio, self.null_audio.to(window.audio.dtype))
        visual = torch.where(keep, window.visual, self.null_visual.to(window.visual.dtype))
        return Window(window.positions, window.past, audio, visual)

    def network(self, x: torch.Tensor, sigma: torch.Tensor, window: Window) -> torch.Tensor:
        """F(c_in x, c_noise; window): the raw network output, the training target's space."""
        s = edm_scalings(sigma, self.sigma_data)
        return self.net(x * s.c_in[:, None, None], s.c_noise, *window.values(), window.cache)

    def forward(
        self, x: torch.Tensor, sigma: torch.Tensor, window: Window, guidance: float = 1.0
    ) -> torch.Tensor:
        """D(x; sigma): the denoised windows (B, T, D); ``guidance`` != 1 mixes in the
        unconditional estimate, D_u + guidance (D_c - D_u)."""
        s = edm_scalings(sigma, self.sigma_data)
        c_skip, c_out = s.c_skip[:, None, None], s.c_out[:, None, None]
        if guidance == 1.0:
            return c_skip * x + c_out * self.network(x, sigma, window)
        b = x.shape[0]
        both = window.cache.get("guided") if window.cache is not None else None
        if both is None:
            both = self.condition(window.repeat(2), torch.arange(2 * b, device=x.device) >= b)
            if window.cache is not None:
                both.cache = {}
                window.cache["guided"] = both
        f = self.network(x.repeat(2, 1, 1), sigma.repeat(2), both)
        f = f[b:] + guidance * (f[:b] - f[b:])
        return c_skip * x + c_out * f
