"""The REACT 2024 checks: a drop's tables (split CSVs, neighbour matrices, fixed-length clips)
and the suites over them.

GX costs ~0.35 s per validation run, so files are not validated one by one: every emotion
frame goes into one frame table, every file into one file table, every split row into one
pair table, and so on, each carrying the file it came from so failures name it.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd

from reactdiff.config import ValidateParams
from reactdiff.data.columns import (
    EMOTION_COLUMNS,
    EMOTION_DIM,
    EXPR_SLICE,
    FACE_3DMM_DIM,
    read_emotion_table,
)
from reactdiff.data.formats import Format, clip_path_shapes
from reactdiff.data.formats.react2024 import REACT2024, ReactLayout, session_of
from reactdiff.data.readers import count_video_frames, load_npy, read_audio
from reactdiff.data.splits import SPLITS, Pair, SplitRow, clips_of
from reactdiff.errors import DataFileError
from reactdiff.validation.suites import E, Suite, check, emotion_values, stream_condition
from reactdiff.validation.tables import FILE_COLUMNS, DropTables, file_row, unreadable_row

FMT = REACT2024
PAIR_COLUMNS = ["file", "problem", "split", "speaker", "listener", "path_ok", "counterpart_ok"]


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
    layout: ReactLayout, splits: tuple[str, ...] = SPLITS, workers: int = 4, progress: bool = True
) -> DropTables:
    """Read every file of the drop once (in threads) and tabulate what the suites check."""
    from tqdm import tqdm

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


def emotion_frames(v: ValidateParams) -> Suite:
    exps = [
        check(E.ExpectColumnValuesToNotBeNull(column=c), f"{c} is missing (NaN/empty)")
        for c in EMOTION_COLUMNS
    ]
    exps += emotion_values(v)
    return Suite("emotion_frames", "frames", ("file", "line"), tuple(exps))


def clip_files(f: Format, video: bool) -> Suite:
    n = f.clip_frames
    exps = [
        check(E.ExpectColumnValuesToBeInSet(column="readable", value_set=[True]), "unreadable"),
        check(
            E.ExpectColumnValuesToBeBetween(
                column="frames", min_value=n, max_value=n, **stream_condition("emotion")
            ),
            f"emotion rows != {n}",
        ),
        check(
            E.ExpectColumnValuesToBeInSet(
                column="dims", value_set=[EMOTION_DIM], **stream_condition("emotion")
            ),
            f"emotion CSV does not have {EMOTION_DIM} columns",
        ),
        check(
            E.ExpectColumnValuesToBeInSet(
                column="shape_ok", value_set=[True], **stream_condition("3dmm")
            ),
            f"3DMM shape is neither (T, {FACE_3DMM_DIM}) nor (T, 1, {FACE_3DMM_DIM})",
        ),
        check(
            E.ExpectColumnValuesToBeBetween(
                column="frames", min_value=n, max_value=n, **stream_condition("3dmm")
            ),
            f"3DMM frames != {n}",
        ),
        check(
            E.ExpectColumnValuesToBeInSet(
                column="dims", value_set=[FACE_3DMM_DIM], **stream_condition("3dmm")
            ),
            f"3DMM does not have {FACE_3DMM_DIM} coefficients",
        ),
        check(
            E.ExpectColumnValuesToBeInSet(
                column="finite", value_set=[True], **stream_condition("3dmm")
            ),
            "3DMM has NaN/inf values",
        ),
        check(
            E.ExpectColumnValuesToBeBetween(
                column="seconds", min_value=f.min_audio_seconds, **stream_condition("audio")
            ),
            f"audio shorter than {f.min_audio_seconds:g} s",
        ),
        check(
            E.ExpectColumnValuesToBeInSet(
                column="finite", value_set=[True], **stream_condition("audio")
            ),
            "audio has NaN/inf samples",
        ),
    ]
    if video:
        exps.append(
            check(
                E.ExpectColumnValuesToBeBetween(
                    column="frames", min_value=n, **stream_condition("video")
                ),
                f"video has fewer than {n} frames",
            )
        )
    return Suite("clip_files", "files", ("file", "problem"), tuple(exps))


def split_pairs() -> Suite:
    exps = (
        check(
            E.ExpectColumnValuesToBeInSet(column="path_ok", value_set=[True]),
            f"not a REACT clip path ({clip_path_shapes()}); the row's files were not opened",
        ),
        check(
            E.ExpectColumnValuesToBeInSet(column="counterpart_ok", value_set=[True]),
            "speaker and listener are not the two sides of one session's clip",
        ),
    )
    return Suite("split_pairs", "pairs", ("file", "problem", "speaker", "listener"), exps)


def split_sessions() -> Suite:
    exps = (check(E.ExpectColumnValuesToBeUnique(column="session"), "session in two splits"),)
    return Suite("split_sessions", "sessions", ("session", "split"), exps)


def neighbour_matrices() -> Suite:
    exps = (
        check(E.ExpectColumnValuesToBeInSet(column="readable", value_set=[True]), "unreadable"),
        check(E.ExpectColumnValuesToBeInSet(column="square", value_set=[True]), "not square"),
        check(E.ExpectColumnValuesToBeInSet(column="binary", value_set=[True]), "not 0/1"),
        check(
            E.ExpectColumnValuesToBeInSet(column="size_ok", value_set=[True]),
            "size is not 2 x the split's pairs",
        ),
    )
    return Suite("neighbour_matrices", "matrices", ("file", "problem"), exps)


def suites(f: Format, v: ValidateParams, video: bool) -> list[Suite]:
    """The suites of a REACT 2024 drop."""
    return [
        emotion_frames(v),
        clip_files(f, video),
        split_pairs(),
        split_sessions(),
        neighbour_matrices(),
    ]
