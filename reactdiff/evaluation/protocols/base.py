"""What every evaluation protocol gets and gives: the trained models' reactions as callables,
and the (run, notes) pair a protocol is."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from reactdiff.config import Params
from reactdiff.data.formats import Layout
from reactdiff.data.splits import clips_of, read_split_csv
from reactdiff.evaluation.predictions import Reactions

BASELINE_SEED = 0xE7A1  # with evaluate.gt_seed, the stream B_Random draws from
Results = dict[str, dict[str, float]]
# method -> metric -> (N_items,) values whose mean is the reported number (the bootstrap's input)
ItemValues = dict[str, dict[str, np.ndarray]]


@dataclass(frozen=True)
class ModelRows:
    """The trained models' reactions to the split's samples, in sample order."""

    methods: frozenset[str]  # the methods of evaluate.methods a trained model produces
    fixed: Callable[[str, bool], Reactions]  # (method, progress): (N, S, T, ...) equal lengths
    whole_clips: Callable[[str, bool], tuple[list[np.ndarray], list[np.ndarray]]]  # per item
    real_3dmm: Callable[[int | None], list[np.ndarray]]  # real listeners' (T, 58), first frames


@dataclass(frozen=True)
class Protocol:
    """How a format's reactions are scored, and the notes the report puts above the table."""

    # (params, layout, split, models, device, progress) -> (results, per-item values, context)
    run: Callable[[Params, Layout, str, ModelRows, str, bool], tuple[Results, ItemValues, dict]]
    notes: Callable[[dict], str]


def train_rels(params: Params) -> list[str]:
    """Every clip of the train split (the baselines' statistics come from them)."""
    return clips_of(read_split_csv(params.split.out / "train.csv"))
