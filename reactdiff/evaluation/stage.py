"""The `evaluate` stage: every configured method on the test split, every metric.

A method is anything that maps the split's speakers to (N, S, T, 25) reactions: the naive
baselines, and the trained ReactDiff (offline, and online: window by window from current and
past speaker input only), each one more entry of ``evaluate.methods``.
"""

from __future__ import annotations

import numpy as np
import torch
from tqdm import tqdm

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


# method -> how models/reactdiff.pt produces it
MODELS = {
    "ReactDiff (offline)": "offline",
    "ReactDiff (online)": "online",
    "ReactDiff w/o diffusion": "reconstruct",  # the paper's ablation: the speaker's own latent
}
CHAMPION_METHOD = "ReactDiff (offline)"  # its FRDist decides the registry's champion alias
BATCH = 8  # speaker samples generated together


def model_predictions(params: Params, mode: str, progress: bool) -> np.ndarray:
    """(N, S, T, 25) emotion from models/reactdiff.pt for every speaker of the split."""
    from reactdiff.features.dataset import PairFeatureDataset
    from reactdiff.models.reactdiff import ReactDiff
    from reactdiff.training.distributed import resolve_device

    ev = params.evaluate
    model = ReactDiff.load(params.train_ddim.model_out).to(resolve_device(ev.device))
    dataset = PairFeatureDataset(
        params.features.out, ev.split, model.streams, splits_dir=params.split.out
    )
    loader = torch.utils.data.DataLoader(dataset, batch_size=BATCH)
    preds = []
    for i, batch in enumerate(tqdm(loader, desc=f"ReactDiff {mode}", disable=not progress)):
        if mode == "reconstruct":  # deterministic: S identical copies
            emotion = model.reconstruct(batch["speaker"])[1][:, None].expand(-1, ev.samples, -1, -1)
        else:
            seed = params.base.seed + i  # every speaker batch its own, reproducible noise
            online = mode == "online"
            _, emotion = model.generate(batch["speaker"], ev.samples, online=online, seed=seed)
        preds.append(emotion.cpu().numpy())
    return np.concatenate(preds)


def run_evaluate_stage(params: Params, progress: bool = True) -> tuple[dict, dict]:
    """Compute every metric for every method; write eval.json, eval.md and eval.png."""
    ev = params.evaluate
    known = [*BASELINES, *MODELS]
    unknown = [m for m in ev.methods if m not in known]
    if unknown:
        raise ConfigError(f"evaluate.methods: unknown method(s) {unknown}; known: {known}")
    split_dir = params.split.out
    data = load_split_emotions(
        params.data.react_root, ev.split, params.format.frames, split_dir / f"{ev.split}.csv"
    )
    neighbours = load_npy(split_dir / f"neighbour_emotion_{ev.split}.npy")
    stats = _train_stats(params)
    rng = np.random.default_rng([params.base.seed, 0xE7A1])
    results = {}
    for name in ev.methods:
        if name in MODELS:
            pred = model_predictions(params, MODELS[name], progress)
        else:
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
