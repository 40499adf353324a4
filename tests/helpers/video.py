"""Decoding the videos the project writes, for the tests that check them."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np


@dataclass
class Decoded:
    frames: np.ndarray  # (n, H, W, 3) RGB
    fps: float
    audio_seconds: float | None  # the decoded samples: AAC pads the end to whole 1024-sample
    audio_codec: str | None  # frames and the decoder keeps the encoder's priming
    audio_rate: int | None
    video_codec: str
    pix_fmt: str


def decode(path: Path) -> Decoded:
    """Every frame of the video and the audio's decoded duration (None without audio)."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        codec, pix_fmt, fps = (
            stream.codec_context.name,
            stream.codec_context.pix_fmt,
            stream.average_rate,
        )
        frames = np.stack([f.to_ndarray(format="rgb24") for f in container.decode(stream)])
    seconds, audio_codec, rate = None, None, None
    with av.open(str(path)) as container:
        if container.streams.audio:
            audio = container.streams.audio[0]
            audio_codec = audio.codec_context.name
            samples = sum(f.samples for f in container.decode(audio))
            rate = audio.codec_context.sample_rate
            seconds = samples / rate
    return Decoded(frames, float(fps), seconds, audio_codec, rate, codec, pix_fmt)


def assert_audio_lasts(video: Decoded, seconds: float) -> None:
    """The audio lasts ``seconds``, up to the AAC frames of priming and padding."""
    assert video.audio_codec == "aac"
    assert seconds - 0.01 <= video.audio_seconds <= seconds + 2 * 1024 / video.audio_rate
