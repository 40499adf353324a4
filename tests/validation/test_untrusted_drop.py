"""A drop's files are untrusted: split rows outside the clip-path grammar, BOM/CRLF CSVs and
.npy files that are not arrays each end as a named failure line, never a traceback, and a bad
row's files are never opened."""

import pickle
from pathlib import Path

import numpy as np
from typer.testing import CliRunner

from reactdiff.data.columns import read_emotion
from reactdiff.data.formats import get_format
from reactdiff.data.formats.react2024 import ReactLayout
from reactdiff.data.readers import PICKLE_REFUSED
from reactdiff.data.splits import read_split_csv
from reactdiff.validation import react2024 as tables
from reactdiff.validation.run import validate_drop
from tests.helpers.params import repo_params

P = repo_params()
FORMAT = get_format(P.data.format)
PARAMS = Path(__file__).resolve().parents[2] / "params.yaml"
FRAMES = FORMAT.clip_frames
BAD = ["/etc/passwd", "../../x", "NoXI/../Expert_video/1"]


def _validate(root: Path, tmp_path: Path):
    return validate_drop(root, FORMAT, P.validation, tmp_path / "report", progress=False)


def _replace_speakers(csv_path: Path, speakers: list[str]) -> list[str]:
    """Put ``speakers`` into the speaker column of the first rows, or of rows appended after
    the last (copies of it); return the new lines."""
    lines = csv_path.read_text().splitlines()
    for i, rel in enumerate(speakers, start=1):
        listener = lines[min(i, len(lines) - 1)].split(",")[2]
        row = f"{i - 1},{rel},{listener}"
        lines[i : i + 1] = [row]
    csv_path.write_text("\n".join(lines) + "\n")
    return lines


def _spy_on_reads(monkeypatch) -> list[Path]:
    """Every path the table builder hands to a reader."""
    seen: list[Path] = []
    for name in ("read_emotion_table", "load_npy", "read_audio", "count_video_frames"):
        real = getattr(tables, name)

        def spy(path, *args, _real=real, **kwargs):
            seen.append(Path(path))
            return _real(path, *args, **kwargs)

        monkeypatch.setattr(tables, name, spy)
    return seen


def test_split_rows_outside_the_grammar_are_failures_and_never_opened(
    tiny_drop, tmp_path, monkeypatch
):
    layout = ReactLayout(tiny_drop)
    csv_path = layout.split_csv("train")
    lines = _replace_speakers(csv_path, BAD)
    seen = _spy_on_reads(monkeypatch)
    report = _validate(tiny_drop, tmp_path)
    assert not report.success
    by_where = {f.where: f for f in report.failures}
    for line_no, rel in enumerate(BAD, start=2):
        where = next(w for w in by_where if w.startswith(f"{csv_path} line {line_no}: "))
        assert f"speaker_path {rel!r}" in where and repr(lines[line_no - 1]) in where
        assert by_where[where].check.startswith("not a REACT clip path")
    assert {f.suite for f in report.failures} == {"split_pairs"}  # the row fails, nothing else
    assert seen and all(p.resolve().is_relative_to(tiny_drop.resolve()) for p in seen)
    assert not [p for p in seen if ".." in p.parts]
    assert report.counts["pairs"] == len(layout.split_rows("train")) + sum(
        len(layout.pairs(s)) for s in ("val", "test")
    )


def test_cli_prints_the_csv_line_and_exits_1(tiny_drop_novideo, tmp_path, mlflow_store):
    from reactdiff.cli import app

    csv_path = ReactLayout(tiny_drop_novideo).split_csv("val")
    _replace_speakers(csv_path, ["/etc/passwd"])
    args = ["validate", "--root", str(tiny_drop_novideo), "--report", str(tmp_path / "rep")]
    result = CliRunner().invoke(app, [*args, "--params", str(PARAMS)])
    assert result.exit_code == 1, result.output
    assert f"FAIL {csv_path} line 2: speaker_path '/etc/passwd' is absolute" in result.output
    assert isinstance(result.exception, SystemExit)  # handled: no traceback


def _bom_crlf(path: Path) -> None:
    path.write_bytes(
        b"\xef\xbb\xbf" + path.read_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    )


def test_bom_and_crlf_csvs_validate_and_read_like_plain_ones(tiny_drop_novideo, tmp_path):
    layout = ReactLayout(tiny_drop_novideo)
    split_csv = layout.split_csv("train")
    emotion = layout.clip_path("train", layout.clips("train")[0], "emotion")
    pairs, values = read_split_csv(split_csv), read_emotion(emotion, FRAMES)
    for path in (split_csv, emotion):
        _bom_crlf(path)
        assert path.read_bytes().startswith(b"\xef\xbb\xbf") and b"\r\n" in path.read_bytes()
    assert read_split_csv(split_csv) == pairs
    np.testing.assert_array_equal(read_emotion(emotion, FRAMES), values)
    report = _validate(tiny_drop_novideo, tmp_path)
    assert report.success, [f.line() for f in report.failures]
    assert report.counts["emotion_frames"] == 12 * FRAMES


NOT_ARRAYS = [
    (lambda p: p.write_bytes(pickle.dumps(np.zeros((751, 58)))), PICKLE_REFUSED),
    (lambda p: np.save(p, np.array([None] * 751, dtype=object), allow_pickle=True), PICKLE_REFUSED),
    (lambda p: p.write_text("0.1,0.2\n"), "not an .npy array file"),
]


def test_3dmm_files_that_are_not_arrays_are_named_failures(tiny_drop_novideo, tmp_path):
    layout = ReactLayout(tiny_drop_novideo)
    clips = [(s, rel) for s in ("train", "val") for rel in layout.clips(s)]
    expected = []
    for (split, rel), (write, problem) in zip(clips, NOT_ARRAYS, strict=False):
        path = layout.clip_path(split, rel, "3dmm")
        write(path)
        expected.append(f"FAIL {path}: {problem}: unreadable: 1 value(s)")
    report = _validate(tiny_drop_novideo, tmp_path)
    lines = [f.line() for f in report.failures]
    assert set(expected) <= set(lines), lines
    assert not any("allow_pickle" in line for line in lines)
