"""What a training stage reports about its losses: the summary in its metrics file, the final
metrics it logs once, and the per-epoch curve `dvc plots show` draws."""

from __future__ import annotations

import csv
from pathlib import Path

from reactdiff.atomic import atomic_path


def loss_summary(history: list[dict[str, float]]) -> dict[str, float]:
    """The losses every training stage reports in its metrics file."""
    return {
        "epochs": len(history),
        "train_loss": history[-1]["train_loss"],
        "val_loss": history[-1]["val_loss"],
        "val_loss_first_epoch": history[0]["val_loss"],
        "val_loss_ratio": history[-1]["val_loss"] / history[0]["val_loss"],
    }


def final_metrics(summary: dict[str, float]) -> dict[str, float]:
    """What a training stage reports once at the end: its summary without the losses, which
    went out epoch by epoch."""
    return {k: float(v) for k, v in summary.items() if k not in ("train_loss", "val_loss")}


def write_loss_csv(history: list[dict[str, float]], plots_dir: Path) -> None:
    """Per-epoch train/val loss for `dvc plots show`."""
    with atomic_path(Path(plots_dir) / "loss.csv") as tmp, tmp.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["epoch", "train_loss", "val_loss"])
        for h in history:
            w.writerow([h["epoch"], h["train_loss"], h["val_loss"]])
