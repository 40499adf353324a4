"""The torch wavefront against the tslearn oracle."""

from __future__ import annotations

import numpy as np
import torch
from tslearn.metrics import dtw

from reactdiff.evaluation import dtw as fast
from tests.evaluation.dtw.test_exact import _oracle, _pairs


def test_torch_wavefront_matches_tslearn_on_cpu() -> None:
    a, b = _pairs(4, 4, 100)
    got = fast.dtw_wavefront(torch.from_numpy(a), torch.from_numpy(b)).numpy()
    want = np.stack([_oracle(a[p], b[p]) for p in range(len(a))])
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


def test_torch_wavefront_unequal_lengths() -> None:
    rng = np.random.default_rng(5)
    a, b = rng.random((2, 30, 3)), rng.random((2, 41, 3))
    got = fast.dtw_wavefront(torch.from_numpy(a), torch.from_numpy(b), ((0, 3, 1.0),)).numpy()
    want = [dtw(a[p].astype(np.float32), b[p].astype(np.float32)) for p in range(2)]
    np.testing.assert_allclose(got[:, 0], want, rtol=1e-12)
