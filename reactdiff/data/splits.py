"""Splits: the (speaker, listener) pairs of a split, their CSV files, and ``split.out``.

A clip is named by its relative path ``rel``, in the grammar of its format
(:mod:`reactdiff.data.formats`). Split CSVs come with a drop and are not trusted, so every row is
checked against the registered formats' grammars before any file is opened.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np

from reactdiff.atomic import atomic_dir, atomic_path, write_json
from reactdiff.errors import DataFileError

if TYPE_CHECKING:
    from reactdiff.data.formats.base import Layout

Split = Literal["train", "val", "test"]
SPLITS: tuple[Split, ...] = ("train", "val", "test")
SPLIT_CSV_HEADER = ["", "speaker_path", "listener_path"]


def neighbour_matrix_name(split: str) -> str:
    """The challenge's name of a split's appropriateness matrix (also in ``split.out``)."""
    return f"neighbour_emotion_{split}.npy"


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
    from reactdiff.data.formats import clip_rel_problem  # the formats read split CSVs

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
    from reactdiff.data.formats import clip_path_shapes

    rows = read_split_rows(path)
    for row in rows:
        if row.problem:
            raise DataFileError(
                path,
                f"line {row.line}: {row.problem}, not a REACT clip path ({clip_path_shapes()}); "
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


def write_splits(layout: Layout, out: Path) -> dict:
    """Every split of ``layout`` into ``out`` (atomically): its CSV, its mirrored sample order
    (``samples_<split>.csv``, the order of the matrices and of evaluation) and, but for train,
    its appropriateness matrix, as the format derives it. Returns a summary."""
    summary: dict = {}
    # every pair is read and its paths checked before ``out`` is touched
    split_pairs = {split: layout.pairs(split) for split in SPLITS}
    with atomic_dir(out, owner="reactdiff split") as tmp:
        for split, pairs in split_pairs.items():
            write_split_csv(tmp / f"{split}.csv", pairs)
            with (tmp / f"samples_{split}.csv").open("w", newline="") as f:
                w = csv.writer(f)
                w.writerow(["sample", "speaker_path", "listener_path"])
                for i, p in enumerate(mirrored(pairs)):
                    w.writerow([i, p.speaker, p.listener])
            sessions = {layout.session(p.speaker) for p in pairs}
            info = {"pairs": len(pairs), "samples": 2 * len(pairs), "sessions": len(sessions)}
            if split != "train":
                m = layout.appropriateness(split, pairs)
                layout.write_appropriateness(split, pairs, tmp / neighbour_matrix_name(split))
                per_row = np.asarray(m).sum(axis=1)
                info.update(
                    neighbours_mean=float(per_row.mean()), neighbours_min=int(per_row.min())
                )
            summary[split] = info
        write_json(tmp / "summary.json", summary)
    return summary
