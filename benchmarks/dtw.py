"""Speed of FRDist's two DTW kernels on one core: the float32 lane screen and the exact kernel.

    python benchmarks/dtw.py [--frames 750] [--lanes 16] [--repeats 30]

Sequences have the REACT value structure of ``benchmarks/metrics.py``. Prints, for 0/1 and for
continuous AUs, the screen's milliseconds per lane (one sample against ``--lanes`` neighbours,
all three dimension groups) and the exact float64 kernel's milliseconds per pair, with the AU
group known from the screen (how FRDist recomputes) and with all three groups. Minimum over
``--repeats`` calls (this machine's speed drifts; compare variants interleaved, not across runs).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import numpy as np

from metrics import emotion_sequences  # benchmarks/metrics.py: the same workload
from reactdiff.evaluation import dtw
from reactdiff.evaluation.dtw.screen import LANE_BLOCK, screen_lanes, to_lanes
from reactdiff.evaluation.dtw.sequences import NO_MASK


def best_of(fn: Callable[[], object], repeats: int) -> float:
    fn()  # compile or load the cached kernel
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def measure(seqs: np.ndarray, binary: bool, repeats: int) -> tuple[float, float, float]:
    """Screen seconds per lane, exact seconds per pair (AU group known, all groups)."""
    a, lis = dtw.to_dim_major(seqs[0]), dtw.to_dim_major(seqs[1:])
    amask, abin = dtw.au_masks(a)
    lmasks, lbin = dtw.au_masks(lis)
    assert bool(abin) == binary and bool(lbin.all()) == binary
    width = len(lis)
    lanes = to_lanes(lis, lmasks, np.arange(width))
    out = np.empty((3, lanes[0].shape[0] * LANE_BLOCK), dtype=np.float32)
    seq = np.ascontiguousarray(a.T)
    screen = best_of(lambda: screen_lanes(lanes, seq, amask, binary, out), repeats) / width
    t = a.shape[1]
    arev = np.ascontiguousarray(a[:, ::-1])
    amrev = np.ascontiguousarray(amask[::-1]) if binary else NO_MASK
    bm = lmasks[0] if binary else NO_MASK
    bufs, cost, res = np.empty((3, 3, t + 1)), np.empty((3, t), np.float32), np.empty(3)

    def exact(au_sq: float = -1.0) -> None:
        dtw.dtw3_abandon(arev, lis[0], np.inf, bufs, cost, res, amrev, bm, au_sq)

    exact_all = best_of(exact, repeats)
    exact_known = best_of(lambda: exact(res[0]), repeats) if binary else float("nan")
    return screen, exact_known, exact_all


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=750)
    ap.add_argument("--lanes", type=int, default=16, help="neighbours screened per call")
    ap.add_argument("--repeats", type=int, default=30)
    args = ap.parse_args(argv)
    rng = np.random.default_rng(0)
    x = emotion_sequences(rng, (args.lanes + 1,), args.frames).astype(np.float32)
    continuous = x.copy()  # AUs in (0.1, 0.9): the 15-dimension cost instead of the popcount
    continuous[..., :15] = rng.uniform(0.1, 0.9, continuous[..., :15].shape)
    cells = args.frames**2
    print(f"T={args.frames} lanes={args.lanes}; best of {args.repeats} calls on one core")
    for label, seqs, binary in (("0/1 AUs", x, True), ("continuous AUs", continuous, False)):
        screen, exact_known, exact_all = measure(seqs, binary, args.repeats)
        print(
            f"{label:<15} screen {screen * 1e3:.3f} ms/lane ({screen / cells * 1e9:.2f} ns "
            f"per DP cell, 3 groups); exact {exact_all * 1e3:.2f} ms/pair, "
            f"{exact_known * 1e3:.2f} with the AU group known"
        )


if __name__ == "__main__":
    main()
