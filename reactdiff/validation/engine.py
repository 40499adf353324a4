"""The one way this package runs Great Expectations: a suite of expectations over a table.

Every check is a pandas DataFrame (one row per file, frame or array) validated by one suite of
expectations, each carrying ``meta={"check": <plain words>}``; one run per table, not per file
(a GX run costs ~0.35 s). The context is ephemeral (nothing is written but the Data Docs, when
asked for: pages that read offline, see ``data_docs``), with progress bars and analytics off.
Results come back with ``COMPLETE`` format and the given index columns, so each unexpected row
names its file; ``unexpected`` turns the unsuccessful expectations into plain records and
``failure_lines`` into ``"<where>: <check>"``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

if TYPE_CHECKING:
    from great_expectations.core import ExpectationSuiteValidationResult
    from great_expectations.data_context import AbstractDataContext
    from great_expectations.expectations import Expectation

DOCS_SITE = "reactdiff"


def check(expectation: Expectation, text: str) -> Expectation:
    """``expectation`` with the plain-words ``check`` its failures are reported by."""
    expectation.meta = {"check": text}
    return expectation


def gx_context(docs_dir: Path | None = None) -> AbstractDataContext:
    """An ephemeral context with progress bars off; with ``docs_dir``, a Data Docs site there
    that reads offline (built by ``build_docs(ctx)`` once every suite has run)."""
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    ctx = gx.get_context(mode="ephemeral")
    ctx.variables.progress_bars = ProgressBarsConfig(globally=False)
    if docs_dir is not None:
        from reactdiff.validation.data_docs import site_config

        # the ephemeral context's own site would write GX's online pages to a new /tmp folder
        if "local_site" in (ctx.variables.data_docs_sites or {}):
            ctx.delete_data_docs_site("local_site")
        ctx.add_data_docs_site(site_name=DOCS_SITE, site_config=site_config(docs_dir))
    return ctx


def build_docs(ctx: AbstractDataContext) -> Path:
    """Build the Data Docs of a ``gx_context(docs_dir)`` as offline pages, checked (a page
    that would not read offline is an error naming it); returns ``docs_dir``."""
    from reactdiff.validation.data_docs import build_offline_docs

    return build_offline_docs(ctx, DOCS_SITE)


def _pandas_source(ctx: AbstractDataContext, name: str):
    try:
        return ctx.data_sources.get(name)
    except KeyError:
        return ctx.data_sources.add_pandas(name)


def run_expectations(
    ctx: AbstractDataContext,
    suite: str,
    table: pd.DataFrame,
    expectations: Sequence[Expectation],
    index_columns: Sequence[str],
    *,
    source: str,
    asset: str,
) -> ExpectationSuiteValidationResult:
    """Validate ``table`` with ``expectations`` as the suite ``suite`` (data asset ``asset`` of
    the pandas data source ``source``), through a checkpoint so the result shows in the Data
    Docs. Unexpected rows are reported by ``index_columns``. Suite and asset names must be new
    in ``ctx``."""
    import great_expectations as gx

    gx_suite = ctx.suites.add(gx.ExpectationSuite(name=suite))
    for exp in expectations:
        gx_suite.add_expectation(exp)
    batch = (
        _pandas_source(ctx, source)
        .add_dataframe_asset(asset)
        .add_batch_definition_whole_dataframe("all")
    )
    definition = ctx.validation_definitions.add(
        gx.ValidationDefinition(name=suite, data=batch, suite=gx_suite)
    )
    checkpoint = ctx.checkpoints.add(
        gx.Checkpoint(
            name=f"{suite}_checkpoint",
            validation_definitions=[definition],
            result_format={
                "result_format": "COMPLETE",
                "unexpected_index_column_names": list(index_columns),
            },
        )
    )
    result = checkpoint.run(batch_parameters={"dataframe": table})
    return next(iter(result.run_results.values()))


@dataclass(frozen=True)
class Unexpected:
    """One unsuccessful expectation: its check and the rows that broke it."""

    check: str
    column: str | None  # the checked column (None for a column pair, a table check)
    rows: list[dict[str, Any]] = field(default_factory=list)  # index columns (+ the value)
    error: str | None = None  # the check itself raised; no rows then


def _error(info: dict | None) -> str | None:
    """The message of an exception a check raised: GX reports it either at the top level or
    per metric (``{metric id: {"raised_exception": ..., "exception_message": ...}}``)."""
    info = info or {}
    for entry in [info, *(v for v in info.values() if isinstance(v, dict))]:
        if entry.get("raised_exception"):
            return str(entry.get("exception_message") or "unknown error")
    return None


def unexpected(result: ExpectationSuiteValidationResult) -> list[Unexpected]:
    """The unsuccessful expectations of ``result``, in suite order."""
    out = []
    for r in result.results:
        if r.success:
            continue
        config = r.expectation_config
        text = (config.meta or {}).get("check", config.type)
        column = config.kwargs.get("column")
        if (error := _error(r.exception_info)) is not None:
            out.append(Unexpected(text, column, error=error))
            continue
        out.append(Unexpected(text, column, list(r.result.get("unexpected_index_list") or [])))
    return out


def failure_lines(result: ExpectationSuiteValidationResult, where: str) -> list[str]:
    """``"<row[where]>: <check>"`` per unexpected row (rows in table order, per expectation);
    ``"<check>: check errored: <message>"`` for a check that could not run, and
    ``"<check>: failed"`` for one that failed without naming rows; so no lines means success."""
    lines = []
    for u in unexpected(result):
        if u.error is not None:
            lines.append(f"{u.check}: check errored: {u.error}")
        elif not u.rows:
            lines.append(f"{u.check}: failed")
        lines += [f"{row[where]}: {u.check}" for row in u.rows]
    return lines
