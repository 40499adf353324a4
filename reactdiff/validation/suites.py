"""The expectation suites, one per table, each expectation with a plain-words ``check``.

Bounds come from the data format (``reactdiff.data.format``) and the ``validate`` params.
"""

from __future__ import annotations

from dataclasses import dataclass

import great_expectations as gx

from reactdiff.config import ValidateParams
from reactdiff.data.format import (
    AU_SLICE,
    EMOTION_COLUMNS,
    EMOTION_DIM,
    EXPR_SLICE,
    FACE_3DMM_DIM,
    VA_SLICE,
    ReactFormat,
)
from reactdiff.data.layout import CLIP_PATH_SHAPES

E = gx.expectations


@dataclass(frozen=True)
class Suite:
    name: str
    table: str  # attribute of DropTables
    index_columns: tuple[str, ...]  # what a failure is reported by
    expectations: tuple


def _check(exp, text: str):
    exp.meta = {"check": text}
    return exp


def _stream(stream: str) -> dict:
    return {"row_condition": f'stream=="{stream}"', "condition_parser": "pandas"}


def emotion_frames(v: ValidateParams) -> Suite:
    exps = [
        _check(E.ExpectColumnValuesToNotBeNull(column=c), f"{c} is missing (NaN/empty)")
        for c in EMOTION_COLUMNS
    ]
    exps += [
        _check(E.ExpectColumnValuesToBeInSet(column=c, value_set=[0, 1]), f"{c} is not 0/1")
        for c in EMOTION_COLUMNS[AU_SLICE]
    ]
    exps += [
        _check(
            E.ExpectColumnValuesToBeBetween(column=c, min_value=-1, max_value=1),
            f"{c} outside [-1, 1]",
        )
        for c in EMOTION_COLUMNS[VA_SLICE]
    ]
    exps += [
        _check(
            E.ExpectColumnValuesToBeBetween(column=c, min_value=0, max_value=1),
            f"{c} probability outside [0, 1]",
        )
        for c in EMOTION_COLUMNS[EXPR_SLICE]
    ]
    tol = v.prob_sum_tolerance
    exps.append(
        _check(
            E.ExpectColumnValuesToBeBetween(
                column="prob_sum", min_value=1 - tol, max_value=1 + tol
            ),
            f"expression probabilities do not sum to 1 +- {tol:g}",
        )
    )
    return Suite("emotion_frames", "frames", ("file", "line"), tuple(exps))


def clip_files(f: ReactFormat, video: bool) -> Suite:
    n = f.clip_frames
    exps = [
        _check(E.ExpectColumnValuesToBeInSet(column="readable", value_set=[True]), "unreadable"),
        _check(
            E.ExpectColumnValuesToBeBetween(
                column="frames", min_value=n, max_value=n, **_stream("emotion")
            ),
            f"emotion rows != {n}",
        ),
        _check(
            E.ExpectColumnValuesToBeInSet(
                column="dims", value_set=[EMOTION_DIM], **_stream("emotion")
            ),
            f"emotion CSV does not have {EMOTION_DIM} columns",
        ),
        _check(
            E.ExpectColumnValuesToBeInSet(column="shape_ok", value_set=[True], **_stream("3dmm")),
            f"3DMM shape is neither (T, {FACE_3DMM_DIM}) nor (T, 1, {FACE_3DMM_DIM})",
        ),
        _check(
            E.ExpectColumnValuesToBeBetween(
                column="frames", min_value=n, max_value=n, **_stream("3dmm")
            ),
            f"3DMM frames != {n}",
        ),
        _check(
            E.ExpectColumnValuesToBeInSet(
                column="dims", value_set=[FACE_3DMM_DIM], **_stream("3dmm")
            ),
            f"3DMM does not have {FACE_3DMM_DIM} coefficients",
        ),
        _check(
            E.ExpectColumnValuesToBeInSet(column="finite", value_set=[True], **_stream("3dmm")),
            "3DMM has NaN/inf values",
        ),
        _check(
            E.ExpectColumnValuesToBeBetween(
                column="seconds", min_value=f.min_audio_seconds, **_stream("audio")
            ),
            f"audio shorter than {f.min_audio_seconds:g} s",
        ),
        _check(
            E.ExpectColumnValuesToBeInSet(column="finite", value_set=[True], **_stream("audio")),
            "audio has NaN/inf samples",
        ),
    ]
    if video:
        exps.append(
            _check(
                E.ExpectColumnValuesToBeBetween(column="frames", min_value=n, **_stream("video")),
                f"video has fewer than {n} frames",
            )
        )
    return Suite("clip_files", "files", ("file", "problem"), tuple(exps))


def split_pairs() -> Suite:
    exps = (
        _check(
            E.ExpectColumnValuesToBeInSet(column="path_ok", value_set=[True]),
            f"not a REACT clip path ({CLIP_PATH_SHAPES}); the row's files were not opened",
        ),
        _check(
            E.ExpectColumnValuesToBeInSet(column="counterpart_ok", value_set=[True]),
            "speaker and listener are not the two sides of one session's clip",
        ),
    )
    return Suite("split_pairs", "pairs", ("file", "problem", "speaker", "listener"), exps)


def split_sessions() -> Suite:
    exps = (_check(E.ExpectColumnValuesToBeUnique(column="session"), "session in two splits"),)
    return Suite("split_sessions", "sessions", ("session", "split"), exps)


def neighbour_matrices() -> Suite:
    exps = (
        _check(E.ExpectColumnValuesToBeInSet(column="readable", value_set=[True]), "unreadable"),
        _check(E.ExpectColumnValuesToBeInSet(column="square", value_set=[True]), "not square"),
        _check(E.ExpectColumnValuesToBeInSet(column="binary", value_set=[True]), "not 0/1"),
        _check(
            E.ExpectColumnValuesToBeInSet(column="size_ok", value_set=[True]),
            "size is not 2 x the split's pairs",
        ),
    )
    return Suite("neighbour_matrices", "matrices", ("file", "problem"), exps)


def all_suites(f: ReactFormat, v: ValidateParams, video: bool) -> list[Suite]:
    return [
        emotion_frames(v),
        clip_files(f, video),
        split_pairs(),
        split_sessions(),
        neighbour_matrices(),
    ]
