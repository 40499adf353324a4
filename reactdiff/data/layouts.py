"""Which layout a root is in, and the layout object every stage reads it through.

Both layouts answer the same questions (``clip_path``, ``pairs``, ``samples``, ``clips``,
``clip_frames``, ``length_file``, ``session``, ``fmt``), so the stages do not branch on the
format beyond choosing one here.
"""

from __future__ import annotations

from pathlib import Path

from reactdiff.config import DataParams
from reactdiff.data.format import REACT2024, REACT2025, ReactFormat, get_format
from reactdiff.data.layout import SPLITS, ReactLayout
from reactdiff.data.mars import INDEX_STREAM, MODALITY_DIRS, MarsLayout
from reactdiff.errors import DataFileError

Layout = ReactLayout | MarsLayout
LAYOUTS: dict[str, type[ReactLayout] | type[MarsLayout]] = {
    REACT2024.name: ReactLayout,
    REACT2025.name: MarsLayout,
}


def _looks_like(root: Path) -> list[str]:
    found = []
    if any((root / f"{s}.csv").is_file() for s in SPLITS):
        found.append(REACT2024.name)
    if any((root / s / MODALITY_DIRS[INDEX_STREAM]).is_dir() for s in SPLITS):
        found.append(REACT2025.name)
    return found


def detect_format(root: Path) -> ReactFormat:
    """The format of a real root: split CSVs mean REACT 2024, ``<split>/facial-attributes/``
    REACT 2025. Neither or both is an error that says what was looked for."""
    found = _looks_like(Path(root))
    if len(found) == 1:
        return get_format(found[0])
    what = "both layouts" if found else "neither layout"
    raise DataFileError(
        root,
        f"data.format auto: the root has {what} (REACT 2024: train.csv/val.csv/test.csv; "
        f"REACT 2025: <split>/{MODALITY_DIRS[INDEX_STREAM]}/); set data.format explicitly",
    )


def resolve_format(data: DataParams, root: Path | None = None) -> ReactFormat:
    """The format of ``root`` (default: ``data.react_root``): ``data.format``, or detected from
    the root when that is auto."""
    if data.format == "auto":
        return detect_format(data.react_root if root is None else root)
    return get_format(data.format)


def open_layout(root: Path | str, fmt: ReactFormat | str) -> Layout:
    """The layout object of ``root`` in format ``fmt`` (a ReactFormat or its name)."""
    name = fmt if isinstance(fmt, str) else fmt.name
    return LAYOUTS[get_format(name).name](Path(root))


def params_layout(data: DataParams) -> Layout:
    """The layout of the root every stage after `data` reads."""
    return open_layout(data.react_root, resolve_format(data))
