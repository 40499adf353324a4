"""The `validate` stage: run the suites, log the report to MLflow, fail on bad data."""

from __future__ import annotations

from pathlib import Path

from reactdiff.config import Params
from reactdiff.data.layout import SPLITS
from reactdiff.tracking import stage_run
from reactdiff.validation.run import ValidationReport, validate_drop


class ValidationFailed(Exception):
    """The drop broke at least one expectation; carries the report for the error lines."""

    def __init__(self, report: ValidationReport) -> None:
        self.report = report
        super().__init__(f"{len(report.failures)} validation failure(s) in {report.root}")


def run_validate_stage(
    params: Params,
    root: Path | None = None,
    splits: tuple[str, ...] = SPLITS,
    report_dir: Path | None = None,
    progress: bool = True,
) -> ValidationReport:
    """Validate and log; bad data raises ValidationFailed after the report is written and logged
    (so the MLflow run is marked FAILED)."""
    import mlflow

    root = root or params.data.react_root
    report_dir = report_dir or params.validation.report_dir
    with stage_run("validate", params, {"root": str(root), "splits": ",".join(splits)}):
        report = validate_drop(root, params.format, params.validation, report_dir, splits, progress)
        mlflow.log_metrics(
            {
                "failures": len(report.failures),
                "warnings": len(report.warnings),
                **{f"checked_{k}": v for k, v in report.counts.items()},
            }
        )
        mlflow.set_tag("validation_success", str(report.success))
        mlflow.log_artifact(str(Path(report_dir) / "summary.json"), "validation")
        mlflow.log_artifacts(str(Path(report_dir) / "data_docs"), "validation/data_docs")
        if not report.success:
            raise ValidationFailed(report)
    return report
