"""The REACT 2025 layout (MARS), as the challenge's baseline code reads it.

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

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np

from reactdiff.data.format import REACT2025, ReactFormat
from reactdiff.data.layout import (
    MARS_ROLES,
    MARS_SESSION,
    Pair,
    check_clip_rel,
    clips_of,
    is_mars_rel,
    mirrored,
)
from reactdiff.data.readers import npy_rows
from reactdiff.errors import DataFileError

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


def check_mars_rel(rel: str) -> str:
    """``rel`` itself when it is a REACT 2025 clip path, else a DataFileError naming it."""
    if not is_mars_rel(check_clip_rel(rel)):
        raise DataFileError(rel, "a REACT 2024 clip path, but the drop is in the REACT 2025 layout")
    return rel


def partner(rel: str) -> str:
    """The same clip under the other role."""
    role, session, clip = check_mars_rel(rel).split("/")
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
    fmt: ClassVar[ReactFormat] = REACT2025

    def clip_path(self, split: str, rel: str, stream: str) -> Path:
        """Where a clip's stream file is; a ``rel`` that is not a REACT 2025 clip path is a
        DataFileError here, so no path outside the root is ever formed from one."""
        rel = check_mars_rel(rel)
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
        return check_mars_rel(rel).split("/")[1]

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

    def samples(self, split: str) -> list[Pair]:
        """Both directions: every speaker clip as speaker, then every listener clip."""
        return mirrored(self.pairs(split))

    def clips(self, split: str) -> list[str]:
        return clips_of(self.pairs(split))


def _order(rel: str) -> tuple:
    role, session, clip = rel.split("/")
    return (MARS_ROLES.index(role), session_number(session), clip)
