"""Paths of the REACT 2024 challenge layout (NoXI + RECOLA).

A clip is named by its relative path ``rel`` (``NoXI/<session>/Expert_video/<clip>`` or
``RECOLA/group-<k>/P<id>/<clip>``) and lives under ``<root>/<split>/<stream dir>/<rel>.<ext>``.
Only the Emotion files name the two sides P1/P2 instead of Expert/Novice or the RECOLA ids.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from reactdiff.atomic import atomic_path
from reactdiff.errors import DataFileError

Split = Literal["train", "val", "test"]
SPLITS: tuple[Split, ...] = ("train", "val", "test")
Stream = Literal["video", "audio", "emotion", "3dmm"]

STREAM_DIRS: dict[str, str] = {
    "video": "Video_files",
    "audio": "Audio_files",
    "emotion": "Emotion",
    "3dmm": "3D_FV_files",
}
STREAM_EXT: dict[str, str] = {"video": ".mp4", "audio": ".wav", "emotion": ".csv", "3dmm": ".npy"}

# Emotion files rename the sides of a dyad: NoXI Expert/Novice and the RECOLA ids to P1/P2.
NOXI_SIDES = {"Expert_video": "P1", "Novice_video": "P2"}
RECOLA_SIDES = {"P25": "P1", "P41": "P1", "P45": "P1", "P26": "P2", "P42": "P2", "P46": "P2"}
SPLIT_CSV_HEADER = ["", "speaker_path", "listener_path"]


def emotion_rel(rel: str) -> str:
    """Map a clip's rel path to the one its Emotion CSV uses (side renamed to P1/P2)."""
    parts = rel.split("/")
    if len(parts) != 4:
        raise ValueError(f"clip path {rel!r}: expected <dataset>/<session>/<side>/<clip>")
    dataset, session, side, clip = parts
    table = {"NoXI": NOXI_SIDES, "RECOLA": RECOLA_SIDES}.get(dataset)
    if table is None:
        raise ValueError(f"clip path {rel!r}: unknown dataset {dataset!r} (NoXI or RECOLA)")
    if side not in table:
        raise ValueError(f"clip path {rel!r}: unknown {dataset} side {side!r} ({sorted(table)})")
    return f"{dataset}/{session}/{table[side]}/{clip}"


def session_of(rel: str) -> str:
    """The dyadic session a clip belongs to: ``<dataset>/<session>``."""
    return "/".join(rel.split("/")[:2])


@dataclass(frozen=True)
class Pair:
    """One (speaker, listener) sample; both are clip rel paths in the same split."""

    speaker: str
    listener: str

    def reversed(self) -> Pair:
        return Pair(self.listener, self.speaker)


def mirrored(pairs: Sequence[Pair]) -> list[Pair]:
    """The challenge's sample order: all rows as given, then all rows mirrored."""
    return [*pairs, *(p.reversed() for p in pairs)]


@dataclass(frozen=True)
class ReactLayout:
    """A REACT-layout root, synthetic or real."""

    root: Path

    def clip_path(self, split: str, rel: str, stream: str) -> Path:
        sub = emotion_rel(rel) if stream == "emotion" else rel
        return self.root / split / STREAM_DIRS[stream] / f"{sub}{STREAM_EXT[stream]}"

    def video_path(self, split: str, rel: str) -> Path:
        """The mp4, or the folder of numbered PNGs when that is what the drop has."""
        mp4 = self.clip_path(split, rel, "video")
        folder = mp4.with_suffix("")
        return folder if not mp4.exists() and folder.is_dir() else mp4

    def has_video(self, split: str) -> bool:
        return (self.root / split / STREAM_DIRS["video"]).is_dir()

    def split_csv(self, split: str) -> Path:
        return self.root / f"{split}.csv"

    def neighbour_matrix(self, split: str) -> Path:
        return self.root / f"neighbour_emotion_{split}.npy"

    def pairs(self, split: str) -> list[Pair]:
        """Rows of the split CSV, in file order."""
        return read_split_csv(self.split_csv(split))

    def samples(self, split: str) -> list[Pair]:
        """Mirrored sample order, the order of the appropriateness matrix and of evaluation."""
        return mirrored(self.pairs(split))

    def clips(self, split: str) -> list[str]:
        """Every clip of a split once, in first-seen order."""
        seen: dict[str, None] = {}
        for p in self.pairs(split):
            seen.setdefault(p.speaker)
            seen.setdefault(p.listener)
        return list(seen)


def read_split_csv(path: Path) -> list[Pair]:
    """Parse ``,speaker_path,listener_path`` rows; a malformed file names itself and the row."""
    if not path.is_file():
        raise DataFileError(path, "split CSV not found")
    with path.open(newline="") as f:
        rows = list(csv.reader(f))
    if not rows or [c.strip() for c in rows[0]] != SPLIT_CSV_HEADER:
        got = rows[0] if rows else "an empty file"
        raise DataFileError(path, f"header must be ',speaker_path,listener_path', got {got}")
    pairs = []
    for i, row in enumerate(rows[1:], start=2):
        if len(row) != 3 or not row[1].strip() or not row[2].strip():
            raise DataFileError(path, f"line {i}: expected 3 fields with both paths, got {row}")
        pairs.append(Pair(row[1].strip(), row[2].strip()))
    if not pairs:
        raise DataFileError(path, "split CSV has no pairs")
    return pairs


def write_split_csv(path: Path, pairs: Sequence[Pair]) -> None:
    """Write the challenge's split CSV format (index column without a name)."""
    with atomic_path(path) as tmp, tmp.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(SPLIT_CSV_HEADER)
        for i, p in enumerate(pairs):
            w.writerow([i, p.speaker, p.listener])
