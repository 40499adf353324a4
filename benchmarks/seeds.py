"""How much the metrics move with the training seed: K trainings of the pipeline (one
`dvc exp run --temp -S base.seed=SEED` each; the stages a seed does not change come from the
cache), then every method's metrics as mean ± sd over the K seeds, on the selection split
(`evaluate.select_split`, val) and, with --test, on the report split too.

    python benchmarks/seeds.py [--seeds K] [--first SEED] [--prefix seeds] [--test] [--rerun]

Run it after `make demo`. Seeds are --first, --first + 1, ... (default: base.seed onwards).
The experiments stay in `dvc exp show` (named <prefix>-<seed>); one that exists is read, not
rerun, unless --rerun. The REACT 2025 ground-truth draw and B_Random's draws do not follow the
seed (`evaluate.gt_seed`). A difference between two methods within their sd over seeds is not
a finding.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from experiments import metrics_at, number, run_experiment

from reactdiff.config import load_params

CI_KEY = "ci95"


def spread(runs: list[dict]) -> dict[str, dict[str, tuple[float, float]]]:
    """method -> metric -> (mean, sd with ddof 1) over ``runs`` (metrics JSONs of one split);
    only the methods and metrics every run has."""
    methods = [m for m in runs[0] if all(m in r for r in runs)]
    table = {}
    for method in methods:
        keys = [k for k in runs[0][method] if k != CI_KEY and all(k in r[method] for r in runs)]
        values = {k: np.array([r[method][k] for r in runs], dtype=np.float64) for k in keys}
        table[method] = {k: (float(v.mean()), float(v.std(ddof=1))) for k, v in values.items()}
    return table


def print_table(split: str, table: dict[str, dict[str, tuple[float, float]]], k: int) -> None:
    keys = list(next(iter(table.values())))
    print(f"\n{split} split, mean ± sd over {k} training seeds:")
    print("| Method | " + " | ".join(keys) + " |")
    print("|---|" + "---:|" * len(keys))
    for method, row in table.items():
        cells = [f"{number(row[key][0])} ± {number(row[key][1])}" for key in keys]
        print(f"| {method} | " + " | ".join(cells) + " |")


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--seeds", type=int, default=3, help="K, the number of training seeds (>= 2)")
    ap.add_argument("--first", type=int, default=None, help="the first seed [base.seed]")
    ap.add_argument("--prefix", default="seeds")
    ap.add_argument("--test", action="store_true", help="also the report split (test)")
    ap.add_argument("--rerun", action="store_true", help="rerun experiments that exist")
    args = ap.parse_args()
    if args.seeds < 2:
        raise SystemExit("--seeds: an sd needs at least 2 seeds")
    params = load_params()
    ev = params.evaluate
    first = params.base.seed if args.first is None else args.first
    seeds = range(first, first + args.seeds)
    revs = [run_experiment(f"{args.prefix}-{s}", {"base.seed": s}, args.rerun) for s in seeds]
    splits: list[tuple[str, Path]] = [(ev.select_split, ev.select_metrics_file)]
    if args.test:
        splits.append((ev.report_split, ev.metrics_file))
    for split, path in splits:
        print_table(split, spread([metrics_at(rev, path) for rev in revs]), len(revs))


if __name__ == "__main__":
    main()
