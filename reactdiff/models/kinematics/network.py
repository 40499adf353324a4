"""The kinematics ReactDiff's network: a temporal U-Net over the frames of a listener window.

As the released code (``models/k_diffusion/Diffusion.py``, ``layers.py``): a projection and an
LSTM in, levels of conditioned residual blocks over frames (no resampling in time: a level
changes the width only), each block normalised by AdaGN on the noise-level embedding and by a
temporal AdaGN on per-frame position features, with an LSTM after a block that changes the
width, cross-attention from the frames to the speaker's audio stream and to its facial stream,
skip connections between the down and up blocks, an LSTM and a zero-initialised projection
out. Both LSTMs start from the previous window's last listener frame (the code's
``past_cond``), which is how consecutive windows join. The sizes are ``KinNetConfig``.

The network maps c_in * x, c_noise and the conditions to F; the EDM preconditioning around it
is ``KinDenoiser`` (``reactdiff.models.kinematics.denoiser``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn


@dataclass(frozen=True)
class KinNetConfig:
    """Sizes of the temporal U-Net (params.yaml ``kin.scales``)."""

    target_dim: int  # the listener frame: 3DMM + emotion
    audio_dim: int  # the speaker's audio streams, concatenated per frame
    visual_dim: int  # the speaker's facial streams, concatenated per frame
    mapping_dim: int  # the noise-level and frame-position embeddings (the code's mapping_out)
    depths: tuple[int, ...]  # residual blocks per level
    channels: tuple[int, ...]  # width per level
    cross_attn: tuple[bool, ...]  # cross-attention to the speaker after each block of a level
    head_size: int  # attention heads = width // head_size (at least 1)
    group_size: int  # GroupNorm groups = width // group_size (at least 1)
    dropout: float
    cfg_dropout: float  # training: the share of windows whose speaker is the null condition
    position_scale: int  # frame positions are embedded in units of this many frames

    @staticmethod
    def from_dict(d: dict) -> KinNetConfig:
        return KinNetConfig(**{k: tuple(v) if isinstance(v, list) else v for k, v in d.items()})


class FourierFeatures(nn.Module):
    """cos/sin of random projections of a scalar (k-diffusion's noise-level embedding; the
    code embeds frame positions with it too)."""

    def __init__(self, out_features: int, std: float = 1.0) -> None:
        super().__init__()
        self.register_buffer("weight", torch.randn(out_features // 2, 1) * std)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        f = 2 * math.pi * x[..., None] @ self.weight.T
        return torch.cat([f.cos(), f.sin()], dim=-1)


def _mapping(dim: int) -> nn.Sequential:
    layers = []
    for _ in range(2):
        linear = nn.Linear(dim, dim)
        nn.init.orthogonal_(linear.weight)
        layers += [linear, nn.GELU()]
    return nn.Sequential(*layers)


class AdaGN(nn.Module):
    """GroupNorm over (channels, frames) whose scale and shift come from a condition: one
    vector per window (the noise level, (B, M)) or one per frame (positions, (B, T, M))."""

    def __init__(self, cond_dim: int, width: int, groups: int, per_frame: bool) -> None:
        super().__init__()
        self.groups, self.per_frame = groups, per_frame
        self.mapper = nn.Linear(cond_dim, 2 * width)

    def forward(self, x: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        weight, bias = self.mapper(cond).chunk(2, dim=-1)
        if not self.per_frame:
            weight, bias = weight[:, None], bias[:, None]
        normed = F.group_norm(x.transpose(1, 2), self.groups, eps=1e-5).transpose(1, 2)
        return normed * (weight + 1) + bias


class ResBlock(nn.Module):
    """AdaGN, GELU, Linear, Dropout, AdaGN, GELU, temporal AdaGN, Linear, Dropout, plus the
    skip (a bias-free orthogonal projection where the width changes, followed there by an
    LSTM on the main path), as the code's ``ResLinearBlock``."""

    def __init__(self, cfg: KinNetConfig, c_in: int, c_mid: int, c_out: int) -> None:
        super().__init__()
        m = cfg.mapping_dim

        def groups(c: int) -> int:
            return max(1, c // cfg.group_size)

        self.norm1 = AdaGN(m, c_in, groups(c_in), per_frame=False)
        self.linear1 = nn.Linear(c_in, c_mid)
        self.norm2 = AdaGN(m, c_mid, groups(c_mid), per_frame=False)
        self.norm_t = AdaGN(m, c_mid, groups(c_mid), per_frame=True)
        self.linear2 = nn.Linear(c_mid, c_out)
        self.dropout = nn.Dropout(cfg.dropout)
        self.skip = self.rnn = None
        if c_in != c_out:
            self.skip = nn.Linear(c_in, c_out, bias=False)
            nn.init.orthogonal_(self.skip.weight)
            self.rnn = nn.LSTM(c_out, c_out, batch_first=True)

    def forward(self, x: torch.Tensor, cond: dict[str, torch.Tensor]) -> torch.Tensor:
        h = self.dropout(self.linear1(F.gelu(self.norm1(x, cond["noise"]))))
        h = F.gelu(self.norm2(h, cond["noise"]))
        h = self.dropout(self.linear2(self.norm_t(h, cond["frames"])))
        if self.rnn is not None:
            h = self.rnn(h)[0]
        return h + (x if self.skip is None else self.skip(x))


class CrossAttention(nn.Module):
    """The frames attend to one speaker stream; the output projection starts at zero."""

    def __init__(self, cfg: KinNetConfig, width: int, key_dim: int, key: str) -> None:
        super().__init__()
        self.key, self.heads = key, max(1, width // cfg.head_size)
        self.norm_q = AdaGN(cfg.mapping_dim, width, max(1, width // cfg.group_size), False)
        self.norm_kv = nn.LayerNorm(key_dim)
        self.q = nn.Linear(width, width)
        self.kv = nn.Linear(key_dim, 2 * width)
        self.out = nn.Linear(width, width)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)
        self.dropout = cfg.dropout

    def forward(self, x: torch.Tensor, cond: dict) -> torch.Tensor:
        b, t, c = x.shape
        q = self.q(self.norm_q(x, cond["noise"])).view(b, t, self.heads, -1).transpose(1, 2)
        cache = cond["cache"]  # the keys are the same at every step of a window's sampling
        if cache is None or id(self) not in cache:
            k, v = self.kv(self.norm_kv(cond[self.key])).chunk(2, dim=-1)
            k, v = (y.view(b, -1, self.heads, c // self.heads).transpose(1, 2) for y in (k, v))
            if cache is not None:
                cache[id(self)] = k, v
        k, v = cache[id(self)] if cache is not None else (k, v)
        p = self.dropout if self.training else 0.0
        y = F.scaled_dot_product_attention(q, k, v, dropout_p=p)
        return x + self.out(y.transpose(1, 2).reshape(b, t, c))


class Level(nn.Module):
    """One U-Net level: ``depth`` residual blocks, each followed by cross-attention to the
    speaker's audio and facial streams where the level has it."""

    def __init__(
        self, cfg: KinNetConfig, depth: int, c_in: int, c_mid: int, c_out: int, attn: bool
    ):
        super().__init__()
        self.layers = nn.ModuleList()
        for i in range(depth):
            width = c_mid if i < depth - 1 else c_out
            self.layers.append(ResBlock(cfg, c_in if i == 0 else c_mid, c_mid, width))
            if attn:
                self.layers.append(CrossAttention(cfg, width, cfg.audio_dim, "audio"))
                self.layers.append(CrossAttention(cfg, width, cfg.visual_dim, "visual"))

    def forward(self, x: torch.Tensor, cond: dict[str, torch.Tensor]) -> torch.Tensor:
        for layer in self.layers:
            x = layer(x, cond)
        return x


class TemporalUNet(nn.Module):
    """(c_in x (B, T, target_dim), c_noise (B,), positions (B, T), past frame (B, target_dim),
    audio (B, Ka, audio_dim), visual (B, Kv, visual_dim)) -> F (B, T, target_dim)."""

    def __init__(self, cfg: KinNetConfig) -> None:
        super().__init__()
        self.cfg = cfg
        ch, m = cfg.channels, cfg.mapping_dim
        self.noise_embed, self.noise_mapping = FourierFeatures(m), _mapping(m)
        self.frame_embed, self.frame_mapping = FourierFeatures(m), _mapping(m)
        self.proj_in = nn.Linear(cfg.target_dim, ch[0])
        self.lstm_in = nn.LSTM(ch[0], ch[0], batch_first=True)
        self.down = nn.ModuleList(
            Level(cfg, d, ch[max(0, i - 1)], ch[i], ch[i], a)
            for i, (d, a) in enumerate(zip(cfg.depths, cfg.cross_attn, strict=True))
        )
        up = []
        for i, (d, a) in enumerate(zip(cfg.depths, cfg.cross_attn, strict=True)):
            c_in = ch[i] * 2 if i < len(ch) - 1 else ch[i]  # the skip is concatenated
            up.append(Level(cfg, d, c_in, ch[i], ch[max(0, i - 1)], a))
        self.up = nn.ModuleList(reversed(up))
        self.lstm_out = nn.LSTM(ch[0], ch[0], batch_first=True)
        self.proj_out = nn.Linear(ch[0], cfg.target_dim)
        nn.init.zeros_(self.proj_out.weight)
        nn.init.zeros_(self.proj_out.bias)

    def forward(
        self,
        x: torch.Tensor,
        c_noise: torch.Tensor,
        positions: torch.Tensor,
        past: torch.Tensor,
        audio: torch.Tensor,
        visual: torch.Tensor,
        cache: dict | None = None,
    ) -> torch.Tensor:
        """``cache``: where the attention layers keep their keys and values between calls
        with the same speaker (sampling, without gradients); None: computed each call."""
        cond = {
            "cache": cache,
            "noise": self.noise_mapping(self.noise_embed(c_noise)),
            "frames": self.frame_mapping(
                self.frame_embed(positions.float() / self.cfg.position_scale)
            ),
            "audio": audio,
            "visual": visual,
        }
        h0 = self.proj_in(past)[None].contiguous()  # (1, B, width): the LSTMs' initial state
        state = (h0, torch.zeros_like(h0))
        h = self.lstm_in(self.proj_in(x), state)[0]
        skips = []
        for level in self.down:
            h = level(h, cond)
            skips.append(h)
        for i, (level, skip) in enumerate(zip(self.up, reversed(skips), strict=True)):
            h = level(torch.cat([h, skip], -1) if i > 0 else h, cond)
        h = self.lstm_out(h, state)[0]
        return self.proj_out(h)
