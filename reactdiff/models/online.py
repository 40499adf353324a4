"""Online generation as a stream: speaker feature chunks in, listener frames out, strictly causal.

Listener frame u may depend on speaker frames <= u + ``delay_frames`` only. The listener's
latent windows are W frames (the model's window); window k covers frames kW .. kW + W - 1 and is
sampled from the speaker's W frames that end at frame kW + delay_frames, the last one its first
frame may see. Frames before the clip's start repeat its first frame; at the end of the stream,
frames after its last repeat the last one, which every frame of such a window may already see.
With ``delay_frames`` = W - 1 a window's condition is the speaker window of the same span, as
in offline generation; with 0 it is the W frames up to and including the window's first frame.
The MMT decoder is block-causal, so a window is decoded from a cache of the one before at a
fixed cost however long the stream has run.

A listener frame is returned once the speaker frame of the same time has arrived (and its
window could be sampled), so the frames returned so far never depend on how the stream goes
on, and a stream cut into chunks of any sizes returns what one chunk of the whole returns: the
windows are sampled one at a time, in order, with one random generator, whatever the chunks.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import torch

from reactdiff.generation import Generation
from reactdiff.models.stream_input import speaker_chunk

if TYPE_CHECKING:
    from reactdiff.models.reactdiff import ReactDiff

Frames = tuple[torch.Tensor, torch.Tensor]  # (3DMM, emotion)


class OnlineSession:
    """One stream of speaker input for B clips at once (B = 1 for (T, d) streams)."""

    def __init__(
        self,
        model: ReactDiff,
        num_samples: int,
        *,
        seed: int | None = None,
        **sampling: Any,
    ) -> None:
        settings = Generation(**sampling)
        delay_frames = settings.delay_frames
        window, decoder_window = model.window, model.mmt.cfg.decoder_window
        if not decoder_window or window % decoder_window:
            raise ValueError(
                "online generation needs a block-causal decoder whose window divides the latent "
                f"window (mmt decoder_window {decoder_window}, window_size {window})"
            )
        if not 0 <= delay_frames < window:
            raise ValueError(f"delay_frames must be in [0, {window - 1}], got {delay_frames}")
        model.eval()
        self.model, self.samples, self.delay = model, num_samples, delay_frames
        self.window = window
        self.sampling = {
            "steps": settings.steps,
            "eta": settings.eta,
            "guidance": settings.guidance,
        }
        self.device = next(model.parameters()).device
        self.generator = torch.Generator(device=self.device)
        if seed is None:
            self.generator.seed()
        else:
            self.generator.manual_seed(seed)
        self._single: bool | None = None  # fixed by the first chunk
        self._dims: dict[str, tuple[int, int]] = {}  # stream -> (B, d)
        self._batch = 1
        self._buffer: dict[str, torch.Tensor] = {}  # (B, n, d): speaker frames from _first on
        self._first = 0  # speaker frame index of _buffer[:, 0]
        self._received = 0  # speaker frames pushed so far
        self._next = 0  # the next listener window to sample
        self._cache = model.mmt.new_decoder_cache()
        self._ready: list[Frames] = []  # sampled and decoded, not returned yet, (B, S, n, .)
        self._returned = 0  # listener frames returned so far
        self._finished = False

    @property
    def windows_sampled(self) -> int:
        """Listener windows sampled so far."""
        return self._next

    # ------------------------------------------------------------------ the stream
    @torch.no_grad()
    def push(self, speaker: dict[str, torch.Tensor]) -> Frames:
        """Add speaker frames (each stream (t, d), or (B, t, d) for a batch, t >= 0) and return
        the listener frames now due: 3DMM (S, n, face_dim) and emotion (S, n, emotion_dim),
        or (B, S, n, ...) for a batch, in the challenge format."""
        if self._finished:
            raise RuntimeError("this online session is finished; start a new one")
        chunk = self._check(speaker)
        for name, frames in chunk.items():
            kept = self._buffer.get(name)
            self._buffer[name] = frames if kept is None else torch.cat([kept, frames], dim=1)
        self._received += next(iter(chunk.values())).shape[1]
        while self._received >= self._next * self.window + self.delay + 1:
            self._sample_window(last=self._received - 1)
        return self._take(self._received)

    @torch.no_grad()
    def finish(self) -> Frames:
        """End the stream: the listener frames still due, up to the last speaker frame."""
        if self._finished:
            raise RuntimeError("this online session is already finished")
        self._finished = True
        if not self._received:
            raise ValueError("the stream ended before any speaker frame arrived")
        while self._next * self.window < self._received:
            self._sample_window(last=self._received - 1)
        return self._take(self._received)

    # ------------------------------------------------------------------ internals
    def _check(self, speaker: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """The chunk's model streams as (B, t, d) on the model's device, checked against the
        streams of the first chunk."""
        chunk, self._single = speaker_chunk(self.model.streams, speaker, self._single, self.device)
        dims = {n: (v.shape[0], v.shape[2]) for n, v in chunk.items()}
        if self._dims and dims != self._dims:
            raise ValueError(
                f"online stream: chunk shapes {dims} differ from the first chunk's {self._dims}"
                " ((batch, dim) per stream)"
            )
        self._dims = dims
        self._batch = next(iter(dims.values()))[0]
        return chunk

    def _sample_window(self, last: int) -> None:
        """Sample, decode and queue listener window ``_next``: its condition is the W speaker
        frames ending at frame kW + delay, clamped to frames 0 .. ``last``."""
        w, k = self.window, self._next
        first = k * w + self.delay - w + 1
        index = torch.arange(first, first + w, device=self.device).clamp(0, last) - self._first
        condition = {n: v[:, index] for n, v in self._buffer.items()}
        speaker = self.model.latent(self.model.mmt.encode(condition))  # (B, W, L)
        latents = self.model.diffusion.sample(
            speaker,
            self.samples,
            generator=self.generator,
            x0_range=self.model.latent.x0_range,
            **self.sampling,
        ).flatten(0, 1)  # (S * B, W, L), rows s * B + b
        latents = self.model.latent.inverse(latents)
        dw = self.model.mmt.cfg.decoder_window
        faces, emotions = [], []
        for start in range(0, w, dw):
            (face, emotion), self._cache = self.model.mmt.decode_window(
                latents[:, start : start + dw], k * w + start, self._cache
            )
            faces.append(face)
            emotions.append(emotion)
        face, emotion = self.model.challenge_outputs(torch.cat(faces, 1), torch.cat(emotions, 1))
        batch = speaker.shape[0]
        self._ready.append(
            tuple(
                y.reshape(self.samples, batch, *y.shape[1:]).transpose(0, 1)
                for y in (face, emotion)
            )
        )
        self._next += 1
        drop = max(0, first + w - self._first)  # the next window's condition starts there
        self._buffer = {n: v[:, drop:] for n, v in self._buffer.items()}
        self._first += drop

    def _take(self, upto: int) -> Frames:
        """The queued listener frames before frame ``upto`` that were not returned yet."""
        face = torch.cat([f for f, _ in self._ready], 2) if self._ready else None
        emotion = torch.cat([e for _, e in self._ready], 2) if self._ready else None
        if face is None:
            cfg, b, s = self.model.mmt.cfg, self._batch, self.samples
            face = torch.zeros(b, s, 0, cfg.face_dim, device=self.device)
            emotion = torch.zeros(b, s, 0, cfg.emotion_dim, device=self.device)
        n = max(0, min(upto - self._returned, face.shape[2]))
        out = face[:, :, :n], emotion[:, :, :n]
        rest = face[:, :, n:], emotion[:, :, n:]
        self._ready = [rest] if rest[0].shape[2] else []
        self._returned += n
        return (out[0][0], out[1][0]) if self._single else out
