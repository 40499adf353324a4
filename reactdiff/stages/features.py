"""The `features` stage: every stream of every clip into the feature store, then validated.

The clips come from the split stage's CSVs (``split.out``) for the pipeline's own root, from the
root itself for any other root (as its format finds them). A bad input file does not stop the
other clips: their arrays are stored, then every bad file is named (exit 2). The store is then checked by the feature-store
suite (every stream of every clip present, the clip's frames, dims, dtype, finite, sha256) and the result
written to ``<store>/validation.json``; a failure fails the stage (exit 1).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

from reactdiff.atomic import write_json
from reactdiff.config import Params
from reactdiff.data.formats import open_layout, resolve_format
from reactdiff.errors import DataQualityError
from reactdiff.features.extract import ExtractionFailed, extract_features, split_clips
from reactdiff.features.inventory import store_table
from reactdiff.features.store import MANIFEST, FeatureStore
from reactdiff.stages.result import StageOptions, StageResult
from reactdiff.validation.feature_store import REPORT, validate_feature_table

NAME = "features"


@dataclass(frozen=True)
class Options(StageOptions):
    root: Path | None = None  # a REACT root [the pipeline's, clips from split.out]
    out: Path | None = None  # [features.out]
    streams: tuple[str, ...] | None = None  # [features.streams]
    workers: int | None = None  # [features.workers]


def run(params: Params, options: Options) -> StageResult:
    fp = params.features
    own_root = options.root is None
    root = options.root or params.data.react_root
    fmt = resolve_format(params.data, Path(root))
    layout = open_layout(root, fmt)
    out = Path(options.out or fp.out)
    streams = list(options.streams or fp.streams)
    workers = options.workers or fp.workers
    splits_dir = params.split.out if own_root and params.split.out.is_dir() else None
    clips = split_clips(layout, splits_dir)
    summary = extract_features(layout, out, clips, fp, streams, workers, options.progress)
    if summary.errors:
        raise ExtractionFailed(summary)
    table = store_table(FeatureStore(out), clips, summary.dims, layout.clip_frames)
    report = validate_feature_table(table, fp.dtype)
    write_json(out / REPORT, asdict(report))
    failure = None
    if not report.success:
        shown = params.validation.max_failures_shown
        lines = [f"FAIL {line}" for line in report.failures[:shown]]
        failure = DataQualityError(
            f"the feature store failed validation, see {out / REPORT}", lines
        )
    return StageResult(
        summary=(
            f"features: {summary.clips} clips, streams {summary.dims}: {len(summary.computed)} "
            f"arrays computed, {summary.skipped} unchanged, {summary.removed} stale removed in "
            f"{summary.seconds:.1f} s; {report.rows} arrays validated -> {out}"
        ),
        run_params={
            "root": str(root),
            "out": str(out),
            "streams": ",".join(streams),
            "workers": workers,
            "dtype": fp.dtype,
        },
        metrics=summary.metrics(),
        artifacts=[(out / MANIFEST, "features"), (out / REPORT, "features")],
        failure=failure,
    )
