"""The `evaluate` stage: every configured method on the test split, every metric.

A method is anything that maps the split's speakers to (N, S, T, 25) reactions; today the naive
baselines, and a trained model is one more entry of ``evaluate.methods``.
"""

from __future__ import annotations

import numpy as np

from reactdiff.atomic import write_json
from reactdiff.config import ConfigError, Params
from reactdiff.data.emotions import clip_emotions, load_split_emotions
from reactdiff.data.layout import ReactLayout, read_split_csv
from reactdiff.data.readers import load_npy
from reactdiff.evaluation.baselines import BASELINES, TrainStats
from reactdiff.evaluation.metrics import compute_all
from reactdiff.evaluation.report import write_report


def _train_stats(params: Params) -> TrainStats:
    pairs = read_split_csv(params.split.out / "train.csv")
    rels = list(dict.fromkeys(r for p in pairs for r in (p.speaker, p.listener)))
    layout = ReactLayout(params.data.react_root)
    return TrainStats.from_sequences(clip_emotions(layout, "train", rels, params.format.frames))


def run_evaluate_stage(params: Params, progress: bool = True) -> tuple[dict, dict]:
    """Compute every metric for every method; write eval.json, eval.md and eval.png."""
    ev = params.evaluate
    unknown = [m for m in ev.methods if m not in BASELINES]
    if unknown:
        raise ConfigError(
            f"evaluate.methods: unknown method(s) {unknown}; known: {list(BASELINES)}"
        )
    split_dir = params.split.out
    data = load_split_emotions(
        params.data.react_root, ev.split, params.format.frames, split_dir / f"{ev.split}.csv"
    )
    neighbours = load_npy(split_dir / f"neighbour_emotion_{ev.split}.npy")
    stats = _train_stats(params)
    rng = np.random.default_rng([params.base.seed, 0xE7A1])
    results = {}
    for name in ev.methods:
        pred = BASELINES[name](data.speaker, data.listener, stats, ev.samples, rng)
        results[name] = compute_all(
            pred, data.listener, data.speaker, neighbours, device=ev.device, progress=progress
        )
    context = {
        "split": ev.split,
        "n": len(data.samples),
        "samples": ev.samples,
        "frames": params.format.frames,
        "neighbours": float(neighbours.sum(axis=1).mean()),
    }
    write_json(ev.metrics_file, results)
    write_report(results, context, ev.report_file, ev.plot_file)
    return results, context
