"""A prediction folder: the reactions of a model to every item of a split, as a challenge entry
hands them in, and what makes one scoreable.

The folder holds, per item (a mirrored sample of the split, in its order), ``<name>.emotion.npy``
(S, T, 25) and ``<name>.3dmm.npy`` (S, T, 58), float, where ``<name>`` is the item's speaker
clip path percent-encoded (:func:`item_stem`: ``urllib.parse.quote(rel, safe="")``, so ``/``
becomes ``%2F``; one file name per clip path, and ``unquote`` gives the path back), plus
``manifest.json`` (where the reactions came from and the item list) and ``submission.zip`` (the
same files, to upload). Reading one checks everything before anything is scored: a folder that
is not exactly the split's items is an error naming the item or file, never a wrong number.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

import numpy as np

from reactdiff.atomic import OUTPUT_MARKER, atomic_dir, save_npy, write_json
from reactdiff.data.columns import EMOTION_DIM, FACE_3DMM_DIM
from reactdiff.data.readers import load_npy
from reactdiff.errors import DataFileError, InputError
from reactdiff.evaluation.predictions import Reactions

MANIFEST = "manifest.json"
ZIP_NAME = "submission.zip"
STREAM_DIMS = {"emotion": EMOTION_DIM, "3dmm": FACE_3DMM_DIM}  # each item's files, in order
# what the manifest must say, besides the item list
REQUIRED_KEYS = ("split", "format", "protocol", "samples", "items")


class SubmissionError(InputError):
    """A prediction folder is not a complete, valid set of reactions to its split; ``name``
    is the folder's file (and item) at fault."""


@dataclass(frozen=True)
class Item:
    """One scored item: its speaker and listener clip paths and its frames (the pair's)."""

    speaker: str
    listener: str
    frames: int


@dataclass(frozen=True)
class Expected:
    """What a folder for a split must be: the split's format, protocol and items in order."""

    split: str
    format: str
    protocol: str
    items: list[Item]


def item_stem(speaker: str) -> str:
    """The file-name stem of an item: its speaker clip path, percent-encoded."""
    return quote(speaker, safe="")


def speaker_of(stem: str) -> str:
    """The speaker clip path an :func:`item_stem` was made from."""
    return unquote(stem)


def item_file(speaker: str, stream: str) -> str:
    return f"{item_stem(speaker)}.{stream}.npy"


def write_submission(
    out: Path, header: dict[str, Any], items: Sequence[Item], reactions: Reactions, owner: str
) -> Path:
    """Write the folder (replaced whole, atomically) and its zip; the zip's path.

    ``header``: the manifest's provenance (split, format, protocol, samples, seed, model, ...);
    ``reactions``: per item (S, T, 25) emotion and (S, T, 58) 3DMM, in ``items``' order.
    """
    if not len(items) == len(reactions.emotion) == len(reactions.face):
        raise ValueError(
            f"{len(items)} items, {len(reactions.emotion)} emotion and {len(reactions.face)} 3DMM "
            "reaction sets: need one of each per item"
        )
    speakers = [item.speaker for item in items]
    if len(set(speakers)) != len(speakers):
        twice = next(s for s in speakers if speakers.count(s) > 1)
        raise SubmissionError(
            twice, "is the speaker of two items: files are named by the speaker clip path"
        )
    manifest = {
        **header,
        "naming": "<speaker clip path, percent-encoded>.<emotion|3dmm>.npy",
        "items": [asdict(item) for item in items],
    }
    with atomic_dir(out, owner) as tmp:
        write_json(tmp / MANIFEST, manifest)
        names = [MANIFEST]
        for item, emotion, face in zip(items, reactions.emotion, reactions.face, strict=True):
            for stream, values in (("emotion", emotion), ("3dmm", face)):
                names.append(item_file(item.speaker, stream))
                save_npy(tmp / names[-1], np.asarray(values))
        with zipfile.ZipFile(tmp / ZIP_NAME, "w", zipfile.ZIP_DEFLATED) as zf:
            for name in names:
                zf.write(tmp / name, name)
    return Path(out) / ZIP_NAME


def read_manifest(folder: Path) -> dict[str, Any]:
    """The folder's manifest, with every required key; else SubmissionError naming it."""
    folder = Path(folder)
    if not folder.is_dir():
        raise SubmissionError(
            str(folder), "not a folder (give the folder `reactdiff predict` wrote)"
        )
    path = folder / MANIFEST
    if not path.is_file():
        raise SubmissionError(str(path), "missing: a prediction folder has its manifest")
    try:
        manifest = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise SubmissionError(str(path), f"not readable JSON: {err}") from None
    if not isinstance(manifest, dict):
        raise SubmissionError(str(path), "not a JSON object")
    if missing := [k for k in REQUIRED_KEYS if k not in manifest]:
        raise SubmissionError(str(path), f"has no {missing}")
    samples = manifest["samples"]
    if isinstance(samples, bool) or not isinstance(samples, int) or samples < 1:
        raise SubmissionError(f"{path}: samples", f"must be a positive integer, got {samples!r}")
    return manifest


def _manifest_items(path: Path, listed: Any) -> list[Item]:
    try:
        return [Item(str(i["speaker"]), str(i["listener"]), int(i["frames"])) for i in listed]
    except (TypeError, KeyError, ValueError) as err:
        raise SubmissionError(
            f"{path}: items", f"each item needs speaker, listener and frames ({err!r})"
        ) from None


def _check_manifest(folder: Path, manifest: dict[str, Any], expected: Expected) -> None:
    path = folder / MANIFEST
    for key in ("split", "format", "protocol"):
        if manifest[key] != getattr(expected, key):
            raise SubmissionError(
                f"{path}: {key}",
                f"the predictions are for {key} {manifest[key]!r}, scored here as "
                f"{getattr(expected, key)!r}",
            )
    items = _manifest_items(path, manifest["items"])
    for k, (got, want) in enumerate(zip(items, expected.items, strict=False)):
        if got != want:
            raise SubmissionError(
                f"{path}: item {k}",
                f"lists {got}, the {expected.split} split's item {k} is {want}: the items must "
                "be the split's, in its mirrored sample order",
            )
    if len(items) != len(expected.items):
        raise SubmissionError(
            f"{path}: items",
            f"lists {len(items)} items, the {expected.split} split has {len(expected.items)}",
        )


def _check_files(folder: Path, expected: Expected) -> None:
    allowed = {MANIFEST, ZIP_NAME, OUTPUT_MARKER}
    for k, item in enumerate(expected.items):
        for stream in STREAM_DIMS:
            name = item_file(item.speaker, stream)
            if not (folder / name).is_file():
                raise SubmissionError(
                    f"{folder / name}", f"missing: the {stream} of item {k} ({item.speaker})"
                )
            allowed.add(name)
    if extra := sorted(p.name for p in folder.iterdir() if p.name not in allowed):
        raise SubmissionError(
            f"{folder / extra[0]}",
            f"not a file of this submission ({len(extra)} unknown in all): a folder holds "
            f"{MANIFEST}, {ZIP_NAME} and <item>.emotion.npy / <item>.3dmm.npy per item",
        )


def _reaction(path: Path, k: int, item: Item, stream: str, samples: int) -> np.ndarray:
    where = f"{path} (item {k}: {item.speaker})"
    try:
        values = load_npy(path)
    except DataFileError as err:
        raise SubmissionError(where, err.problem) from None
    if values.dtype.kind != "f":
        raise SubmissionError(where, f"holds {values.dtype} values, expected floats")
    shape = (samples, item.frames, STREAM_DIMS[stream])
    if values.shape != shape:
        raise SubmissionError(where, f"shape {values.shape}, expected (S, T, D) = {shape}")
    if not np.isfinite(values).all():
        bad = int((~np.isfinite(values)).sum())
        raise SubmissionError(where, f"{bad} NaN or infinite values")
    return values


def read_submission(folder: Path, expected: Expected) -> tuple[dict[str, Any], Reactions]:
    """The manifest and the per-item reactions of a folder made for ``expected``; a folder that
    is not exactly that (another split, format or protocol, other items, a missing or unknown
    file, a wrong shape or dtype, NaN or inf) is a SubmissionError naming the item or file."""
    folder = Path(folder)
    manifest = read_manifest(folder)
    _check_manifest(folder, manifest, expected)
    _check_files(folder, expected)
    emotions, faces = [], []
    for k, item in enumerate(expected.items):
        for stream, out in (("emotion", emotions), ("3dmm", faces)):
            path = folder / item_file(item.speaker, stream)
            out.append(_reaction(path, k, item, stream, manifest["samples"]))
    return manifest, Reactions(emotions, faces)
