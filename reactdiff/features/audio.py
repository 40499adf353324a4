"""MFCC stream: torchaudio's MFCC over non-overlapping 40 ms windows, one per video frame.

The clip is resampled to ``mfcc.sample_rate`` and cut with ``center=False``, so frame t is
computed from samples [t * hop, t * hop + window): with window = hop = 40 ms, exactly the time
[40t, 40(t+1)) ms that video frame t covers at 25 fps.
"""

from __future__ import annotations

from collections.abc import Collection
from functools import cache
from pathlib import Path

import numpy as np

from reactdiff.config import MfccParams
from reactdiff.data.layout import ReactLayout
from reactdiff.data.readers import read_audio
from reactdiff.errors import ConfigError, DataFileError
from reactdiff.features.base import Extractor


@cache
def _resampler(orig: int, new: int):
    import torchaudio

    return torchaudio.transforms.Resample(orig, new)


def read_audio_at(path: Path, rate: int) -> np.ndarray:
    """Mono float32 waveform at ``rate``; the resampling kernel is built once per rate pair
    (building it costs more than applying it to a 30 s clip)."""
    import torch

    wave, orig = read_audio(path)
    if orig == rate:
        return wave
    with torch.inference_mode():
        return _resampler(orig, rate)(torch.from_numpy(wave)).numpy()


def _samples(ms: int, rate: int, key: str) -> int:
    if ms * rate % 1000:
        raise ConfigError(
            f"features.mfcc.{key}: {ms} ms is not a whole number of samples at {rate} Hz"
        )
    return ms * rate // 1000


class MfccExtractor(Extractor):
    """``mfcc``: (frames, n_mfcc) from the clip's wav."""

    streams = ("mfcc",)

    def __init__(self, params: MfccParams, frames: int, fps: int) -> None:
        import torchaudio

        if params.hop_ms * fps != 1000:
            raise ConfigError(
                f"features.mfcc.hop_ms: {params.hop_ms} ms, but one video frame at format.fps "
                f"{fps} is {1000 / fps:g} ms; the features must have one row per video frame"
            )
        self.params, self.frames = params, frames
        self.window = _samples(params.window_ms, params.sample_rate, "window_ms")
        self.hop = _samples(params.hop_ms, params.sample_rate, "hop_ms")
        self.transform = torchaudio.transforms.MFCC(
            sample_rate=params.sample_rate,
            n_mfcc=params.n_mfcc,
            melkwargs={
                "n_fft": self.window,
                "win_length": self.window,
                "hop_length": self.hop,
                "n_mels": params.n_mels,
                "center": False,
            },
        )

    @property
    def needed_samples(self) -> int:
        return self.window + (self.frames - 1) * self.hop

    def inputs(self, layout: ReactLayout, split: str, rel: str) -> list[Path]:
        return [layout.clip_path(split, rel, "audio")]

    def settings(self, stream: str) -> dict:
        return {"frames": self.frames, **self.params.model_dump()}

    def dims(self) -> dict[str, int]:
        return {"mfcc": self.params.n_mfcc}

    def compute(self, wave: np.ndarray) -> np.ndarray:
        """(frames, n_mfcc) float32 from a mono waveform at ``sample_rate`` long enough."""
        import torch

        x = torch.from_numpy(np.ascontiguousarray(wave[: self.needed_samples]))
        with torch.inference_mode():
            return self.transform(x).T.numpy()  # (n_mfcc, frames) -> (frames, n_mfcc)

    def extract(
        self, layout: ReactLayout, split: str, rel: str, streams: Collection[str]
    ) -> dict[str, np.ndarray]:
        path = self.inputs(layout, split, rel)[0]
        wave = read_audio_at(path, rate := self.params.sample_rate)
        if len(wave) < self.needed_samples:
            raise DataFileError(
                path,
                f"audio is {len(wave) / rate:.3f} s, need {self.needed_samples / rate:.3f} s "
                f"for {self.frames} MFCC frames",
            )
        return {"mfcc": self.compute(wave)}
