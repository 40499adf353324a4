"""Which split each unit of a synthetic drop (a session, a dyad) goes to: one rule for every
synthetic format, so no unit is in two splits and no split is empty."""

from __future__ import annotations

import numpy as np

from reactdiff.errors import ConfigError


def assign_splits(
    n_sessions: int,
    fractions: tuple[float, float, float],
    seed: int,
    key: str = "data.synthetic.sessions",
) -> list[str]:
    """Split name of each unit (a REACT 2024 session, a REACT 2025 dyad): a seeded shuffle,
    every split non-empty. Both inputs are ``data.synthetic`` params, so a value that leaves a
    split empty is a ConfigError naming ``key``, the param that counts the units."""
    unit = key.rsplit(".", 1)[-1]
    if n_sessions < 3:
        raise ConfigError(f"{key}: need at least 3 {unit} for train/val/test, got {n_sessions}")
    n_val = max(1, round(fractions[1] * n_sessions))
    n_test = max(1, round(fractions[2] * n_sessions))
    n_train = n_sessions - n_val - n_test
    if n_train < 1:
        raise ConfigError(
            f"data.synthetic.split_fractions: {list(fractions)} of {n_sessions} {unit} "
            f"({key}) leave none for train"
        )
    order = np.random.default_rng([seed, 1_000_003]).permutation(n_sessions)
    names = ["train"] * n_train + ["val"] * n_val + ["test"] * n_test
    out = [""] * n_sessions
    for rank, idx in enumerate(order):
        out[idx] = names[rank]
    return out
