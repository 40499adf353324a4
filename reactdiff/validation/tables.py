"""The tables the expectation suites check, and the file-table rows every format's share.

Each format's module (``validation/<format>.py``) turns a drop into a ``DropTables``.

GX costs ~0.35 s per validation run, so files are not validated one by one: every emotion
frame goes into one frame table, every file into one file table, every split row into one
pair table, and so on, each carrying the file it came from so failures name it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from reactdiff.errors import DataFileError

FILE_COLUMNS = [
    "file",
    "stream",
    "split",
    "readable",
    "problem",
    "frames",
    "dims",
    "seconds",
    "shape_ok",
    "finite",
]


@dataclass
class DropTables:
    frames: pd.DataFrame  # one row per emotion frame: file, line, 25 columns, prob_sum
    files: pd.DataFrame  # one row per clip file: FILE_COLUMNS
    pairs: pd.DataFrame  # one row per pair (REACT 2024: per split CSV row)
    sessions: pd.DataFrame  # one row per distinct (session, split)
    matrices: pd.DataFrame  # one row per neighbour matrix
    video_checked: bool
    warnings: list[str] = field(default_factory=list)
    # formats whose splits are recordings: one row per recording name, the splits it is in
    recordings: pd.DataFrame = field(default_factory=pd.DataFrame)


def file_row(path: Path, stream: str, split: str, **values) -> dict:
    """A file-table row: FILE_COLUMNS (None where the stream has no such value) + ``values``."""
    row = dict.fromkeys(FILE_COLUMNS)
    row.update(file=str(path), stream=stream, split=split, readable=True, problem="")
    row.update(values)
    return row


def unreadable_row(path: Path, stream: str, split: str, err: DataFileError) -> dict:
    """The row of a file that could not be read: the reader's problem is where it fails."""
    return file_row(path, stream, split, readable=False, problem=err.problem)
