"""Great Expectations over the feature store's inventory (``reactdiff.features.inventory``).

Every configured stream must be present for every clip of every split (listed in the manifest,
its file readable), with ``frames`` rows, the stream's dim, the configured dtype, finite values
and the bytes the manifest's sha256 says. One suite over one table (validating file by file
would cost ~0.35 s per file); each failure names the array file. The caller writes the result
to ``<store>/REPORT``.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from reactdiff.validation.engine import check, failure_lines, gx_context, run_expectations

REPORT = "validation.json"
SUITE = "feature_store"


@dataclass
class FeatureValidation:
    success: bool
    rows: int
    failures: list[str]  # "<file>: <check>"


def expectations(dtype: str) -> list:
    """The suite: one expectation per property of an array, each with its ``check``."""
    import great_expectations as gx

    E = gx.expectations
    return [
        check(
            E.ExpectColumnValuesToBeInSet(column="present", value_set=[True]),
            "array missing (not in the manifest, or no readable file)",
        ),
        check(
            E.ExpectColumnPairValuesToBeEqual(
                column_A="frames",
                column_B="expected_frames",
                ignore_row_if="either_value_is_missing",
            ),
            "not as many frames as the clip",
        ),
        check(
            E.ExpectColumnPairValuesToBeEqual(
                column_A="dim", column_B="expected_dim", ignore_row_if="either_value_is_missing"
            ),
            "not (frames, dim) with the stream's dim",
        ),
        check(
            E.ExpectColumnValuesToBeInSet(column="dtype", value_set=[dtype]),
            f"dtype is not {dtype}",
        ),
        check(E.ExpectColumnValuesToBeInSet(column="finite", value_set=[True]), "NaN/inf values"),
        check(
            E.ExpectColumnValuesToBeInSet(column="hash_ok", value_set=[True]),
            "bytes differ from the manifest's sha256",
        ),
    ]


def validate_feature_table(table: pd.DataFrame, dtype: str) -> FeatureValidation:
    """Run the suite over a ``store_table``; failures are ``"<file>: <check>"`` lines, in table
    order per expectation. Writes nothing."""
    result = run_expectations(
        gx_context(),
        SUITE,
        table,
        expectations(dtype),
        ["file"],
        source="features",
        asset="store",
    )
    failures = failure_lines(result, "file")
    return FeatureValidation(success=not failures, rows=len(table), failures=failures)
