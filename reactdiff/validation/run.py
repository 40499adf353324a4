"""Run the suites over a drop, write the JSON summary and the Data Docs, list the failures."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from reactdiff.atomic import atomic_dir, write_json
from reactdiff.config import FormatParams, ValidateParams
from reactdiff.data.layout import SPLITS
from reactdiff.validation.suites import Suite, all_suites
from reactdiff.validation.tables import DropTables, build_tables

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")


@dataclass
class Failure:
    suite: str
    where: str  # the file (and the problem / rows) the failure belongs to
    check: str
    count: int
    examples: list = field(default_factory=list)

    def line(self) -> str:
        eg = f" (e.g. {', '.join(map(str, self.examples))})" if self.examples else ""
        return f"FAIL {self.where}: {self.check}: {self.count} value(s){eg}"


@dataclass
class ValidationReport:
    root: str
    success: bool
    video_checked: bool
    counts: dict
    suites: dict
    failures: list[Failure]
    warnings: list[str]

    def to_json(self) -> dict:
        return asdict(self)


def _context(docs_dir: Path):
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    ctx = gx.get_context(mode="ephemeral")
    ctx.variables.progress_bars = ProgressBarsConfig(globally=False)
    ctx.add_data_docs_site(
        site_name="reactdiff",
        site_config={
            "class_name": "SiteBuilder",
            "store_backend": {
                "class_name": "TupleFilesystemStoreBackend",
                "base_directory": str(docs_dir.resolve()),
            },
            "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
        },
    )
    return ctx


def _plain(value):
    """numpy scalars as plain Python values, for the JSON report."""
    return value.item() if isinstance(value, np.generic) else value


def _failures(suite: Suite, result) -> list[Failure]:
    """One Failure per (expectation, reported place), rows grouped under their file."""
    out = []
    for r in result.results:
        if r.success:
            continue
        check = (r.expectation_config.meta or {}).get("check", r.expectation_config.type)
        if r.exception_info.get("raised_exception"):
            msg = r.exception_info.get("exception_message")
            out.append(Failure(suite.name, suite.table, f"{check}: check errored: {msg}", 0))
            continue
        column = r.expectation_config.kwargs.get("column")
        groups: dict[str, list] = {}
        for idx in r.result.get("unexpected_index_list") or []:
            where = ": ".join(
                str(idx[c]) for c in suite.index_columns if c != "line" and idx[c] != ""
            )
            groups.setdefault(where, []).append(idx.get("line", idx.get(column)))
        for where, details in groups.items():
            if "line" in suite.index_columns:
                examples = [f"lines {', '.join(str(d) for d in details[:5])}"]
            else:  # a flag column (readable, finite, ...) says nothing more than the check
                examples = [_plain(d) for d in details[:5] if not isinstance(d, bool | np.bool_)]
            out.append(Failure(suite.name, where, check, len(details), examples))
    return out


def validate_drop(
    root: Path | str,
    fmt: FormatParams,
    params: ValidateParams,
    report_dir: Path | str,
    splits: tuple[str, ...] = SPLITS,
    progress: bool = True,
) -> ValidationReport:
    """Validate a drop; the report directory is replaced atomically (summary + Data Docs)."""
    import great_expectations as gx

    root, report_dir = Path(root), Path(report_dir)
    tables: DropTables = build_tables(root, splits, progress=progress)
    failures: list[Failure] = []
    suites: dict[str, dict] = {}
    with atomic_dir(report_dir) as tmp:
        ctx = _context(tmp / "data_docs")
        ds = ctx.data_sources.add_pandas("react_drop")
        for suite in all_suites(fmt, params, tables.video_checked):
            df: pd.DataFrame = getattr(tables, suite.table)
            if df.empty:
                suites[suite.name] = {"success": None, "rows": 0, "note": "nothing to check"}
                continue
            gx_suite = ctx.suites.add(gx.ExpectationSuite(name=suite.name))
            for exp in suite.expectations:
                gx_suite.add_expectation(exp)
            batch = ds.add_dataframe_asset(suite.table).add_batch_definition_whole_dataframe("all")
            vd = ctx.validation_definitions.add(
                gx.ValidationDefinition(name=suite.name, data=batch, suite=gx_suite)
            )
            checkpoint = ctx.checkpoints.add(
                gx.Checkpoint(
                    name=f"{suite.name}_checkpoint",
                    validation_definitions=[vd],
                    result_format={
                        "result_format": "COMPLETE",
                        "unexpected_index_column_names": list(suite.index_columns),
                    },
                )
            )
            result = next(
                iter(checkpoint.run(batch_parameters={"dataframe": df}).run_results.values())
            )
            found = _failures(suite, result)
            failures += found
            stats = result.statistics
            suites[suite.name] = {
                "success": bool(result.success),
                "rows": len(df),
                "expectations": int(stats["evaluated_expectations"]),
                "failed_expectations": int(stats["unsuccessful_expectations"]),
            }
        ctx.build_data_docs()  # once for all suites: a rebuild costs ~1 s
        report = ValidationReport(
            root=str(root),
            success=not failures,
            video_checked=tables.video_checked,
            counts={
                "files": len(tables.files),
                "emotion_frames": len(tables.frames),
                "pairs": len(tables.pairs),
                "matrices": len(tables.matrices),
            },
            suites=suites,
            failures=failures,
            warnings=tables.warnings,
        )
        write_json(tmp / "summary.json", report.to_json())
    return report
