"""MFCC stream: torchaudio's MFCC over non-overlapping windows of one video frame each.

The clip is resampled and cut with ``center=False``, so frame t is computed from samples
[t * hop, t * hop + window) with window = hop = one video frame: exactly the time video frame t
covers (40 ms at 25 fps, 33.3 ms at 30 fps). A frame must be a whole number of samples, so the
audio is resampled to the multiple of the frame rate nearest above ``mfcc.sample_rate``: 16 kHz
as configured at 25 fps (640 samples a frame), 16.02 kHz at 30 fps (534), a 0.1% wider band.
Audio that ends at most ``audio_slack_frames`` frames early (REACT 2025 recordings) is padded
with silence; shorter audio is an error naming the file.
"""

from __future__ import annotations

from collections.abc import Collection
from functools import cache
from pathlib import Path

import numpy as np

from reactdiff.config import MfccParams
from reactdiff.data.formats import Layout
from reactdiff.data.readers import read_audio
from reactdiff.errors import DataFileError
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


def frame_rate_multiple(rate: int, fps: int) -> int:
    """The smallest multiple of ``fps`` that is at least ``rate``: one frame = whole samples."""
    return -(-rate // fps) * fps


class MfccExtractor(Extractor):
    """``mfcc``: (frames, n_mfcc) from the clip's wav."""

    streams = ("mfcc",)

    def __init__(
        self, params: MfccParams, frames: int | None, fps: int, slack_frames: int = 0
    ) -> None:
        import torchaudio

        self.params, self.frames, self.fps, self.slack = params, frames, fps, slack_frames
        self.rate = frame_rate_multiple(params.sample_rate, fps)
        self.window = self.hop = self.rate // fps
        self.transform = torchaudio.transforms.MFCC(
            sample_rate=self.rate,
            n_mfcc=params.n_mfcc,
            melkwargs={
                "n_fft": self.window,
                "win_length": self.window,
                "hop_length": self.hop,
                "n_mels": params.n_mels,
                "center": False,
            },
        )

    def needed_samples(self, frames: int) -> int:
        return self.window + (frames - 1) * self.hop

    def inputs(self, layout: Layout, split: str, rel: str) -> list[Path]:
        return [layout.clip_path(split, rel, "audio")]

    def settings(self, stream: str) -> dict:
        fixed = {"frames": self.frames} if self.frames is not None else {"fps": self.fps}
        return {**fixed, **self.params.model_dump()}

    def dims(self) -> dict[str, int]:
        return {"mfcc": self.params.n_mfcc}

    def compute(self, wave: np.ndarray, frames: int) -> np.ndarray:
        """(frames, n_mfcc) float32 from a mono waveform at ``self.rate`` long enough."""
        import torch

        x = torch.from_numpy(np.ascontiguousarray(wave[: self.needed_samples(frames)]))
        with torch.inference_mode():
            return self.transform(x).T.numpy()  # (n_mfcc, frames) -> (frames, n_mfcc)

    def extract(
        self, layout: Layout, split: str, rel: str, streams: Collection[str]
    ) -> dict[str, np.ndarray]:
        path = self.inputs(layout, split, rel)[0]
        frames = self.clip_frames(layout, split, rel)
        wave = read_audio_at(path, self.rate)
        need = self.needed_samples(frames)
        if len(wave) < need - self.slack * self.hop:
            raise DataFileError(
                path,
                f"audio is {len(wave) / self.rate:.3f} s, need {need / self.rate:.3f} s "
                f"for {frames} MFCC frames at {self.fps} fps",
            )
        if len(wave) < need:  # within the format's slack: the recording ended early
            wave = np.pad(wave, (0, need - len(wave)))
        return {"mfcc": self.compute(wave, frames)}
