"""The Multi-Modality Transformer (MMT) of ReactDiff (paper section 3.3).

Encoder: inside the video streams, intra-modal cross attention (the first stream is the query,
the others are attended in turn, ``depth`` times); the same inside the audio streams (one
stream: self-attention); then inter-modal cross attention video -> audio (``depth`` layers) and
an MLP to a per-frame latent. The encoder attends within windows of ``window`` frames (the
paper's 2 s windows of the latent space), which makes it ~15x cheaper on a 750-frame clip and
means a window's latent depends on that window's input only, which online generation needs. Decoder: Transformer layers over the frame sequence, with
sinusoidal positions added to their input, and two MLP heads to the 3DMM coefficients and the
emotion vector (``face_dim`` and ``emotion_dim``: 58 and 25 in the REACT format). With ``decoder_window`` set, decoder attention runs in windows of that many frames,
shifted by half a window in every other layer (cyclically, as Swin does) so context crosses
window borders: at the demo scale that makes a CPU training step ~3.5x cheaper. ``encode`` and ``decode`` are separate because stage 2 samples in between.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn


@dataclass(frozen=True)
class MMTConfig:
    video_streams: dict[str, int]  # name -> feature dim, in attention order (first = query)
    audio_streams: dict[str, int]
    face_dim: int  # 3DMM coefficients per frame (the data format's)
    emotion_dim: int  # emotion values per frame (the data format's)
    hidden_dim: int
    latent_dim: int
    heads: int
    depth: int
    decoder_layers: int
    ff_dim: int
    dropout: float
    window: int  # encoder attention span in frames; 0 = the whole sequence
    decoder_window: int  # decoder attention span in frames; 0 = the whole sequence

    def __post_init__(self) -> None:
        if not self.video_streams and not self.audio_streams:
            raise ValueError("MMT needs at least one input stream")
        if self.hidden_dim % self.heads:
            raise ValueError(f"hidden_dim {self.hidden_dim} is not divisible by heads {self.heads}")


class CrossAttention(nn.Module):
    """Query attends to context; dropout, residual and LayerNorm (post-norm).

    Dropout is applied to the attention output, not to the attention weights: weight dropout
    forces PyTorch off its fused attention kernel and made a CPU training step ~3x slower.
    """

    def __init__(self, dim: int, heads: int, dropout: float) -> None:
        super().__init__()
        self.attn = nn.MultiheadAttention(dim, heads, batch_first=True)
        self.drop = nn.Dropout(dropout)
        self.norm = nn.LayerNorm(dim)

    def forward(self, query: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        out, _ = self.attn(query, context, context, need_weights=False)
        return self.norm(query + self.drop(out))


class IntraModal(nn.Module):
    """Fuse the streams of one modality: the first stream queries the others in turn."""

    def __init__(self, dims: dict[str, int], cfg: MMTConfig) -> None:
        super().__init__()
        self.names = list(dims)
        self.proj = nn.ModuleDict({n: nn.Linear(d, cfg.hidden_dim) for n, d in dims.items()})
        attended = max(1, len(self.names) - 1)  # one stream: it attends to itself
        self.blocks = nn.ModuleList(
            CrossAttention(cfg.hidden_dim, cfg.heads, cfg.dropout)
            for _ in range(cfg.depth * attended)
        )

    def forward(self, streams: dict[str, torch.Tensor]) -> torch.Tensor:
        x = {n: self.proj[n](streams[n]) for n in self.names}
        query = x[self.names[0]]
        others = self.names[1:] or self.names[:1]
        for i, block in enumerate(self.blocks):
            context = x[others[i % len(others)]] if len(self.names) > 1 else query
            query = block(query, context)
        return query


def sinusoidal_positions(length: int, dim: int, device: torch.device | None = None) -> torch.Tensor:
    """(length, dim) sinusoidal position table (Vaswani et al.)."""
    pos = torch.arange(length, device=device, dtype=torch.float32)[:, None]
    freq = torch.exp(
        torch.arange(0, dim, 2, device=device, dtype=torch.float32) * (-math.log(10000.0) / dim)
    )
    table = torch.zeros(length, dim, device=device)
    table[:, 0::2] = torch.sin(pos * freq)
    table[:, 1::2] = torch.cos(pos * freq[: dim // 2])
    return table


class WindowedDecoder(nn.Module):
    """Transformer encoder layers over the sequence, optionally in shifted windows."""

    def __init__(self, cfg: MMTConfig) -> None:
        super().__init__()
        self.window = cfg.decoder_window
        self.layers = nn.ModuleList()
        for _ in range(cfg.decoder_layers):
            layer = nn.TransformerEncoderLayer(
                cfg.hidden_dim, cfg.heads, cfg.ff_dim, cfg.dropout, batch_first=True
            )
            layer.self_attn.dropout = 0.0  # keep the fused attention kernel (see CrossAttention)
            self.layers.append(layer)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, t, h = x.shape
        w = self.window if 0 < self.window < t else t
        if t % w:
            raise ValueError(f"MMT.decode: {t} frames is not a multiple of the window {w}")
        for i, layer in enumerate(self.layers):
            shift = w // 2 if i % 2 and w < t else 0
            y = torch.roll(x, -shift, dims=1) if shift else x
            y = layer(y.reshape(b * (t // w), w, h)).reshape(b, t, h)
            x = torch.roll(y, shift, dims=1) if shift else y
        return x


def _mlp(d_in: int, d_hidden: int, d_out: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(d_in, d_hidden), nn.GELU(), nn.Linear(d_hidden, d_out))


class MMT(nn.Module):
    def __init__(self, cfg: MMTConfig) -> None:
        super().__init__()
        self.cfg = cfg
        h = cfg.hidden_dim
        self.video = IntraModal(cfg.video_streams, cfg) if cfg.video_streams else None
        self.audio = IntraModal(cfg.audio_streams, cfg) if cfg.audio_streams else None
        self.inter = (
            nn.ModuleList(CrossAttention(h, cfg.heads, cfg.dropout) for _ in range(cfg.depth))
            if self.video is not None and self.audio is not None
            else None
        )
        self.to_latent = _mlp(h, h, cfg.latent_dim)
        self.from_latent = nn.Linear(cfg.latent_dim, h)
        self.decoder = WindowedDecoder(cfg)
        self.head_3dmm = _mlp(h, h, cfg.face_dim)
        self.head_emotion = _mlp(h, h, cfg.emotion_dim)

    @property
    def streams(self) -> list[str]:
        return [*self.cfg.video_streams, *self.cfg.audio_streams]

    def encode(self, streams: dict[str, torch.Tensor]) -> torch.Tensor:
        """Per-frame latents (B, T, latent_dim) from the configured streams, each (B, T, d)."""
        missing = [n for n in self.streams if n not in streams]
        if missing:
            raise KeyError(f"MMT.encode: missing input stream(s) {missing}")
        b, t = streams[self.streams[0]].shape[:2]
        w = self.cfg.window or t
        if t % w:
            raise ValueError(f"MMT.encode: {t} frames is not a multiple of the window {w}")
        windows = {n: streams[n].reshape(b * (t // w), w, -1) for n in self.streams}
        return self._encode_windows(windows).reshape(b, t, -1)

    def _encode_windows(self, streams: dict[str, torch.Tensor]) -> torch.Tensor:
        fv = self.video(streams) if self.video is not None else None
        fa = self.audio(streams) if self.audio is not None else None
        if self.inter is None:
            fused = fv if fv is not None else fa
        else:
            fused = fv
            for block in self.inter:
                fused = block(fused, fa)
        return self.to_latent(fused)

    def decode(self, latent: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(3DMM (B, T, face_dim), emotion (B, T, emotion_dim)) from latents (B, T, latent_dim)."""
        x = self.from_latent(latent)
        x = x + sinusoidal_positions(x.shape[1], x.shape[2], x.device).to(x.dtype)
        x = self.decoder(x)
        return self.head_3dmm(x), self.head_emotion(x)

    def forward(self, streams: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        return self.decode(self.encode(streams))
