"""Speech-like audio that follows a side's speech activity and arousal.

A voiced source (six harmonics of a pitch contour that rises with arousal) is gated by the
speech activity, modulated at the 4.5 Hz syllable rate and made louder by arousal; the
partner's voice leaks in at -22 dB (one microphone per person) over a faint noise floor.
Everything runs on the sample clock; per-frame signals are read at the clip's frame rate.
"""

from __future__ import annotations

import numpy as np

from reactdiff.data.synthetic.conversation import SYLLABLE_HZ, SideSignals

HARMONICS = 6
CROSSTALK = 0.08
NOISE_FLOOR = 0.004


def _frame_to_samples(x: np.ndarray, fps: int, rate: int, n: int) -> np.ndarray:
    """Linear interpolation of a per-frame signal (frame centres at ``fps``) to ``n`` samples."""
    t_frames = (np.arange(len(x)) + 0.5) / fps
    return np.interp(np.arange(n) / rate, t_frames, x).astype(np.float32)


def _voice(side: SideSignals, f0: float, rate: int, n: int) -> np.ndarray:
    arousal = _frame_to_samples(side.emotion[:, 16], side.fps, rate, n)
    gate = _frame_to_samples(side.talk, side.fps, rate, n)
    t = np.arange(n, dtype=np.float32) / np.float32(rate)
    pitch = f0 * (1 + 0.2 * arousal) * (1 + 0.04 * np.sin(2 * np.pi * 0.7 * t))
    # phase accumulates in float64 (1.3 M samples), the rest runs in float32
    phase = np.mod(np.cumsum(pitch * (2 * np.pi / rate), dtype=np.float64), 2 * np.pi)
    phase = phase.astype(np.float32)
    s1, c2 = np.sin(phase), 2 * np.cos(phase)
    # sin(k p) by the Chebyshev recurrence: one sin/cos for all harmonics.
    prev, cur, voiced = np.zeros_like(s1), s1, s1.copy()
    for k in range(2, HARMONICS + 1):
        prev, cur = cur, c2 * cur - prev
        voiced += cur * np.float32(1 / k)
    envelope = gate * (0.55 + 0.45 * np.abs(np.sin(np.float32(np.pi * SYLLABLE_HZ) * t)))
    envelope *= 0.12 + 0.1 * (arousal + 1)
    return voiced * envelope


def render_audio(
    sides: tuple[SideSignals, SideSignals],
    f0: tuple[float, float],
    rate: int,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """Mono float32 waveforms of both microphones, each frames / fps s long (rounded to whole
    samples) at ``rate``."""
    n = round(len(sides[0].talk) * rate / sides[0].fps)
    voices = [_voice(side, f, rate, n) for side, f in zip(sides, f0, strict=True)]
    wavs = []
    for p in range(2):
        noise = rng.standard_normal(n, dtype=np.float32)
        wav = voices[p] + np.float32(CROSSTALK) * voices[1 - p] + np.float32(NOISE_FLOOR) * noise
        wavs.append(np.clip(wav, -1.0, 1.0))
    return wavs[0], wavs[1]
