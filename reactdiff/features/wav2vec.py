"""wav2vec 2.0 stream: the last hidden state at 50 Hz, two consecutive frames per video frame.

The model comes from a local directory (``features.wav2vec.checkpoint``, e.g. a copy of
facebook/wav2vec2-base-960h with its preprocessor_config.json); nothing is ever downloaded
(HF_HUB_OFFLINE and ``local_files_only``). The waveform is padded by half the encoder's
excess receptive field on each side, so hidden frame j is centred on the 20 ms slot
[20j, 20(j+1)) ms and frames 2t, 2t+1 cover video frame t. Long audio is cut into chunks of
``chunk_seconds`` (a whole number of video frames, each chunk with its own padding taken from
the neighbouring audio); equal-length chunks are batched. On a GPU the forward pass runs in
bfloat16.
"""

from __future__ import annotations

import math
import os
from collections.abc import Collection
from functools import cached_property
from pathlib import Path

import numpy as np

from reactdiff.config import Wav2VecParams
from reactdiff.data.layout import ReactLayout
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


class Wav2VecExtractor(Extractor):
    """``wav2vec``: (frames, 2 x hidden_size) from the clip's wav."""

    streams = ("wav2vec",)

    def __init__(self, params: Wav2VecParams, frames: int, fps: int) -> None:
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
        if self.rate % fps or self.rate // fps != 2 * self.stride:
            raise ConfigError(
                f"{KEY}: {self.path}: hidden states come every {self.stride} samples at "
                f"{self.rate} Hz; need exactly two per video frame at {fps} fps"
            )
        field = 1
        for kernel, stride in zip(
            reversed(self.config.conv_kernel), reversed(self.config.conv_stride), strict=True
        ):
            field = (field - 1) * stride + kernel
        excess = field - self.stride
        self.pad = (excess // 2, excess - excess // 2)
        self.hop = self.rate // fps
        try:
            self.device = resolve_device(params.device)
        except ConfigError as err:
            raise ConfigError(f"features.wav2vec.device: {err}") from None

    @cached_property
    def model(self):
        from transformers import Wav2Vec2Model

        model = Wav2Vec2Model.from_pretrained(self.path, local_files_only=True)
        return model.eval().to(self.device)

    def inputs(self, layout: ReactLayout, split: str, rel: str) -> list[Path]:
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
            "chunk_seconds": self.params.chunk_seconds,
            "checkpoint": content_digests(self.path, self.path),
        }

    def code(self):
        return [*super().code(), audio]  # the resampling in read_audio_at

    def dims(self) -> dict[str, int]:
        return {"wav2vec": 2 * self.config.hidden_size}

    def _chunks(self, wave: np.ndarray) -> list[np.ndarray]:
        """Model inputs of whole video-frame chunks, each with its receptive-field padding."""
        left, right = self.pad
        padded = np.pad(wave[: self.frames * self.hop], (left, right))
        step = max(1, round(self.params.chunk_seconds * self.fps))
        return [
            padded[a * self.hop : min(a + step, self.frames) * self.hop + left + right]
            for a in range(0, self.frames, step)
        ]

    def compute(self, wave: np.ndarray) -> np.ndarray:
        """(frames, 2 x hidden) float32 from a mono waveform at the model's rate."""
        import torch

        chunks = self._chunks(wave)
        outputs: list[np.ndarray | None] = [None] * len(chunks)
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
                    outputs[i] = h.reshape(len(h) // 2, 2 * h.shape[-1])  # (2t, 2t+1) -> t
        return np.concatenate(outputs)

    def extract(
        self, layout: ReactLayout, split: str, rel: str, streams: Collection[str]
    ) -> dict[str, np.ndarray]:
        path = self.inputs(layout, split, rel)[0]
        wave, rate = read_audio_at(path, self.rate), self.rate
        need = self.frames * self.hop
        if len(wave) < need:
            raise DataFileError(
                path,
                f"audio is {len(wave) / rate:.3f} s, need {need / rate:.3f} s for "
                f"{self.frames} wav2vec frames",
            )
        return {"wav2vec": self.compute(wave)}
