"""What every feature extractor provides, and the input fingerprint that lets a rerun skip work.

An extractor turns one clip's input files into ``(frames, dim)`` float arrays for one or more
streams. Its fingerprint for a stream (the params that change the values plus a digest of its
own source and of the readers) goes into the input hash stored in the manifest, so changing a
param or the code recomputes exactly the arrays it affects.
"""

from __future__ import annotations

import hashlib
import inspect
import json
from abc import ABC, abstractmethod
from collections.abc import Collection
from functools import cache
from pathlib import Path

import numpy as np

from reactdiff.data import readers
from reactdiff.data.layout import ReactLayout


@cache
def _source_digest(path: str) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]


def file_stats(path: Path, root: Path) -> list[list]:
    """(relative path, size, mtime_ns) of a file, or of every file of a folder (PNG videos)."""
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    out = []
    for f in files:
        st = f.stat() if f.exists() else None
        name = str(f.relative_to(root)) if f.is_relative_to(root) else str(f)
        out.append([name, st.st_size if st else None, st.st_mtime_ns if st else None])
    return out


def resolve_device(name: str) -> str:
    """``auto`` -> cuda when a GPU is visible, else cpu."""
    import torch

    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return name


class Extractor(ABC):
    """Computes some streams of one clip from its input files."""

    streams: tuple[str, ...]

    @abstractmethod
    def inputs(self, layout: ReactLayout, split: str, rel: str) -> list[Path]:
        """The files the clip's arrays are computed from."""

    @abstractmethod
    def settings(self, stream: str) -> dict:
        """The params that change this stream's values (not batch sizes or devices)."""

    @abstractmethod
    def dims(self) -> dict[str, int]:
        """Feature dimension of each stream."""

    @abstractmethod
    def extract(
        self, layout: ReactLayout, split: str, rel: str, streams: Collection[str]
    ) -> dict[str, np.ndarray]:
        """``(frames, dim)`` arrays of the requested streams; bad input raises DataFileError."""

    def input_hash(self, layout: ReactLayout, split: str, rel: str, stream: str, dtype: str) -> str:
        """Hash of everything that determines the stream's array for this clip."""
        state = {
            "stream": stream,
            "dtype": dtype,
            "settings": self.settings(stream),
            "code": [_source_digest(inspect.getfile(type(self))), _source_digest(readers.__file__)],
            "inputs": [
                s for p in self.inputs(layout, split, rel) for s in file_stats(p, layout.root)
            ],
        }
        return hashlib.sha256(json.dumps(state, sort_keys=True, default=str).encode()).hexdigest()
