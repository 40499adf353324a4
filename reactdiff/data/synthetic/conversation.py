"""Behaviour of both sides of a dyadic clip, frame by frame at the clip's frame rate.

The model (every constant below is part of it). Its time constants are in seconds, so the same
conversation can be simulated at 25 fps (REACT 2024) or 30 fps (REACT 2025); durations become
``round(seconds * fps)`` frames. The constants were chosen as whole frames at 25 fps, and the
25 fps arithmetic is kept exactly, so a REACT 2024 drop is byte-identical to the one written
before the frame rate became a parameter.

* **Speech.** Each clip has a main talker. Talkers alternate talk bursts (mean 1.6 s) and
  pauses (mean 0.6 s) (a :class:`Speech` pattern; a REACT 2025 session's topic changes it);
  the other side mostly listens and utters rare short backchannels.
* **Affect.** Each side has an intrinsic valence/arousal that drifts smoothly (an
  Ornstein-Uhlenbeck process around the person's bias, rates per second). What a side *shows*
  is its intrinsic affect plus ``mimicry`` times what the partner showed ``lag`` frames
  earlier (0.2-1.0 s), gated by whether the partner was talking then: people mirror whoever
  holds the floor. Talking raises arousal.
* **Action units** are thresholded linear read-outs of shown valence, arousal, speech (mouth
  AUs follow a 4.5 Hz syllable rhythm) and nods, plus the listener's lagged copy of the
  talker's AU activations (mimicry) and smooth noise. E.g. AU6/AU12 (smile) rise with valence,
  AU4/AU15 with negative valence, AU1/AU2 with arousal, AU25/AU26 while talking.
* **Expressions** are a softmax over logits that are linear in valence, arousal and |affect|.
* **Head pose** drifts (OU); listeners nod (a 2.5 Hz pitch oscillation over 0.6 s) with
  probability ``nod_rate`` ``lag`` frames after the talker pauses: backchannels.
* **3DMM** = 52 expression coefficients from a fixed linear basis of AU activations, affect
  and mouth opening, + rotation (pitch, yaw, roll in radians) + a small translation drift.

Person styles (bias, expressiveness, mimicry, lag, nod rate, noise, voice pitch) differ, so
several different listener reactions fit one speaker behaviour.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from reactdiff.data.columns import AU_COLUMNS, FACE_EXPRESSION_DIM

N_AU = len(AU_COLUMNS)
EXPR_DIM = FACE_EXPRESSION_DIM

# Loadings of the 15 AUs (AU1 AU2 AU4 AU6 AU7 AU9 AU10 AU12 AU14 AU15 AU17 AU23 AU24 AU25 AU26)
# on [valence, arousal, syllable-modulated speech, nod]; the offset sets each AU's base rate.
AU_LOADINGS = np.array(
    [
        # val   aro   talk  nod
        [0.0, 1.4, 0.3, 0.0],  # AU1 inner brow raiser
        [0.0, 1.3, 0.2, 0.0],  # AU2 outer brow raiser
        [-1.6, 0.3, 0.0, 0.0],  # AU4 brow lowerer
        [1.8, 0.2, 0.0, 0.3],  # AU6 cheek raiser
        [-0.8, 0.6, 0.0, 0.0],  # AU7 lid tightener
        [-1.2, 0.2, 0.0, 0.0],  # AU9 nose wrinkler
        [-0.6, 0.0, 0.9, 0.0],  # AU10 upper lip raiser
        [2.2, 0.3, 0.0, 0.4],  # AU12 lip corner puller (smile)
        [0.8, 0.0, 0.0, 0.3],  # AU14 dimpler
        [-1.4, -0.3, 0.0, 0.0],  # AU15 lip corner depressor
        [-0.6, 0.0, 0.0, 0.9],  # AU17 chin raiser
        [0.0, 0.4, 0.7, 0.0],  # AU23 lip tightener
        [0.0, 0.0, -1.0, 0.3],  # AU24 lip pressor (closed lips while listening)
        [0.0, 0.3, 2.0, 0.0],  # AU25 lips part
        [0.0, 0.2, 1.6, 0.0],  # AU26 jaw drop
    ],
    dtype=np.float64,
)
AU_OFFSET = np.array(
    [-0.6, -0.7, -0.6, -0.5, -0.7, -0.9, -0.8, -0.4, -0.6, -0.8, -0.5, -0.8, 0.1, -0.6, -0.8]
)
# Expression logits: rows Neutral Happy Sad Surprise Fear Disgust Anger Contempt, columns
# [valence, arousal, |valence| + |arousal|, 1].
EXPR_LOGITS = np.array(
    [
        [0.0, 0.0, -2.0, 1.2],
        [3.0, 0.6, 0.0, 0.0],
        [-2.4, -1.6, 0.0, -0.4],
        [0.3, 2.6, 0.0, -0.6],
        [-1.4, 2.0, 0.0, -1.2],
        [-2.0, 0.2, 0.0, -1.4],
        [-1.8, 1.6, 0.0, -1.2],
        [-1.2, -0.2, 0.0, -1.6],
    ]
)
BASIS_SEED = 20240501  # the 3DMM basis is a property of the drop format, not of a seed

# Durations in seconds, each a whole number of frames at 25 fps (the values the model was
# written with), so that ``frames_of`` reproduces the REACT 2024 integers exactly.
LAG_SECONDS = (0.2, 1.0)  # a listener's reaction lag, both ends included
FIRST_ONSET_SECONDS = 1.0  # the first burst or backchannel starts within this
MIN_BURST_SECONDS = 0.2  # a talk burst lasts at least this
MIN_PAUSE_SECONDS = 0.16  # and so does the pause after it
BACKCHANNEL_GAP_SECONDS = (1.0, 6.0)  # minimum and mean gap between a listener's backchannels
BACKCHANNEL_SECONDS = (0.2, 0.48)  # a backchannel's length, upper end excluded
NOD_SECONDS = 0.6  # one nod
NOD_HZ = 2.5  # pitch oscillation within a nod
SYLLABLE_HZ = 4.5  # mouth opening rhythm while talking
AU_NOISE_SECONDS = 0.16  # smoothing widths of the AU, valence/arousal and expression noise
VA_NOISE_SECONDS = 0.12
EXPR_NOISE_SECONDS = 0.24
P_SECOND_TALKER = 0.4  # the main talker is side 0 (P1, expert) with probability 0.6


def frames_of(seconds: float, fps: int) -> int:
    """A duration as a whole number of frames."""
    return round(seconds * fps)


@dataclass(frozen=True)
class Speech:
    """The main talker's turn pattern: exponential talk bursts and pauses with these means."""

    burst_seconds: float = 1.6
    pause_seconds: float = 0.6


@dataclass(frozen=True)
class Style:
    """How one person behaves, fixed for a whole session."""

    valence_bias: float
    arousal_bias: float
    expressiveness: float
    mimicry: float
    lag: int  # frames at ``fps``, 0.2-1.0 s
    nod_rate: float
    noise: float
    f0: float  # voice pitch in Hz
    fps: int  # the frame rate ``lag`` is counted in: a style belongs to one clip frame rate

    @staticmethod
    def sample(rng: np.random.Generator, fps: int) -> Style:
        """A random person, for clips at ``fps`` (the lag is drawn on that frame grid)."""
        low, high = (frames_of(s, fps) for s in LAG_SECONDS)
        return Style(
            valence_bias=float(rng.uniform(-0.35, 0.35)),
            arousal_bias=float(rng.uniform(-0.25, 0.2)),
            expressiveness=float(rng.uniform(0.6, 1.4)),
            mimicry=float(rng.uniform(0.3, 0.85)),
            lag=int(rng.integers(low, high + 1)),
            nod_rate=float(rng.uniform(0.3, 0.9)),
            noise=float(rng.uniform(0.05, 0.15)),
            f0=float(rng.uniform(95, 230)),
            fps=fps,
        )


@dataclass(frozen=True)
class SideSignals:
    """One side of a clip: what is written to disk and what audio/video rendering needs."""

    emotion: np.ndarray  # (F, 25) float32: 15 binary AUs, valence, arousal, 8 probabilities
    face_3dmm: np.ndarray  # (F, 58) float32
    talk: np.ndarray  # (F,) 0/1 speech activity
    au_activation: np.ndarray  # (F, 15) continuous, before thresholding
    mouth_open: np.ndarray  # (F,) 0..1
    fps: int  # frames per second of every array above


@dataclass(frozen=True)
class ClipSignals:
    sides: tuple[SideSignals, SideSignals]
    main_talker: int


def _smooth_noise(rng: np.random.Generator, shape: tuple[int, ...], width: int) -> np.ndarray:
    """Gaussian noise low-passed along time, unit variance, same shape."""
    x = rng.standard_normal((shape[0] + 4 * width, *shape[1:]))
    kernel = np.exp(-0.5 * (np.arange(-2 * width, 2 * width + 1) / width) ** 2)
    kernel /= np.sqrt((kernel**2).sum())
    y = np.apply_along_axis(lambda c: np.convolve(c, kernel, mode="same"), 0, x)
    return y[2 * width : 2 * width + shape[0]]


def _ou(
    rng: np.random.Generator, n: int, mean: float, theta: float, sigma: float, fps: int
) -> np.ndarray:
    """Ornstein-Uhlenbeck path sampled at ``fps``: smooth drift around ``mean``. ``theta``
    (1/s) and ``sigma`` (1/sqrt(s)) are rates per second, so the path's statistics over time
    do not depend on the frame rate (Euler-Maruyama with step 1/fps)."""
    dt = 1.0 / fps
    x = np.empty(n)
    x[0] = mean + rng.normal(0, sigma / np.sqrt(2 * theta))
    eps = rng.standard_normal(n) * sigma * np.sqrt(dt)
    for t in range(1, n):
        x[t] = x[t - 1] + theta * (mean - x[t - 1]) * dt + eps[t]
    return x


def _speech(rng: np.random.Generator, n: int, main: bool, speech: Speech, fps: int) -> np.ndarray:
    """0/1 speech activity: bursts and pauses for the main talker, rare backchannels else."""
    talk = np.zeros(n)
    t = int(rng.integers(0, frames_of(FIRST_ONSET_SECONDS, fps)))
    if main:
        min_burst, min_pause = frames_of(MIN_BURST_SECONDS, fps), frames_of(MIN_PAUSE_SECONDS, fps)
        while t < n:
            burst = max(min_burst, int(rng.exponential(speech.burst_seconds * fps)))
            talk[t : t + burst] = 1
            t += burst + max(min_pause, int(rng.exponential(speech.pause_seconds * fps)))
    else:
        min_gap, mean_gap = BACKCHANNEL_GAP_SECONDS
        short, long = (frames_of(s, fps) for s in BACKCHANNEL_SECONDS)
        while t < n:
            t += max(frames_of(min_gap, fps), int(rng.exponential(mean_gap * fps)))
            talk[t : t + int(rng.integers(short, long))] = 1
    return talk


def _nods(rng: np.random.Generator, partner_talk: np.ndarray, style: Style) -> np.ndarray:
    """Pitch offsets (radians) of backchannel nods placed ``lag`` frames after partner pauses."""
    n, fps = len(partner_talk), style.fps
    pitch = np.zeros(n)
    pause_starts = np.flatnonzero((partner_talk[:-1] == 1) & (partner_talk[1:] == 0)) + 1
    span = np.arange(frames_of(NOD_SECONDS, fps))
    wave = 0.12 * np.sin(2 * np.pi * NOD_HZ * span / fps) * np.hanning(len(span))
    for s in pause_starts:
        if rng.random() < style.nod_rate:
            start = s + style.lag
            stop = min(n, start + len(span))
            if start < n:
                pitch[start:stop] += wave[: stop - start]
    return pitch


def _softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _basis() -> np.ndarray:
    """Fixed linear map from [15 AU activations, valence, arousal, mouth] to 52 coefficients."""
    rng = np.random.default_rng(BASIS_SEED)
    return rng.normal(0.0, 0.12, size=(N_AU + 3, EXPR_DIM))


def _clip_fps(styles: tuple[Style, Style]) -> int:
    if styles[0].fps != styles[1].fps:
        raise ValueError(f"styles sampled for different frame rates: {[s.fps for s in styles]}")
    return styles[0].fps


def simulate_clip(
    rng: np.random.Generator,
    styles: tuple[Style, Style],
    frames: int,
    speech: Speech = Speech(),
    main: int | None = None,
) -> ClipSignals:
    """Simulate both sides of one clip: ``frames`` frames at the styles' frame rate.

    ``speech`` is the main talker's turn pattern. ``main`` is the side that holds the floor;
    None draws it (P1, the expert, more often), as the REACT 2024 drop does."""
    fps = _clip_fps(styles)
    if main is None:
        main = int(rng.random() < P_SECOND_TALKER)
    talk = np.stack([_speech(rng, frames, i == main, speech, fps) for i in range(2)])
    syllable = 0.5 + 0.5 * np.abs(
        np.sin(np.pi * SYLLABLE_HZ * np.arange(frames) / fps + rng.uniform(0, 3))
    )
    intrinsic = np.stack(
        [
            np.stack(
                [
                    _ou(rng, frames, s.valence_bias, theta=0.25, sigma=0.35, fps=fps),
                    _ou(rng, frames, s.arousal_bias, theta=0.3, sigma=0.3, fps=fps),
                ],
                axis=1,
            )
            for s in styles
        ]
    )  # (2, F, 2)
    shown = np.zeros((2, frames, 2))
    for t in range(frames):
        for p in range(2):
            q, s = 1 - p, styles[p]
            lagged = t - s.lag
            mirror = shown[q, lagged] * talk[q, lagged] if lagged >= 0 else 0.0
            value = s.expressiveness * (intrinsic[p, t] + s.mimicry * mirror)
            value = value + np.array([0.0, 0.35 * talk[p, t]])
            shown[p, t] = np.clip(value, -1.0, 1.0)

    nods = np.stack([_nods(rng, talk[1 - p], styles[p]) for p in range(2)])
    raw = np.stack(
        [
            np.column_stack([shown[p], talk[p] * syllable, np.abs(nods[p]) * 8]) @ AU_LOADINGS.T
            + AU_OFFSET
            for p in range(2)
        ]
    )  # (2, F, 15) before mimicry and noise
    sides = []
    for p in range(2):
        q, s = 1 - p, styles[p]
        mimic = np.zeros_like(raw[q])
        mimic[s.lag :] = raw[q, : frames - s.lag] * talk[q, : frames - s.lag, None]
        noise = _smooth_noise(rng, (frames, N_AU), frames_of(AU_NOISE_SECONDS, fps))
        act = raw[p] + 0.6 * s.mimicry * mimic + s.noise * 4 * noise
        sides.append(_side(rng, s, act, shown[p], talk[p], syllable, nods[p]))
    return ClipSignals(sides=(sides[0], sides[1]), main_talker=main)


def _side(
    rng: np.random.Generator,
    style: Style,
    act: np.ndarray,
    shown: np.ndarray,
    talk: np.ndarray,
    syllable: np.ndarray,
    nod: np.ndarray,
) -> SideSignals:
    frames, fps = len(talk), style.fps
    aus = (act > 0).astype(np.float32)
    va_noise = _smooth_noise(rng, (frames, 2), frames_of(VA_NOISE_SECONDS, fps))
    va = np.clip(shown + style.noise * 0.3 * va_noise, -1, 1)
    feats = np.column_stack([va, np.abs(va).sum(axis=1), np.ones(frames)])
    expr_noise = _smooth_noise(rng, (frames, 8), frames_of(EXPR_NOISE_SECONDS, fps))
    logits = style.expressiveness * feats @ EXPR_LOGITS.T + 0.3 * expr_noise
    probs = _softmax(logits)
    emotion = np.column_stack([aus, va, probs]).astype(np.float32)

    mouth = np.clip(talk * syllable * 0.8 + 0.2 * (act[:, 13] > 0), 0.0, 1.0)
    sig = 1.0 / (1.0 + np.exp(-act))
    drivers = np.column_stack([sig, va, mouth])
    expr = drivers @ _basis() + 0.01 * rng.standard_normal((frames, EXPR_DIM))
    rotation = np.column_stack(
        [
            _ou(rng, frames, 0.0, 0.5, 0.08, fps) + nod + 0.02 * talk * syllable,
            _ou(rng, frames, 0.0, 0.4, 0.12, fps),
            _ou(rng, frames, 0.0, 0.6, 0.05, fps),
        ]
    )
    translation = np.column_stack([_ou(rng, frames, 0.0, 0.2, 0.01, fps) for _ in range(3)])
    face = np.column_stack([expr, rotation, translation]).astype(np.float32)
    return SideSignals(
        emotion=emotion, face_3dmm=face, talk=talk, au_activation=act, mouth_open=mouth, fps=fps
    )
