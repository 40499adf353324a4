"""The `split` stage: the splits and appropriateness matrices every later stage reads.

Synthetic drops come with session-disjoint splits from the generator; real drops with the
organisers' CSVs and matrices. Both are used as they are: copied into ``split.out`` together
with the mirrored sample order of each split (``samples_<split>.csv``), the order of the
matrices and of evaluation.
"""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import numpy as np

from reactdiff.atomic import atomic_dir, write_json
from reactdiff.config import Params
from reactdiff.data.layout import SPLITS, ReactLayout, mirrored, session_of, write_split_csv
from reactdiff.data.readers import load_npy
from reactdiff.errors import DataFileError
from reactdiff.stages.result import StageOptions, StageResult

NAME = "split"
Options = StageOptions


def write_splits(root: Path, out: Path) -> dict:
    """Copy splits + matrices from ``root`` into ``out`` (atomically); return a summary."""
    layout = ReactLayout(Path(root))
    summary: dict = {}
    # every CSV is read and its paths checked before ``out`` is touched
    split_pairs = {split: layout.pairs(split) for split in SPLITS}
    with atomic_dir(out, owner="reactdiff split") as tmp:
        for split, pairs in split_pairs.items():
            write_split_csv(tmp / f"{split}.csv", pairs)
            with (tmp / f"samples_{split}.csv").open("w", newline="") as f:
                w = csv.writer(f)
                w.writerow(["sample", "speaker_path", "listener_path"])
                for i, p in enumerate(mirrored(pairs)):
                    w.writerow([i, p.speaker, p.listener])
            sessions = {session_of(p.speaker) for p in pairs}
            info = {"pairs": len(pairs), "samples": 2 * len(pairs), "sessions": len(sessions)}
            if split != "train":
                src = layout.neighbour_matrix(split)
                m = load_npy(src)
                if m.shape != (2 * len(pairs), 2 * len(pairs)):
                    raise DataFileError(
                        src,
                        f"shape {m.shape}, expected {2 * len(pairs)} square "
                        f"(2 x the {len(pairs)} pairs of {layout.split_csv(split)})",
                    )
                shutil.copyfile(src, tmp / src.name)
                per_row = np.asarray(m).sum(axis=1)
                info.update(
                    neighbours_mean=float(per_row.mean()), neighbours_min=int(per_row.min())
                )
            summary[split] = info
        write_json(tmp / "summary.json", summary)
    return summary


def run(params: Params, options: Options) -> StageResult:
    root, out = params.data.react_root, params.split.out
    summary = write_splits(root, out)
    return StageResult(
        summary=f"split: {summary} -> {out}",
        run_params={"root": str(root)},
        metrics={f"{s}_{k}": v for s, info in summary.items() for k, v in info.items()},
        documents={"split_summary.json": summary},
    )
