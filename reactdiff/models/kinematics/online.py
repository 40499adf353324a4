"""Window-by-window generation of the kinematics ReactDiff as a stream: speaker chunks in,
listener frames out, each listener window sampled as soon as its speaker frames have arrived.

Listener window k covers frames kW .. kW + W - 1 (W the model's window) and is sampled from
noise by DPM-Solver++(2M) SDE, conditioned on the speaker's W frames that end at frame
kW + ``delay`` (cross-attention keys; frames before the clip's start repeat its first frame,
and at the end of the stream frames after its last repeat the last one) and on the last frame
of window k - 1 as generated (the code's ``past_cond``; zeros for the first window). So no
listener frame depends on a speaker frame later than itself + ``delay``. With ``delay`` = W - 1
a window attends to the speaker frames of its own span: that is offline generation (the
released code's ``sample.py``), which is this stream fed the whole clip at once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch

from reactdiff.diffusion.karras import karras_sigmas, sample_dpmpp_2m_sde
from reactdiff.generation import Generation
from reactdiff.models.kinematics.denoiser import Window
from reactdiff.models.stream_input import speaker_chunk

if TYPE_CHECKING:
    from reactdiff.models.kinematics.model import KinReactDiff

Frames = tuple[torch.Tensor, torch.Tensor]  # (3DMM, emotion)
DEFAULT_STEPS = 50  # a call that names no step count: config_eval.json's


class KinStream:
    """One stream of speaker input for B clips at once (B = 1 for (t, d) streams)."""

    def __init__(
        self,
        model: KinReactDiff,
        num_samples: int,
        delay: int,
        settings: Generation,
        seed: int | None,
    ) -> None:
        if not 0 <= delay < model.window:
            raise ValueError(f"delay_frames must be in [0, {model.window - 1}], got {delay}")
        model.eval()
        self.model, self.samples, self.delay, self.settings = model, num_samples, delay, settings
        self.window = model.window
        self.device = next(model.parameters()).device
        self.generator = torch.Generator(device=self.device)
        if seed is None:
            self.generator.seed()
        else:
            self.generator.manual_seed(seed)
        steps = settings.steps or DEFAULT_STEPS
        self.sigmas = karras_sigmas(steps, model.sigma_min, model.sigma_max).to(self.device)
        self._single: bool | None = None
        self._audio = self._visual = None  # (B, n, d): standardised speaker frames so far
        self._past: torch.Tensor | None = None  # (S * B, D): the last generated frame
        self._first = 0  # the speaker frame index of the buffers' first frame
        self._next = 0  # the next window to sample
        self._ready: list[Frames] = []  # (B, S, n, .) each, not returned yet
        self._returned = 0
        self._finished = False

    @property
    def received(self) -> int:
        """Speaker frames pushed so far."""
        return self._first + (0 if self._audio is None else self._audio.shape[1])

    @torch.no_grad()
    def push(self, speaker: dict[str, torch.Tensor]) -> Frames:
        """Add speaker frames (each stream (t, d), or (B, t, d)) and return the listener
        frames now due: 3DMM (S, n, face_dim), emotion (S, n, emotion_dim), or (B, S, n, ...)."""
        if self._finished:
            raise RuntimeError("this online session is finished; start a new one")
        audio, visual = self._check(speaker)
        if self._audio is None:
            self._audio, self._visual = audio, visual
        else:
            self._audio = torch.cat([self._audio, audio], 1)
            self._visual = torch.cat([self._visual, visual], 1)
        while self.received >= self._next * self.window + self.delay + 1:
            self._sample_window()
        return self._take()

    @torch.no_grad()
    def finish(self) -> Frames:
        """End the stream: the listener frames still due, up to the last speaker frame."""
        if self._finished:
            raise RuntimeError("this online session is already finished")
        self._finished = True
        if not self.received:
            raise ValueError("the stream ended before any speaker frame arrived")
        while self._next * self.window < self.received:
            self._sample_window()
        return self._take()

    def _check(self, speaker: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        chunk, self._single = speaker_chunk(self.model.streams, speaker, self._single, self.device)
        return self.model.speaker_keys(chunk)

    def _sample_window(self) -> None:
        """Sample window ``_next`` from the speaker frames up to its first frame + delay."""
        w, k, model = self.window, self._next, self.model
        end = k * w + self.delay
        first = torch.arange(end - w + 1, end + 1, device=self.device)
        index = first.clamp(0, self.received - 1) - self._first
        batch = self._audio.shape[0]
        rows = self.samples * batch
        if self._past is None:
            self._past = torch.zeros(rows, model.target_dim, device=self.device)
        positions = torch.arange(k * w, k * w + w, device=self.device).expand(rows, w)
        keys = (y[:, index].repeat(self.samples, 1, 1) for y in (self._audio, self._visual))
        window = Window(positions, self._past, *keys, cache={})
        noise = torch.randn(rows, w, model.target_dim, generator=self.generator, device=self.device)
        guidance = self.settings.guidance
        x = sample_dpmpp_2m_sde(
            lambda x, sigma: model.denoiser(x, sigma, window, guidance),
            noise * self.sigmas[0],
            self.sigmas,
            eta=self.settings.eta,
            generator=self.generator,
        )
        self._past = x[:, -1]
        face, emotion = model.challenge_outputs(x)  # rows s * B + b
        self._ready.append(
            tuple(
                y.reshape(self.samples, batch, *y.shape[1:]).transpose(0, 1)
                for y in (face, emotion)
            )
        )
        self._next += 1
        # frames no later window attends to leave the buffer (indices stay absolute)
        drop = max(0, min(end + 1, self.received - 1) - self._first)
        self._audio, self._visual = self._audio[:, drop:], self._visual[:, drop:]
        self._first += drop

    def _take(self) -> Frames:
        """The sampled listener frames before the last received speaker frame + 1 that were
        not returned yet."""
        upto = self.received
        if self._ready:
            face = torch.cat([f for f, _ in self._ready], 2)
            emotion = torch.cat([e for _, e in self._ready], 2)
        else:
            b = 1 if self._audio is None else self._audio.shape[0]
            face = torch.zeros(b, self.samples, 0, self.model.face_dim, device=self.device)
            emotion = torch.zeros(b, self.samples, 0, self.model.emotion_dim, device=self.device)
        n = max(0, min(upto - self._returned, face.shape[2]))
        out = face[:, :, :n], emotion[:, :, :n]
        rest = face[:, :, n:], emotion[:, :, n:]
        self._ready = [rest] if rest[0].shape[2] else []
        self._returned += n
        return (out[0][0], out[1][0]) if self._single else out
