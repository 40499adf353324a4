"""The content of the pipeline flow's Prefect artifacts, built from the stages' files."""

from __future__ import annotations

import json

from flows.artifacts import evaluation_rows, mlflow_run_url, validation_markdown


def _summary(tmp_path, success: bool):
    summary = {
        "root": "data/raw",
        "success": success,
        "video_checked": True,
        "counts": {"files": 1536, "pairs": 192},
        "suites": {
            "emotion_frames": {
                "success": success,
                "rows": 288384,
                "expectations": 51,
                "failed_expectations": 0 if success else 1,
            }
        },
        "failures": []
        if success
        else [{"suite": "emotion_frames", "where": "a.csv", "check": "AU1 is not 0/1", "count": 2}],
        "warnings": [],
    }
    path = tmp_path / "summary.json"
    path.write_text(json.dumps(summary))
    return path


def test_validation_summary_says_the_verdict_counts_and_failures(tmp_path):
    good = validation_markdown(_summary(tmp_path, True))
    assert good.startswith("# Validation of `data/raw`: passed")
    assert "| files | 1,536 |" in good and "| emotion_frames | 288,384 | 51 | 0 | ok |" in good
    assert "FAIL" not in good
    bad = validation_markdown(_summary(tmp_path, False))
    assert "FAILED" in bad and "- FAIL a.csv: AU1 is not 0/1: 2 value(s)" in bad


def test_evaluation_rows_one_per_method(tmp_path):
    path = tmp_path / "eval.json"
    mime = {"FRDist": 144.123456, "ci95": {"FRDist": [140.0, 148.0]}}
    path.write_text(json.dumps({"GT": {"FRDist": 0.0}, "B_Mime": mime}))
    assert evaluation_rows(path) == [
        {"method": "GT", "FRDist": 0.0},
        {"method": "B_Mime", "FRDist": 144.1235},
    ]


def test_mlflow_links_point_at_the_ui_that_shows_the_run():
    url, how = mlflow_run_url("sqlite:///mlflow.db", "1", "abc")
    assert url == "http://127.0.0.1:5000/#/experiments/1/runs/abc" and "make ui" in how
    url, how = mlflow_run_url("http://10.0.0.2:5000/", "3", "r")
    assert url == "http://10.0.0.2:5000/#/experiments/3/runs/r" and "server" in how
