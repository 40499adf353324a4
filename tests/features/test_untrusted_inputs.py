"""`reactdiff features` on untrusted drop files: a split row outside the clip-path grammar stops
the run before any input is read or the store touched; a 3DMM .npy that is not an array is named
in plain words."""

from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from reactdiff.cli import app
from reactdiff.data.formats.react2024 import ReactLayout
from reactdiff.data.readers import PICKLE_REFUSED
from reactdiff.features import base

PARAMS = Path(__file__).resolve().parents[2] / "params.yaml"


def _features(root: Path, out: Path, *extra: str):
    args = ["features", "--root", str(root), "--out", str(out), "--params", str(PARAMS)]
    return CliRunner().invoke(app, [*args, "--workers", "1", *extra])


def _snapshot(root: Path) -> dict[str, tuple[bytes, int]]:
    return {
        p.relative_to(root).as_posix(): (p.read_bytes(), p.stat().st_mtime_ns)
        for p in root.rglob("*")
        if p.is_file()
    }


@pytest.mark.parametrize("rel", ["/etc/passwd", "../../x", "NoXI/../Expert_video/1"])
def test_bad_split_row_stops_before_any_file_is_read_or_written(
    tiny_drop, tiny_store, rel, monkeypatch, mlflow_store
):
    csv_path = ReactLayout(tiny_drop).split_csv("train")
    lines = csv_path.read_text().splitlines()
    index, _, listener = lines[1].split(",")
    lines[1] = f"{index},{rel},{listener}"
    csv_path.write_text("\n".join(lines) + "\n")
    before = _snapshot(tiny_store)
    hashed: list[Path] = []
    monkeypatch.setattr(base, "content_digests", lambda path, root: hashed.append(path) or [])
    result = _features(tiny_drop, tiny_store)
    assert result.exit_code == 2, result.output
    assert f"{csv_path}: line 2: speaker_path {rel!r}" in result.output
    assert "not a REACT clip path" in result.output
    assert hashed == []  # no input file was even stat-ed
    assert _snapshot(tiny_store) == before  # nothing written, nothing deleted


def test_3dmm_files_that_are_not_arrays_are_named(tiny_drop, tmp_path, mlflow_store):
    layout = ReactLayout(tiny_drop)
    pickled = layout.clip_path("val", layout.clips("val")[0], "3dmm")
    pickled.write_bytes(b"\x80\x04\x95" + b"\x00" * 64)  # a pickle's first bytes
    objects = layout.clip_path("test", layout.clips("test")[0], "3dmm")
    np.save(objects, np.array([None] * 751, dtype=object), allow_pickle=True)
    text = layout.clip_path("train", layout.clips("train")[0], "3dmm")
    text.write_text("0.1,0.2,0.3\n")
    result = _features(tiny_drop, tmp_path / "store", "--streams", "mfcc")
    assert result.exit_code == 2, result.output
    assert f"FAIL {pickled}: {PICKLE_REFUSED}" in result.output
    assert f"FAIL {objects}: {PICKLE_REFUSED}" in result.output
    assert f"FAIL {text}: not an .npy array file" in result.output
    assert "allow_pickle" not in result.output
