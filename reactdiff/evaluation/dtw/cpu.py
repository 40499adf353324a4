"""FRDist's CPU path: the minimum DTW of each sample over its neighbours, on a thread pool.

float32 inputs are screened (:mod:`reactdiff.evaluation.dtw.screen`) one speaker per task (its
samples share the neighbour lanes), largest first so that the threads finish together; other
inputs (float64, or values the float32 screen could overflow) run the exact kernel on every
neighbour, one sample per task. The kernels release the GIL.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numba
import numpy as np

from reactdiff.evaluation.dtw.exact import min_dtw_exact
from reactdiff.evaluation.dtw.screen import min_dtw_screened, screenable
from reactdiff.evaluation.dtw.sequences import NO_MASK, au_masks


@dataclass(frozen=True)
class Sequences:
    """(N, 25, T) sequences with what the kernels derive from them, computed once.

    FRDist calls :func:`min_dtw_tasks` once per chunk of speakers, always against the same
    listeners: preparing them once saves two passes over all of them per call.
    """

    data: np.ndarray
    masks: np.ndarray  #: AU bit masks (N, T) int32, see :func:`au_masks`
    binary: np.ndarray  #: (N,) whether each sequence has 0/1 AUs
    screenable: bool  #: see :func:`screenable`

    @classmethod
    def of(cls, x: np.ndarray) -> Sequences:
        masks, binary = au_masks(x)
        return cls(x, masks, binary, screenable(x))


def screen_eligible(samples: np.ndarray, listeners: np.ndarray | Sequences) -> bool:
    """Whether :func:`min_dtw_tasks` may screen: float32, equal lengths, nothing that overflows."""
    lis = listeners if isinstance(listeners, Sequences) else Sequences.of(listeners)
    return samples.shape[-1] == lis.data.shape[-1] and lis.screenable and screenable(samples)


def min_dtw_tasks(
    samples: np.ndarray,
    owner: np.ndarray,
    listeners: np.ndarray | Sequences,
    indptr: np.ndarray,
    indices: np.ndarray,
    threads: int | None = None,
    screen: bool = True,
) -> np.ndarray:
    """For each sample u (25, T), min over listeners j in row owner[u] of the CSR matrix of D.

    samples (U, 25, T) and listeners (N, 25, T, or prepared once as :class:`Sequences`) share
    a dtype (float32 or float64: see :mod:`reactdiff.evaluation.dtw.exact`). float32 inputs are
    screened (``screen`` False forces the exact kernel on every neighbour; the result is the
    same bit for bit); tasks are split as the module docstring says.
    """
    threads = threads or numba.get_num_threads()
    lis = listeners if isinstance(listeners, Sequences) else Sequences.of(listeners)
    smasks, sbinary = au_masks(samples)
    result = np.empty(samples.shape[0])
    if screen and screen_eligible(samples, lis):
        order = np.argsort(owner, kind="stable")
        bounds = np.flatnonzero(np.diff(owner[order])) + 1
        groups = [g for g in np.split(order, bounds) if len(g)]
        groups.sort(key=lambda g: -len(g) * int(indptr[owner[g[0]] + 1] - indptr[owner[g[0]]]))

        def speaker_task(rows: np.ndarray) -> None:
            k = owner[rows[0]]
            cand = indices[indptr[k] : indptr[k + 1]]
            values = np.empty(len(rows))
            if len(cand):
                min_dtw_screened(
                    samples, smasks, sbinary, rows, lis.data, lis.masks, lis.binary, cand, values
                )
            else:
                values[:] = np.inf
            result[rows] = values

        with ThreadPoolExecutor(max_workers=threads) as pool:
            list(pool.map(speaker_task, groups))
        return result

    def task(u: int) -> float:
        k = owner[u]
        amask = smasks[u] if sbinary[u] else NO_MASK
        return min_dtw_exact(
            samples[u], amask, lis.data, lis.masks, lis.binary, indices[indptr[k] : indptr[k + 1]]
        )

    with ThreadPoolExecutor(max_workers=threads) as pool:
        return np.fromiter(
            pool.map(task, range(samples.shape[0])), dtype=np.float64, count=samples.shape[0]
        )
