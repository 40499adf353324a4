"""What the online settings cost in quality: the trained model's REACT metrics on the selection
split (`evaluate.select_split`, val: settings are never chosen on test; REACT 2024 layout) for
DDIM step counts and online latencies, next to offline.

    python benchmarks/online_quality.py [--rows offline:20 online:20:0 ...] [--samples 10]
        [--model models/reactdiff.pt]

A row is offline:STEPS or online:STEPS:DELAY_FRAMES. Reads the pipeline's outputs
(`models/reactdiff.pt`, the feature store, the splits), so run it after `make demo`. Every row
draws with the evaluate stage's seeds; "gen s" is the generation time of the row. Each metric
is printed with its 95% bootstrap interval over the speakers (`evaluate.bootstrap`), and
"dFRDist" is the paired difference of FRDist to the first row with its interval: two rows
differ only where that interval excludes 0.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace
from pathlib import Path

import torch

from reactdiff.config import load_params
from reactdiff.data.emotions import load_split_emotions
from reactdiff.data.formats import params_layout
from reactdiff.data.readers import load_npy
from reactdiff.data.splits import neighbour_matrix_name
from reactdiff.evaluation.bootstrap import difference_interval, intervals, resample_indices
from reactdiff.evaluation.metrics import compute_all_items
from reactdiff.evaluation.predictions import BATCH, model_predictions
from reactdiff.features.dataset import PairFeatureDataset
from reactdiff.models import load_model

SHOWN = ("FRCorr", "FRDist", "FRDiv", "FRSyn")


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument(
        "--rows",
        nargs="+",
        default=["offline:20", "offline:10", "online:20:0", "online:10:0", "online:10:49"],
    )
    ap.add_argument("--samples", type=int, default=10)
    ap.add_argument("--model", type=Path, default=None, help="[train_ddim.model_out]")
    args = ap.parse_args()
    params = load_params()
    layout, split = params_layout(params.data), params.evaluate.select_split
    if layout.fmt.protocol != "neighbour":
        raise SystemExit("this benchmark scores the neighbour protocol's formats (data.format)")
    data = load_split_emotions(layout, split, layout.fmt.frames, params.split.out / f"{split}.csv")
    neighbours = load_npy(params.split.out / neighbour_matrix_name(split))
    model = load_model(args.model or params.train_ddim.model_out)
    dataset = PairFeatureDataset(
        params.features.out, split, list(model.speaker_streams), splits_dir=params.split.out
    )
    loader = torch.utils.data.DataLoader(dataset, batch_size=BATCH)
    print(f"{len(dataset)} {split} samples, {args.samples} reactions each, threads "
          f"{torch.get_num_threads()}")  # fmt: skip
    indices = resample_indices(len(dataset), params.evaluate.bootstrap.resamples,
                               params.evaluate.bootstrap.seed)  # fmt: skip
    print(f"{'mode':<8} {'steps':>5} {'delay':>5} {'gen s':>6}  " + "  ".join(
        f"{k:>22}" for k in SHOWN) + f"  {'dFRDist':>22}")  # fmt: skip
    first = None
    for row in args.rows:
        mode, steps, delay = [*row.split(":"), "0"][:3]
        steps, delay = int(steps), int(delay)
        generation = replace(params.generation(), steps=steps, delay_frames=delay)
        start = time.perf_counter()
        pred, _ = model_predictions(
            model, loader, mode, args.samples, params.base.seed, generation, progress=False
        )
        seconds = time.perf_counter() - start
        metrics, items = compute_all_items(pred, data.listener, data.speaker, neighbours)
        ci = intervals({k: items[k] for k in SHOWN}, indices)
        first = first if first is not None else items["FRDist"]
        lo, hi = difference_interval(items["FRDist"], first, indices)
        diff = float((items["FRDist"] - first).mean())
        shown = "  ".join(f"{metrics[k]:8.4f} [{ci[k][0]:.3f}, {ci[k][1]:.3f}]" for k in SHOWN)
        print(f"{mode:<8} {steps:>5} {delay if mode == 'online' else '':>5} {seconds:6.1f}  "
              f"{shown}  {diff:+8.3f} [{lo:+.3f}, {hi:+.3f}]", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
