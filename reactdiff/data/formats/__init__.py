"""The data formats: one module per release, and the registry the rest of the code asks.

Each format (a :class:`~reactdiff.data.formats.base.Format`) carries its facts, its layout, its
clip-path grammar, its synthetic writer and the name of its evaluation protocol, so adding a
format is adding a module here (and registering it); nothing outside names one.
"""

from __future__ import annotations

from pathlib import Path

from reactdiff.config import DataParams
from reactdiff.data.formats.base import Format, Layout
from reactdiff.data.formats.react2024 import REACT2024
from reactdiff.data.formats.react2025 import REACT2025
from reactdiff.errors import ConfigError, DataFileError

FORMATS: dict[str, Format] = {f.name: f for f in (REACT2024, REACT2025)}


def register_format(fmt: Format) -> None:
    """Add a format (a plug-in's, a test's); its name must be new."""
    if fmt.name in FORMATS:
        raise ConfigError(f"data.format: a format named {fmt.name!r} is already registered")
    FORMATS[fmt.name] = fmt


def unregister_format(name: str) -> None:
    """Remove a format added by :func:`register_format`."""
    del FORMATS[name]


def get_format(name: str) -> Format:
    """The format called ``name`` (``data.format`` in params.yaml)."""
    try:
        return FORMATS[name]
    except KeyError:
        raise ConfigError(
            f"data.format: unknown format {name!r}; known: {sorted(FORMATS)}"
        ) from None


def default_format() -> Format:
    """The first registered format: what `synth` writes when data.format is auto."""
    return next(iter(FORMATS.values()))


def detect_format(root: Path) -> Format:
    """The one format whose marks a real root has; none or several is an error that says what
    was looked for."""
    root = Path(root)
    found = [f for f in FORMATS.values() if f.looks_like(root)]
    if len(found) == 1:
        return found[0]
    what = "several layouts" if found else "neither layout"
    marks = "; ".join(
        f"{f.title}: " + ", ".join(str(p.relative_to(root)) for p in f.required_paths(root))
        for f in FORMATS.values()
    )
    raise DataFileError(
        root, f"data.format auto: the root has {what} ({marks}); set data.format explicitly"
    )


def check_layout(root: Path, fmt: Format) -> None:
    """A ConfigError when ``root`` lacks ``fmt``'s marks but has another format's: the message
    names the layout it looks like and the ``data.format`` value to set, where reading on
    would only find a file of ``fmt``'s layout missing."""
    root = Path(root)
    if not root.is_dir() or fmt.looks_like(root):
        return
    others = [f for f in FORMATS.values() if f is not fmt and f.looks_like(root)]
    if not others:
        return
    marks = [str(p.relative_to(root)) for f in others for p in f.required_paths(root) if p.exists()]
    titles = " or ".join(f.title for f in others)
    names = " or ".join(f.name for f in others)
    raise ConfigError(
        f"data.format is {fmt.name} ({fmt.title}), but {root} looks like a {titles} root "
        f"(it has {', '.join(marks[:3])}): set data.format: {names} in params.yaml"
    )


def resolve_format(data: DataParams, root: Path | None = None) -> Format:
    """The format of ``root``, a root about to be read: ``data.format`` (checked against the
    root's layout, ``check_layout``), or detected from the root when that is auto. Without a
    root (``data.root``, about to be written) it is ``data.format`` alone, detected from
    ``data.react_root`` when auto."""
    if data.format == "auto":
        return detect_format(data.react_root if root is None else root)
    fmt = get_format(data.format)
    if root is not None:
        check_layout(root, fmt)
    return fmt


def open_layout(root: Path | str, fmt: Format | str) -> Layout:
    """The layout object of ``root`` in format ``fmt`` (a Format or its name)."""
    return (get_format(fmt) if isinstance(fmt, str) else fmt).layout(Path(root))


def params_layout(data: DataParams) -> Layout:
    """The layout of the root every stage after `data` reads."""
    return open_layout(data.react_root, resolve_format(data, data.react_root))


def clip_path_shapes() -> str:
    """Every registered format's clip-path grammar, in words."""
    return ", or ".join(f.clip_path_shape for f in FORMATS.values())


def _safe_problem(rel: str) -> str | None:
    """What makes ``rel`` unsafe as a relative path in any format."""
    if "\\" in rel:
        return "has a backslash (components are separated by '/')"
    if any(ord(c) < 32 or ord(c) == 127 for c in rel):
        return "has a control character"
    if rel.startswith("/"):
        return "is absolute"
    if any(p in ("", ".", "..") for p in rel.split("/")):
        return "has an empty, '.' or '..' component"
    return None


def _grammar(rel: str) -> tuple[Format | None, str | None]:
    """The format whose grammar ``rel`` follows (None, with the problem, when none does)."""
    if (problem := _safe_problem(rel)) is not None:
        return None, problem
    parts = rel.split("/")
    candidates = [f for f in FORMATS.values() if f.rel_components == len(parts)]
    if not candidates:
        shapes = " or ".join(f"{f.rel_components} ({f.title})" for f in FORMATS.values())
        return None, f"has {len(parts)} components, not {shapes}"
    problems = []
    for f in candidates:
        if (problem := f.rel_problem(parts)) is None:
            return f, None
        problems.append(problem)
    return None, "; ".join(problems)


def clip_rel_problem(rel: str) -> str | None:
    """What makes ``rel`` not a clip path of a registered format, or None when it is one.

    Split CSVs come with the drop and are not trusted: an absolute path, a ``..`` or an unknown
    side would name a file outside the root (or another clip's), so every row is checked with
    this before any file is opened, stat-ed or written.
    """
    return _grammar(rel)[1]


def check_clip_rel(rel: str) -> str:
    """``rel`` itself, or a DataFileError naming it when it is not a clip path."""
    if (problem := clip_rel_problem(rel)) is not None:
        raise DataFileError(rel, f"not a REACT clip path ({clip_path_shapes()}): {problem}")
    return rel


def format_of_rel(rel: str) -> Format:
    """The format whose grammar a clip path follows (a DataFileError when none does)."""
    fmt, _ = _grammar(check_clip_rel(rel))
    assert fmt is not None  # check_clip_rel refused every other rel
    return fmt


__all__ = [
    "FORMATS",
    "Format",
    "Layout",
    "check_clip_rel",
    "check_layout",
    "clip_path_shapes",
    "clip_rel_problem",
    "default_format",
    "detect_format",
    "format_of_rel",
    "get_format",
    "open_layout",
    "params_layout",
    "register_format",
    "resolve_format",
    "unregister_format",
]
