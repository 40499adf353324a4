"""The `validate` stage: the Great Expectations suites over a whole drop.

The report (``summary.json`` and the Data Docs) is written and logged whether or not the drop
passes; bad data then fails the stage with one line per failing file and check.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from reactdiff.config import Params
from reactdiff.data.formats import resolve_format
from reactdiff.data.splits import SPLITS
from reactdiff.errors import ConfigError, DataQualityError
from reactdiff.stages.result import StageOptions, StageResult
from reactdiff.validation.run import validate_drop

NAME = "validate"


@dataclass(frozen=True)
class Options(StageOptions):
    root: Path | None = None  # the drop [the pipeline's data root]
    splits: tuple[str, ...] = SPLITS  # only these splits' clips
    report_dir: Path | None = None  # [validate.report_dir]

    def __post_init__(self) -> None:
        if unknown := sorted(set(self.splits) - set(SPLITS)):
            raise ConfigError(f"unknown split(s) {unknown}; choose from {list(SPLITS)}")


def run(params: Params, options: Options) -> StageResult:
    root = options.root or params.data.react_root
    report_dir = Path(options.report_dir or params.validation.report_dir)
    fmt = resolve_format(params.data, Path(root))  # auto: detected from the root validated
    report = validate_drop(
        root,
        fmt,
        params.validation,
        report_dir,
        tuple(options.splits),
        options.progress,
    )
    video = "checked" if report.video_checked else f"skipped (no {fmt.video_folder})"
    summary = (
        f"validate: {report.counts['files']} files, {report.counts['emotion_frames']} emotion "
        f"frames, video {video}: {'OK' if report.success else 'FAILED'}; report in "
        f"{report_dir}/summary.json, Data Docs in {report_dir}/data_docs/index.html"
    )
    failure = None
    if not report.success:
        shown = params.validation.max_failures_shown
        lines = [f.line() for f in report.failures[:shown]]
        if len(report.failures) > shown:
            lines.append(
                f"... and {len(report.failures) - shown} more in {report_dir}/summary.json"
            )
        failure = DataQualityError(summary, lines, warnings=report.warnings)
    return StageResult(
        summary=summary,
        run_params={"root": str(root), "splits": ",".join(options.splits)},
        metrics={
            "failures": len(report.failures),
            "warnings": len(report.warnings),
            **{f"checked_{k}": v for k, v in report.counts.items()},
        },
        artifacts=[
            (report_dir / "summary.json", "validation"),
            (report_dir / "data_docs", "validation/data_docs"),
        ],
        tags={"validation_success": str(report.success)},
        warnings=report.warnings,
        failure=failure,
    )
