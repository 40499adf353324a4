"""The kinematics ReactDiff's ablation on the pipeline's drop: priors off / velocity / pairs /
both (the code's weights 1.0 and 0.01), and classifier-free guidance off (no condition
dropout) and on (guidance 1.5), one `dvc exp run --temp` each (train_kin and evaluate with
the variant's params; the stages before come from the cache), then one table of the
ReactDiff-Kin (offline) row of each on the selection split (`evaluate.select_split`, val: the
test split never chooses), with 95% intervals over items.

    python benchmarks/kin_ablation.py [--variants none velocity pairs both cfg-off cfg]
        [--prefix kin] [--rerun]

Run it after `make demo`. The workspace is left as it is; the experiments stay in
`dvc exp show` (named <prefix>-<variant>) and their stage runs in MLflow. An experiment that
already exists is read, not rerun, unless --rerun. Only the kin offline row is scored.
"""

from __future__ import annotations

from experiments import ablation_main, metrics_at, run_experiment
from priors_ablation import SHOWN

from reactdiff.config import load_params

FAMILY_GUIDANCE = "sampling.families.reactdiff-kin.guidance"
VARIANTS: dict[str, tuple[str, dict[str, object]]] = {
    "none": ("no priors", {"kin.priors.velocity": 0.0, "kin.priors.pairs": 0.0}),
    "velocity": ("+ velocity (1.0)", {"kin.priors.velocity": 1.0, "kin.priors.pairs": 0.0}),
    "pairs": ("+ pairs (0.01)", {"kin.priors.velocity": 0.0, "kin.priors.pairs": 0.01}),
    "both": ("+ both (the code's)", {"kin.priors.velocity": 1.0, "kin.priors.pairs": 0.01}),
    "cfg-off": ("both, no CFG training", {"kin.cfg_dropout": 0.0, FAMILY_GUIDANCE: 1.0}),
    "cfg": ("both, CFG scale 1.5", {"kin.cfg_dropout": 0.1, FAMILY_GUIDANCE: 1.5}),
}
METHOD = "ReactDiff-Kin (offline)"


def run_variant(name: str, sets: dict[str, object], prefix: str, rerun: bool) -> dict:
    """The kin offline row of variant ``name`` on the selection split."""
    methods = {"evaluate.methods": f'["{METHOD}"]'}
    rev = run_experiment(f"{prefix}-{name}", {**sets, **methods}, rerun)
    return metrics_at(rev, load_params().evaluate.select_metrics_file)[METHOD]


def main() -> None:
    ablation_main(__doc__, VARIANTS, "kin", run_variant, METHOD, SHOWN)


if __name__ == "__main__":
    main()
