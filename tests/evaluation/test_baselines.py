"""The challenge's naive baselines, as the official evaluation defines them."""

import numpy as np

from reactdiff.evaluation.baselines import BASELINES, TrainStats


def test_baseline_definitions():
    rng = np.random.default_rng(0)
    speaker, listener = rng.random((2, 3, 120, 25), dtype=np.float32)
    train = rng.random((4, 120, 25), dtype=np.float32)
    stats = TrainStats.from_sequences(train)
    out = {name: fn(speaker, listener, stats, 5, rng) for name, fn in BASELINES.items()}
    for pred in out.values():
        assert pred.shape == (3, 5, 120, 25)
    np.testing.assert_array_equal(out["GT"][:, 2], listener)
    np.testing.assert_array_equal(out["B_Mime"][:, 4], speaker)
    np.testing.assert_allclose(out["B_MeanSeq"][1, 0], train.mean(axis=0), rtol=1e-6)
    np.testing.assert_allclose(out["B_MeanFr"][2, 3, 77], train.mean(axis=(0, 1)), rtol=1e-6)
    rand = out["B_Random"]
    assert rand.min() >= 0 and rand.max() < 1
    assert not np.array_equal(rand[:, 0], rand[:, 1])  # copies drawn independently
