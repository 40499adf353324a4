"""The Multi-Modality Transformer (MMT) of ReactDiff (paper section 3.3).

Encoder: inside the video streams, intra-modal cross attention (the first stream is the query,
the others are attended in turn, ``depth`` times); the same inside the audio streams (one
stream: self-attention); then inter-modal cross attention video -> audio (``depth`` layers) and
an MLP to a per-frame latent. The encoder attends within windows of ``window`` frames (the
paper's 2 s windows of the latent space), which makes it ~15x cheaper on a 750-frame clip and
means a window's latent depends on that window's input only, which online generation needs.

Decoder: post-norm Transformer layers over the frame sequence and two MLP heads to the 3DMM
coefficients and the emotion vector (``face_dim`` and ``emotion_dim``: 58 and 25 in the REACT
format). With ``decoder_window`` set, the decoder is block-causal: the frames of each window of
that many frames attend to their own window and the one before, in every layer, so a frame never
sees a later window and context still reaches ``decoder_layers`` windows back. That makes
decoding streamable: ``decode_window`` decodes one window more from a cache of the previous
window's layer inputs, at a cost independent of what came before, with the same result as
``decode`` over the whole sequence. Positions (sinusoidal, added to the decoder input) count
frames modulo two windows, which tells a window's frames from the previous window's and holds
for sequences of any length. ``decoder_window`` 0 attends over the whole sequence with absolute
positions (offline only). ``encode`` and ``decode`` are separate because stage 2 samples in
between.
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

    def forward(
        self, query: torch.Tensor, context: torch.Tensor, ignore: torch.Tensor | None = None
    ) -> torch.Tensor:
        """``ignore`` (B, context length): True where a context frame is not attended."""
        out, _ = self.attn(query, context, context, key_padding_mask=ignore, need_weights=False)
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


def sinusoidal_positions(positions: torch.Tensor, dim: int) -> torch.Tensor:
    """(n,) frame positions -> (n, dim) sinusoidal features (Vaswani et al.)."""
    pos = positions.float()[:, None]
    freq = torch.exp(
        torch.arange(0, dim, 2, device=pos.device, dtype=torch.float32) * (-math.log(10000.0) / dim)
    )
    table = torch.zeros(len(positions), dim, device=pos.device)
    table[:, 0::2] = torch.sin(pos * freq)
    table[:, 1::2] = torch.cos(pos * freq[: dim // 2])
    return table


class DecoderLayer(nn.Module):
    """A post-norm Transformer layer whose frames attend to a context (their window and the one
    before): attention, then a ReLU feed-forward, each with dropout, residual and LayerNorm."""

    def __init__(self, cfg: MMTConfig) -> None:
        super().__init__()
        self.attend = CrossAttention(cfg.hidden_dim, cfg.heads, cfg.dropout)
        self.ff = nn.Sequential(
            nn.Linear(cfg.hidden_dim, cfg.ff_dim),
            nn.ReLU(),
            nn.Dropout(cfg.dropout),
            nn.Linear(cfg.ff_dim, cfg.hidden_dim),
            nn.Dropout(cfg.dropout),
        )
        self.norm = nn.LayerNorm(cfg.hidden_dim)

    def forward(
        self, x: torch.Tensor, context: torch.Tensor, ignore: torch.Tensor | None = None
    ) -> torch.Tensor:
        x = self.attend(x, context, ignore)
        return self.norm(x + self.ff(x))


DecoderCache = list[torch.Tensor | None]  # per layer: the previous window's input to it


class BlockCausalDecoder(nn.Module):
    """Decoder layers in which each window of ``decoder_window`` frames attends to itself and
    the window before (the whole sequence when ``decoder_window`` is 0)."""

    def __init__(self, cfg: MMTConfig) -> None:
        super().__init__()
        self.window = cfg.decoder_window
        self.layers = nn.ModuleList(DecoderLayer(cfg) for _ in range(cfg.decoder_layers))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, t, h = x.shape
        w = self.window if 0 < self.window < t else t
        if t % w:
            raise ValueError(f"MMT.decode: {t} frames is not a multiple of the window {w}")
        n = t // w
        ignore = None
        if n > 1:  # the first window has none before it: the first half of its context is empty
            ignore = torch.zeros(b, n, 2 * w, dtype=torch.bool, device=x.device)
            ignore[:, 0, :w] = True
            ignore = ignore.reshape(b * n, 2 * w)
        for layer in self.layers:
            own = x.reshape(b, n, w, h)
            if n > 1:
                before = torch.cat([torch.zeros_like(own[:, :1]), own[:, :-1]], dim=1)
                context = torch.cat([before, own], dim=2).reshape(b * n, 2 * w, h)
            else:
                context = own.reshape(b * n, w, h)
            x = layer(own.reshape(b * n, w, h), context, ignore).reshape(b, t, h)
        return x

    def step(self, x: torch.Tensor, cache: DecoderCache) -> tuple[torch.Tensor, DecoderCache]:
        """One window more, (N, window, h), after the windows whose layer inputs ``cache`` holds
        (all None before the first window): its output and the cache for the next window."""
        if not self.window:
            raise ValueError("decoding window by window needs an MMT with decoder_window > 0")
        if x.shape[1] != self.window:
            raise ValueError(f"MMT.decode_window: expected {self.window} frames, got {x.shape[1]}")
        updated: DecoderCache = []
        for layer, before in zip(self.layers, cache, strict=True):
            updated.append(x)
            x = layer(x, x if before is None else torch.cat([before, x], dim=1))
        return x, updated


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
        self.decoder = BlockCausalDecoder(cfg)
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

    def positions(self, start: int, length: int, device: torch.device) -> torch.Tensor:
        """The decoder's (length, hidden_dim) position features of frames start, start + 1, ..."""
        frames = torch.arange(start, start + length, device=device)
        if self.cfg.decoder_window:
            frames = frames % (2 * self.cfg.decoder_window)
        return sinusoidal_positions(frames, self.cfg.hidden_dim)

    def decode(self, latent: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(3DMM (B, T, face_dim), emotion (B, T, emotion_dim)) from latents (B, T, latent_dim)."""
        x = self.from_latent(latent)
        x = self.decoder(x + self.positions(0, x.shape[1], x.device).to(x.dtype))
        return self.head_3dmm(x), self.head_emotion(x)

    def new_decoder_cache(self) -> DecoderCache:
        """The cache ``decode_window`` starts from."""
        return [None] * len(self.decoder.layers)

    def decode_window(
        self, latent: torch.Tensor, start: int, cache: DecoderCache
    ) -> tuple[tuple[torch.Tensor, torch.Tensor], DecoderCache]:
        """``decode`` one decoder window more: latents (N, decoder_window, latent_dim) of the
        frames from ``start`` on, after the windows ``cache`` holds. Returns the window's
        (3DMM, emotion) and the cache for the next window. Windows decoded in turn give what
        ``decode`` gives for their concatenation (to float rounding: the batch shapes differ)."""
        x = self.from_latent(latent)
        x, cache = self.decoder.step(
            x + self.positions(start, x.shape[1], x.device).to(x.dtype), cache
        )
        return (self.head_3dmm(x), self.head_emotion(x)), cache

    def forward(self, streams: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        return self.decode(self.encode(streams))
