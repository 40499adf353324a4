"""The shared Great Expectations runner: one suite over one table, failures by index column."""

import great_expectations as gx
import pandas as pd

from reactdiff.validation.engine import (
    build_docs,
    check,
    failure_lines,
    gx_context,
    run_expectations,
    unexpected,
)

E = gx.expectations


def _table() -> pd.DataFrame:
    return pd.DataFrame(
        {"file": ["a.npy", "b.npy", "c.npy"], "frames": [750, 749, 750], "ok": [True, True, False]}
    )


def _expectations() -> list:
    return [
        check(
            E.ExpectColumnValuesToBeBetween(column="frames", min_value=750, max_value=750),
            "frames != 750",
        ),
        check(E.ExpectColumnValuesToBeInSet(column="ok", value_set=[True]), "not ok"),
        check(E.ExpectColumnValuesToBeInSet(column="file", value_set=["a.npy"]), "not a"),
    ]


def test_failures_name_the_rows_by_index_column(tmp_path):
    docs = tmp_path / "docs"
    ctx = gx_context(docs)
    result = run_expectations(
        ctx, "tiny", _table(), _expectations(), ["file"], source="tables", asset="files"
    )
    assert not result.success and result.statistics["unsuccessful_expectations"] == 3
    found = unexpected(result)
    assert [(u.check, u.column, u.error) for u in found] == [
        ("frames != 750", "frames", None),
        ("not ok", "ok", None),
        ("not a", "file", None),
    ]
    assert found[0].rows == [{"file": "b.npy", "frames": 749}]
    assert failure_lines(result, "file") == [
        "b.npy: frames != 750",
        "c.npy: not ok",
        "b.npy: not a",
        "c.npy: not a",
    ]
    ok = run_expectations(
        ctx, "ok", _table().iloc[:1], _expectations(), ["file"], source="tables", asset="first"
    )
    assert ok.success and failure_lines(ok, "file") == []
    assert build_docs(ctx) == docs.resolve()
    assert (docs / "index.html").is_file()


def test_a_check_that_cannot_run_is_a_failure_line():
    result = run_expectations(
        gx_context(),
        "broken",
        _table(),
        [check(E.ExpectColumnValuesToBeInSet(column="nope", value_set=[1]), "nope is 1")],
        ["file"],
        source="tables",
        asset="files",
    )
    assert not result.success
    [line] = failure_lines(result, "file")
    assert line.startswith("nope is 1: check errored: ") and '"nope" in BatchData' in line
