"""The kinematics ReactDiff family (``reactdiff-kin``): diffusion on the listener's frames.

The listener's 3DMM and emotion, standardised with train statistics and scaled to
``sigma_data``, are denoised window by window (``KinDenoiser``) from the speaker's audio and
facial streams (standardised too); generation is :class:`~.online.KinStream`, online with a
delay or offline (each window attending to its own speaker span). The emotion's AUs leave as
0/1 and its groups in range through ``postprocess_emotion``, as the latent family's do.

Everything trained or fitted is a submodule or buffer; the sizes, noise range, window and
streams are saved next to the weights as plain data, so ``from_state`` rebuilds the model
from the file alone. How to sample (steps, eta, guidance, delay) is chosen per call.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

import torch
from torch import nn

from reactdiff.atomic import atomic_path
from reactdiff.errors import DataFileError
from reactdiff.generation import Generation
from reactdiff.models.kinematics.denoiser import KinDenoiser
from reactdiff.models.kinematics.network import KinNetConfig
from reactdiff.models.kinematics.online import KinStream
from reactdiff.models.postprocess import EmotionLayout, postprocess_emotion
from reactdiff.models.serialization import load_weights, require_keys
from reactdiff.models.standardize import Standardizer

WHAT = "ReactDiff-Kin model file"
DEFAULT_AU_THRESHOLD = 0.5  # sampled AUs are near 0 or 1: the midpoint separates them
MODEL_KEYS = ("kin_config", "net_config", "emotion_layout", "state_dict")


@dataclasses.dataclass(frozen=True)
class KinConfig:
    """What the model is besides its network: the diffusion's noise range, the window, the
    listener's layout and the speaker's streams (name -> width, in order)."""

    sigma_data: float
    sigma_min: float
    sigma_max: float
    window: int
    face_dim: int  # the listener frame is 3DMM (face_dim) then emotion
    emotion_dim: int
    audio_streams: dict[str, int]
    visual_streams: dict[str, int]


def _standardizer(dim: int) -> Standardizer:
    return Standardizer(torch.zeros(dim), torch.ones(dim))


class KinReactDiff(nn.Module):
    family: ClassVar[str] = "reactdiff-kin"
    can_stream: ClassVar[bool] = True
    frame_unit: ClassVar[int] = 1  # any clip length: the last window is padded and cut

    def __init__(self, cfg: KinConfig, denoiser: KinDenoiser, layout: EmotionLayout) -> None:
        super().__init__()
        self.cfg, self.denoiser, self.layout = cfg, denoiser, layout
        self.target = _standardizer(cfg.face_dim + cfg.emotion_dim)
        self.audio = _standardizer(sum(cfg.audio_streams.values()))
        self.visual = _standardizer(sum(cfg.visual_streams.values()))
        n_aus = layout.aus[1] - layout.aus[0]
        self.register_buffer("au_thresholds", torch.full((n_aus,), DEFAULT_AU_THRESHOLD))

    # ------------------------------------------------------------------ facts
    @property
    def streams(self) -> list[str]:
        return [*self.cfg.audio_streams, *self.cfg.visual_streams]

    @property
    def speaker_streams(self) -> dict[str, int]:
        return {**self.cfg.audio_streams, **self.cfg.visual_streams}

    @property
    def face_dim(self) -> int:
        return self.cfg.face_dim

    @property
    def emotion_dim(self) -> int:
        return self.cfg.emotion_dim

    @property
    def target_dim(self) -> int:
        return self.cfg.face_dim + self.cfg.emotion_dim

    @property
    def window(self) -> int:
        return self.cfg.window

    @property
    def sigma_min(self) -> float:
        return self.cfg.sigma_min

    @property
    def sigma_max(self) -> float:
        return self.cfg.sigma_max

    def fit_statistics(
        self, listener: torch.Tensor, audio: torch.Tensor, visual: torch.Tensor
    ) -> None:
        """Standardise with these (N, d) train frames: the listener target, the speaker keys."""
        for module, frames in ((self.target, listener), (self.audio, audio), (self.visual, visual)):
            fitted = Standardizer.fit(frames)
            module.mean.copy_(fitted.mean)
            module.std.copy_(fitted.std)

    # ------------------------------------------------------------------ spaces
    def to_target(self, listener: torch.Tensor) -> torch.Tensor:
        """(…, face_dim + emotion_dim) listener frames -> the diffusion space (std sigma_data)."""
        return self.target(listener) * self.cfg.sigma_data

    def speaker_keys(self, speaker: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, T, d) streams -> standardised audio and facial keys (B, T, ...)."""
        audio = torch.cat([speaker[s].float() for s in self.cfg.audio_streams], -1)
        visual = torch.cat([speaker[s].float() for s in self.cfg.visual_streams], -1)
        return self.audio(audio), self.visual(visual)

    def challenge_outputs(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Diffusion-space frames -> 3DMM in its units and emotion in the challenge format."""
        y = self.target.inverse(x.float() / self.cfg.sigma_data)
        face, emotion = y[..., : self.face_dim], y[..., self.face_dim :]
        return face, postprocess_emotion(emotion, self.layout, self.au_thresholds)

    def neutral_speaker(self, frames: int | None = None) -> dict[str, torch.Tensor]:
        """``frames`` (default: one window) of silence, a zero 3DMM, AUs off, valence/arousal
        0 and every expression equally likely."""
        frames = frames or self.window
        speaker = {s: torch.zeros(frames, d) for s, d in self.speaker_streams.items()}
        if "emotion" in speaker:
            start, stop = self.layout.expressions
            speaker["emotion"][:, start:stop] = 1.0 / (stop - start)
        return speaker

    # ------------------------------------------------------------------ generation
    def stream(self, num_samples: int, *, seed: int | None = None, **sampling: Any) -> KinStream:
        """Online: ``push`` speaker chunks as they arrive, ``finish`` at the end; listener
        frame t depends on speaker frames <= t + ``delay_frames`` only."""
        settings = Generation(**sampling)
        return KinStream(self, num_samples, settings.delay_frames, settings, seed)

    @torch.no_grad()
    def generate(
        self,
        speaker: dict[str, torch.Tensor],
        num_samples: int,
        *,
        online: bool = False,
        seed: int | None = None,
        **sampling: Any,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Reactions to streams (T, d) or (B, T, d) of any length: 3DMM (S, T, face_dim) and
        emotion (S, T, emotion_dim), or (B, S, T, ...). Online, as :meth:`stream`; offline,
        the same windows in order, each attending to the speaker frames of its own span."""
        settings = Generation(**sampling)
        delay = settings.delay_frames if online else self.window - 1
        session = KinStream(self, num_samples, delay, settings, seed)
        head, tail = session.push(speaker), session.finish()
        axis = head[0].dim() - 2  # the frame axis
        return torch.cat([head[0], tail[0]], axis), torch.cat([head[1], tail[1]], axis)

    @torch.no_grad()
    def generate_clip(
        self,
        speaker: dict[str, torch.Tensor],
        num_samples: int,
        chunk_frames: int | None = None,
        *,
        online: bool = False,
        seed: int | None = None,
        **sampling: Any,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Reactions to one clip (T, d) of any length. Offline, a clip longer than
        ``chunk_frames`` is cut into chunks of that many frames (the last padded by repeating
        its last frame) generated as one batch; online, it is one stream, however long."""
        frames = next(iter(speaker.values())).shape[0]
        if online or chunk_frames is None or frames <= chunk_frames:
            return self.generate(speaker, num_samples, online=online, seed=seed, **sampling)
        return _in_chunks(
            speaker,
            chunk_frames,
            lambda x: self.generate(x, num_samples, seed=seed, **sampling),
        )

    # ------------------------------------------------------------------ files
    def save(self, path: Path | str, **extra: Any) -> None:
        """Family, configs and weights as one file, written atomically."""
        state = {
            "family": self.family,
            "kin_config": dataclasses.asdict(self.cfg),
            "net_config": dataclasses.asdict(self.denoiser.cfg),
            "emotion_layout": dataclasses.asdict(self.layout),
            "state_dict": self.state_dict(),
            **extra,
        }
        with atomic_path(path) as tmp:
            torch.save(state, tmp)

    @classmethod
    def from_state(cls, state: dict[str, Any], path: Path | str) -> KinReactDiff:
        """Rebuild from a loaded file's dict; another family's file, a missing entry or a
        missing or unexpected tensor is an error naming ``path``."""
        if state.get("family") != cls.family:
            raise DataFileError(
                Path(path), f"not a {WHAT}: a model of the family {state.get('family')!r}"
            )
        require_keys(state, path, WHAT, MODEL_KEYS)
        cfg = KinConfig(**state["kin_config"])
        denoiser = KinDenoiser(KinNetConfig.from_dict(state["net_config"]), cfg.sigma_data)
        model = cls(cfg, denoiser, EmotionLayout.from_dict(state["emotion_layout"]))
        load_weights(model, state["state_dict"], path, WHAT)
        return model.eval()


def _in_chunks(
    speaker: dict[str, torch.Tensor],
    chunk_frames: int,
    run: Callable[[dict[str, torch.Tensor]], tuple[torch.Tensor, torch.Tensor]],
) -> tuple[torch.Tensor, torch.Tensor]:
    """``run`` over (chunks, chunk_frames, d) pieces of (T, d) streams -> (S, T, ...)."""
    frames = next(iter(speaker.values())).shape[0]
    chunks = -(-frames // chunk_frames)
    pad = chunks * chunk_frames - frames
    x = {
        n: torch.cat([v, v[-1:].expand(pad, -1)]).reshape(chunks, chunk_frames, -1)
        for n, v in speaker.items()
    }
    face, emotion = run(x)  # (chunks, S, chunk_frames, ...)
    samples = face.shape[1]
    return tuple(
        y.transpose(0, 1).reshape(samples, chunks * chunk_frames, -1)[:, :frames]
        for y in (face, emotion)
    )
