"""The `evaluate` stage: every REACT metric for every configured method on one split.

A method maps the split's speakers to (N, S, T, 25) reactions: the naive baselines, and the
trained ReactDiff (offline; online, window by window from current and past speaker input only;
and the paper's "w/o diffusion" ablation), each one more entry of ``evaluate.methods``. The
offline row's FRDist decides the registry's champion alias.
"""

from __future__ import annotations

import numpy as np
import torch

from reactdiff.atomic import write_json
from reactdiff.config import Params
from reactdiff.data.emotions import clip_emotions, load_split_emotions
from reactdiff.data.format import get_format
from reactdiff.data.layout import ReactLayout, read_split_csv
from reactdiff.data.readers import load_npy
from reactdiff.devices import resolve_device
from reactdiff.evaluation.baselines import BASELINES, TrainStats
from reactdiff.evaluation.metrics import compute_all
from reactdiff.evaluation.predictions import model_predictions
from reactdiff.evaluation.report import write_report
from reactdiff.features.dataset import PairFeatureDataset
from reactdiff.models.reactdiff import ReactDiff
from reactdiff.stages.result import Champion, StageOptions, StageResult

NAME = "evaluate"
Options = StageOptions

# method -> how the trained model produces it (evaluation.predictions.MODES). These and
# BASELINES are exactly config.EVALUATE_METHODS, which evaluate.methods is checked against.
MODELS = {
    "ReactDiff (offline)": "offline",
    "ReactDiff (online)": "online",
    "ReactDiff w/o diffusion": "reconstruct",
}
CHAMPION_METHOD = "ReactDiff (offline)"  # its FRDist decides the registry's champion alias
BATCH = 8  # speaker samples generated together


def _train_stats(params: Params, frames: int) -> TrainStats:
    pairs = read_split_csv(params.split.out / "train.csv")
    rels = list(dict.fromkeys(r for p in pairs for r in (p.speaker, p.listener)))
    layout = ReactLayout(params.data.react_root)
    return TrainStats.from_sequences(clip_emotions(layout, "train", rels, frames))


def _model_row(params: Params, mode: str, progress: bool) -> np.ndarray:
    """(N, S, T, 25) predictions of the trained model in ``mode``."""
    ev = params.evaluate
    model = ReactDiff.load(params.train_ddim.model_out).to(resolve_device(ev.device))
    dataset = PairFeatureDataset(
        params.features.out, ev.split, model.streams, splits_dir=params.split.out
    )
    loader = torch.utils.data.DataLoader(dataset, batch_size=BATCH)
    sampling = params.sampling.model_dump()
    return model_predictions(model, loader, mode, ev.samples, params.base.seed, sampling, progress)


def run(params: Params, options: Options) -> StageResult:
    """Compute every metric for every method; write eval.json, eval.md and eval.png."""
    ev, fmt = params.evaluate, get_format(params.data.format)
    split_dir = params.split.out
    data = load_split_emotions(
        params.data.react_root, ev.split, fmt.frames, split_dir / f"{ev.split}.csv"
    )
    neighbours = load_npy(split_dir / f"neighbour_emotion_{ev.split}.npy")
    stats = _train_stats(params, fmt.frames)
    rng = np.random.default_rng([params.base.seed, 0xE7A1])
    results = {}
    for name in ev.methods:
        if name in MODELS:
            pred = _model_row(params, MODELS[name], options.progress)
        else:
            pred = BASELINES[name](data.speaker, data.listener, stats, ev.samples, rng)
        results[name] = compute_all(
            pred,
            data.listener,
            data.speaker,
            neighbours,
            device=ev.device,
            progress=options.progress,
        )
    context = {
        "split": ev.split,
        "n": len(data.samples),
        "samples": ev.samples,
        "frames": fmt.frames,
        "neighbours": float(neighbours.sum(axis=1).mean()),
    }
    write_json(ev.metrics_file, results)
    write_report(results, context, ev.report_file, ev.plot_file)
    t = params.train_ddim
    champion = None
    if CHAMPION_METHOD in results:
        champion = Champion(t.registered_name, t.model_out, ev.metrics_file, CHAMPION_METHOD)
    return StageResult(
        summary=f"evaluate: {len(results)} methods on {len(data.samples)} {ev.split} samples",
        run_params={
            "split": ev.split,
            "samples": ev.samples,
            "methods": ",".join(ev.methods),
            "device": ev.device,
            "seed": params.base.seed,
            **{f"sampling.{k}": v for k, v in params.sampling.model_dump().items()},
        },
        metrics={f"{m}/{k}": v for m, row in results.items() for k, v in row.items()},
        artifacts=[(p, "evaluation") for p in (ev.metrics_file, ev.report_file, ev.plot_file)],
        champion=champion,
        report=ev.report_file.read_text(),
    )
