"""REACT 2025 (MARS): clips of any length at 30 fps, as the challenge's baseline code reads them.

``<root>/<split>/<modality>/<role>/session<k>/<clip>.<ext>``, role ``speaker`` or ``listener``;
a clip's rel path is ``<role>/session<k>/<clip>``. A speaker clip's partner is the file of the
same name under the other role, and both directions are samples (as in the 2024 mirrored
order: every speaker clip as speaker first, then every listener clip as speaker). There are no
split CSVs and no appropriateness matrices: the appropriate reactions to a sample are the
reactions of the other role in the same session (:func:`appropriateness`). Clips have their
own lengths; the facial-attributes file fixes a clip's frame count.

Checked against reactmultimodalchallenge/baseline_react2025 (``dataset/react_2025.py``). Where
this reads differently: samples are found from ``facial-attributes`` (the baseline walks
``video-face-crop``, which a drop without video lacks), in a fixed order (session number, then
clip name; the baseline uses ``os.walk`` order), and a clip whose partner file is missing is an
error here (the baseline would fail on it later, when loading).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from reactdiff.atomic import save_npy
from reactdiff.config import Params
from reactdiff.data.formats.base import Format, Synthesized
from reactdiff.data.readers import npy_rows
from reactdiff.data.splits import SPLITS, Pair, clips_of, mirrored
from reactdiff.errors import DataFileError

MARS_ROLES = ("speaker", "listener")
MARS_SESSION = re.compile(r"session[0-9]+")
MODALITY_DIRS: dict[str, str] = {
    "video": "video-face-crop",  # 384x384 face crops: what the facial predictors take
    "video_raw": "video-raw",
    "audio": "audio",
    "emotion": "facial-attributes",
    "3dmm": "coefficients",
    "audio_features": "audio-features",  # optional precomputed wav2vec (768-d)
}
MODALITY_EXT: dict[str, str] = {
    "video": ".mp4",
    "video_raw": ".mp4",
    "audio": ".wav",
    "emotion": ".npy",
    "3dmm": ".npy",
    "audio_features": ".npy",
}
INDEX_STREAM = "emotion"  # the modality whose files define the samples and clip lengths


@dataclass(frozen=True)
class React2025(Format):
    def layout(self, root: Path | str) -> MarsLayout:
        return MarsLayout(Path(root))

    def looks_like(self, root: Path) -> bool:
        return any((root / s / MODALITY_DIRS[INDEX_STREAM]).is_dir() for s in SPLITS)

    def required_paths(self, root: Path) -> list[Path]:
        return [root / s / MODALITY_DIRS[INDEX_STREAM] for s in SPLITS]

    def rel_problem(self, parts: list[str]) -> str | None:
        role, session, _ = parts
        if role not in MARS_ROLES:
            return f"has 3 components and role {role!r}, not speaker or listener (REACT 2025)"
        if not MARS_SESSION.fullmatch(session):
            return f"has session {session!r}, not session<k> (REACT 2025)"
        return None

    def write_synthetic(
        self,
        out: Path,
        params: Params,
        overrides: dict[str, Any],
        workers: int,
        progress: bool,
        owner: str,
    ) -> Synthesized:
        from dataclasses import asdict

        # heavy (audio, video encoders) and built on this module's layout: imported when used
        from reactdiff.data.synthetic.react2025 import (
            MarsSynthSpec,
            plan_recordings,
            write_mars_drop,
        )

        spec = MarsSynthSpec.from_params(params, **overrides)
        write_mars_drop(out, spec, workers=workers, progress=progress, owner=owner)
        frames = sum(r.frames for r in plan_recordings(spec))
        return Synthesized(
            spec=asdict(spec),
            summary={
                "source": "synthetic",
                "format": self.name,
                "dyads": spec.dyads,
                "sessions": spec.sessions,
                "clips": spec.dyads * spec.sessions,  # one per (dyad, session), both roles
                "total_frames": frames,
                "total_clip_seconds": round(frames / spec.fps, 2),
            },
            line=f"wrote {spec.dyads} dyads x {spec.sessions} sessions ({self.name}) to {out}",
        )

    def write_reaction_emotion(self, stem: Path, values: np.ndarray) -> Path:
        """A facial-attributes array (T, 25)."""
        path = stem.with_suffix(".npy")
        save_npy(path, values.astype(np.float32))
        return path


# Clips of any length (under 100 to over 20,000 frames); the challenge's baseline trains and
# scores in 750-frame pieces. Audio is extracted from the recordings, so its end may miss the
# last frame or two: up to 2 frames are zero-padded.
REACT2025 = React2025(
    name="react2025",
    title="REACT 2025",
    fps=30,
    clip_frames=None,
    frames=750,
    audio_rate=16000,
    min_audio_seconds=0.0,
    audio_slack_frames=2,
    protocol="session",
    rel_components=3,
    clip_path_shape="{speaker,listener}/session<k>/<clip> (REACT 2025)",
    video_folder=MODALITY_DIRS["video"],
    staged_rel="speaker/session0/generate",
    synth_counts=("dyads", "sessions"),
)


def partner(rel: str) -> str:
    """The same clip under the other role."""
    role, session, clip = REACT2025.check_rel(rel).split("/")
    return f"{MARS_ROLES[1 - MARS_ROLES.index(role)]}/{session}/{clip}"


def session_number(session: str) -> int:
    return int(session.removeprefix("session"))


def appropriateness(samples: list[Pair], split: str) -> np.ndarray:
    """0/1 (N, N) matrix over the samples: listener j is appropriate for speaker k when both
    samples are in the same session and the same direction (their listeners share a role), as
    the challenge defines the ground truths; the diagonal is 1. ``split`` is only part of the
    session's identity (sessions are the topics every dyad records, in every split)."""
    keys = [(split, *s.listener.split("/")[:2]) for s in samples]
    groups: dict[tuple, list[int]] = {}
    for i, key in enumerate(keys):
        groups.setdefault(key, []).append(i)
    m = np.zeros((len(samples), len(samples)), dtype=np.uint8)
    for members in groups.values():
        m[np.ix_(members, members)] = 1
    return m


@dataclass(frozen=True)
class MarsLayout:
    """A REACT 2025 root, synthetic or real."""

    root: Path
    fmt: ClassVar[Format] = REACT2025

    def clip_path(self, split: str, rel: str, stream: str) -> Path:
        """Where a clip's stream file is; a ``rel`` that is not a REACT 2025 clip path is a
        DataFileError here, so no path outside the root is ever formed from one."""
        rel = REACT2025.check_rel(rel)
        return self.root / split / MODALITY_DIRS[stream] / f"{rel}{MODALITY_EXT[stream]}"

    def video_path(self, split: str, rel: str) -> Path:
        return self.clip_path(split, rel, "video")

    def has_video(self, split: str) -> bool:
        return (self.root / split / MODALITY_DIRS["video"]).is_dir()

    def length_file(self, split: str, rel: str) -> Path:
        """The facial-attributes file: its rows are the clip's frames."""
        return self.clip_path(split, rel, INDEX_STREAM)

    def clip_frames(self, split: str, rel: str) -> int:
        path = self.length_file(split, rel)
        if (rows := npy_rows(path)) == 0:
            raise DataFileError(path, "has no frames")
        return rows

    def session(self, rel: str) -> str:
        """The session (topic) folder of a clip."""
        return REACT2025.check_rel(rel).split("/")[1]

    def index_files(self, split: str) -> list[str]:
        """Rel paths of every facial-attributes file of a split, sorted by role, session number
        and clip name; names that are not clip paths are left out (validation lists them)."""
        base = self.root / split / MODALITY_DIRS[INDEX_STREAM]
        ext = MODALITY_EXT[INDEX_STREAM]
        rels = []
        for role in MARS_ROLES:
            role_dir = base / role
            if not role_dir.is_dir():
                continue
            for session in role_dir.iterdir():
                if not (session.is_dir() and MARS_SESSION.fullmatch(session.name)):
                    continue
                rels += [
                    f"{role}/{session.name}/{f.name.removesuffix(ext)}"
                    for f in session.iterdir()
                    if f.is_file() and f.name.endswith(ext) and not f.name.startswith(".")
                ]
        return sorted(rels, key=_order)

    def pairs(self, split: str) -> list[Pair]:
        """(speaker, listener) of every speaker-role clip; a clip without its partner file is
        a DataFileError naming the missing file."""
        rels = self.index_files(split)
        present = set(rels)
        for rel in rels:
            if partner(rel) not in present:
                raise DataFileError(
                    self.clip_path(split, partner(rel), INDEX_STREAM),
                    f"missing: the partner of {self.clip_path(split, rel, INDEX_STREAM)}",
                )
        pairs = [Pair(rel, partner(rel)) for rel in rels if rel.startswith("speaker/")]
        if not pairs:
            raise DataFileError(
                self.root / split / MODALITY_DIRS[INDEX_STREAM],
                "no speaker/session<k>/<clip>.npy files: not a REACT 2025 split",
            )
        return pairs

    def appropriateness(self, split: str, pairs: Sequence[Pair]) -> np.ndarray:
        """The challenge's rule over the mirrored samples (:func:`appropriateness`)."""
        return appropriateness(mirrored(pairs), split)

    def write_appropriateness(self, split: str, pairs: Sequence[Pair], target: Path) -> None:
        np.save(target, self.appropriateness(split, pairs))

    def samples(self, split: str) -> list[Pair]:
        """Both directions: every speaker clip as speaker, then every listener clip."""
        return mirrored(self.pairs(split))

    def clips(self, split: str) -> list[str]:
        return clips_of(self.pairs(split))


def _order(rel: str) -> tuple:
    role, session, clip = rel.split("/")
    return (MARS_ROLES.index(role), session_number(session), clip)
