"""The validation suites pass on a clean drop and name the file and the check on each defect."""

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from reactdiff.data.formats import get_format
from reactdiff.data.formats.react2024 import ReactLayout
from reactdiff.data.splits import Pair, write_split_csv
from reactdiff.validation.run import validate_drop
from tests.helpers.params import repo_params

P = repo_params()
FORMAT = get_format(P.data.format)


def _validate(root: Path, tmp_path: Path):
    return validate_drop(root, FORMAT, P.validation, tmp_path / "report", progress=False)


def _first_clip(root: Path, split: str = "train") -> str:
    return ReactLayout(root).clips(split)[0]


def _edit_emotion(root: Path, edit) -> Path:
    path = ReactLayout(root).clip_path("train", _first_clip(root), "emotion")
    df = pd.read_csv(path)
    df = edit(df)
    df.to_csv(path, index=False)
    return path


def _failures(report):
    return [(f.where, f.check) for f in report.failures]


def test_clean_drop_passes(tiny_drop_master, tmp_path):
    report = _validate(tiny_drop_master, tmp_path)
    assert report.success, [f.line() for f in report.failures]
    assert report.video_checked
    assert report.counts["emotion_frames"] == 12 * 751
    summary = tmp_path / "report" / "summary.json"
    assert summary.is_file() and (tmp_path / "report" / "data_docs" / "index.html").is_file()


def test_nan_row(tiny_drop_novideo, tmp_path):
    path = _edit_emotion(
        tiny_drop_novideo, lambda df: df.assign(Valence=df.Valence.where(df.index != 4))
    )
    report = _validate(tiny_drop_novideo, tmp_path)
    assert (str(path), "Valence is missing (NaN/empty)") in _failures(report)
    line = next(f for f in report.failures if f.where == str(path))
    assert "lines 6" in line.line()  # row 4 is line 6 of the file (header is line 1)


def test_24_columns(tiny_drop_novideo, tmp_path):
    path = _edit_emotion(tiny_drop_novideo, lambda df: df.drop(columns=["Contempt"]))
    report = _validate(tiny_drop_novideo, tmp_path)
    assert (str(path), "emotion CSV does not have 25 columns") in _failures(report)


def test_au_of_one_half(tiny_drop_novideo, tmp_path):
    path = _edit_emotion(
        tiny_drop_novideo, lambda df: df.assign(AU12=df.AU12.mask(df.index == 10, 0.5))
    )
    report = _validate(tiny_drop_novideo, tmp_path)
    assert (str(path), "AU12 is not 0/1") in _failures(report)


def test_expression_row_summing_to_0_7(tiny_drop_novideo, tmp_path):
    def edit(df):
        probs = df.columns[17:]
        df.loc[3, probs] = df.loc[3, probs] / df.loc[3, probs].sum() * 0.7
        return df

    path = _edit_emotion(tiny_drop_novideo, edit)
    report = _validate(tiny_drop_novideo, tmp_path)
    assert (str(path), "expression probabilities do not sum to 1 +- 0.001") in _failures(report)


def test_missing_wav(tiny_drop_novideo, tmp_path):
    path = ReactLayout(tiny_drop_novideo).clip_path(
        "val", _first_clip(tiny_drop_novideo, "val"), "audio"
    )
    path.unlink()
    report = _validate(tiny_drop_novideo, tmp_path)
    assert (f"{path}: audio file not found", "unreadable") in _failures(report)


def test_session_in_two_splits(tiny_drop_novideo, tmp_path):
    layout = ReactLayout(tiny_drop_novideo)
    val_pair = layout.pairs("val")[0]
    # the val session's pair also listed in test (its files copied there so only the split is wrong)
    for rel in (val_pair.speaker, val_pair.listener):
        for stream in ("audio", "emotion", "3dmm"):
            dst = layout.clip_path("test", rel, stream)
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(layout.clip_path("val", rel, stream), dst)
    test_pairs = layout.pairs("test")
    write_split_csv(layout.split_csv("test"), [*test_pairs, val_pair])
    m = np.ones((2 * len(test_pairs) + 2,) * 2, dtype=np.uint8)
    np.save(layout.neighbour_matrix("test"), m)
    report = _validate(tiny_drop_novideo, tmp_path)
    session = "/".join(val_pair.speaker.split("/")[:2])
    assert any(w.startswith(session) and c == "session in two splits" for w, c in _failures(report))


def test_short_clip(tiny_drop_novideo, tmp_path):
    layout = ReactLayout(tiny_drop_novideo)
    path = layout.clip_path("train", _first_clip(tiny_drop_novideo), "3dmm")
    np.save(path, np.load(path)[:600])
    report = _validate(tiny_drop_novideo, tmp_path)
    assert (str(path), "3DMM frames != 751") in _failures(report)


def test_no_video_folder_skips_video_checks(tiny_drop_novideo_master, tmp_path):
    report = _validate(tiny_drop_novideo_master, tmp_path)
    assert report.success and not report.video_checked
    assert any("video checks skipped" in w for w in report.warnings)


def test_some_videos_missing_fails(tiny_drop, tmp_path):
    path = ReactLayout(tiny_drop).video_path("test", _first_clip(tiny_drop, "test"))
    path.unlink()
    report = _validate(tiny_drop, tmp_path)
    assert (f"{path}: video file not found", "unreadable") in _failures(report)


def test_counterpart_and_matrix_checks(tiny_drop_novideo, tmp_path):
    layout = ReactLayout(tiny_drop_novideo)
    pairs = layout.pairs("val")
    write_split_csv(layout.split_csv("val"), [Pair(pairs[0].speaker, pairs[1].speaker), *pairs[1:]])
    m = np.load(layout.neighbour_matrix("test"))
    m[0, 0] = 0
    np.save(layout.neighbour_matrix("test"), m)
    np.save(layout.neighbour_matrix("val"), np.full((3, 3), 0.5))
    report = _validate(tiny_drop_novideo, tmp_path)
    checks = {c for _, c in _failures(report)}
    assert "speaker and listener are not the two sides of one session's clip" in checks
    assert {"not 0/1", "size is not 2 x the split's pairs"} <= checks
    assert any("diagonal" in w for w in report.warnings)  # a warning, not a failure
    assert not any("diagonal" in c for c in checks)


def test_cli_exit_code_and_lines(tiny_drop_novideo, tmp_path, mlflow_store):
    from typer.testing import CliRunner

    from reactdiff.cli import app

    repo = Path(__file__).resolve().parents[2]
    path = _edit_emotion(tiny_drop_novideo, lambda df: df.assign(Arousal=df.Arousal * 3))
    result = CliRunner().invoke(
        app,
        [
            "validate",
            "--root",
            str(tiny_drop_novideo),
            "--report",
            str(tmp_path / "rep"),
            "--params",
            str(repo / "params.yaml"),
        ],
    )
    assert result.exit_code == 1, result.output
    assert f"FAIL {path}: Arousal outside [-1, 1]" in result.output
    assert "FAILED" in result.output
    import mlflow

    runs = mlflow.search_runs(experiment_names=["reactdiff"])
    assert list(runs["status"]) == ["FAILED"] and list(runs["tags.stage"]) == ["validate"]


@pytest.mark.parametrize("split", ["nope"])
def test_cli_rejects_unknown_split(split, tmp_path):
    from typer.testing import CliRunner

    from reactdiff.cli import app

    result = CliRunner().invoke(app, ["validate", "--split", split, "--root", str(tmp_path)])
    assert result.exit_code == 2 and "unknown split" in result.output
