"""DVC experiments for the benchmarks that retrain (priors_ablation.py, kin_ablation.py,
seeds.py): run one with ``dvc exp run --temp -S key=value ...`` unless it exists, read its
metrics files, and print an ablation's table of variants.

Imported as ``experiments`` by the scripts next to it (``python benchmarks/<script>.py`` puts
this folder first on ``sys.path``).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from reactdiff.config import load_params


def dvc(*args: str) -> subprocess.CompletedProcess:
    """dvc of this venv; the stages of a --temp experiment log to this checkout's MLflow store
    (the default store is a path relative to the workspace, which would be the temp copy's)."""
    bin_dir = str(Path(sys.executable).parent)
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}
    if "MLFLOW_TRACKING_URI" not in env:
        uri = load_params().tracking.default_uri
        if uri.startswith("sqlite:///") and not uri.startswith("sqlite:////"):
            uri = f"sqlite:///{Path(uri.removeprefix('sqlite:///')).resolve()}"
        env["MLFLOW_TRACKING_URI"] = uri
    return subprocess.run(["dvc", *args], env=env, text=True, capture_output=True)


def experiment_rev(name: str) -> str | None:
    """The commit of experiment ``name`` (its git ref ends with the name), or None."""
    refs = subprocess.run(
        ["git", "for-each-ref", "refs/exps", "--format=%(refname) %(objectname)"],
        text=True,
        capture_output=True,
        check=True,
    ).stdout.split("\n")
    found = [ref.split()[1] for ref in refs if ref and ref.split()[0].endswith(f"/{name}")]
    return found[-1] if found else None


def run_experiment(name: str, sets: dict[str, Any], rerun: bool) -> str:
    """The commit of experiment ``name`` with params ``sets``: run now unless it exists (or
    ``rerun``); the stages it does not change come from the cache."""
    rev = experiment_rev(name)
    if rev is not None and rerun:
        dvc("exp", "remove", name)
    if rev is None or rerun:
        args = ["exp", "run", "--temp", "-n", name]
        for key, value in sets.items():
            args += ["-S", f"{key}={value}"]
        print(f"{name}: dvc {' '.join(args)}", flush=True)
        result = dvc(*args)
        if result.returncode != 0:
            raise SystemExit(f"{name} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
        rev = experiment_rev(name)
        if rev is None:
            raise SystemExit(f"{name}: dvc exp run succeeded but no experiment ref was found")
    return rev


def metrics_at(rev: str, path: Path) -> dict:
    """The metrics JSON ``path`` (relative to the repository) as experiment ``rev`` wrote it."""
    shown = subprocess.run(
        ["git", "show", f"{rev}:{path.as_posix()}"], text=True, capture_output=True, check=True
    )
    return json.loads(shown.stdout)


def number(v: float) -> str:
    """A metric as the tables print it: 4 decimals below 1, else 2."""
    return f"{v:.4f}" if abs(v) < 1 else f"{v:.2f}"


def cell(row: dict, key: str) -> str:
    """The value, and its 95% interval over items where the row has one."""
    if key not in row:
        return "–"
    ci = row.get("ci95", {}).get(key)
    return number(row[key]) + ("" if ci is None else f" [{number(ci[0])}, {number(ci[1])}]")


RunVariant = Callable[[str, dict[str, Any], str, bool], dict]


def ablation_main(
    doc: str,
    variants: dict[str, tuple[str, dict[str, Any]]],
    prefix: str,
    run_variant: RunVariant,
    method: str,
    shown: tuple[tuple[str, str], ...],
) -> None:
    """An ablation script's command line: run the chosen ``variants`` (name -> (title, params
    to set)) as experiments ``<prefix>-<name>`` and print ``method``'s row of each on the
    selection split, ``shown`` (metric key, column title) with their intervals."""
    ap = argparse.ArgumentParser(
        description=doc, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--variants", nargs="+", default=list(variants), choices=list(variants))
    ap.add_argument("--prefix", default=prefix)
    ap.add_argument("--rerun", action="store_true", help="rerun experiments that exist")
    args = ap.parse_args()
    rows = {}
    for name in args.variants:
        title, sets = variants[name]
        rows[title] = run_variant(name, sets, args.prefix, args.rerun)
    print(f"{load_params().evaluate.select_split} split, {method}:")
    print("| Variant | " + " | ".join(t for _, t in shown) + " |")
    print("|---|" + "---:|" * len(shown))
    for title, m in rows.items():
        print(f"| {title} | " + " | ".join(cell(m, k) for k, _ in shown) + " |")
