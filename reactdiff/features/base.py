"""What every feature extractor provides, and the input fingerprint that lets a rerun skip work.

An extractor turns one clip's input files into ``(frames, dim)`` float arrays for one or more
streams. Its fingerprint for a stream (the params that change the values, a digest of its own
source and of the readers, and the sha256 of every input file's bytes) goes into the input hash
stored in the manifest, so changing a param, the code or an input file recomputes exactly the
arrays it affects.

The fingerprint depends on content only, never on where or when the files were written: input
files are named relative to the layout root, model files (TorchScript modules, a wav2vec
checkpoint directory) by their content hash, so the same drop extracted at another path, on
another machine or after a copy that changed every mtime gives a byte-identical store.
"""

from __future__ import annotations

import hashlib
import inspect
import json
from abc import ABC, abstractmethod
from collections.abc import Collection
from functools import cache
from pathlib import Path
from types import ModuleType

import numpy as np

from reactdiff.data import columns, readers
from reactdiff.data.formats import Layout

_CHUNK = 1 << 20
# sha256 of file contents, keyed by (resolved path, size, mtime_ns): each file is read at most
# once per process; a rewritten file gets a new key (its mtime changes), so is hashed again.
_file_digests: dict[tuple[str, int, int], str] = {}


@cache
def _source_digest(path: str) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]


def file_sha256(path: Path) -> str | None:
    """sha256 of a file's bytes (memoised per process), or None when there is no such file."""
    try:
        st = path.stat()
    except OSError:
        return None
    key = (str(path.resolve()), st.st_size, st.st_mtime_ns)
    if (digest := _file_digests.get(key)) is None:
        h = hashlib.sha256()
        try:
            with path.open("rb") as f:
                while chunk := f.read(_CHUNK):
                    h.update(chunk)
        except IsADirectoryError:
            return None
        digest = _file_digests[key] = h.hexdigest()
    return digest


def _files(path: Path) -> list[Path]:
    """The file itself, or every non-hidden file under a folder (a PNG video, a model dir),
    in a fixed order."""
    if not path.is_dir():
        return [path]
    return sorted(
        (
            p
            for p in path.rglob("*")
            if p.is_file() and not any(part.startswith(".") for part in p.relative_to(path).parts)
        ),
        key=lambda p: p.relative_to(path).as_posix(),
    )


def content_digests(path: Path, root: Path) -> list[list]:
    """``[name, sha256]`` of a file, or of every file of a folder, names relative to ``root``
    (POSIX separators); a missing file has digest None. Hidden files and folders of a folder
    (``.cache/``, ``.DS_Store``) are left out: they do not change any value."""
    out = []
    for f in _files(path):
        name = f.relative_to(root).as_posix() if f.is_relative_to(root) else f.name
        out.append([name, file_sha256(f)])
    return out


class Extractor(ABC):
    """Computes some streams of one clip from its input files.

    ``frames`` is the fixed number of frames per clip (REACT 2024), or None when every clip
    has its own length (REACT 2025): the layout's ``clip_frames``, whose ``length_file`` then
    counts as an input of every stream.
    """

    streams: tuple[str, ...]
    frames: int | None = None

    def clip_frames(self, layout: Layout, split: str, rel: str) -> int:
        """How many rows the clip's arrays have."""
        return self.frames if self.frames is not None else layout.clip_frames(split, rel)

    def _hashed_inputs(self, layout: Layout, split: str, rel: str) -> list[Path]:
        paths = self.inputs(layout, split, rel)
        length = layout.length_file(split, rel) if self.frames is None else None
        return paths if length is None or length in paths else [*paths, length]

    @abstractmethod
    def inputs(self, layout: Layout, split: str, rel: str) -> list[Path]:
        """The files the clip's arrays are computed from."""

    @abstractmethod
    def settings(self, stream: str) -> dict:
        """The params that change this stream's values (not batch sizes or devices), as plain
        JSON values with nothing machine-specific (no absolute paths, no mtimes)."""

    @abstractmethod
    def dims(self) -> dict[str, int]:
        """Feature dimension of each stream."""

    @abstractmethod
    def extract(
        self, layout: Layout, split: str, rel: str, streams: Collection[str]
    ) -> dict[str, np.ndarray]:
        """``(frames, dim)`` arrays of the requested streams; bad input raises DataFileError."""

    def code(self) -> list[ModuleType]:
        """The modules whose source determines the values: the extractor's and the readers'."""
        return [inspect.getmodule(type(self)), readers, columns]

    def input_hash(self, layout: Layout, split: str, rel: str, stream: str, dtype: str) -> str:
        """Hash of everything that determines the stream's array for this clip."""
        state = {
            "stream": stream,
            "dtype": dtype,
            "settings": self.settings(stream),
            "code": [_source_digest(inspect.getfile(m)) for m in self.code()],
            "inputs": [
                d
                for p in self._hashed_inputs(layout, split, rel)
                for d in content_digests(p, layout.root)
            ],
        }
        return hashlib.sha256(json.dumps(state, sort_keys=True).encode()).hexdigest()
