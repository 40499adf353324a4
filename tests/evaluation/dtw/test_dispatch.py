"""The one dispatch over FRDist's DTW paths: which path a device gets, and that the paths agree."""

from __future__ import annotations

import numpy as np
import pytest

from reactdiff.evaluation import dtw


@pytest.mark.parametrize(
    ("device", "backend", "want"),
    [
        (None, None, "numba"),
        ("cpu", None, "numba"),
        ("cuda", None, "cuda"),
        ("cuda:1", None, "torch"),
        ("mps", None, "torch"),
        ("cuda", "torch", "torch"),
        ("cpu", "numba", "numba"),
        (None, "cuda", "cuda"),
    ],
)
def test_a_device_picks_its_path(device: str | None, backend: str | None, want: str) -> None:
    assert dtw.choose_backend(device, backend) == want


def test_an_unknown_backend_or_a_cuda_backend_off_the_gpu_is_an_error() -> None:
    with pytest.raises(ValueError, match="backend must be"):
        dtw.choose_backend(None, "tslearn")
    with pytest.raises(ValueError, match="the cuda backend runs on the current GPU"):
        dtw.choose_backend("cpu", "cuda")


def test_the_numba_and_torch_pools_give_the_same_minima() -> None:
    rng = np.random.default_rng(0)
    t = 12
    listeners = rng.random((4, t, 25)).astype(np.float32)
    listeners[:, :, :15] = listeners[:, :, :15] > 0.5
    samples = rng.random((5, t, 25)).astype(np.float32)
    samples[3] = listeners[2]  # an exact match: D = 0
    owner = np.array([0, 0, 1, 2, 2])
    indptr = np.array([0, 2, 2, 4])  # speaker 1 has no neighbour: inf
    indices = np.array([0, 1, 2, 3])
    got = {
        backend: dtw.listener_pool(listeners, "cpu", backend).min_dtw(
            samples, owner, indptr, indices
        )
        for backend in ("numba", "torch")
    }
    assert np.isinf(got["numba"][2]) and got["numba"][3] == 0.0
    np.testing.assert_allclose(got["torch"], got["numba"], rtol=1e-6)
    brute = [
        min(
            dtw.weighted_dtw(samples[u : u + 1], listeners[j : j + 1])[0]
            for j in indices[indptr[k] : indptr[k + 1]]
        )
        for u, k in enumerate(owner)
        if indptr[k] < indptr[k + 1]
    ]
    np.testing.assert_array_equal(np.delete(got["numba"], 2), brute)
