"""Realism metrics: motion against the real listeners', AU conflicts, frozen AUs."""

from __future__ import annotations

import numpy as np
import pytest

from reactdiff.data.columns import AU_COLUMNS, EMOTION_DIM
from reactdiff.evaluation.realism import (
    FACE_REALISM_KEYS,
    REALISM_KEYS,
    au_conflict_rate,
    au_frozen_rate,
    motion_ratios,
    realism_metrics,
)


def _real(n: int = 4, frames: int = 60, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    t = np.linspace(0, 4 * np.pi, frames)[:, None]
    out = []
    for _ in range(n):
        x = np.sin(t + rng.uniform(0, 6, EMOTION_DIM)) * 0.5 + 0.5
        x[:, :15] = (x[:, :15] > 0.5).astype(float)  # AUs: 0/1, each switching
        out.append(x)
    return out


def test_motion_is_a_ratio_to_the_real_listeners():
    real = _real()
    same = [x[None] for x in real]
    assert motion_ratios(same, real, "emotion") == pytest.approx(
        {"Vel_emotion": 1.0, "Acc_emotion": 1.0}
    )
    rng = np.random.default_rng(1)
    jittery = [x[None] + rng.normal(0, 0.2, x.shape) for x in real]
    still = [np.repeat(x[:1], len(x), axis=0)[None] for x in real]
    assert motion_ratios(jittery, real, "emotion")["Acc_emotion"] > 2
    assert motion_ratios(still, real, "emotion") == {"Vel_emotion": 0.0, "Acc_emotion": 0.0}


def test_a_still_real_listener_is_an_error_not_a_division_by_zero():
    real = [np.zeros((10, EMOTION_DIM))]
    with pytest.raises(ValueError, match="never moves"):
        motion_ratios([np.ones((1, 10, EMOTION_DIM))], real, "emotion")


def test_au_conflicts_count_frames_with_an_antagonistic_pair_on():
    x = np.zeros((2, 10, EMOTION_DIM))
    x[0, :3, AU_COLUMNS.index("AU24")] = 1
    x[0, :3, AU_COLUMNS.index("AU25")] = 1  # 3 conflicting frames
    x[1, :, AU_COLUMNS.index("AU12")] = 1  # no partner: no conflict
    assert au_conflict_rate([x]) == pytest.approx(3 / 20)


def test_frozen_aus_are_counted_where_the_real_listener_moves():
    real = np.zeros((10, EMOTION_DIM))
    real[5:, 0] = 1  # AU1 switches on; every other AU stays off
    moving = real.copy()
    frozen = real.copy()
    frozen[:, 0] = 0
    pred = np.stack([moving, frozen, frozen])  # S = 3
    assert au_frozen_rate([pred], [real]) == pytest.approx(2 / 3)
    # AUs the real listener never moves are not counted
    assert au_frozen_rate([np.zeros((1, 10, EMOTION_DIM))], [np.zeros((10, EMOTION_DIM))]) == 0


def test_3dmm_keys_only_with_3dmm():
    real = _real()
    pred = [x[None] for x in real]
    assert set(realism_metrics(pred, real)) == set(REALISM_KEYS)
    faces = [np.cumsum(np.random.default_rng(2).normal(size=(60, 58)), 0) for _ in real]
    both = realism_metrics(pred, real, [f[None] for f in faces], faces)
    assert set(both) == {*REALISM_KEYS, *FACE_REALISM_KEYS}
    assert both["Vel_3dmm"] == pytest.approx(1.0)
