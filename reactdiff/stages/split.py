"""The `split` stage: the splits and appropriateness matrices every later stage reads.

REACT 2024 drops (synthetic or real) come with split CSVs and matrices: they are used as they
are, copied into ``split.out``. REACT 2025 (MARS) drops have neither: the pairs are the speaker
clips with their partners, found in the tree, and the matrix is the challenge's rule (same
session, same direction; ``reactdiff.data.mars.appropriateness``), written in the same form.
Either way ``split.out`` gets the mirrored sample order of each split (``samples_<split>.csv``),
the order of the matrices and of evaluation.
"""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import numpy as np

from reactdiff.atomic import atomic_dir, write_json
from reactdiff.config import Params
from reactdiff.data.layout import (
    SPLITS,
    ReactLayout,
    mirrored,
    neighbour_matrix_name,
    write_split_csv,
)
from reactdiff.data.layouts import Layout, params_layout
from reactdiff.data.mars import MarsLayout, appropriateness
from reactdiff.data.readers import load_npy
from reactdiff.errors import DataFileError
from reactdiff.stages.result import StageOptions, StageResult

NAME = "split"
Options = StageOptions


def _matrix(layout: Layout, split: str, n_pairs: int) -> np.ndarray:
    """The appropriateness matrix of a split's mirrored samples."""
    if isinstance(layout, MarsLayout):
        return appropriateness(mirrored(layout.pairs(split)), split)
    src = layout.neighbour_matrix(split)
    m = load_npy(src)
    if m.shape != (2 * n_pairs, 2 * n_pairs):
        raise DataFileError(
            src,
            f"shape {m.shape}, expected {2 * n_pairs} square "
            f"(2 x the {n_pairs} pairs of {layout.split_csv(split)})",
        )
    return m


def write_splits(layout: Layout | Path, out: Path) -> dict:
    """Splits + matrices of ``layout`` (a root: REACT 2024) into ``out`` (atomically); return a
    summary."""
    if not isinstance(layout, (ReactLayout, MarsLayout)):
        layout = ReactLayout(Path(layout))
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
            sessions = {layout.session(p.speaker) for p in pairs}
            info = {"pairs": len(pairs), "samples": 2 * len(pairs), "sessions": len(sessions)}
            if split != "train":
                m = _matrix(layout, split, len(pairs))
                if isinstance(layout, MarsLayout):
                    np.save(tmp / neighbour_matrix_name(split), m)
                else:  # the organisers' file, byte for byte
                    shutil.copyfile(
                        layout.neighbour_matrix(split), tmp / neighbour_matrix_name(split)
                    )
                per_row = np.asarray(m).sum(axis=1)
                info.update(
                    neighbours_mean=float(per_row.mean()), neighbours_min=int(per_row.min())
                )
            summary[split] = info
        write_json(tmp / "summary.json", summary)
    return summary


def run(params: Params, options: Options) -> StageResult:
    root, out = params.data.react_root, params.split.out
    summary = write_splits(params_layout(params.data), out)
    return StageResult(
        summary=f"split: {summary} -> {out}",
        run_params={"root": str(root)},
        metrics={f"{s}_{k}": v for s, info in summary.items() for k, v in info.items()},
        documents={"split_summary.json": summary},
    )
