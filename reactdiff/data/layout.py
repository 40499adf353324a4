"""Clip paths of the REACT layouts, and the REACT 2024 layout (NoXI + RECOLA).

A clip is named by its relative path ``rel``. REACT 2024: ``NoXI/<session>/Expert_video/<clip>``
or ``RECOLA/group-<k>/P<id>/<clip>``, living under ``<root>/<split>/<stream dir>/<rel>.<ext>``;
only the Emotion files name the two sides P1/P2 instead of Expert/Novice or the RECOLA ids.
REACT 2025 (MARS, :mod:`reactdiff.data.mars`): ``{speaker,listener}/session<k>/<clip>``.
Both grammars are here so that every reader of a split CSV checks a row the same way.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, Literal

from reactdiff.atomic import atomic_path
from reactdiff.data.format import REACT2024, ReactFormat
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
DATASET_SIDES: dict[str, dict[str, str]] = {"NoXI": NOXI_SIDES, "RECOLA": RECOLA_SIDES}
RECOLA_SESSION = re.compile(r"group-[0-9]+")
MARS_ROLES = ("speaker", "listener")
MARS_SESSION = re.compile(r"session[0-9]+")
CLIP_PATH_SHAPES = (
    "NoXI/<session>/{Expert_video,Novice_video}/<clip> or RECOLA/group-<k>/P<id>/<clip>, "
    "or {speaker,listener}/session<k>/<clip> (REACT 2025)"
)
SPLIT_CSV_HEADER = ["", "speaker_path", "listener_path"]


def clip_rel_problem(rel: str) -> str | None:
    """What makes ``rel`` not a clip path of the two documented shapes, or None when it is one.

    Split CSVs come with the drop and are not trusted: an absolute path, a ``..`` or an unknown
    side would name a file outside the root (or another clip's), so every row is checked with
    this before any file is opened, stat-ed or written.
    """
    if "\\" in rel:
        return "has a backslash (components are separated by '/')"
    if any(ord(c) < 32 or ord(c) == 127 for c in rel):
        return "has a control character"
    if rel.startswith("/"):
        return "is absolute"
    parts = rel.split("/")
    if any(p in ("", ".", "..") for p in parts):
        return "has an empty, '.' or '..' component"
    if len(parts) == 3:
        return _mars_rel_problem(*parts)
    if len(parts) != 4:
        return f"has {len(parts)} components, not 4 (REACT 2024) or 3 (REACT 2025)"
    dataset, session, side, _ = parts
    sides = DATASET_SIDES.get(dataset)
    if sides is None:
        return f"has unknown dataset {dataset!r} ({' or '.join(DATASET_SIDES)})"
    if side not in sides:
        return f"has unknown {dataset} side {side!r} ({', '.join(sides)})"
    if dataset == "RECOLA" and not RECOLA_SESSION.fullmatch(session):
        return f"has RECOLA session {session!r}, not group-<k>"
    return None


def _mars_rel_problem(role: str, session: str, clip: str) -> str | None:
    if role not in MARS_ROLES:
        return f"has 3 components and role {role!r}, not speaker or listener (REACT 2025)"
    if not MARS_SESSION.fullmatch(session):
        return f"has session {session!r}, not session<k> (REACT 2025)"
    return None


def is_mars_rel(rel: str) -> bool:
    """Whether a (checked) clip path is a REACT 2025 one."""
    return rel.count("/") == 2


def neighbour_matrix_name(split: str) -> str:
    """The challenge's name of a split's appropriateness matrix (also in ``split.out``)."""
    return f"neighbour_emotion_{split}.npy"


def check_clip_rel(rel: str) -> str:
    """``rel`` itself, or a DataFileError naming it when it is not a REACT clip path."""
    if (problem := clip_rel_problem(rel)) is not None:
        raise DataFileError(rel, f"not a REACT clip path ({CLIP_PATH_SHAPES}): {problem}")
    return rel


def check_react2024_rel(rel: str) -> str:
    """``rel`` itself when it is a REACT 2024 clip path, else a DataFileError naming it."""
    if is_mars_rel(check_clip_rel(rel)):
        raise DataFileError(rel, "a REACT 2025 clip path, but the drop is in the REACT 2024 layout")
    return rel


def emotion_rel(rel: str) -> str:
    """Map a clip's rel path to the one its Emotion CSV uses (side renamed to P1/P2)."""
    dataset, session, side, clip = check_react2024_rel(rel).split("/")
    return f"{dataset}/{session}/{DATASET_SIDES[dataset][side]}/{clip}"


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


def clips_of(pairs: Iterable[Pair]) -> list[str]:
    """Every clip of ``pairs`` once, in first-seen order."""
    return list(dict.fromkeys(r for p in pairs for r in (p.speaker, p.listener)))


@dataclass(frozen=True)
class ReactLayout:
    """A REACT 2024 root, synthetic or real."""

    root: Path
    fmt: ClassVar[ReactFormat] = REACT2024

    def clip_frames(self, split: str, rel: str) -> int:
        """Frames of a clip used for features: the format's fixed length."""
        return self.fmt.frames

    def length_file(self, split: str, rel: str) -> Path | None:
        """The file that fixes a clip's length (None: the format does)."""
        return None

    def session(self, rel: str) -> str:
        return session_of(rel)

    def clip_path(self, split: str, rel: str, stream: str) -> Path:
        """Where a clip's stream file is; a ``rel`` that is not a clip path is a DataFileError
        here, so no path outside the root is ever formed from one."""
        sub = emotion_rel(rel) if stream == "emotion" else check_react2024_rel(rel)
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
        return self.root / neighbour_matrix_name(split)

    def split_rows(self, split: str) -> list[SplitRow]:
        """Rows of the split CSV with their lines, bad clip paths reported, not raised."""
        return read_split_rows(self.split_csv(split))

    def pairs(self, split: str) -> list[Pair]:
        """Rows of the split CSV, in file order."""
        return read_split_csv(self.split_csv(split))

    def samples(self, split: str) -> list[Pair]:
        """Mirrored sample order, the order of the appropriateness matrix and of evaluation."""
        return mirrored(self.pairs(split))

    def clips(self, split: str) -> list[str]:
        """Every clip of a split once, in first-seen order."""
        return clips_of(self.pairs(split))


@dataclass(frozen=True)
class SplitRow:
    """One row of a split CSV: its line in the file, its text, its pair, and why its paths are
    not REACT clip paths ("" when they are)."""

    line: int
    text: str
    pair: Pair
    problem: str = ""


def _read_csv_rows(path: Path) -> list[tuple[int, list[str]]]:
    """(line, fields) of every record; a UTF-8 BOM and CRLF line ends are accepted."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as f:
            reader = csv.reader(f)
            return [(reader.line_num, row) for row in reader]
    except UnicodeDecodeError as err:
        raise DataFileError(path, f"not UTF-8 text: {err}") from None
    except csv.Error as err:
        raise DataFileError(path, f"not a readable CSV: {err}") from None


def _row_problem(pair: Pair) -> str:
    """Why a row's paths are not clip paths, each named by its column ("" when both are)."""
    problems = [
        f"{column} {rel!r} {problem}"
        for column, rel in (("speaker_path", pair.speaker), ("listener_path", pair.listener))
        if (problem := clip_rel_problem(rel)) is not None
    ]
    return "; ".join(problems)


def read_split_rows(path: Path) -> list[SplitRow]:
    """Parse ``,speaker_path,listener_path`` rows. A malformed file is a DataFileError naming
    itself and the line; a row whose paths break the clip-path grammar carries the problem, so
    validation can list every such row (``read_split_csv`` refuses the first)."""
    if not path.is_file():
        raise DataFileError(path, "split CSV not found")
    records = _read_csv_rows(path)
    if not records or [c.strip() for c in records[0][1]] != SPLIT_CSV_HEADER:
        got = records[0][1] if records else "an empty file"
        raise DataFileError(path, f"header must be ',speaker_path,listener_path', got {got}")
    rows = []
    for line, row in records[1:]:
        if len(row) != 3 or not row[1].strip() or not row[2].strip():
            raise DataFileError(path, f"line {line}: expected 3 fields with both paths, got {row}")
        pair = Pair(row[1].strip(), row[2].strip())
        rows.append(SplitRow(line, ",".join(row), pair, _row_problem(pair)))
    if not rows:
        raise DataFileError(path, "split CSV has no pairs")
    return rows


def read_split_csv(path: Path) -> list[Pair]:
    """The pairs of a split CSV, every path checked against the clip-path grammar before the
    caller can open anything: the first bad row is a DataFileError naming the file and line."""
    rows = read_split_rows(path)
    for row in rows:
        if row.problem:
            raise DataFileError(
                path,
                f"line {row.line}: {row.problem}, not a REACT clip path ({CLIP_PATH_SHAPES}); "
                f"row {row.text!r}",
            )
    return [row.pair for row in rows]


def write_split_csv(path: Path, pairs: Sequence[Pair]) -> None:
    """Write the challenge's split CSV format (index column without a name)."""
    with atomic_path(path) as tmp, tmp.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(SPLIT_CSV_HEADER)
        for i, p in enumerate(pairs):
            w.writerow([i, p.speaker, p.listener])
