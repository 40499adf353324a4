"""Write a whole synthetic drop in the REACT 2025 (MARS) layout.

The drop mirrors how MARS was recorded: a *dyad* (two people) records every *session*, and a
session is a topic, the same scripted prompts for every dyad. So:

* Dyads, not sessions, are assigned to train/val/test (subject-independent, as the real split;
  :func:`~reactdiff.data.synthetic.split_assignment.assign_splits`, every split non-empty), and every split
  holds every session ``session0 .. session<K-1>``.
* Each (dyad, session) is one recording, one clip: ``Camera-<date>-<time>-<time>`` (the two
  cameras' start times, as the real names), unique per recording and written under the same
  name for both roles, ``speaker/session<k>/<clip>`` and ``listener/session<k>/<clip>``. The
  dyad's first person is the speaker in every session and holds the floor (the main talker);
  the second listens.
* A clip's length is drawn uniformly in ``[min_seconds, max_seconds]`` (rounded to whole
  frames at 30 fps) from the recording's own plan stream.
* **Topics.** A session's topic (:class:`Topic`, drawn from the seed and the session number
  alone, so every dyad meets the same one) shifts the speaker's valence/arousal bias and
  stretches or shortens their talk bursts and pauses; the listener feels the topic's mood at
  :data:`LISTENER_SHARE` of its strength and, through mimicry, follows the speaker. Same-session
  reactions are therefore more alike than reactions across sessions, which is what the
  challenge assumes when it takes every listener of a session as an appropriate reaction.

Files per side: ``facial-attributes`` (T, 25) float32 .npy, ``coefficients`` (T, 1, 58) float32
.npy (the shape the baseline's ``squeeze()`` expects), ``audio`` mono PCM16 wav of exactly
T / fps s (rounded to samples) and, with video, a ``video-face-crop`` mp4 (the drawn face,
``video_size`` square, 30 fps, T frames). The optional modalities ``video-raw`` and
``audio-features`` are not written, nor are split CSVs or neighbour matrices (MARS has none).

Randomness comes from disjoint streams ``[seed, stream, ...]``: a dyad's two people from
``[seed, STYLE_STREAM, dyad]``, a topic from ``[seed, TOPIC_STREAM, session]``, a recording's
length and name from ``[seed, PLAN_STREAM, dyad, session]``, its behaviour from
``[seed, CLIP_STREAM, dyad, session]`` and its microphones' noise from
``[seed, AUDIO_STREAM, dyad, session]``. Dyads are written in parallel, and the bytes do not
depend on the number of workers.
"""

from __future__ import annotations

import json
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf
from tqdm import tqdm

from reactdiff.atomic import atomic_dir
from reactdiff.config import Params
from reactdiff.data.formats.react2025 import MARS_ROLES, REACT2025, MarsLayout
from reactdiff.data.synthetic.audio import render_audio
from reactdiff.data.synthetic.conversation import (
    ClipSignals,
    SideSignals,
    Speech,
    Style,
    simulate_clip,
)
from reactdiff.data.synthetic.face import draw_faces, encode_mp4
from reactdiff.data.synthetic.split_assignment import assign_splits
from reactdiff.errors import ConfigError

STYLE_STREAM, TOPIC_STREAM, PLAN_STREAM, CLIP_STREAM, AUDIO_STREAM = range(5)  # module doc
# Sides are indexed in MARS_ROLES order everywhere (people, styles, signals, wavs).
SPEAKER, LISTENER = MARS_ROLES.index("speaker"), MARS_ROLES.index("listener")
DYADS_KEY = "data.synthetic.react2025.dyads"

# A topic shifts the speaker's valence bias by up to TOPIC_VALENCE and the arousal bias by up
# to TOPIC_AROUSAL either way. People's own biases span about +-0.3, so a topic weighs a little
# more than who is talking: the prompts are written to elicit affect. With these values the
# mean distance between the clip-mean valence/arousal of two same-session speakers is about
# 0.7 of that across sessions (12 dyads, 6 sessions, 15-60 s; 1.0 without topics), and about
# 11% of valence frames sit at the +-1 bounds (6% without topics).
TOPIC_VALENCE = 0.6
TOPIC_AROUSAL = 0.4
TOPIC_TALK_FACTOR = (0.6, 1.6)  # range of the factor on the mean talk-burst length
TOPIC_PAUSE_FACTOR = (0.6, 1.6)  # and on the mean pause length
LISTENER_SHARE = 0.6  # the listener's own mood moves with the topic at this share

RECORDING_START = datetime(2024, 6, 3, 9, 0, 0)  # the first recording's camera time
SLOT_MINUTES = 10  # recordings follow each other in slots of this length: names are unique
CAMERA_OFFSET_SECONDS = (1, 60)  # the second camera starts this much earlier (upper excluded)
SYNTH_FILE = "synthetic_drop.json"
SIDE_STREAMS = ("emotion", "3dmm", "audio")  # + "video" when spec.video


@dataclass(frozen=True)
class MarsSynthSpec:
    """Everything that determines a synthetic REACT 2025 drop's bytes."""

    dyads: int
    sessions: int
    min_seconds: float
    max_seconds: float
    seed: int
    video: bool
    video_size: int
    split_fractions: tuple[float, float, float]
    audio_rate: int = REACT2025.audio_rate
    fps: int = REACT2025.fps

    def __post_init__(self) -> None:
        if self.sessions < 1:
            raise ConfigError(
                f"data.synthetic.react2025.sessions: need 1 or more, got {self.sessions}"
            )
        if not 0 < self.frame_range[0] <= self.frame_range[1]:
            raise ConfigError(
                f"data.synthetic.react2025.min_seconds/max_seconds: [{self.min_seconds}, "
                f"{self.max_seconds}] is not a range of clip lengths"
            )

    @staticmethod
    def from_params(params: Params, **overrides: Any) -> MarsSynthSpec:
        """The drop that ``data.synthetic.react2025`` (and the shared ``data.synthetic`` video
        and split values) describe."""
        s = params.data.synthetic
        m = s.react2025
        values = {
            "dyads": m.dyads,
            "sessions": m.sessions,
            "min_seconds": m.min_seconds,
            "max_seconds": m.max_seconds,
            "seed": params.base.seed,
            "video": s.video,
            "video_size": s.video_size,
            "split_fractions": tuple(s.split_fractions),
        }
        return MarsSynthSpec(**{**values, **overrides})

    @property
    def frame_range(self) -> tuple[int, int]:
        """Shortest and longest clip in frames, both included."""
        return round(self.min_seconds * self.fps), round(self.max_seconds * self.fps)


@dataclass(frozen=True)
class Topic:
    """What a session's prompts do to every conversation about them."""

    valence: float  # added to the speaker's valence bias
    arousal: float  # added to the speaker's arousal bias
    speech: Speech  # the speaker's turn pattern

    @staticmethod
    def draw(seed: int, session: int) -> Topic:
        """The topic of ``session``: the same for every dyad of a drop."""
        rng = np.random.default_rng([seed, TOPIC_STREAM, session])
        default = Speech()
        return Topic(
            valence=float(rng.uniform(-TOPIC_VALENCE, TOPIC_VALENCE)),
            arousal=float(rng.uniform(-TOPIC_AROUSAL, TOPIC_AROUSAL)),
            speech=Speech(
                burst_seconds=default.burst_seconds * float(rng.uniform(*TOPIC_TALK_FACTOR)),
                pause_seconds=default.pause_seconds * float(rng.uniform(*TOPIC_PAUSE_FACTOR)),
            ),
        )

    def apply(self, style: Style, share: float = 1.0) -> Style:
        """``style`` with its biases moved by ``share`` of the topic's mood."""
        return replace(
            style,
            valence_bias=style.valence_bias + share * self.valence,
            arousal_bias=style.arousal_bias + share * self.arousal,
        )


@dataclass(frozen=True)
class Recording:
    """One (dyad, session) recording: a clip under both roles."""

    dyad: int
    session: int
    split: str
    clip: str  # file name without extension, the same for both roles
    frames: int

    def rel(self, role: str) -> str:
        return f"{role}/session{self.session}/{self.clip}"


def _clip_name(dyad: int, session: int, spec: MarsSynthSpec, rng: np.random.Generator) -> str:
    """``Camera-<date>-<HHMMSS>-<HHMMSS>``: a slot of its own per recording, so unique."""
    start = RECORDING_START + timedelta(minutes=SLOT_MINUTES * (dyad * spec.sessions + session))
    other = start - timedelta(seconds=int(rng.integers(*CAMERA_OFFSET_SECONDS)))
    return f"Camera-{start:%Y-%m-%d-%H%M%S}-{other:%H%M%S}"


def plan_recordings(spec: MarsSynthSpec) -> list[Recording]:
    """Every recording of the drop, by dyad then session: its split, name and length. Cheap (no
    simulation), so a caller can summarise a drop without reading it."""
    splits = assign_splits(spec.dyads, spec.split_fractions, spec.seed, key=DYADS_KEY)
    low, high = spec.frame_range
    out = []
    for dyad in range(spec.dyads):
        for session in range(spec.sessions):
            rng = np.random.default_rng([spec.seed, PLAN_STREAM, dyad, session])
            frames = int(rng.integers(low, high + 1))
            name = _clip_name(dyad, session, spec, rng)
            out.append(Recording(dyad, session, splits[dyad], name, frames))
    return out


def _write_side(
    layout: MarsLayout,
    rec: Recording,
    role: str,
    side: SideSignals,
    wav: np.ndarray,
    spec: MarsSynthSpec,
) -> None:
    streams = (*SIDE_STREAMS, "video") if spec.video else SIDE_STREAMS
    paths = {s: layout.clip_path(rec.split, rec.rel(role), s) for s in streams}
    for p in paths.values():
        p.parent.mkdir(parents=True, exist_ok=True)
    np.save(paths["emotion"], side.emotion.astype(np.float32))
    np.save(paths["3dmm"], side.face_3dmm[:, None, :].astype(np.float32))
    sf.write(paths["audio"], wav, spec.audio_rate, subtype="PCM_16")
    if spec.video:
        encode_mp4(draw_faces(side, spec.video_size), paths["video"], spec.fps)


def dyad_people(spec: MarsSynthSpec, dyad: int) -> tuple[Style, Style]:
    """The dyad's two people in role order, the same in every session (the speaker drawn
    first)."""
    rng = np.random.default_rng([spec.seed, STYLE_STREAM, dyad])
    drawn = {SPEAKER: Style.sample(rng, spec.fps), LISTENER: Style.sample(rng, spec.fps)}
    return drawn[0], drawn[1]


def simulate_recording(
    spec: MarsSynthSpec, rec: Recording, people: tuple[Style, Style]
) -> ClipSignals:
    """Both sides of one recording, in role order: the dyad's ``people`` (from
    :func:`dyad_people`) talking about the session's topic, the speaker holding the floor."""
    topic = Topic.draw(spec.seed, rec.session)
    share = {SPEAKER: 1.0, LISTENER: LISTENER_SHARE}
    styles = (topic.apply(people[0], share[0]), topic.apply(people[1], share[1]))
    rng = np.random.default_rng([spec.seed, CLIP_STREAM, rec.dyad, rec.session])
    return simulate_clip(rng, styles, rec.frames, speech=topic.speech, main=SPEAKER)


def _write_dyad(args: tuple[Path, MarsSynthSpec, list[Recording]]) -> None:
    """Write every recording of one dyad."""
    root, spec, recordings = args
    layout = MarsLayout(root)
    people = dyad_people(spec, recordings[0].dyad)
    for rec in recordings:
        signals = simulate_recording(spec, rec, people)
        f0 = (people[0].f0, people[1].f0)
        rng = np.random.default_rng([spec.seed, AUDIO_STREAM, rec.dyad, rec.session])
        wavs = render_audio(signals.sides, f0, spec.audio_rate, rng)
        for p, role in enumerate(MARS_ROLES):
            _write_side(layout, rec, role, signals.sides[p], wavs[p], spec)


def write_mars_drop(
    out: Path | str,
    spec: MarsSynthSpec,
    workers: int = 1,
    progress: bool = True,
    owner: str = "reactdiff synth",
) -> Path:
    """Generate the drop into ``out`` atomically (a killed run leaves the old ``out`` intact).

    ``out`` is replaced whole, so it must be absent, empty or an earlier output of ``owner``
    (the command writing it)."""
    out = Path(out)
    recordings = plan_recordings(spec)
    with atomic_dir(out, owner=owner) as tmp:
        jobs = [
            (tmp, spec, [r for r in recordings if r.dyad == dyad]) for dyad in range(spec.dyads)
        ]
        bar = tqdm(total=spec.dyads, desc="synth dyads", unit="dyad", disable=not progress)
        if workers > 1:
            with ProcessPoolExecutor(max_workers=workers) as pool:
                for _ in pool.map(_write_dyad, jobs):
                    bar.update()
        else:
            for job in jobs:
                _write_dyad(job)
                bar.update()
        bar.close()
        description = {"format": REACT2025.name, **asdict(spec)}
        (tmp / SYNTH_FILE).write_text(json.dumps(description, indent=2) + "\n")
    return out
