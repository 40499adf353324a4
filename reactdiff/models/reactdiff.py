"""The latent ReactDiff family (``reactdiff-latent``): the frozen MMT, the latent standardiser,
the conditional latent diffusion and the 3DMM standardiser as one ``ReactionModel``, with
``generate`` for offline and online use and ``stream`` for online generation from speaker input
as it arrives (``reactdiff.models.online``).

Everything trained is a submodule or buffer, so ``state_dict`` holds it all; the configs (MMT,
U-Net, scheduler, emotion layout) are saved next to it as plain dicts, so ``from_state``
rebuilds the model from the file alone. How to sample is not part of the model: it is chosen
per call (``reactdiff.generation.Generation``).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

import torch
from torch import nn

from reactdiff.atomic import atomic_path
from reactdiff.diffusion.schedule import DDIMScheduler, SchedulerConfig
from reactdiff.diffusion.windows import from_windows, to_windows
from reactdiff.errors import DataFileError
from reactdiff.generation import Generation
from reactdiff.models.denoiser import DenoiserConfig, LatentDiffusion
from reactdiff.models.mmt import MMT, MMTConfig
from reactdiff.models.online import OnlineSession
from reactdiff.models.postprocess import EmotionLayout, postprocess_emotion
from reactdiff.models.serialization import load_state_file, load_weights, require_keys
from reactdiff.models.standardize import LatentTransform, Standardizer


def _pad_edge(x: torch.Tensor, frames: int) -> torch.Tensor:
    """(T, d) -> (frames, d), the last frame repeated."""
    return torch.cat([x, x[-1:].expand(frames - len(x), -1)]) if frames > len(x) else x


DEFAULT_AU_THRESHOLD = 0.5
WHAT = "ReactDiff model file"  # how errors name the file

MODEL_KEYS = (
    "mmt_config",
    "denoiser_config",
    "scheduler_config",
    "emotion_layout",
    "state_dict",
)


class ReactDiff(nn.Module):
    family: ClassVar[str] = "reactdiff-latent"

    def __init__(
        self,
        mmt: MMT,
        std3: Standardizer,
        latent: LatentTransform,
        diffusion: LatentDiffusion,
        layout: EmotionLayout,
    ) -> None:
        super().__init__()
        self.mmt, self.std3, self.latent, self.diffusion = mmt, std3, latent, diffusion
        self.layout = layout
        # where each AU's decoder output counts as on (``set_au_thresholds``; 0.5 until then)
        n_aus = layout.aus[1] - layout.aus[0]
        self.register_buffer("au_thresholds", torch.full((n_aus,), DEFAULT_AU_THRESHOLD))

    def set_au_thresholds(self, thresholds: torch.Tensor) -> None:
        """Per-AU thresholds of the challenge format's 0/1 AUs (e.g. calibrated on train data)."""
        if thresholds.shape != self.au_thresholds.shape:
            raise ValueError(
                f"au thresholds must have shape {tuple(self.au_thresholds.shape)}, "
                f"got {tuple(thresholds.shape)}"
            )
        self.au_thresholds.copy_(thresholds)

    @property
    def streams(self) -> list[str]:
        return self.mmt.streams

    @property
    def speaker_streams(self) -> dict[str, int]:
        """The input streams and the width of each, in the model's order."""
        dims = {**self.mmt.cfg.video_streams, **self.mmt.cfg.audio_streams}
        return {name: dims[name] for name in self.streams}

    @property
    def face_dim(self) -> int:
        return self.mmt.cfg.face_dim

    @property
    def emotion_dim(self) -> int:
        return self.mmt.cfg.emotion_dim

    @property
    def can_stream(self) -> bool:
        """Online generation needs a block-causal decoder (``OnlineSession`` says why not)."""
        return bool(self.mmt.cfg.decoder_window)

    @property
    def window(self) -> int:
        return self.diffusion.cfg.window_size

    def neutral_speaker(self, frames: int | None = None) -> dict[str, torch.Tensor]:
        """``frames`` (default: one latent window) of silence, a zero 3DMM, AUs off,
        valence/arousal 0 and every expression equally likely."""
        frames = frames or self.window
        speaker = {s: torch.zeros(frames, d) for s, d in self.speaker_streams.items()}
        if "emotion" in speaker:
            start, stop = self.layout.expressions
            speaker["emotion"][:, start:stop] = 1.0 / (stop - start)
        return speaker

    def speaker_windows(self, speaker: dict[str, torch.Tensor]) -> torch.Tensor:
        """Standardised speaker latent windows (B * T / W, W, L) of (B, T, d) streams."""
        return to_windows(self.latent(self.mmt.encode(speaker)), self.window)

    def _decode(self, latents: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.challenge_outputs(*self.mmt.decode(self.latent.inverse(latents)))

    def challenge_outputs(
        self, face: torch.Tensor, emotion: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Decoder outputs -> 3DMM in its own units, emotion in the challenge format."""
        emotion = postprocess_emotion(emotion.float(), self.layout, self.au_thresholds)
        return self.std3.inverse(face.float()), emotion

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
        """Listener reactions to a speaker's feature streams, each (T, d) or (B, T, d).

        Returns 3DMM (S, T, face_dim) and emotion (S, T, emotion_dim) in the challenge format,
        or (B, S, T, ...) for batched input. ``sampling``: ``Generation``'s steps, eta and
        guidance, the DDIM sampling call's (``LatentDiffusion.sample``), and delay_frames.
        Offline, every window is sampled at once from the speaker window of the same span (T a
        multiple of the window). Online, the input is one :meth:`stream`: output frame t
        depends on speaker frames <= t + ``delay_frames`` only, for any T.
        """
        if online:
            session = self.stream(num_samples, seed=seed, **sampling)
            head, tail = session.push(speaker), session.finish()
            axis = head[0].dim() - 2  # the frame axis
            return torch.cat([head[0], tail[0]], axis), torch.cat([head[1], tail[1]], axis)
        self.eval()
        single = next(iter(speaker.values())).dim() == 2
        device = next(self.parameters()).device
        x = {n: (v[None] if single else v).to(device).float() for n, v in speaker.items()}
        generator = torch.Generator(device=device)
        if seed is None:
            generator.seed()
        else:
            generator.manual_seed(seed)
        batch = next(iter(x.values())).shape[0]
        settings = Generation(**sampling)
        latents = self.diffusion.sample(
            self.speaker_windows(x),  # (B * n, W, L)
            num_samples,
            steps=settings.steps,
            eta=settings.eta,
            guidance=settings.guidance,
            generator=generator,
            x0_range=self.latent.x0_range,
        )
        face, emotion = self._decode(from_windows(latents.flatten(0, 1), num_samples * batch))
        # rows are sample-major (s * B + b): regroup as (B, S, T, ...)
        face = face.reshape(num_samples, batch, *face.shape[1:]).transpose(0, 1)
        emotion = emotion.reshape(num_samples, batch, *emotion.shape[1:]).transpose(0, 1)
        return (face[0], emotion[0]) if single else (face, emotion)

    def stream(
        self, num_samples: int, *, seed: int | None = None, **sampling: Any
    ) -> OnlineSession:
        """An :class:`OnlineSession`: ``push`` speaker feature chunks of any size as they
        arrive and get the listener frames now due; ``finish`` at the end of the stream.
        ``sampling`` as in :meth:`generate`."""
        return OnlineSession(self, num_samples, seed=seed, **sampling)

    @property
    def frame_unit(self) -> int:
        """A sequence longer than the decoder's window must be a multiple of this."""
        w, dw = self.mmt.cfg.window or 1, self.mmt.cfg.decoder_window
        return math.lcm(w, dw) if dw else w

    def padded_length(self, frames: int) -> int:
        """The shortest length >= ``frames`` the model can encode and decode in one piece."""
        w, dw = self.mmt.cfg.window or 1, self.mmt.cfg.decoder_window
        unit = w if not dw or frames <= dw else self.frame_unit
        return -(-frames // unit) * unit

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
        """Reactions to one clip of any length: streams (T, d) -> 3DMM (S, T, face_dim) and
        emotion (S, T, emotion_dim); ``seed`` and ``sampling`` as in :meth:`generate`.
        Offline, the clip is cut as :meth:`_in_chunks` says; online, it is one stream, however
        long."""
        if online:
            return self.generate(speaker, num_samples, online=True, seed=seed, **sampling)
        return self._in_chunks(
            speaker,
            chunk_frames,
            lambda x: self.generate(x, num_samples, seed=seed, **sampling),
        )

    @torch.no_grad()
    def reconstruct_clip(
        self, speaker: dict[str, torch.Tensor], chunk_frames: int
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """:meth:`reconstruct` for one clip of any length: (T, d) streams -> (1, T, ...)."""
        return self._in_chunks(
            speaker, chunk_frames, lambda x: tuple(y[:, None] for y in self.reconstruct(x))
        )

    def _in_chunks(
        self,
        speaker: dict[str, torch.Tensor],
        chunk_frames: int | None,
        run: Callable[[dict[str, torch.Tensor]], tuple[torch.Tensor, torch.Tensor]],
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``run`` over a clip in pieces the model takes: a clip longer than ``chunk_frames``
        is cut into chunks of that many frames (the last one padded), run as one batch; a
        shorter clip (any clip, for None) is padded to the model's next whole length. Padding
        repeats the last speaker frame and is cut from the output. ``run`` maps (B, length, d)
        streams to (B, S, length, ...) pairs; the result is (S, T, ...)."""
        frames = next(iter(speaker.values())).shape[0]
        chunk_frames = chunk_frames or -(-frames // self.frame_unit) * self.frame_unit
        if chunk_frames % self.frame_unit:
            raise ValueError(
                f"chunk_frames {chunk_frames} is not a multiple of the model's {self.frame_unit}"
                " (its encoder and decoder windows)"
            )
        length = chunk_frames if frames > chunk_frames else self.padded_length(frames)
        chunks = -(-frames // length)
        x = {
            n: _pad_edge(v, chunks * length).reshape(chunks, length, -1) for n, v in speaker.items()
        }
        outputs = run(x)
        samples = outputs[0].shape[1]
        face, emotion = (
            y.transpose(0, 1).reshape(samples, chunks * length, -1)[:, :frames] for y in outputs
        )
        return face, emotion

    @torch.no_grad()
    def reconstruct(self, speaker: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """The paper's "w/o diffusion" ablation: decode the speaker's own latent, no sampling.
        Streams (B, T, d) -> 3DMM (B, T, face_dim), emotion (B, T, emotion_dim), challenge format."""
        self.eval()
        device = next(self.parameters()).device
        x = {n: v.to(device).float() for n, v in speaker.items()}
        return self.challenge_outputs(*self.mmt.decode(self.mmt.encode(x)))

    # ------------------------------------------------------------------ files
    def save(self, path: Path | str, **extra: Any) -> None:
        """Family, configs and weights as one file, written atomically (``extra``: e.g. the
        history)."""
        state = {
            "family": self.family,
            "mmt_config": dataclasses.asdict(self.mmt.cfg),
            "denoiser_config": dataclasses.asdict(self.diffusion.cfg),
            "scheduler_config": self.diffusion.scheduler.config.to_dict(),
            "emotion_layout": dataclasses.asdict(self.layout),
            "state_dict": self.state_dict(),
            **extra,
        }
        with atomic_path(path) as tmp:
            torch.save(state, tmp)

    @classmethod
    def load(cls, path: Path | str) -> ReactDiff:
        """Rebuild from the file alone (``reactdiff.models.load_model`` loads any family's)."""
        return cls.from_state(load_state_file(path, WHAT), path)

    @classmethod
    def from_state(cls, state: dict[str, Any], path: Path | str) -> ReactDiff:
        """Rebuild from a loaded file's dict; another family's file, a missing entry or a
        missing or unexpected tensor is an error naming ``path``."""
        family = state.get("family", cls.family)  # files from before families: this one
        if family != cls.family:
            raise DataFileError(Path(path), f"not a {WHAT}: a model of the family {family!r}")
        require_keys(state, path, WHAT, MODEL_KEYS)
        mmt = MMT(MMTConfig(**state["mmt_config"]))
        cfg = state["denoiser_config"]
        cfg["width_mults"] = tuple(cfg["width_mults"])
        scheduler = DDIMScheduler(SchedulerConfig.from_dict(state["scheduler_config"]))
        diffusion = LatentDiffusion(DenoiserConfig(**cfg), scheduler)
        latent_dim, face_dim = mmt.cfg.latent_dim, mmt.cfg.face_dim
        model = cls(
            mmt,
            Standardizer(torch.zeros(face_dim), torch.ones(face_dim)),
            LatentTransform.identity(latent_dim),
            diffusion,
            EmotionLayout.from_dict(state["emotion_layout"]),
        )
        weights = dict(state["state_dict"])
        # files from before per-AU thresholds were made with 0.5 for every AU
        weights.setdefault("au_thresholds", model.au_thresholds.clone())
        load_weights(model, weights, path, WHAT)
        return model.eval()
