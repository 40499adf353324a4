"""wav2vec 2.0 stream: the last hidden state, the two hidden frames around each video frame.

The model comes from a local directory (``features.wav2vec.checkpoint``, e.g. a copy of
facebook/wav2vec2-base-960h with its preprocessor_config.json); nothing is ever downloaded
(HF_HUB_OFFLINE and ``local_files_only``). The waveform is padded by half the encoder's
excess receptive field on each side, so hidden frame j is centred on its slot
[j, j + 1) x stride samples (20 ms at 50 Hz). Video frames need not fall on hidden-frame
boundaries (30 fps against 50 Hz), so frame t takes the two hidden frames whose centres bracket
its own centre, found with integer arithmetic so that no rounding can shift a frame; at 25 fps
these are exactly frames 2t, 2t + 1. Long audio is cut into chunks of about ``chunk_seconds``
(each chunk with its own padding taken from the neighbouring audio, so a chunk boundary changes
only the transformer's context); equal-length chunks are batched. On a GPU the forward pass
runs in bfloat16.
"""

from __future__ import annotations

import math
import os
from collections.abc import Collection
from functools import cached_property
from pathlib import Path

import numpy as np

from reactdiff.config import Wav2VecParams
from reactdiff.data.formats import Layout
from reactdiff.devices import resolve_device
from reactdiff.errors import ConfigError, DataFileError
from reactdiff.features import audio
from reactdiff.features.audio import read_audio_at
from reactdiff.features.base import Extractor, content_digests

KEY = "features.wav2vec.checkpoint"


def _checkpoint_dir(params: Wav2VecParams) -> Path:
    if params.checkpoint is None:
        raise ConfigError(
            f"{KEY}: not set, but the wav2vec stream is requested; set it to a local "
            "wav2vec 2.0 model directory (weights are never downloaded)"
        )
    path = params.checkpoint.expanduser()
    if not (path / "config.json").is_file():
        raise ConfigError(f"{KEY}: {path} is not a model directory (no config.json there)")
    return path


def first_hidden_frames(frames: int, fps: int, hidden_rate: int) -> np.ndarray:
    """For each video frame t, the hidden frame j0 whose centre is the last one at or before
    the video frame's centre (j0 + 1 is the next); exact integers, so no float round-off.

    In hidden-frame units the video frame's centre is (t + 1/2) x hidden_rate / fps and hidden
    frame j's centre is j + 1/2, hence j0 = floor(((2t + 1) x hidden_rate - fps) / (2 fps))."""
    t = np.arange(frames, dtype=np.int64)
    return np.maximum(((2 * t + 1) * hidden_rate - fps) // (2 * fps), 0)


def _hidden_rate(rate: int, stride: int, fps: int, where: str) -> int:
    """Hidden frames per second; refuses a model or fps the pairing cannot serve."""
    if rate % stride:
        raise ConfigError(
            f"{KEY}: {where}: hidden states come every {stride} samples at {rate} Hz, not a "
            "whole number of hidden frames per second"
        )
    hidden_rate = rate // stride
    if hidden_rate < fps:
        raise ConfigError(
            f"{KEY}: {where}: {hidden_rate} hidden frames per second is below the video's "
            f"{fps} fps, so neighbouring video frames would get the same two hidden frames"
        )
    return hidden_rate


def _receptive_pad(config) -> tuple[int, int]:
    """Samples to add on each side so hidden frame j is centred on its stride-wide slot."""
    field = 1
    for kernel, stride in zip(
        reversed(config.conv_kernel), reversed(config.conv_stride), strict=True
    ):
        field = (field - 1) * stride + kernel
    excess = field - math.prod(config.conv_stride)
    return excess // 2, excess - excess // 2


class Wav2VecExtractor(Extractor):
    """``wav2vec``: (frames, 2 x hidden_size) from the clip's wav."""

    streams = ("wav2vec",)

    def __init__(self, params: Wav2VecParams, frames: int | None, fps: int) -> None:
        os.environ["HF_HUB_OFFLINE"] = "1"
        from transformers import Wav2Vec2Config, Wav2Vec2FeatureExtractor

        self.params, self.frames, self.fps = params, frames, fps
        self.path = _checkpoint_dir(params)
        try:
            self.config = Wav2Vec2Config.from_pretrained(self.path, local_files_only=True)
            self.processor = Wav2Vec2FeatureExtractor.from_pretrained(
                self.path, local_files_only=True
            )
        except (OSError, ValueError) as err:
            raise ConfigError(f"{KEY}: {self.path}: cannot load the model: {err}") from None
        self.rate = self.processor.sampling_rate
        self.stride = math.prod(self.config.conv_stride)
        self.hidden_rate = _hidden_rate(self.rate, self.stride, fps, str(self.path))
        self.pad = _receptive_pad(self.config)
        try:
            self.device = resolve_device(params.device)
        except ConfigError as err:
            raise ConfigError(f"features.wav2vec.device: {err}") from None

    @cached_property
    def model(self):
        from transformers import Wav2Vec2Model

        model = Wav2Vec2Model.from_pretrained(self.path, local_files_only=True)
        return model.eval().to(self.device)

    def inputs(self, layout: Layout, split: str, rel: str) -> list[Path]:
        return [layout.clip_path(split, rel, "audio")]

    def settings(self, stream: str) -> dict:
        return self._settings

    @cached_property
    def _settings(self) -> dict:
        """The checkpoint counts by the content of its files (names relative to the model
        directory, hidden files such as a download cache left out), not by its path, so the
        same model copied elsewhere gives the same hashes. Hashed once, on first use."""
        return {
            "frames": self.frames,
            "fps": self.fps,
            "chunk_seconds": self.params.chunk_seconds,
            "checkpoint": content_digests(self.path, self.path),
        }

    def code(self):
        return [*super().code(), audio]  # the resampling in read_audio_at

    def dims(self) -> dict[str, int]:
        return {"wav2vec": 2 * self.config.hidden_size}

    def hidden_frames(self, frames: int) -> int:
        """Hidden frames 0..j1 of the last video frame: what ``frames`` video frames need."""
        return int(first_hidden_frames(frames, self.fps, self.hidden_rate)[-1]) + 2

    def samples_needed(self, frames: int) -> int:
        """Waveform samples (at the model's rate) that ``frames`` video frames need."""
        return self.hidden_frames(frames) * self.stride

    def _chunk_step(self) -> int:
        """Hidden frames per chunk: ``chunk_seconds`` in whole video frames (as the chunks
        were first cut at 25 fps, so those stores keep their bytes), then in hidden frames."""
        video = max(1, round(self.params.chunk_seconds * self.fps))
        return max(1, (2 * video * self.hidden_rate + self.fps) // (2 * self.fps))

    def _chunks(self, wave: np.ndarray, hidden: int) -> list[np.ndarray]:
        """Model inputs of ``hidden`` hidden frames in chunks, each with its receptive-field
        padding (neighbouring audio inside the clip, zeros at its ends)."""
        left, right = self.pad
        padded = np.pad(wave[: hidden * self.stride], (left, right))
        step = self._chunk_step()
        return [
            padded[a * self.stride : min(a + step, hidden) * self.stride + left + right]
            for a in range(0, hidden, step)
        ]

    def _forward(self, chunks: list[np.ndarray]) -> list[np.ndarray]:
        """(hidden frames, hidden_size) of each chunk; equal-length chunks share a batch."""
        import torch

        outputs: list[np.ndarray] = [np.empty(0)] * len(chunks)
        by_length: dict[int, list[int]] = {}
        for i, c in enumerate(chunks):
            by_length.setdefault(len(c), []).append(i)
        bs = self.params.batch_size
        for ids in by_length.values():
            for start in range(0, len(ids), bs):
                batch = ids[start : start + bs]
                x = self.processor(
                    [chunks[i] for i in batch], sampling_rate=self.rate, return_tensors="pt"
                ).input_values.to(self.device)
                with (
                    torch.inference_mode(),
                    torch.autocast("cuda", torch.bfloat16, enabled=self.device.type == "cuda"),
                ):
                    hidden = self.model(x).last_hidden_state.float().cpu().numpy()
                for i, h in zip(batch, hidden, strict=True):
                    outputs[i] = h
        return outputs

    def compute(self, wave: np.ndarray, frames: int | None = None) -> np.ndarray:
        """(frames, 2 x hidden) float32 from a mono waveform at the model's rate, at least
        ``samples_needed(frames)`` long; ``frames`` defaults to the extractor's."""
        frames = self.frames if frames is None else frames
        hidden = self.hidden_frames(frames)
        if len(wave) < hidden * self.stride:
            raise ValueError(
                f"wav2vec: {len(wave)} samples, need {hidden * self.stride} for {frames} frames"
            )
        states = np.concatenate(self._forward(self._chunks(wave, hidden)))
        j0 = first_hidden_frames(frames, self.fps, self.hidden_rate)
        return np.concatenate([states[j0], states[j0 + 1]], axis=1)

    def read_wave(self, path: Path, frames: int) -> np.ndarray:
        """The clip's waveform at the model's rate; too short for ``frames`` is bad data."""
        wave, rate = read_audio_at(path, self.rate), self.rate
        need = self.samples_needed(frames)
        if len(wave) < need:
            raise DataFileError(
                path,
                f"audio is {len(wave) / rate:.3f} s, need {need / rate:.3f} s for "
                f"{frames} wav2vec frames at {self.fps} fps",
            )
        return wave

    def extract(
        self, layout: Layout, split: str, rel: str, streams: Collection[str]
    ) -> dict[str, np.ndarray]:
        path, frames = self.inputs(layout, split, rel)[0], self.clip_frames(layout, split, rel)
        return {"wav2vec": self.compute(self.read_wave(path, frames), frames)}
