"""Great Expectations over the feature store: one row per expected (split, clip, stream).

Every configured stream must be present for every clip of every split (listed in the manifest,
its file readable), with ``frames`` rows, the stream's dim, the configured dtype, finite values
and the bytes the manifest's sha256 says. One suite over one table (validating file by file
would cost ~0.35 s per file); each failure names the array file. The result goes to
``<store>/validation.json``.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from reactdiff.atomic import write_json
from reactdiff.data.errors import DataFileError
from reactdiff.features.store import FeatureStore, array_key, array_sha256

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
REPORT = "validation.json"


@dataclass
class FeatureValidation:
    success: bool
    rows: int
    failures: list[str]  # "<file>: <check>"


def store_table(
    store: FeatureStore, clips: dict[str, list[str]], dims: dict[str, int]
) -> pd.DataFrame:
    """One row per expected array: what the manifest and the file say about it."""
    manifest = store.load_manifest()
    rows = []
    for split, rels in clips.items():
        for rel in rels:
            for stream, dim in dims.items():
                path = store.array_path(split, stream, rel)
                row = {
                    "file": str(path),
                    "stream": stream,
                    "expected_dim": dim,
                    "present": False,
                    "frames": np.nan,
                    "dim": np.nan,
                    "dtype": None,
                    "finite": None,
                    "hash_ok": None,
                }
                entry = manifest.entries.get(array_key(split, stream, rel))
                if entry is not None and path.is_file():
                    try:
                        arr = store.open(split, rel, stream)
                    except DataFileError:
                        arr = None
                    if arr is not None:
                        row.update(
                            present=True,
                            frames=arr.shape[0],
                            dim=arr.shape[1] if arr.ndim == 2 else np.nan,
                            dtype=str(arr.dtype),
                            finite=bool(np.isfinite(arr).all()),
                            hash_ok=array_sha256(arr) == entry.sha256,
                        )
                rows.append(row)
    return pd.DataFrame(rows)


def _expectations(frames: int, dtype: str) -> list:
    import great_expectations as gx

    E = gx.expectations

    def check(exp, text: str):
        exp.meta = {"check": text}
        return exp

    return [
        check(
            E.ExpectColumnValuesToBeInSet(column="present", value_set=[True]),
            "array missing (not in the manifest, or no readable file)",
        ),
        check(
            E.ExpectColumnValuesToBeBetween(column="frames", min_value=frames, max_value=frames),
            f"frames != {frames}",
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


def run_suite(table: pd.DataFrame, frames: int, dtype: str) -> list[str]:
    """Failure lines ``<file>: <check>``, in table order per expectation."""
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    ctx = gx.get_context(mode="ephemeral")
    ctx.variables.progress_bars = ProgressBarsConfig(globally=False)
    suite = ctx.suites.add(gx.ExpectationSuite(name="feature_store"))
    for exp in _expectations(frames, dtype):
        suite.add_expectation(exp)
    batch = (
        ctx.data_sources.add_pandas("features")
        .add_dataframe_asset("store")
        .add_batch_definition_whole_dataframe("all")
    )
    vd = gx.ValidationDefinition(name="feature_store", data=batch, suite=suite)
    result = vd.run(
        batch_parameters={"dataframe": table},
        result_format={"result_format": "COMPLETE", "unexpected_index_column_names": ["file"]},
    )
    failures = []
    for r in result.results:
        if r.success:
            continue
        check = r.expectation_config.meta["check"]
        if r.exception_info.get("raised_exception"):
            failures.append(f"{check}: check errored: {r.exception_info['exception_message']}")
            continue
        failures += [f"{idx['file']}: {check}" for idx in r.result["unexpected_index_list"]]
    return failures


def validate_store(
    out: Path | str, clips: dict[str, list[str]], dims: dict[str, int], frames: int, dtype: str
) -> FeatureValidation:
    """Run the suite over the store at ``out``; write and return the result."""
    store = FeatureStore(out)
    table = store_table(store, clips, dims)
    report = FeatureValidation(not (fails := run_suite(table, frames, dtype)), len(table), fails)
    write_json(store.root / REPORT, asdict(report))
    return report
