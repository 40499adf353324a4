"""The demo model's acceptance check on a fresh synthetic drop: train both stages, evaluate, and print
whether ReactDiff (offline) beats B_Random, B_MeanSeq and B_MeanFr on FRCorr and FRDist, has
FRDiv > 0.01, and whether the w/o-diffusion ablation has FRDiv 0. Prints figures; asserts
nothing (it is too slow for the test suite).

    python benchmarks/acceptance.py [--sessions 8] [--clips 3] [--mmt-epochs 12] [--ddim-epochs 12]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import yaml

from reactdiff.config import PARAMS_FILE, Params, parse_params
from reactdiff.data.formats.react2024 import ReactLayout
from reactdiff.data.synthetic.react2024 import SynthSpec, write_drop
from reactdiff.stages import evaluate, features, train_ddim, train_mmt
from reactdiff.stages.split import write_splits

BASELINES = ("B_Random", "B_MeanSeq", "B_MeanFr")
OURS, ABLATION = "ReactDiff (offline)", "ReactDiff w/o diffusion"


def _params(tmp: Path, root: Path, args: argparse.Namespace) -> Params:
    raw = yaml.safe_load(PARAMS_FILE.read_text())
    raw["data"]["source"] = str(root)
    raw["split"]["out"] = str(tmp / "splits")
    raw["features"].update(out=str(tmp / "features"), workers=1)
    for stage, epochs in (("train_mmt", args.mmt_epochs), ("train_ddim", args.ddim_epochs)):
        raw[stage].update(
            epochs=epochs,
            checkpoint=str(tmp / f"{stage}.ckpt"),
            model_out=str(tmp / f"{stage}.pt"),
            metrics_file=str(tmp / f"{stage}.json"),
            plots_dir=str(tmp / stage),
        )
    raw["evaluate"].update(
        methods=[*BASELINES, OURS, ABLATION],
        metrics_file=str(tmp / "eval.json"),
        select_metrics_file=str(tmp / "val.json"),
        report_file=str(tmp / "eval.md"),
        plot_file=str(tmp / "eval.png"),
    )
    return parse_params(raw)


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--sessions", type=int, default=8)
    ap.add_argument("--clips", type=int, default=3)
    ap.add_argument("--mmt-epochs", type=int, default=12)
    ap.add_argument("--ddim-epochs", type=int, default=12)  # run from the repository root
    args = ap.parse_args()
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        params = _params(tmp, tmp / "raw", args)
        spec = SynthSpec.from_params(
            params, sessions=args.sessions, clips_per_session=args.clips, seed=3, video=False
        )
        root = write_drop(tmp / "raw", spec, progress=False)
        write_splits(ReactLayout(root), params.split.out)
        for stage in (features, train_mmt, train_ddim):
            stage.run(params, stage.Options(progress=False))
        summary = evaluate.run(params, evaluate.Options(progress=False)).summary
        results = json.loads(params.evaluate.metrics_file.read_text())
    print(json.dumps(results, indent=1))
    ours = results[OURS]
    for b in BASELINES:
        print(
            f"FRCorr {OURS} > {b}: {ours['FRCorr'] > results[b]['FRCorr']} "
            f"({ours['FRCorr']:.4f} vs {results[b]['FRCorr']:.4f})"
        )
        print(
            f"FRDist {OURS} < {b}: {ours['FRDist'] < results[b]['FRDist']} "
            f"({ours['FRDist']:.2f} vs {results[b]['FRDist']:.2f})"
        )
    print(f"FRDiv {OURS} > 0.01: {ours['FRDiv'] > 0.01} ({ours['FRDiv']:.4f})")
    print(f"FRDiv {ABLATION} == 0: {results[ABLATION]['FRDiv'] == 0}")
    print(f"{summary}; {time.perf_counter() - start:.0f} s in all")


if __name__ == "__main__":
    main()
