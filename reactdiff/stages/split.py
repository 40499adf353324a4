"""The `split` stage: the splits and appropriateness matrices every later stage reads.

The format decides where they come from (split CSVs and the organisers' matrices, or the tree
and the challenge's rule); :func:`reactdiff.data.splits.write_splits` writes them into
``split.out`` with each split's mirrored sample order, the order of the matrices and of
evaluation.
"""

from __future__ import annotations

from reactdiff.config import Params
from reactdiff.data.formats import params_layout
from reactdiff.data.splits import write_splits
from reactdiff.stages.result import StageOptions, StageResult

NAME = "split"
Options = StageOptions


def run(params: Params, options: Options) -> StageResult:
    root, out = params.data.react_root, params.split.out
    summary = write_splits(params_layout(params.data), out)
    return StageResult(
        summary=f"split: {summary} -> {out}",
        run_params={"root": str(root)},
        metrics={f"{s}_{k}": v for s, info in summary.items() for k, v in info.items()},
        documents={"split_summary.json": summary},
    )
