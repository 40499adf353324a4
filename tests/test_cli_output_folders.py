"""Commands that replace a folder whole refuse one holding the user's files, and keep them."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from reactdiff.cli import app

REPO = Path(__file__).resolve().parents[1]
PARAMS = ["--params", str(REPO / "params.yaml")]


def _users_folder(tmp_path: Path) -> Path:
    reports = tmp_path / "reports"
    reports.mkdir()
    (reports / "eval.md").write_text("my results")
    return reports


def test_validate_refuses_a_report_folder_with_other_files(tiny_drop_novideo, tmp_path):
    reports = _users_folder(tmp_path)
    args = ["validate", "--root", str(tiny_drop_novideo), "--report", str(reports), *PARAMS]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2, result.output
    assert f"error: {reports}: folder is not empty" in result.output
    assert (reports / "eval.md").read_text() == "my results"
    assert sorted(p.name for p in reports.iterdir()) == ["eval.md"]


def test_synth_refuses_a_folder_with_other_files(tmp_path):
    reports = _users_folder(tmp_path)
    result = CliRunner().invoke(app, ["synth", "--out", str(reports), "--no-video", *PARAMS])
    assert result.exit_code == 2, result.output
    assert "not an earlier output of 'reactdiff synth'" in result.output
    assert sorted(p.name for p in reports.iterdir()) == ["eval.md"]


def test_features_refuses_a_folder_that_is_not_a_store(tiny_drop_novideo, tmp_path):
    """The store deletes files it does not list: never in someone else's folder."""
    reports = _users_folder(tmp_path)
    (reports / "train").mkdir()
    (reports / "train" / "notes.txt").write_text("mine")
    args = ["features", "--root", str(tiny_drop_novideo), "--out", str(reports), *PARAMS]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2, result.output
    assert f"{reports}: folder is not empty and is not a feature store" in result.output
    assert (reports / "train" / "notes.txt").read_text() == "mine"
