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
    REACT2025,
    VA_SLICE,
    ReactFormat,
)
from reactdiff.data.layout import CLIP_PATH_SHAPES
from reactdiff.data.mars import INDEX_STREAM, MODALITY_DIRS, MODALITY_EXT

MARS_CLIP_PATH = f"<role>/session<k>/<clip>{MODALITY_EXT[INDEX_STREAM]}, role speaker or listener"

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
    exps += _emotion_values(v)
    return Suite("emotion_frames", "frames", ("file", "line"), tuple(exps))


def _emotion_values(v: ValidateParams) -> list:
    """The ranges of a frame's 25 values (GX skips nulls here: each format checks those)."""
    exps = [
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
    return exps


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


def mars_emotion_frames(v: ValidateParams) -> Suite:
    """Every facial-attributes row: its 25 values finite (an array's gaps are NaN, which the
    range checks skip), then in range."""
    finite = _check(
        E.ExpectColumnValuesToBeInSet(column="finite", value_set=[True]),
        "non-finite value (NaN/inf) in the row",
    )
    return Suite("emotion_frames", "frames", ("file", "row"), (finite, *_emotion_values(v)))


def _in_set(column: str, values: list, stream: str, text: str):
    return _check(
        E.ExpectColumnValuesToBeInSet(column=column, value_set=values, **_stream(stream)), text
    )


def _frame_diff(stream: str, slack: float, text: str):
    """The file's length minus its clip's facial-attributes rows, within +- ``slack``."""
    return _check(
        E.ExpectColumnValuesToBeBetween(
            column="frame_diff", min_value=-slack, max_value=slack, **_stream(stream)
        ),
        text,
    )


def mars_clip_files(f: ReactFormat, video: bool) -> Suite:
    """Each file of a clip against the clip's length T (its facial-attributes rows); the
    reported value of a length check is the file's frames minus T."""
    emotion, face, audio = (MODALITY_DIRS[s] for s in ("emotion", "3dmm", "audio"))
    features, crops = MODALITY_DIRS["audio_features"], MODALITY_DIRS["video"]
    slack = f.audio_slack_frames
    exps = [
        _check(E.ExpectColumnValuesToBeInSet(column="readable", value_set=[True]), "unreadable"),
        _in_set("shape_ok", [True], "emotion", f"{emotion} is not a 2-D (T, {EMOTION_DIM}) array"),
        _in_set("dims", [EMOTION_DIM], "emotion", f"{emotion} does not have {EMOTION_DIM} columns"),
        _check(
            E.ExpectColumnValuesToBeBetween(column="frames", min_value=1, **_stream("emotion")),
            f"{emotion} has no frames",
        ),
        _in_set(
            "shape_ok",
            [True],
            "3dmm",
            f"{face} shape is neither (T, {FACE_3DMM_DIM}) nor (T, 1, {FACE_3DMM_DIM})",
        ),
        _in_set("dims", [FACE_3DMM_DIM], "3dmm", f"{face} does not have {FACE_3DMM_DIM} values"),
        _in_set("finite", [True], "3dmm", f"{face} has NaN/inf values"),
        _frame_diff("3dmm", 0, f"{face} frames != the clip's {emotion} frames"),
        _in_set("finite", [True], "audio", f"{audio} has NaN/inf samples"),
        _frame_diff(  # symmetric: why, in mars_tables
            "audio",
            slack,
            f"{audio} length differs from the clip's {emotion} frames by more than {slack} "
            f"frames (at {f.fps} fps)",
        ),
        _in_set("shape_ok", [True], "audio_features", f"{features} is not a 2-D (T, dim) array"),
        _in_set("finite", [True], "audio_features", f"{features} has NaN/inf values"),
        _frame_diff("audio_features", 0, f"{features} frames != the clip's {emotion} frames"),
    ]
    if video:
        exps.append(_frame_diff("video", 0, f"{crops} frames != the clip's {emotion} frames"))
    return Suite("clip_files", "files", ("file", "problem"), tuple(exps))


def mars_pairs() -> Suite:
    """The tree: clip paths only, every clip with its partner, both of one length."""
    exps = (
        _check(
            E.ExpectColumnValuesToBeInSet(column="path_ok", value_set=[True]),
            f"not a clip file ({MARS_CLIP_PATH}); not read",
        ),
        _check(
            E.ExpectColumnValuesToBeInSet(column="partner_ok", value_set=[True]),
            "missing: every clip has a speaker and a listener file of the same name",
        ),
        _check(
            E.ExpectColumnValuesToBeInSet(column="lengths_equal", value_set=[True]),
            "speaker and listener have different lengths",
        ),
    )
    return Suite("clip_pairs", "pairs", ("file", "problem"), exps)


def mars_recordings() -> Suite:
    """Subject-independent splits, as far as names show: a recording in one split only."""
    exps = (
        _check(
            E.ExpectColumnValuesToBeBetween(column="n_splits", min_value=1, max_value=1),
            "the same recording in more than one split",
        ),
    )
    return Suite("split_recordings", "recordings", ("recording", "files"), exps)


def all_suites(f: ReactFormat, v: ValidateParams, video: bool) -> list[Suite]:
    """The suites of a drop in format ``f``: a REACT 2025 (MARS) drop has no split CSVs and
    no matrices, and its clips are checked against their own lengths."""
    if f.name == REACT2025.name:
        return [mars_emotion_frames(v), mars_clip_files(f, video), mars_pairs(), mars_recordings()]
    return [
        emotion_frames(v),
        clip_files(f, video),
        split_pairs(),
        split_sessions(),
        neighbour_matrices(),
    ]
