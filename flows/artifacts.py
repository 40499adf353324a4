"""What the pipeline flow shows in the Prefect UI: the validation summary, the evaluation table
and a link to the MLflow parent run, built from the files the stages wrote.

Kept free of Prefect (``flows.pipeline`` publishes them) so the content can be tested alone.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

# `make ui` serves a local (sqlite/file) store here; a server's own URI is used as it is
LOCAL_UI = "http://127.0.0.1:5000"


def mlflow_run_url(tracking_uri: str, experiment_id: str, run_id: str) -> tuple[str, str]:
    """(URL of the run in the MLflow UI, how to open it)."""
    remote = tracking_uri.startswith(("http://", "https://"))
    base = tracking_uri.rstrip("/") if remote else LOCAL_UI
    how = "the tracking server" if remote else f"`make ui` ({tracking_uri})"
    return f"{base}/#/experiments/{experiment_id}/runs/{run_id}", how


def validation_markdown(summary_file: Path) -> str:
    """The validate stage's ``summary.json`` as a verdict, the counts and one row per suite."""
    summary = json.loads(Path(summary_file).read_text())
    verdict = "passed" if summary["success"] else "FAILED"
    lines = [
        f"# Validation of `{summary['root']}`: {verdict}",
        "",
        "| checked | count |",
        "|---|---:|",
        *(f"| {name} | {count:,} |" for name, count in summary["counts"].items()),
        "",
        "| suite | rows | expectations | failed | result |",
        "|---|---:|---:|---:|---|",
    ]
    for name, suite in summary["suites"].items():
        result = "ok" if suite["success"] else "FAILED"
        lines.append(
            f"| {name} | {suite['rows']:,} | {suite['expectations']} | "
            f"{suite['failed_expectations']} | {result} |"
        )
    failures = summary.get("failures") or []
    if failures:
        lines += ["", f"{len(failures)} failures; the first ones:", ""]
        lines += [f"- {_failure_line(f)}" for f in failures[:10]]
    docs = Path(summary_file).parent / "data_docs" / "index.html"
    lines += ["", f"Data Docs: `{docs}`; every failure: `{summary_file}`."]
    return "\n".join(lines)


def _failure_line(failure: dict[str, Any]) -> str:
    """A failure record of ``summary.json`` as the stage prints it."""
    return f"FAIL {failure['where']}: {failure['check']}: {failure['count']} value(s)"


def evaluation_rows(metrics_file: Path) -> list[dict[str, Any]]:
    """``metrics/eval.json`` as table rows: one per method, its metrics as columns (the point
    values; their ``ci95`` intervals are in the report)."""
    results = json.loads(Path(metrics_file).read_text())
    return [
        {"method": method, **{k: round(v, 4) for k, v in row.items() if k != "ci95"}}
        for method, row in results.items()
    ]
