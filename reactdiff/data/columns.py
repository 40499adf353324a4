"""What a frame holds in every REACT release, and how an emotion file is read and written.

These facts do not depend on the release (its timing and layout are a format of
:mod:`reactdiff.data.formats`). Every other module takes them from here (models receive them as
constructor arguments, since ``models/`` does not import ``data/``).

Per frame a listener (or speaker) has 58 3DMM coefficients (52 expression, 3 rotation,
3 translation) and a 25-d emotion vector: 15 binary facial action units, valence and arousal in
[-1, 1], and 8 facial-expression probabilities that sum to 1.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import IO

import numpy as np
import pandas as pd

from reactdiff.errors import DataFileError

AU_COLUMNS: tuple[str, ...] = (
    "AU1", "AU2", "AU4", "AU6", "AU7", "AU9", "AU10", "AU12",
    "AU14", "AU15", "AU17", "AU23", "AU24", "AU25", "AU26",
)  # fmt: skip
VA_COLUMNS: tuple[str, ...] = ("Valence", "Arousal")
EXPRESSION_COLUMNS: tuple[str, ...] = (
    "Neutral", "Happy", "Sad", "Surprise", "Fear", "Disgust", "Anger", "Contempt",
)  # fmt: skip
EMOTION_COLUMNS: tuple[str, ...] = (*AU_COLUMNS, *VA_COLUMNS, *EXPRESSION_COLUMNS)
EMOTION_DIM = len(EMOTION_COLUMNS)  # 25
AU_SLICE = slice(0, len(AU_COLUMNS))  # binary 0/1
VA_SLICE = slice(AU_SLICE.stop, AU_SLICE.stop + len(VA_COLUMNS))  # in [-1, 1]
EXPR_SLICE = slice(VA_SLICE.stop, EMOTION_DIM)  # probabilities summing to 1

FACE_3DMM_DIM = 58  # 52 expression + 3 rotation + 3 translation coefficients
FACE_EXPRESSION_DIM = 52
ROTATION_SLICE = slice(FACE_EXPRESSION_DIM, FACE_EXPRESSION_DIM + 3)  # pitch, yaw, roll
TRANSLATION_SLICE = slice(ROTATION_SLICE.stop, FACE_3DMM_DIM)  # x, y, z
POSE_SLICE = slice(ROTATION_SLICE.start, TRANSLATION_SLICE.stop)  # head pose: both of them

# Antagonistic action units (FACS): AU24 presses the lips together while AU25 parts them, and
# AU12 (zygomaticus major) pulls the lip corners up while AU15 (depressor anguli oris) pulls
# them down. A frame with both of a pair on is what the evaluation counts as a conflict.
AU_CONFLICT_PAIRS: tuple[tuple[str, str], ...] = (("AU24", "AU25"), ("AU12", "AU15"))

# How an Emotion CSV's values are written: AUs as integers, VA and probabilities as decimals.
EMOTION_FMT = (
    ["%d"] * len(AU_COLUMNS) + ["%.5f"] * len(VA_COLUMNS) + ["%.6f"] * len(EXPRESSION_COLUMNS)
)


FACE_ACTION_PAIRS_FILE = Path(__file__).with_name("face_action_pairs.json")


def face_action_pairs() -> dict[str, np.ndarray]:
    """Pairs of 3DMM expression coefficients that move together ("symmetric"), co-activate
    ("co_occurring") or exclude each other ("exclusive"): (P, 2) column indices each, from
    ``face_action_pairs.json`` (which says where the lists come from)."""
    raw = json.loads(FACE_ACTION_PAIRS_FILE.read_text())
    pairs = {
        k: np.asarray(raw[k], dtype=np.int64) for k in ("symmetric", "co_occurring", "exclusive")
    }
    for kind, p in pairs.items():
        if p.ndim != 2 or p.shape[1] != 2 or p.min() < 0 or p.max() >= FACE_EXPRESSION_DIM:
            raise DataFileError(
                FACE_ACTION_PAIRS_FILE,
                f"{kind}: expected pairs of expression columns 0..{FACE_EXPRESSION_DIM - 1}",
            )
    return pairs


def read_emotion_table(path: Path) -> pd.DataFrame:
    """The raw emotion CSV as a DataFrame, whatever its columns (validation inspects them).

    A UTF-8 byte-order mark and CRLF line ends (as spreadsheet tools write) read the same as a
    plain file."""
    if not path.is_file():
        raise DataFileError(path, "emotion CSV not found")
    try:
        return pd.read_csv(path, encoding="utf-8-sig")
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
        raise DataFileError(path, f"not a readable CSV: {err}") from None


def check_emotion_columns(df: pd.DataFrame, path: Path) -> pd.DataFrame:
    """Exactly 25 numeric columns, renamed to the canonical names."""
    if df.shape[1] != EMOTION_DIM:
        raise DataFileError(path, f"expected {EMOTION_DIM} columns, found {df.shape[1]}")
    bad = [c for c in df.columns if not pd.api.types.is_numeric_dtype(df[c])]
    if bad:
        raise DataFileError(path, f"non-numeric values in column(s) {bad}")
    return df.set_axis(list(EMOTION_COLUMNS), axis=1)


def read_emotion(path: Path, frames: int | None = None) -> np.ndarray:
    """The first ``frames`` rows (all rows when None) as float32 (frames, 25): an Emotion CSV
    (REACT 2024) or a facial-attributes ``.npy`` (REACT 2025). NaN or a short file is an error."""
    if path.suffix == ".npy":
        values = _emotion_array(path)
    else:
        values = check_emotion_columns(read_emotion_table(path), path).to_numpy(dtype=np.float32)
    if frames is not None and len(values) < frames:
        raise DataFileError(path, f"has {len(values)} rows, need at least {frames}")
    if len(values) == 0:
        raise DataFileError(path, "has no frames")
    values = values[:frames]
    if not np.isfinite(values).all():
        row = int(np.argwhere(~np.isfinite(values))[0, 0])
        where = f"row {row}" if path.suffix == ".npy" else f"line {row + 2}"  # header, 1-based
        raise DataFileError(path, f"non-finite value on {where}")
    return values


def _emotion_array(path: Path) -> np.ndarray:
    from reactdiff.data.readers import load_npy  # readers builds on this module

    arr = load_npy(path)
    if arr.ndim != 2 or arr.shape[1] != EMOTION_DIM:
        raise DataFileError(
            path,
            f"shape {arr.shape}, expected (T, {EMOTION_DIM}): the {EMOTION_DIM} columns "
            f"{EMOTION_COLUMNS[0]}..{EMOTION_COLUMNS[-1]} per frame",
        )
    return arr.astype(np.float32)


def write_emotion(target: Path | IO[str], values: np.ndarray) -> None:
    """An Emotion CSV: the header line, then one row of 25 values per frame."""
    if values.ndim != 2 or values.shape[1] != EMOTION_DIM:
        raise ValueError(f"emotion must be (T, {EMOTION_DIM}), got {values.shape}")
    np.savetxt(
        target,
        values,
        fmt=EMOTION_FMT,
        delimiter=",",
        header=",".join(EMOTION_COLUMNS),
        comments="",
    )
