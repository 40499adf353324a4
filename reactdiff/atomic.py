"""Atomic writes: a killed process never leaves a half-written file that looks finished.

Everything is written to a temporary sibling and renamed into place (``os.replace`` is atomic
on POSIX within one file system), so readers and DVC see either the old file or the new one.

A temporary sibling is named after its output and the process writing it
(``.<name>.<pid>@<host>.<random>.tmp``), so the next write of the same output removes what a
killed process left behind, and nothing of a process still running.

A folder output (``atomic_dir``) replaces the folder whole, so it carries a marker file naming
the command that wrote it; an existing non-empty folder without that marker is the user's, and
is refused rather than replaced.

An output that cannot be created (a file where a folder of its path should be, a folder
without write permission) is an ``OutputPathError`` naming it, never an ``OSError`` traceback.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from reactdiff.errors import OutputPathError
from reactdiff.processes import pid_alive, this_host

OUTPUT_MARKER = ".reactdiff-output"  # in every folder atomic_dir writes: the command's name


class OutputFolderError(OutputPathError):
    """The folder an output would replace holds something else (the user's files)."""


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def remove_stale_temps(path: Path) -> list[Path]:
    """Delete the temporary siblings of ``path`` left by dead processes of this host; returns
    them. A sibling without an owner in its name comes from an older version: also stale."""
    path = Path(path)
    if not path.parent.is_dir():
        return []
    owned = re.compile(rf"\.{re.escape(path.name)}\.(\d+)@([\w-]+)\.[^.]+\.tmp")
    legacy = re.compile(rf"\.{re.escape(path.name)}\.(?:[^.@]+\.tmp|old-\d+)")
    removed = []
    for sibling in path.parent.iterdir():
        m = owned.fullmatch(sibling.name)
        if m is not None:
            if m[2] != this_host() or pid_alive(int(m[1])):
                continue
        elif not legacy.fullmatch(sibling.name):
            continue
        if sibling.is_dir() and not sibling.is_symlink():
            shutil.rmtree(sibling, ignore_errors=True)
        else:
            sibling.unlink(missing_ok=True)
        removed.append(sibling)
    return removed


def _nearest_existing(path: Path) -> Path:
    """``path`` or its closest ancestor that exists (a file in the way, or the folder that
    refused the write)."""
    for candidate in (path, *path.parents):
        try:
            os.lstat(candidate)
        except OSError:  # absent, or not even a valid name (too long)
            continue
        return candidate
    return path


def _why_not_created(exc: OSError) -> str:
    """What ``exc`` (from making an output's folders or its temporary) says, in words."""
    where = _nearest_existing(Path(exc.filename)) if exc.filename else None
    if where is not None and not where.is_dir():
        return f"cannot be created: {where} is a file, not a folder"
    if isinstance(exc, PermissionError) and where is not None:
        return f"cannot be created: no permission to write in {where}"
    return f"cannot be created: {exc.strerror or exc}" + (f" ({exc.filename})" if where else "")


@contextlib.contextmanager
def _creating(path: Path) -> Iterator[None]:
    """Turn an OSError while making ``path``'s folders or temporary into an OutputPathError."""
    try:
        yield
    except OSError as exc:
        raise OutputPathError(path, _why_not_created(exc)) from None


def check_creatable(path: Path | str) -> None:
    """An OutputPathError unless ``path`` could be created now: its closest existing ancestor
    is a folder we may write in (asked before the work whose result it is to hold)."""
    path = Path(path)
    where = _nearest_existing(path)
    if not where.is_dir():
        raise OutputPathError(path, f"cannot be created: {where} is a file, not a folder")
    if not os.access(where, os.W_OK):
        raise OutputPathError(path, f"cannot be created: no permission to write in {where}")


def make_dir(path: Path | str) -> Path:
    """``path`` as a folder (with its parents; an existing one is kept); an OutputPathError
    naming it when it cannot be made."""
    path = Path(path)
    with _creating(path):
        path.mkdir(parents=True, exist_ok=True)
    return path


def _prefix(path: Path) -> str:
    return f".{path.name}.{os.getpid()}@{this_host()}."


@contextlib.contextmanager
def atomic_path(path: Path | str) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; rename it onto ``path`` only on success."""
    path = Path(path)
    with _creating(path):
        path.parent.mkdir(parents=True, exist_ok=True)
        remove_stale_temps(path)
        fd, tmp = tempfile.mkstemp(prefix=_prefix(path), suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.chmod(tmp_path, 0o666 & ~_umask())  # mkstemp makes 0600; give the usual mode
        os.replace(tmp_path, path)
    finally:
        tmp_path.unlink(missing_ok=True)


def check_replaceable(path: Path | str, owner: str) -> None:
    """Raise OutputFolderError unless ``path`` is absent (and can be created: else an
    OutputPathError), an empty folder, or an earlier output of ``owner`` (its marker says so)."""
    path = Path(path)
    if not path.exists() and not path.is_symlink():
        check_creatable(path)
        return
    if not path.is_dir() or path.is_symlink():
        raise OutputFolderError(path, f"exists and is not a folder; {owner} writes a folder")
    if not any(path.iterdir()):
        return
    marker = path / OUTPUT_MARKER
    written_by = marker.read_text().strip() if marker.is_file() else None
    if written_by == owner:
        return
    what = f"an output of {written_by!r}" if written_by else "not an earlier output"
    raise OutputFolderError(
        path,
        f"folder is not empty and is {what} of {owner!r}, which replaces its folder whole; "
        "give an empty or new folder (or delete this one yourself)",
    )


@contextlib.contextmanager
def atomic_dir(path: Path | str, owner: str) -> Iterator[Path]:
    """Yield an empty temporary directory that replaces ``path`` as a whole on success.

    ``owner`` names the command that writes ``path`` (e.g. "reactdiff validate"); it is
    recorded in the folder, and a non-empty folder recorded for another owner (or for none)
    is refused before anything is written.
    """
    path = Path(path)
    check_replaceable(path, owner)
    with _creating(path):
        path.parent.mkdir(parents=True, exist_ok=True)
        remove_stale_temps(path)
        tmp = Path(tempfile.mkdtemp(prefix=_prefix(path), suffix=".tmp", dir=path.parent))
    try:
        yield tmp
        (tmp / OUTPUT_MARKER).write_text(owner + "\n")
        os.chmod(tmp, 0o777 & ~_umask())  # mkdtemp makes 0700
        old = None
        if path.exists():
            old = path.with_name(f"{_prefix(path)}old.tmp")
            os.replace(path, old)
        os.replace(tmp, path)
        if old is not None:
            shutil.rmtree(old)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)


def write_text(path: Path | str, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def write_json(path: Path | str, obj: Any) -> None:
    """Strict JSON: a NaN or infinity is a ValueError here, never an invalid file."""
    write_text(path, json.dumps(obj, indent=2, sort_keys=False, allow_nan=False) + "\n")


def save_npy(path: Path | str, array: np.ndarray) -> None:
    with atomic_path(path) as tmp, tmp.open("wb") as f:
        np.save(f, array)
