"""Run the suites over a drop, write the JSON summary and the Data Docs, list the failures."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from reactdiff.atomic import atomic_dir, check_replaceable, write_json
from reactdiff.config import ValidateParams
from reactdiff.data.formats import Format
from reactdiff.data.splits import SPLITS
from reactdiff.validation.engine import build_docs, gx_context, run_expectations, unexpected
from reactdiff.validation.formats import checks_of
from reactdiff.validation.suites import Suite
from reactdiff.validation.tables import DropTables

SOURCE = "react_drop"  # the Data Docs' data source; each table is one of its assets
OWNER = "reactdiff validate"  # the report folder is replaced whole: only ever its own
# Index columns that say where in a file a row is: grouped into one example per file.
POSITIONS = {"line": "lines", "row": "rows"}


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


def _plain(value):
    """numpy scalars as plain Python values, for the JSON report."""
    return value.item() if isinstance(value, np.generic) else value


def _failures(suite: Suite, result) -> list[Failure]:
    """One Failure per (expectation, reported place), rows grouped under their file."""
    out = []
    for u in unexpected(result):
        if u.error is not None:
            out.append(Failure(suite.name, suite.table, f"{u.check}: check errored: {u.error}", 0))
            continue
        pos = next((c for c in suite.index_columns if c in POSITIONS), None)
        groups: dict[str, list] = {}
        for idx in u.rows:
            where = ": ".join(str(idx[c]) for c in suite.index_columns if c != pos and idx[c] != "")
            groups.setdefault(where, []).append(idx[pos] if pos else idx.get(u.column))
        for where, details in groups.items():
            if pos is not None:
                examples = [f"{POSITIONS[pos]} {', '.join(str(d) for d in details[:5])}"]
            else:  # a flag column (readable, finite, ...) says nothing more than the check
                examples = [_plain(d) for d in details[:5] if not isinstance(d, bool | np.bool_)]
            out.append(Failure(suite.name, where, u.check, len(details), examples))
    return out


def validate_drop(
    root: Path | str,
    fmt: Format,
    params: ValidateParams,
    report_dir: Path | str,
    splits: tuple[str, ...] = SPLITS,
    progress: bool = True,
) -> ValidationReport:
    """Validate a drop in format ``fmt``; the report directory is replaced atomically (summary +
    Data Docs), and refused before the drop is read if it holds anything but an earlier
    report. The report has one shape for both formats (a MARS drop has no matrices: 0)."""
    root, report_dir = Path(root), Path(report_dir)
    check_replaceable(report_dir, OWNER)
    checks = checks_of(fmt)
    tables: DropTables = checks.build_tables(fmt.layout(root), splits, progress=progress)
    failures: list[Failure] = []
    suites: dict[str, dict] = {}
    with atomic_dir(report_dir, owner=OWNER) as tmp:
        ctx = gx_context(tmp / "data_docs")
        for suite in checks.suites(fmt, params, tables.video_checked):
            df: pd.DataFrame = getattr(tables, suite.table)
            if df.empty:
                suites[suite.name] = {"success": None, "rows": 0, "note": "nothing to check"}
                continue
            result = run_expectations(
                ctx,
                suite.name,
                df,
                suite.expectations,
                suite.index_columns,
                source=SOURCE,
                asset=suite.table,
            )
            failures += _failures(suite, result)
            stats = result.statistics
            suites[suite.name] = {
                "success": bool(result.success),
                "rows": len(df),
                "expectations": int(stats["evaluated_expectations"]),
                "failed_expectations": int(stats["unsuccessful_expectations"]),
            }
        build_docs(ctx)  # once for all suites: a rebuild costs ~1 s
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
