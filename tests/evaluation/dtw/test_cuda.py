"""The CUDA FRDist kernels against the CPU kernels, bit for bit.

Without a GPU the kernels run in numba's CUDA simulator, which has to be switched on before
numba is imported: ``test_kernels_in_the_cuda_simulator`` runs this file's GPU tests in a child
pytest with ``NUMBA_ENABLE_CUDASIM=1``. With a GPU they also run directly.
"""

from __future__ import annotations

import os
import subprocess
import sys

import numba
import numpy as np
import pytest

from reactdiff.evaluation import dtw as cpu
from reactdiff.evaluation import metrics as m
from reactdiff.evaluation.dtw import cuda_available
from reactdiff.evaluation.dtw.cuda import CudaListeners, min_dtw_cuda

needs_cuda = pytest.mark.skipif(
    not cuda_available(), reason="no GPU: runs in the CUDA simulator (child pytest)"
)


def _case(seed: int, n: int = 5, s: int = 3, t: int = 14) -> dict[str, np.ndarray]:
    """Speakers with 0/1 AUs and continuous ones, repeated samples, tied and absent neighbours."""
    rng = np.random.default_rng(seed)
    listener = rng.random((n, t, 25)).astype(np.float32)
    listener[:3, :, :15] = listener[:3, :, :15] > 0.6  # 0/1 AUs
    listener[4] = listener[3]  # two identical neighbours: a tie
    pred = rng.random((n, s, t, 25)).astype(np.float32)
    pred[:2, :, :, :15] = pred[:2, :, :, :15] > 0.5
    pred[1, -1] = pred[1, 0]  # a repeated sample is computed once
    pred[2, 1] = listener[0]  # an exact match: D = 0
    neighbours = (rng.random((n, n)) < 0.5).astype(np.int64)
    np.fill_diagonal(neighbours, 1)
    neighbours[3, 4] = neighbours[4, 3] = 1
    return {"pred": pred, "listener": listener, "neighbours": neighbours}


@needs_cuda
@pytest.mark.parametrize("seed", [0, 1])
def test_fr_dist_on_cuda_equals_cpu_bit_for_bit(seed: int) -> None:
    c = _case(seed)
    want = m.fr_dist(c["pred"], c["listener"], c["neighbours"])
    assert m.fr_dist(c["pred"], c["listener"], c["neighbours"], device="cuda") == want


@needs_cuda
def test_exact_kernel_is_the_cpu_exact_kernel() -> None:
    """Every pair recomputed (no screen): the GPU's exact DP gives the CPU's numbers exactly."""
    c = _case(2, t=11)
    samples = c["pred"].reshape(-1, *c["pred"].shape[2:])
    owner = np.repeat(np.arange(len(c["pred"])), c["pred"].shape[1])
    samples[0, 4, 20] = 2.0**41  # too large for the float32 screen: every pair is exact
    indptr, indices = m._neighbour_lists(c["neighbours"])
    listeners = CudaListeners(c["listener"])
    got = min_dtw_cuda(samples, owner, listeners, indptr, indices)
    dim_major = cpu.to_dim_major(samples)
    want = cpu.min_dtw_tasks(dim_major, owner, cpu.to_dim_major(c["listener"]), indptr, indices)
    np.testing.assert_array_equal(got, want)
    brute = cpu.min_dtw_tasks(
        dim_major, owner, cpu.to_dim_major(c["listener"]), indptr, indices, screen=False
    )
    np.testing.assert_array_equal(got, brute)


@needs_cuda
def test_screened_minimum_and_missing_neighbours() -> None:
    c = _case(3, n=6, s=2, t=12)
    c["neighbours"][5] = 0  # a speaker without neighbours: inf, as on the CPU
    samples = c["pred"].reshape(-1, *c["pred"].shape[2:])
    owner = np.repeat(np.arange(6), 2)
    indptr, indices = m._neighbour_lists(c["neighbours"])
    got = min_dtw_cuda(samples, owner, CudaListeners(c["listener"]), indptr, indices)
    want = cpu.min_dtw_tasks(
        cpu.to_dim_major(samples), owner, cpu.to_dim_major(c["listener"]), indptr, indices
    )
    np.testing.assert_array_equal(got, want)
    assert np.isinf(got[-2:]).all() and np.isfinite(got[:-2]).all()


@pytest.mark.skipif(cuda_available(), reason="a GPU (or the simulator) is there")
def test_cuda_without_a_gpu_is_a_clear_error() -> None:
    c = _case(0)
    with pytest.raises(RuntimeError, match="no usable CUDA GPU"):
        m.fr_dist(c["pred"], c["listener"], c["neighbours"], device="cuda")


@pytest.mark.skipif(numba.config.ENABLE_CUDASIM, reason="this is the child")
def test_kernels_in_the_cuda_simulator() -> None:
    env = {**os.environ, "NUMBA_ENABLE_CUDASIM": "1"}
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", __file__],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert "4 passed" in run.stdout, run.stdout[-2000:]  # the GPU tests ran, none skipped
