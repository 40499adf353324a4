"""FRDist's dynamic time warping: how far a generated listener reaction is from the real ones.

FRDist compares a generated reaction with each appropriate real listener reaction through three
DTWs (AUs 0:15, valence/arousal 15:17, expressions 17:25), weighted 1/15, 1 and 1/8, and keeps the
minimum over the neighbours. Every path reproduces ``tslearn.metrics.dtw`` (classic DTW, no
window, squared Euclidean local cost, float64 accumulation, square root at the end) on float32
inputs, as the official REACT script casts with ``.astype(np.float32)``.

- :mod:`.groups`: the three dimension groups, their weights, how group DTWs combine into D;
- :mod:`.sequences`: the kernels' input layout (dim-major, AU bit masks);
- :mod:`.exact`: the exact kernel (numba, float64 DP), bit-identical to tslearn on float64;
- :mod:`.screen`: the float32 screen that leaves only the possible minima for the exact kernel;
- :mod:`.cpu`: the CPU path (screen, then exact, on a thread pool);
- :mod:`.cuda`: the same scheme on a GPU (numba-cuda), the CPU path's numbers bit for bit;
- :mod:`.wavefront`: the brute-force torch path, on any torch device;
- :mod:`.dispatch`: which of the three paths runs, by device and what the machine has.
"""

from reactdiff.evaluation.dtw.cpu import Sequences, min_dtw_tasks, screen_eligible
from reactdiff.evaluation.dtw.dispatch import (
    BACKENDS,
    ListenerPool,
    choose_backend,
    cuda_available,
    device_name,
    listener_pool,
    require_cuda,
)
from reactdiff.evaluation.dtw.exact import dtw3_abandon, dtw3_pairs, weighted_dtw
from reactdiff.evaluation.dtw.groups import GROUPS, N_DIMS, combine_groups
from reactdiff.evaluation.dtw.screen import dtw3_lanes, screen_intervals, screenable
from reactdiff.evaluation.dtw.sequences import au_masks, binary_aus_time_major, to_dim_major
from reactdiff.evaluation.dtw.wavefront import dtw_wavefront, weighted_dtw_torch

__all__ = [
    "BACKENDS",
    "GROUPS",
    "N_DIMS",
    "ListenerPool",
    "Sequences",
    "au_masks",
    "binary_aus_time_major",
    "choose_backend",
    "combine_groups",
    "cuda_available",
    "device_name",
    "dtw3_abandon",
    "dtw3_lanes",
    "dtw3_pairs",
    "dtw_wavefront",
    "listener_pool",
    "min_dtw_tasks",
    "require_cuda",
    "screen_eligible",
    "screen_intervals",
    "screenable",
    "to_dim_major",
    "weighted_dtw",
    "weighted_dtw_torch",
]
