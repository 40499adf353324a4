"""The REACT 2025 (MARS) checks: a drop's tables and the suites over them.

MARS has no split CSVs and no appropriateness matrices: a split is the tree
``<split>/<modality>/{speaker,listener}/session<k>/<clip>.<ext>`` (``reactdiff.data.formats.react2025``),
and clips have their own lengths, fixed by their facial-attributes file. So the tables are:

- frames: every row of every facial-attributes ``.npy`` (by file and 0-based row);
- files: every file of every clip, with ``frame_diff``, its length minus the clip's
  facial-attributes rows (audio: its duration in frames at the format's fps). Coefficients,
  face-crop videos and audio features must match exactly; audio within
  ``audio_slack_frames`` either way: the format allows its end to miss that many frames, and
  as many extra frames are as harmless (they are cut off), so one symmetric bound is used;
- pairs: one row per (session, clip) of a split, its speaker and listener files (a missing
  partner is named), their lengths compared; and one row per name under facial-attributes that
  is not a clip path (another role folder, a folder not ``session<k>``, a non-npy file): such
  files are listed, never opened;
- recordings: one row per clip name with the splits it appears in.

Why recordings and not sessions: in MARS ``session0..session22`` are topics (the pre-defined
sentences the speaker says) that every dyad records, so every split holds every session and
"a session in one split only", the REACT 2024 leakage check, cannot hold. The challenge splits
subject-independently instead; what this tree can show of that is the recording: a clip name
(the camera recording, shared by the speaker's and the listener's file) must be in one split
only. Evaluation draws a speaker's ground truths from the other listeners of its session, so a
val/test session with a single speaker clip is a warning (its only ground truth is its own
listener), not a failure.

Optional modalities (``video-face-crop``, ``video-raw``, ``audio-features``) are checked in a
split that has their folder, every clip of that split then needing its file; ``video-raw`` is
read by nothing in the pipeline, so it only has to open as a video.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd

from reactdiff.config import ValidateParams
from reactdiff.data.columns import EMOTION_COLUMNS, EMOTION_DIM, EXPR_SLICE, FACE_3DMM_DIM
from reactdiff.data.formats import Format, clip_rel_problem
from reactdiff.data.formats.react2025 import (
    INDEX_STREAM,
    MARS_ROLES,
    MODALITY_DIRS,
    MODALITY_EXT,
    REACT2025,
    MarsLayout,
    partner,
)
from reactdiff.data.readers import count_video_frames, load_npy, read_audio
from reactdiff.data.splits import SPLITS
from reactdiff.errors import DataFileError
from reactdiff.validation.suites import E, Suite, check, emotion_values, stream_condition
from reactdiff.validation.tables import FILE_COLUMNS, DropTables, file_row, unreadable_row

FMT = REACT2025
MARS_CLIP_PATH = f"<role>/session<k>/<clip>{MODALITY_EXT[INDEX_STREAM]}, role speaker or listener"
REQUIRED = ("3dmm", "audio")  # besides facial-attributes, which finds the clips
OPTIONAL = ("video", "video_raw", "audio_features")  # checked where their folder is
MARS_FILE_COLUMNS = [*FILE_COLUMNS, "frame_diff"]
FRAME_COLUMNS = ["file", "row", *EMOTION_COLUMNS, "prob_sum", "finite"]
PAIR_COLUMNS = [
    "file",
    "problem",
    "split",
    "speaker",
    "listener",
    "path_ok",
    "partner_ok",
    "lengths_equal",
]
RECORDING_COLUMNS = ["recording", "files", "splits", "n_splits"]

ClipResult = tuple[list[dict], pd.DataFrame | None, int | None]  # rows, frames, T
Lengths = dict[tuple[str, str], int | None]  # (split, rel) -> the clip's T, when read


def _diff(frames: float | None, clip_frames: int | None) -> float | None:
    if frames is None or clip_frames is None:
        return None
    return round(frames - clip_frames, 2)


def _emotion(path: Path, split: str) -> tuple[dict, pd.DataFrame | None, int | None]:
    """The facial-attributes row, its frame table (when it is (T, 25)) and T (when 2-D)."""
    try:
        arr = load_npy(path)
    except DataFileError as err:
        return unreadable_row(path, "emotion", split, err), None, None
    two_d = arr.ndim == 2
    row = file_row(
        path,
        "emotion",
        split,
        frames=arr.shape[0] if arr.ndim else 0,
        dims=arr.shape[-1] if arr.ndim else 0,
        shape_ok=two_d,
    )
    if not (two_d and arr.shape[1] == len(EMOTION_COLUMNS)):
        return row, None, arr.shape[0] if two_d else None
    return row, _frame_table(path, arr), arr.shape[0]


def _frame_table(path: Path, arr: np.ndarray) -> pd.DataFrame:
    """One row per frame; rows numbered from 0 as in the array (``arr[row]``)."""
    df = pd.DataFrame(arr.astype(np.float32), columns=list(EMOTION_COLUMNS))
    df.insert(0, "row", np.arange(len(arr)))
    df.insert(0, "file", str(path))
    df["prob_sum"] = arr[:, EXPR_SLICE].astype(np.float64).sum(axis=1)
    df["finite"] = np.isfinite(arr).all(axis=1)
    return df


def _array(path: Path, stream: str, split: str, clip_frames: int | None) -> dict:
    """Coefficients ((T, 58) or (T, 1, 58)) or audio features ((T, dim)): per-frame arrays."""
    try:
        arr = load_npy(path)
    except DataFileError as err:
        return unreadable_row(path, stream, split, err)
    frames = arr.shape[0] if arr.ndim else 0
    squeezable = stream == "3dmm" and arr.ndim == 3 and arr.shape[1] == 1
    return file_row(
        path,
        stream,
        split,
        frames=frames,
        dims=arr.shape[-1] if arr.ndim else 0,
        shape_ok=arr.ndim == 2 or squeezable,
        finite=bool(np.isfinite(arr).all()),
        frame_diff=_diff(frames, clip_frames),
    )


def _audio(path: Path, split: str, clip_frames: int | None) -> dict:
    try:
        wav, rate = read_audio(path)
    except DataFileError as err:
        return unreadable_row(path, "audio", split, err)
    seconds = len(wav) / rate
    return file_row(
        path,
        "audio",
        split,
        seconds=seconds,
        finite=bool(np.isfinite(wav).all()),
        frame_diff=_diff(seconds * FMT.fps, clip_frames),
    )


def _video(path: Path, stream: str, split: str, clip_frames: int | None) -> dict:
    try:
        frames = count_video_frames(path)
    except DataFileError as err:
        return unreadable_row(path, stream, split, err)
    diff = _diff(frames, clip_frames) if stream == "video" else None  # video-raw: opens
    return file_row(path, stream, split, frames=frames, frame_diff=diff)


def _clip(layout: MarsLayout, split: str, rel: str, streams: tuple[str, ...]) -> ClipResult:
    """Every file of one clip; T, its frame count, is the facial-attributes rows."""
    row, frames, t = _emotion(layout.clip_path(split, rel, "emotion"), split)
    rows = [row]
    for stream in streams:
        path = layout.clip_path(split, rel, stream)
        if stream in ("3dmm", "audio_features"):
            rows.append(_array(path, stream, split, t))
        elif stream == "audio":
            rows.append(_audio(path, split, t))
        elif stream in ("video", "video_raw"):
            rows.append(_video(path, stream, split, t))
    return rows, frames, t


def _index_dir(layout: MarsLayout, split: str) -> Path:
    return layout.root / split / MODALITY_DIRS[INDEX_STREAM]


def _shown(path: Path) -> str:
    """A path as a report line can hold it: quoted when its name has odd characters."""
    text = str(path)
    return text if text.isprintable() else repr(text)


def _stray_problem(parts: tuple[str, ...]) -> str:
    """Why a file under facial-attributes is not ``<role>/session<k>/<clip>.npy``."""
    ext = MODALITY_EXT[INDEX_STREAM]
    if len(parts) != 3:
        return f"not at <role>/session<k>/<clip>{ext} ({len(parts) - 1} folder(s) deep)"
    problem = clip_rel_problem("/".join(parts))
    if problem is not None:
        return f"not a clip path: {problem}"
    return f"not a {ext} file"


def _stray_rows(layout: MarsLayout, split: str, clips: set[str]) -> list[dict]:
    """Pair-table rows of the files under facial-attributes that are not clips (hidden files
    and folders, which the layout skips too, are left out); none of them is opened."""
    base, ext = _index_dir(layout, split), MODALITY_EXT[INDEX_STREAM]
    rows = []
    for folder, dirs, files in os.walk(base):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(f for f in files if not f.startswith(".")):
            parts = Path(folder, name).relative_to(base).parts
            rel = "/".join(parts).removesuffix(ext)
            if name.endswith(ext) and rel in clips:
                continue
            rows.append(
                _pair_row(Path(folder, name), split, path_ok=False, problem=_stray_problem(parts))
            )
    return rows


def _pair_row(path: Path, split: str, **values) -> dict:
    """A pair-table row for ``path``: PAIR_COLUMNS (None where not checked) + ``values``."""
    row = dict.fromkeys(PAIR_COLUMNS)
    row.update(file=_shown(path), split=split, problem="", speaker="", listener="")
    row.update(values)
    return row


def _pair_rows(layout: MarsLayout, split: str, clips: list[str], lengths: Lengths) -> list[dict]:
    """One row per (session, clip) of the split, speaker role first: the missing partner
    named, or the lengths of both files compared (when both were read)."""
    present, rows = set(clips), []
    for rel in clips:
        other = partner(rel)
        path = layout.clip_path(split, rel, INDEX_STREAM)
        if other not in present:
            missing = layout.clip_path(split, other, INDEX_STREAM)
            rows.append(
                _pair_row(missing, split, problem=f"the partner of {path}", partner_ok=False)
            )
            continue
        if not rel.startswith(f"{MARS_ROLES[0]}/"):
            continue  # the pair's row is its speaker's
        rows.append(
            _pair_row(
                path,
                split,
                speaker=rel,
                listener=other,
                path_ok=True,
                partner_ok=True,
                **_lengths(layout, split, rel, other, lengths),
            )
        )
    return rows


def _lengths(layout: MarsLayout, split: str, speaker: str, listener: str, lengths: Lengths) -> dict:
    """``lengths_equal`` (None when a side was not read) and, when unequal, both files."""
    ts, tl = lengths.get((split, speaker)), lengths.get((split, listener))
    if ts is None or tl is None:
        return {}
    if ts == tl:
        return {"lengths_equal": True}
    other = layout.clip_path(split, listener, INDEX_STREAM)
    return {"lengths_equal": False, "problem": f"{ts} frames; {other}: {tl} frames"}


def _recording_rows(layout: MarsLayout, clips: dict[str, list[str]]) -> list[dict]:
    """One row per clip name: the splits it is in and one facial-attributes file in each."""
    seen: dict[str, dict[str, Path]] = {}
    for split, rels in clips.items():
        for rel in rels:
            name = rel.rsplit("/", 1)[1]
            seen.setdefault(name, {}).setdefault(split, layout.clip_path(split, rel, INDEX_STREAM))
    return [
        {
            "recording": name,
            "files": ", ".join(map(_shown, where.values())),
            "splits": ", ".join(where),
            "n_splits": len(where),
        }
        for name, where in seen.items()
    ]


def _session_warnings(layout: MarsLayout, split: str, clips: list[str]) -> list[str]:
    """Val/test sessions with one speaker clip: its only ground truth is its own listener."""
    if split == "train":
        return []
    speakers: dict[str, list[str]] = {}
    for rel in clips:
        if rel.startswith(f"{MARS_ROLES[0]}/"):
            speakers.setdefault(layout.session(rel), []).append(rel)
    return [
        f"{layout.clip_path(split, rels[0], INDEX_STREAM)}: the only speaker clip of {split} "
        f"{session}: no other listener of the session to draw its ground truths from"
        for session, rels in speakers.items()
        if len(rels) == 1
    ]


def _streams(layout: MarsLayout) -> tuple[dict[str, tuple[str, ...]], list[str]]:
    """The streams checked per split (required + optional ones whose folder the split has),
    and warnings for what is skipped where."""
    present = {
        s: {split for split in SPLITS if (layout.root / split / MODALITY_DIRS[s]).is_dir()}
        for s in OPTIONAL
    }
    warnings = []
    for stream, splits in present.items():
        missing = [s for s in SPLITS if s not in splits]
        if stream == "video" and not splits:
            warnings.append(f"no {MODALITY_DIRS[stream]} folder in any split: video checks skipped")
        elif splits and missing:
            warnings.append(
                f"no {MODALITY_DIRS[stream]} folder in {', '.join(missing)}: "
                f"{MODALITY_DIRS[stream]} checked only in {', '.join(s for s in SPLITS if s in splits)}"
            )
    streams = {
        split: (*REQUIRED, *(s for s in OPTIONAL if split in present[s])) for split in SPLITS
    }
    return streams, warnings


def _split_clips(layout: MarsLayout, split: str) -> tuple[list[str], list[dict]]:
    """The split's clip rel paths (both roles) and, when it has no speaker clip at all, the
    file-table row that fails it."""
    clips = [r for r in layout.index_files(split) if clip_rel_problem(r) is None]
    if any(r.startswith(f"{MARS_ROLES[0]}/") for r in clips):
        return clips, []
    err = DataFileError(
        _index_dir(layout, split),
        f"no {MARS_ROLES[0]}/session<k>/<clip>{MODALITY_EXT[INDEX_STREAM]} files: "
        "not a REACT 2025 split",
    )
    return clips, [unreadable_row(err.path, "split", split, err)]


def build_tables(
    layout: MarsLayout, splits: tuple[str, ...] = SPLITS, workers: int = 4, progress: bool = True
) -> DropTables:
    """Read every file of the selected splits once (in threads) and tabulate what the MARS
    suites check; the tree-level checks (pairs, strays, recordings) cover every split."""
    from tqdm import tqdm

    streams, warnings = _streams(layout)
    clips, file_rows, jobs = {}, [], []
    for split in SPLITS:
        clips[split], rows = _split_clips(layout, split)
        file_rows += rows
        warnings += _session_warnings(layout, split, clips[split])
        if split in splits:
            jobs += [(split, rel) for rel in clips[split]]
    frame_tables: list[pd.DataFrame] = []
    lengths: Lengths = {}
    with ThreadPoolExecutor(max_workers=workers) as pool:
        results = pool.map(lambda j: _clip(layout, j[0], j[1], streams[j[0]]), jobs)
        for job, (rows, frames, t) in tqdm(
            zip(jobs, results, strict=True),
            total=len(jobs),
            desc="reading clips",
            unit="clip",
            disable=not progress,
        ):
            file_rows += rows
            lengths[job] = t
            if frames is not None:
                frame_tables.append(frames)
    pair_rows = []
    for split in SPLITS:
        pair_rows += _pair_rows(layout, split, clips[split], lengths)
        pair_rows += _stray_rows(layout, split, set(clips[split]))
    return DropTables(
        frames=(
            pd.concat(frame_tables, ignore_index=True)
            if frame_tables
            else pd.DataFrame(columns=FRAME_COLUMNS)
        ),
        files=pd.DataFrame(file_rows, columns=MARS_FILE_COLUMNS),
        pairs=pd.DataFrame(pair_rows, columns=PAIR_COLUMNS),
        sessions=pd.DataFrame(columns=["session", "split"]),
        matrices=pd.DataFrame(columns=["file", "split"]),
        video_checked=any("video" in streams[s] for s in SPLITS),
        warnings=warnings,
        recordings=pd.DataFrame(_recording_rows(layout, clips), columns=RECORDING_COLUMNS),
    )


def mars_emotion_frames(v: ValidateParams) -> Suite:
    """Every facial-attributes row: its 25 values finite (an array's gaps are NaN, which the
    range checks skip), then in range."""
    finite = check(
        E.ExpectColumnValuesToBeInSet(column="finite", value_set=[True]),
        "non-finite value (NaN/inf) in the row",
    )
    return Suite("emotion_frames", "frames", ("file", "row"), (finite, *emotion_values(v)))


def _in_set(column: str, values: list, stream: str, text: str):
    return check(
        E.ExpectColumnValuesToBeInSet(column=column, value_set=values, **stream_condition(stream)),
        text,
    )


def _frame_diff(stream: str, slack: float, text: str):
    """The file's length minus its clip's facial-attributes rows, within +- ``slack``."""
    return check(
        E.ExpectColumnValuesToBeBetween(
            column="frame_diff", min_value=-slack, max_value=slack, **stream_condition(stream)
        ),
        text,
    )


def mars_clip_files(f: Format, video: bool) -> Suite:
    """Each file of a clip against the clip's length T (its facial-attributes rows); the
    reported value of a length check is the file's frames minus T."""
    emotion, face, audio = (MODALITY_DIRS[s] for s in ("emotion", "3dmm", "audio"))
    features, crops = MODALITY_DIRS["audio_features"], MODALITY_DIRS["video"]
    slack = f.audio_slack_frames
    exps = [
        check(E.ExpectColumnValuesToBeInSet(column="readable", value_set=[True]), "unreadable"),
        _in_set("shape_ok", [True], "emotion", f"{emotion} is not a 2-D (T, {EMOTION_DIM}) array"),
        _in_set("dims", [EMOTION_DIM], "emotion", f"{emotion} does not have {EMOTION_DIM} columns"),
        check(
            E.ExpectColumnValuesToBeBetween(
                column="frames", min_value=1, **stream_condition("emotion")
            ),
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
        check(
            E.ExpectColumnValuesToBeInSet(column="path_ok", value_set=[True]),
            f"not a clip file ({MARS_CLIP_PATH}); not read",
        ),
        check(
            E.ExpectColumnValuesToBeInSet(column="partner_ok", value_set=[True]),
            "missing: every clip has a speaker and a listener file of the same name",
        ),
        check(
            E.ExpectColumnValuesToBeInSet(column="lengths_equal", value_set=[True]),
            "speaker and listener have different lengths",
        ),
    )
    return Suite("clip_pairs", "pairs", ("file", "problem"), exps)


def mars_recordings() -> Suite:
    """Subject-independent splits, as far as names show: a recording in one split only."""
    exps = (
        check(
            E.ExpectColumnValuesToBeBetween(column="n_splits", min_value=1, max_value=1),
            "the same recording in more than one split",
        ),
    )
    return Suite("split_recordings", "recordings", ("recording", "files"), exps)


def suites(f: Format, v: ValidateParams, video: bool) -> list[Suite]:
    """The suites of a REACT 2025 drop: no split CSVs and no matrices, and its clips are
    checked against their own lengths."""
    return [mars_emotion_frames(v), mars_clip_files(f, video), mars_pairs(), mars_recordings()]
