"""The feature store: one ``.npy`` per (split, stream, clip) plus ``manifest.json``.

Layout: ``<root>/<split>/<stream>/<rel>.npy`` where ``rel`` is the clip's REACT path (also for
emotion, not the P1/P2 name of its CSV). The manifest lists, per array, its shape, dtype, the
sha256 of its bytes, its file size and the hash of the inputs and params that produced it; the
extraction stage skips an array whose recorded input hash still matches. Arrays and the
manifest are written atomically, so readers never see a half-written file.

The manifest holds nothing machine- or path-specific (keys and ``rel`` are relative to the
store and the layout roots) and is written in a fixed order (arrays sorted by key, streams in
the canonical stream order), so the same inputs give the same bytes however the extraction's
workers interleaved.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from reactdiff.atomic import save_npy, write_json
from reactdiff.config import FEATURE_STREAMS
from reactdiff.errors import DataFileError

MANIFEST = "manifest.json"


def array_key(split: str, stream: str, rel: str) -> str:
    """The manifest key of an array: its path under the store root, without ``.npy``."""
    return f"{split}/{stream}/{rel}"


def array_sha256(array: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(array).data).hexdigest()


@dataclass(frozen=True)
class Entry:
    split: str
    rel: str
    stream: str
    shape: tuple[int, ...]
    dtype: str
    sha256: str
    bytes: int
    inputs: str  # hash of the inputs + params that produced the array

    @property
    def key(self) -> str:
        return array_key(self.split, self.stream, self.rel)


@dataclass
class Manifest:
    dims: dict[str, int] = field(default_factory=dict)  # feature dim of each stream
    entries: dict[str, Entry] = field(default_factory=dict)

    def add(self, entry: Entry) -> None:
        self.entries[entry.key] = entry

    def to_json(self) -> dict:
        """The manifest as written: the same contents always give the same bytes."""
        return {
            "streams": {s: self.dims[s] for s in sorted(self.dims, key=_stream_order)},
            "arrays": {
                k: {**asdict(e), "shape": list(e.shape)} for k, e in sorted(self.entries.items())
            },
        }


def _stream_order(stream: str) -> tuple[int, str]:
    """Canonical streams first, in their configured order, then any other name sorted."""
    known = stream in FEATURE_STREAMS
    return (FEATURE_STREAMS.index(stream) if known else len(FEATURE_STREAMS), stream)


class FeatureStore:
    """Reads and writes the arrays and the manifest under ``root``."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)
        self.manifest_path = self.root / MANIFEST

    def array_path(self, split: str, stream: str, rel: str) -> Path:
        return self.root / f"{array_key(split, stream, rel)}.npy"

    def load_manifest(self, missing_ok: bool = True) -> Manifest:
        """The manifest, or an empty one for a new store when ``missing_ok``."""
        path = self.manifest_path
        if not path.is_file():
            if missing_ok:
                return Manifest()
            raise DataFileError(path, "feature manifest not found (run `reactdiff features`)")
        try:
            raw = json.loads(path.read_text())
            entries = [Entry(**{**e, "shape": tuple(e["shape"])}) for e in raw["arrays"].values()]
            return Manifest(dict(raw["streams"]), {e.key: e for e in entries})
        except (json.JSONDecodeError, KeyError, TypeError, AttributeError) as err:
            raise DataFileError(path, f"not a feature manifest: {err!r}") from None

    def save_manifest(self, manifest: Manifest) -> None:
        write_json(self.manifest_path, manifest.to_json())

    def write(self, split: str, stream: str, rel: str, array: np.ndarray, inputs: str) -> Entry:
        """Store one array atomically and return its manifest entry."""
        path = self.array_path(split, stream, rel)
        save_npy(path, array)
        return Entry(
            split=split,
            rel=rel,
            stream=stream,
            shape=tuple(array.shape),
            dtype=str(array.dtype),
            sha256=array_sha256(array),
            bytes=path.stat().st_size,
            inputs=inputs,
        )

    def is_current(self, entry: Entry | None, inputs: str) -> bool:
        """The array was made from these inputs and its file is still the one written."""
        if entry is None or entry.inputs != inputs:
            return False
        path = self.array_path(entry.split, entry.stream, entry.rel)
        return path.is_file() and path.stat().st_size == entry.bytes

    def open(self, split: str, rel: str, stream: str) -> np.ndarray:
        """One array, memory-mapped read-only."""
        path = self.array_path(split, stream, rel)
        try:
            return np.load(path, mmap_mode="r", allow_pickle=False)
        except (OSError, ValueError) as err:
            raise DataFileError(path, f"not a readable feature array: {err}") from None

    def stream_dims(self, streams: list[str] | None = None) -> dict[str, int]:
        """Feature dim per stream, from the manifest (to configure models)."""
        dims = self.load_manifest(missing_ok=False).dims
        streams = list(dims) if streams is None else streams
        if missing := [s for s in streams if s not in dims]:
            raise DataFileError(
                self.manifest_path, f"no stream(s) {missing} in the store (has {list(dims)})"
            )
        return {s: dims[s] for s in streams}
