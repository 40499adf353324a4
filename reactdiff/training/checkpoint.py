"""Atomic checkpoints and the RNG state that makes a resumed run equal an uninterrupted one.

A checkpoint holds only tensors and plain data (numpy's RNG keys are stored as a tensor), so it
is loaded with ``weights_only=True`` like every other file: a crafted checkpoint cannot run code.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import numpy as np
import torch

from reactdiff.atomic import atomic_path
from reactdiff.models.serialization import load_state_file

CHECKPOINT_KEYS = ("model", "ema", "optimizer", "scheduler", "scaler", "epoch", "history", "rng")


def rng_state() -> dict[str, Any]:
    state = {
        "python": random.getstate(),
        "numpy": _numpy_state(),
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _numpy_state() -> dict[str, Any]:
    """numpy's legacy RNG state with its keys as a tensor (a plain ndarray is refused by
    ``weights_only`` loading)."""
    name, keys, pos, has_gauss, cached = np.random.get_state()
    return {
        "name": name,
        "keys": torch.from_numpy(keys.astype(np.int64)),
        "pos": int(pos),
        "has_gauss": int(has_gauss),
        "cached_gaussian": float(cached),
    }


def _from_numpy_state(s: dict[str, Any]) -> tuple:
    keys = s["keys"].numpy().astype(np.uint32)
    return (s["name"], keys, s["pos"], s["has_gauss"], s["cached_gaussian"])


def set_rng_state(state: dict[str, Any]) -> None:
    random.setstate(state["python"])
    np.random.set_state(_from_numpy_state(state["numpy"]))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def save_checkpoint(path: Path | str, state: dict[str, Any]) -> None:
    """torch.save to a temp file, then rename: a kill mid-write keeps the previous checkpoint."""
    with atomic_path(path) as tmp:
        torch.save(state, tmp)


def load_checkpoint(path: Path | str) -> dict[str, Any]:
    return load_state_file(path, "training checkpoint", CHECKPOINT_KEYS)
