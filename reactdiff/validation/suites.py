"""The expectation suites, one per table, each expectation with a plain-words ``check``.

Bounds come from the data format (``reactdiff.data.columns``) and the ``validate`` params.
"""

from __future__ import annotations

from dataclasses import dataclass

import great_expectations as gx

from reactdiff.config import ValidateParams
from reactdiff.data.columns import (
    AU_SLICE,
    EMOTION_COLUMNS,
    EXPR_SLICE,
    VA_SLICE,
)

E = gx.expectations


@dataclass(frozen=True)
class Suite:
    name: str
    table: str  # attribute of DropTables
    index_columns: tuple[str, ...]  # what a failure is reported by
    expectations: tuple


def check(exp, text: str):
    exp.meta = {"check": text}
    return exp


def stream_condition(stream: str) -> dict:
    return {"row_condition": f'stream=="{stream}"', "condition_parser": "pandas"}


def emotion_values(v: ValidateParams) -> list:
    """The ranges of a frame's 25 values (GX skips nulls here: each format checks those)."""
    exps = [
        check(E.ExpectColumnValuesToBeInSet(column=c, value_set=[0, 1]), f"{c} is not 0/1")
        for c in EMOTION_COLUMNS[AU_SLICE]
    ]
    exps += [
        check(
            E.ExpectColumnValuesToBeBetween(column=c, min_value=-1, max_value=1),
            f"{c} outside [-1, 1]",
        )
        for c in EMOTION_COLUMNS[VA_SLICE]
    ]
    exps += [
        check(
            E.ExpectColumnValuesToBeBetween(column=c, min_value=0, max_value=1),
            f"{c} probability outside [0, 1]",
        )
        for c in EMOTION_COLUMNS[EXPR_SLICE]
    ]
    tol = v.prob_sum_tolerance
    exps.append(
        check(
            E.ExpectColumnValuesToBeBetween(
                column="prob_sum", min_value=1 - tol, max_value=1 + tol
            ),
            f"expression probabilities do not sum to 1 +- {tol:g}",
        )
    )
    return exps
