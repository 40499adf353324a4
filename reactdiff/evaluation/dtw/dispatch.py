"""The one place that picks FRDist's DTW path: numba on the CPU, numba-cuda on a GPU, or the torch
wavefront on any other torch device, from the requested device and what this machine has.

Each path is a :class:`ListenerPool`: the listeners prepared once for it, asked for the minimum
D of a chunk of samples. The numba and cuda paths give the same minima bit for bit; the torch
path is brute force in float64 (~1e-9 relative to them).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import torch

from reactdiff.evaluation.dtw.cpu import Sequences, min_dtw_tasks
from reactdiff.evaluation.dtw.sequences import to_dim_major
from reactdiff.evaluation.dtw.wavefront import weighted_dtw_torch

BACKENDS = ("numba", "cuda", "torch")


def cuda_available() -> bool:
    """A GPU numba can use (or its simulator, when ``NUMBA_ENABLE_CUDASIM=1``)."""
    from numba import cuda

    try:
        return bool(cuda.is_available())
    except Exception:  # a broken driver install reads as no GPU; the caller says so
        return False


def require_cuda() -> None:
    """A clear error, never a silent CPU run, when the GPU path is asked for without a GPU."""
    if not cuda_available():
        raise RuntimeError(
            "FRDist on cuda: numba finds no usable CUDA GPU (numba.cuda.is_available() is "
            "False); run the metrics with device cpu, or on a machine with a GPU and its driver"
        )


def device_name() -> str:
    """The current GPU's name, as numba sees it."""
    from numba import cuda

    name = cuda.get_current_device().name
    return name.decode() if isinstance(name, bytes) else str(name)


def choose_backend(device: str | None, backend: str | None) -> str:
    """The DTW path for a metrics ``device``: None or "cpu" -> "numba", "cuda" -> "cuda", any
    other torch device -> "torch"; ``backend`` overrides the choice."""
    if backend is None:
        backend = {None: "numba", "cpu": "numba", "cuda": "cuda"}.get(
            None if device is None else str(device), "torch"
        )
    if backend not in BACKENDS:
        raise ValueError(f"backend must be 'numba', 'cuda' or 'torch', got {backend!r}")
    if backend == "cuda" and device not in (None, "cuda"):
        raise ValueError(
            f"the cuda backend runs on the current GPU (device 'cuda'; CUDA_VISIBLE_DEVICES "
            f"picks it), got device {device!r}"
        )
    return backend


class ListenerPool(Protocol):
    """The listener pool (J, T, 25) prepared once for one DTW path."""

    label: str  #: what a progress bar calls the work
    speakers_per_call: int  #: speakers whose samples one :meth:`min_dtw` call should get

    def min_dtw(
        self, samples: np.ndarray, owner: np.ndarray, indptr: np.ndarray, indices: np.ndarray
    ) -> np.ndarray:
        """For each sample u (T, 25) float32, the min over the pool sequences j in row owner[u]
        of the CSR neighbour matrix of FRDist's D: (U,) float64, inf without neighbours."""
        ...


@dataclass(frozen=True)
class _NumbaPool:
    sequences: Sequences
    label: str = "FRDist"
    speakers_per_call: int = 32  # bounds the samples' float32 copies

    def min_dtw(
        self, samples: np.ndarray, owner: np.ndarray, indptr: np.ndarray, indices: np.ndarray
    ) -> np.ndarray:
        return min_dtw_tasks(to_dim_major(samples), owner, self.sequences, indptr, indices)


@dataclass(frozen=True)
class _TorchPool:
    listeners: torch.Tensor
    label: str = "FRDist"
    speakers_per_call: int = 128
    pair_batch: int = 4096  # (sample, neighbour) pairs per wavefront

    def min_dtw(
        self, samples: np.ndarray, owner: np.ndarray, indptr: np.ndarray, indices: np.ndarray
    ) -> np.ndarray:
        """Every (sample, neighbour) pair, brute force."""
        counts = indptr[owner + 1] - indptr[owner]
        pair_u = np.repeat(np.arange(len(owner)), counts)
        pair_j = np.concatenate([indices[indptr[k] : indptr[k + 1]] for k in owner])
        samples_t = torch.from_numpy(samples).to(self.listeners.device)
        best = np.full(len(owner), np.inf)
        for start in range(0, len(pair_u), self.pair_batch):
            u = pair_u[start : start + self.pair_batch]
            vals = weighted_dtw_torch(
                samples_t,
                self.listeners,
                torch.from_numpy(u),
                torch.from_numpy(pair_j[start : start + self.pair_batch]),
            )
            np.minimum.at(best, u, vals.cpu().numpy())
        return best


@dataclass(frozen=True)
class _CudaPool:
    listeners: Any  # cuda.CudaListeners: its module compiles GPU kernels, imported when asked
    label: str = "FRDist (cuda)"
    speakers_per_call: int = 512  # ~10^5 pairs per launch fill a GPU

    def min_dtw(
        self, samples: np.ndarray, owner: np.ndarray, indptr: np.ndarray, indices: np.ndarray
    ) -> np.ndarray:
        from reactdiff.evaluation.dtw.cuda import min_dtw_cuda

        return min_dtw_cuda(samples, owner, self.listeners, indptr, indices)


def listener_pool(
    listeners: np.ndarray, device: str | None = None, backend: str | None = None
) -> ListenerPool:
    """The listeners (J, T, 25) prepared for the path :func:`choose_backend` picks."""
    backend = choose_backend(device, backend)
    if backend == "numba":
        return _NumbaPool(Sequences.of(to_dim_major(listeners)))
    if backend == "cuda":
        from reactdiff.evaluation.dtw.cuda import CudaListeners

        return _CudaPool(CudaListeners(listeners))
    lis = torch.from_numpy(np.ascontiguousarray(listeners, dtype=np.float32))
    return _TorchPool(lis.to(str(device or "cpu")))
