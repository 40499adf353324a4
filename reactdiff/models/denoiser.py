"""The conditional latent DDIM of ReactDiff (paper section 3.4).

x0 is a window of listener latents (W frames x L latent dims) from the frozen MMT encoder; the
condition z_bc comes from the speaker's latent window of the same time span. The noise
predictor is a 1-D U-Net that, as in the paper's code, treats the W frames as channels and the
L latent dims as the length, with DiffAE-style residual blocks modulated by the timestep
embedding and z_bc. Every trained tensor is a registered parameter (the paper's public code
kept its condition layers outside the checkpoint and evaluated them at random initialisation).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import pairwise

import torch
from torch import nn
from torch.nn import functional as F

from reactdiff.diffusion.schedule import DDIMScheduler


@dataclass(frozen=True)
class DenoiserConfig:
    window_size: int  # W: frames per window = U-Net channels
    latent_dim: int  # L: latent dims = U-Net length
    cond_dim: int  # z_bc
    base_width: int  # U-Net channels at the first level
    width_mults: tuple[int, ...]  # one level each; the length halves between levels
    blocks_per_level: int
    time_dim: int  # timestep embedding
    groups: int  # GroupNorm groups (fewer where a width is not divisible)
    dropout: float
    cfg_dropout: float  # > 0: classifier-free guidance training; 0 = the paper

    def __post_init__(self) -> None:
        down = 2 ** (len(self.width_mults) - 1)
        if not self.width_mults or self.latent_dim % down:
            raise ValueError(
                f"latent_dim {self.latent_dim} must be divisible by {down} "
                f"(halved between the {len(self.width_mults)} U-Net levels)"
            )
        if not 0 <= self.cfg_dropout < 1:
            raise ValueError(f"cfg_dropout must be in [0, 1), got {self.cfg_dropout}")


def _norm(channels: int, groups: int) -> nn.GroupNorm:
    return nn.GroupNorm(math.gcd(groups, channels), channels)


def timestep_embedding(t: torch.Tensor, dim: int) -> torch.Tensor:
    """(B,) integer timesteps -> (B, dim) sinusoidal features (Vaswani et al., as in DDPM)."""
    half = dim // 2
    freq = torch.exp(-math.log(10000.0) * torch.arange(half, device=t.device) / half)
    angle = t.float()[:, None] * freq[None]
    return torch.cat([torch.sin(angle), torch.cos(angle)], dim=1)


class ConditionEncoder(nn.Module):
    """z_bc = SiLU(GroupNorm(Linear(flatten(speaker window)))): (B, W, L) -> (B, cond_dim).

    One vector per window rather than per frame: the paper finds frame-level constraints
    reduce the diversity of the reactions.
    """

    def __init__(self, window_size: int, latent_dim: int, cond_dim: int, groups: int = 32) -> None:
        super().__init__()
        self.proj = nn.Linear(window_size * latent_dim, cond_dim)
        self.norm = _norm(cond_dim, groups)

    def forward(self, speaker: torch.Tensor) -> torch.Tensor:
        return F.silu(self.norm(self.proj(speaker.flatten(1))))


class ResBlock(nn.Module):
    """GroupNorm-SiLU-Conv twice; the timestep and the condition scale and shift (FiLM) the
    normalised features in between, as in DiffAE's blocks."""

    def __init__(self, c_in: int, c_out: int, cfg: DenoiserConfig) -> None:
        super().__init__()
        self.norm1 = _norm(c_in, cfg.groups)
        self.conv1 = nn.Conv1d(c_in, c_out, 3, padding=1)
        self.time = nn.Linear(cfg.time_dim, 2 * c_out)
        self.cond = nn.Linear(cfg.cond_dim, 2 * c_out)
        self.norm2 = _norm(c_out, cfg.groups)
        self.drop = nn.Dropout(cfg.dropout)
        self.conv2 = nn.Conv1d(c_out, c_out, 3, padding=1)
        self.skip = nn.Conv1d(c_in, c_out, 1) if c_in != c_out else nn.Identity()

    def forward(self, x: torch.Tensor, t_emb: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        h = self.conv1(F.silu(self.norm1(x)))
        t_scale, t_shift = self.time(t_emb)[..., None].chunk(2, dim=1)
        c_scale, c_shift = self.cond(cond)[..., None].chunk(2, dim=1)
        h = self.norm2(h) * (1 + t_scale) + t_shift
        h = h * (1 + c_scale) + c_shift
        h = self.conv2(self.drop(F.silu(h)))
        return h + self.skip(x)


class Level(nn.Module):
    """The residual blocks of one U-Net resolution and the resampling that follows them."""

    def __init__(self, channels: list[int], cfg: DenoiserConfig, resample: nn.Module) -> None:
        super().__init__()
        self.blocks = nn.ModuleList(
            ResBlock(c_in, c_out, cfg) for c_in, c_out in pairwise(channels)
        )
        self.resample = resample

    def forward(self, x: torch.Tensor, t_emb: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        for block in self.blocks:
            x = block(x, t_emb, cond)
        return x


class Upsample(nn.Module):
    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv = nn.Conv1d(channels, channels, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(F.interpolate(x, scale_factor=2.0, mode="nearest"))


class UNet1D(nn.Module):
    """eps_theta(x_t, t, z_bc): (B, W, L) -> (B, W, L), W channels over a length of L.

    Each level runs ``blocks_per_level`` residual blocks and keeps a skip; the length halves
    between levels on the way down and doubles on the way up, where the skip is concatenated.
    """

    def __init__(self, cfg: DenoiserConfig) -> None:
        super().__init__()
        widths = [cfg.base_width * m for m in cfg.width_mults]
        n = cfg.blocks_per_level
        self.time_mlp = nn.Sequential(
            nn.Linear(cfg.time_dim, cfg.time_dim), nn.SiLU(), nn.Linear(cfg.time_dim, cfg.time_dim)
        )
        self.time_dim = cfg.time_dim
        self.inp = nn.Conv1d(cfg.window_size, widths[0], 3, padding=1)
        self.down = nn.ModuleList()
        c = widths[0]
        for i, w in enumerate(widths):
            last = i == len(widths) - 1
            down = nn.Identity() if last else nn.Conv1d(w, w, 3, stride=2, padding=1)
            self.down.append(Level([c] + [w] * n, cfg, down))
            c = w
        self.mid = Level([c, c, c], cfg, nn.Identity())
        self.up = nn.ModuleList()
        for i, w in reversed(list(enumerate(widths))):
            up = nn.Identity() if i == len(widths) - 1 else Upsample(c)
            self.up.append(Level([c + w] + [w] * n, cfg, up))  # resample runs before the blocks
            c = w
        self.out = nn.Sequential(
            _norm(c, cfg.groups), nn.SiLU(), nn.Conv1d(c, cfg.window_size, 3, padding=1)
        )

    def forward(self, x: torch.Tensor, t: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        t_emb = self.time_mlp(timestep_embedding(t, self.time_dim))
        h = self.inp(x)
        skips = []
        for level in self.down:
            h = level(h, t_emb, cond)
            skips.append(h)
            h = level.resample(h)
        h = self.mid(h, t_emb, cond)
        for level in self.up:
            h = torch.cat([level.resample(h), skips.pop()], dim=1)
            h = level(h, t_emb, cond)
        return self.out(h)


class LatentDiffusion(nn.Module):
    """Condition encoder + U-Net + (with ``cfg_dropout`` > 0) a learned null condition.

    Works on standardised latent windows (see ``reactdiff.diffusion.transform``). ``forward`` is
    the training loss, so a DistributedDataParallel wrapper sees the call.
    """

    def __init__(self, cfg: DenoiserConfig, scheduler: DDIMScheduler) -> None:
        super().__init__()
        self.cfg = cfg
        self.scheduler = scheduler
        self.condition = ConditionEncoder(cfg.window_size, cfg.latent_dim, cfg.cond_dim, cfg.groups)
        self.unet = UNet1D(cfg)
        # Only with condition dropout: an unused parameter would make DDP fail.
        self.null_cond = nn.Parameter(torch.zeros(cfg.cond_dim)) if cfg.cfg_dropout > 0 else None

    def loss(
        self,
        x0_windows: torch.Tensor,
        speaker_windows: torch.Tensor,
        generator: torch.Generator | None = None,
        return_x0: bool = False,
    ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """L1 between true and predicted noise at a uniformly drawn t (paper eq. 8), both (B, W, L).

        With ``cfg_dropout`` > 0 each window's condition is replaced by the null condition with
        that probability, which classifier-free guidance needs at sampling. ``generator`` (on
        the windows' device) draws t, the noise and the dropout. ``return_x0``: also the x0
        each window's noise prediction implies and the window's t (for losses on the
        prediction, such as the realism priors); the draws are the same either way.
        """
        b, dev = x0_windows.shape[0], x0_windows.device
        t = torch.randint(
            0, self.scheduler.num_train_timesteps, (b,), generator=generator, device=dev
        )
        eps = torch.randn(x0_windows.shape, generator=generator, device=dev, dtype=x0_windows.dtype)
        cond = self.condition(speaker_windows)
        if self.null_cond is not None:
            drop = torch.rand(b, generator=generator, device=dev) < self.cfg.cfg_dropout
            cond = torch.where(drop[:, None], self.null_cond.to(cond.dtype), cond)
        x_t = self.scheduler.add_noise(x0_windows, eps, t)
        pred = self.unet(x_t, t, cond)
        l1 = F.l1_loss(pred.float(), eps.float())
        if not return_x0:
            return l1
        return l1, self.scheduler.predict_x0(pred.float(), t, x_t.float()), t

    def forward(
        self,
        x0_windows: torch.Tensor,
        speaker_windows: torch.Tensor,
        generator: torch.Generator | None = None,
        return_x0: bool = False,
    ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        return self.loss(x0_windows, speaker_windows, generator, return_x0)

    @torch.no_grad()
    def sample(
        self,
        speaker_windows: torch.Tensor,
        num_samples: int = 1,
        *,
        steps: int | None = None,
        eta: float = 0.0,
        guidance: float = 1.0,
        generator: torch.Generator | None = None,
        noise: torch.Tensor | None = None,
        x0_range: tuple[torch.Tensor, torch.Tensor] | None = None,
    ) -> torch.Tensor:
        """DDIM samples (S, N, W, L) for N speaker windows (N, W, L), S = ``num_samples``.

        Sample-major: ``from_windows(x.flatten(0, 1), S * B)`` turns the windows of B clips
        back into (S * B, T, L) sequences, sample s of clip b at row s * B + b. All samples
        and windows run as one batch. ``steps`` defaults to T; ``noise`` (S, N, W, L) fixes
        x_T. ``guidance`` = 1 is plain conditional sampling (the paper); otherwise
        eps = eps_null + guidance * (eps_cond - eps_null), which needs ``cfg_dropout`` > 0.
        ``generator`` (on the windows' device) draws x_T and, with ``eta`` > 0, the step noise.
        ``x0_range`` (low, high), each (L,): where the scheduler clips every step's predicted x0
        (its config's ``clip_sample``).
        """
        if guidance != 1.0 and self.null_cond is None:
            raise ValueError("guidance != 1 needs a model trained with cfg_dropout > 0")
        n = speaker_windows.shape[0]
        shape = (num_samples, n, self.cfg.window_size, self.cfg.latent_dim)
        if noise is None:
            noise = torch.randn(
                shape,
                generator=generator,
                device=speaker_windows.device,
                dtype=speaker_windows.dtype,
            )
        elif tuple(noise.shape) != shape:
            raise ValueError(f"noise must have shape {shape}, got {tuple(noise.shape)}")
        cond = self.condition(speaker_windows).repeat(num_samples, 1)
        if guidance != 1.0:
            cond = torch.cat([cond, self.null_cond.to(cond.dtype).expand_as(cond)])
        self.scheduler.set_timesteps(steps or self.scheduler.num_train_timesteps)
        x = noise.flatten(0, 1)
        for t in self.scheduler.timesteps.tolist():
            eps = self._predict(x, t, cond, guidance)
            x = self.scheduler.step(eps, t, x, eta=eta, generator=generator, x0_range=x0_range)
        return x.reshape(shape)

    def _predict(
        self, x: torch.Tensor, t: int, cond: torch.Tensor, guidance: float
    ) -> torch.Tensor:
        if guidance == 1.0:
            return self.unet(x, torch.full((x.shape[0],), t, device=x.device), cond)
        xx = torch.cat([x, x])
        eps_cond, eps_null = self.unet(
            xx, torch.full((xx.shape[0],), t, device=x.device), cond
        ).chunk(2)
        return eps_null + guidance * (eps_cond - eps_null)
