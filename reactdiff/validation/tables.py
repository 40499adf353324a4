"""Turn a REACT 2024 drop into the tables the expectation suites check (REACT 2025:
``mars_tables``, which shares the file-table rows).

GX costs ~0.35 s per validation run, so files are not validated one by one: every emotion
frame goes into one frame table, every file into one file table, every split row into one
pair table, and so on, each carrying the file it came from so failures name it.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from reactdiff.data.format import EMOTION_COLUMNS, EMOTION_DIM, EXPR_SLICE, read_emotion_table
from reactdiff.data.layout import SPLITS, Pair, ReactLayout, SplitRow, clips_of, session_of
from reactdiff.data.readers import count_video_frames, load_npy, read_audio
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

PAIR_COLUMNS = ["file", "problem", "split", "speaker", "listener", "path_ok", "counterpart_ok"]


@dataclass
class DropTables:
    frames: pd.DataFrame  # one row per emotion frame: file, line, 25 columns, prob_sum
    files: pd.DataFrame  # one row per clip file: FILE_COLUMNS
    pairs: pd.DataFrame  # one row per split CSV row: PAIR_COLUMNS
    sessions: pd.DataFrame  # one row per distinct (session, split)
    matrices: pd.DataFrame  # one row per neighbour matrix
    video_checked: bool
    warnings: list[str] = field(default_factory=list)
    # REACT 2025 only: one row per recording name, the splits it is in (mars_tables)
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


def _emotion(path: Path, split: str) -> tuple[dict, pd.DataFrame | None]:
    try:
        df = read_emotion_table(path)
    except DataFileError as err:
        return unreadable_row(path, "emotion", split, err), None
    numeric = all(pd.api.types.is_numeric_dtype(df[c]) for c in df.columns)
    row = file_row(path, "emotion", split, frames=len(df), dims=df.shape[1])
    if df.shape[1] != EMOTION_DIM or not numeric:
        if not numeric:
            row.update(readable=False, problem="non-numeric values")
        return row, None
    df = df.set_axis(list(EMOTION_COLUMNS), axis=1).astype(np.float64)
    df.insert(0, "line", np.arange(2, len(df) + 2))  # line numbers in the file (header = 1)
    df.insert(0, "file", str(path))
    df["prob_sum"] = df.iloc[:, 2 + EXPR_SLICE.start : 2 + EXPR_SLICE.stop].sum(axis=1)
    return row, df


def _face(path: Path, split: str) -> dict:
    try:
        arr = load_npy(path)
    except DataFileError as err:
        return unreadable_row(path, "3dmm", split, err)
    shape_ok = arr.ndim == 2 or (arr.ndim == 3 and arr.shape[1] == 1)
    finite = bool(np.issubdtype(arr.dtype, np.number) and np.isfinite(arr).all())
    return file_row(
        path,
        "3dmm",
        split,
        frames=arr.shape[0] if arr.ndim else 0,
        dims=arr.shape[-1] if arr.ndim else 0,
        shape_ok=shape_ok,
        finite=finite,
    )


def _audio(path: Path, split: str) -> dict:
    try:
        wav, rate = read_audio(path)
    except DataFileError as err:
        return unreadable_row(path, "audio", split, err)
    return file_row(
        path, "audio", split, seconds=len(wav) / rate, finite=bool(np.isfinite(wav).all())
    )


def _video(path: Path, split: str) -> dict:
    try:
        return file_row(path, "video", split, frames=count_video_frames(path))
    except DataFileError as err:
        return unreadable_row(path, "video", split, err)


def _clip(layout: ReactLayout, split: str, rel: str, video: bool):
    rows, frames = [], None
    row, frames = _emotion(layout.clip_path(split, rel, "emotion"), split)
    rows += [row, _face(layout.clip_path(split, rel, "3dmm"), split)]
    rows.append(_audio(layout.clip_path(split, rel, "audio"), split))
    if video:
        rows.append(_video(layout.video_path(split, rel), split))
    return rows, frames


def _counterpart_ok(p: Pair) -> bool:
    """Speaker and listener are the two sides of one session, same clip."""
    s, l_ = p.speaker.split("/"), p.listener.split("/")
    return len(s) == len(l_) == 4 and s[:2] == l_[:2] and s[3] == l_[3] and s[2] != l_[2]


def _pair_row(csv_path: Path, split: str, row: SplitRow) -> dict:
    """A split CSV row for the pair suite. A row whose paths are not clip paths is shown by its
    problem and its quoted text (it may hold any character) and gets no counterpart check: its
    files are never opened, so the path failure is the only one it can have."""
    p, bad = row.pair, bool(row.problem)
    return {
        "file": f"{csv_path} line {row.line}",
        "problem": f"{row.problem}; row {row.text!r}" if bad else "",
        "split": split,
        "speaker": "" if bad else p.speaker,
        "listener": "" if bad else p.listener,
        "path_ok": not bad,
        "counterpart_ok": None if bad else _counterpart_ok(p),
    }


def _matrix_row(layout: ReactLayout, split: str, n_pairs: int) -> tuple[dict, list[str]]:
    path = layout.neighbour_matrix(split)
    row = {
        "file": str(path),
        "split": split,
        "readable": True,
        "problem": "",
        "square": False,
        "binary": False,
        "size_ok": False,
    }
    try:
        m = load_npy(path)
    except DataFileError as err:
        row.update(readable=False, problem=err.problem)
        return row, []
    square = m.ndim == 2 and m.shape[0] == m.shape[1]
    binary = (
        bool(np.isin(m, (0, 1)).all())
        if np.issubdtype(m.dtype, np.number) or m.dtype == bool
        else False
    )
    row.update(
        square=square,
        binary=binary,
        size_ok=square and m.shape[0] == 2 * n_pairs,
        problem=f"shape {m.shape}, expected ({2 * n_pairs}, {2 * n_pairs})",
    )
    warnings = []
    if square and binary and (zeros := int((np.diagonal(m) == 0).sum())):
        warnings.append(
            f"{path}: {zeros} of {m.shape[0]} diagonal entries are 0 (a speaker's own "
            "listener not marked appropriate)"
        )
    return row, warnings


def build_tables(
    root: Path, splits: tuple[str, ...] = SPLITS, workers: int = 4, progress: bool = True
) -> DropTables:
    """Read every file of the drop once (in threads) and tabulate what the suites check."""
    from tqdm import tqdm

    layout = ReactLayout(Path(root))
    video = any(layout.has_video(s) for s in SPLITS)
    warnings = [] if video else ["no Video_files folder in any split: video checks skipped"]
    file_rows, frame_tables, pair_rows, session_rows, matrix_rows = [], [], [], [], []
    jobs = []
    for split in SPLITS:
        try:
            csv_rows = layout.split_rows(split)
        except DataFileError as err:
            file_rows.append(unreadable_row(err.path, "split_csv", split, err))
            continue
        pair_rows += [_pair_row(layout.split_csv(split), split, r) for r in csv_rows]
        pairs = [r.pair for r in csv_rows if not r.problem]  # only these clips are opened
        session_rows += [
            {"session": s, "split": split}
            for s in dict.fromkeys(session_of(r) for r in clips_of(pairs))
        ]
        if split != "train":
            row, warn = _matrix_row(layout, split, len(csv_rows))
            matrix_rows.append(row)
            warnings += warn
        if split in splits:
            jobs += [(split, rel) for rel in clips_of(pairs)]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        results = pool.map(lambda j: _clip(layout, j[0], j[1], video), jobs)
        for rows, frames in tqdm(
            results, total=len(jobs), desc="reading clips", unit="clip", disable=not progress
        ):
            file_rows += rows
            if frames is not None:
                frame_tables.append(frames)
    empty_frames = pd.DataFrame(columns=["file", "line", *EMOTION_COLUMNS, "prob_sum"])
    return DropTables(
        frames=pd.concat(frame_tables, ignore_index=True) if frame_tables else empty_frames,
        files=pd.DataFrame(file_rows, columns=FILE_COLUMNS),
        pairs=pd.DataFrame(pair_rows, columns=PAIR_COLUMNS),
        sessions=pd.DataFrame(session_rows, columns=["session", "split"]),
        matrices=pd.DataFrame(
            matrix_rows,
            columns=["file", "split", "readable", "problem", "square", "binary", "size_ok"],
        ),
        video_checked=video,
        warnings=warnings,
    )
