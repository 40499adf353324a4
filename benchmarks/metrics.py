"""Speed and memory of the REACT metrics on a synthetic, challenge-sized workload.

    python benchmarks/metrics.py --n 1614 --samples 10 --frames 750 --neighbours 20

builds a seeded workload (binary AUs, valence/arousal in [-1, 1], expression probabilities summing
to 1, all smooth over time; a symmetric-ish 0/1 neighbour matrix with about ``--neighbours`` ones
per row and a unit diagonal), writes it to a temporary folder, then runs each metric in its own
child process and prints its wall time and CPU time (user + system, all threads; on a shared
machine wall time also counts other load), after a small warm-up call that loads the compiled
kernels, and the child's peak RSS (input arrays memory-mapped, so touched input pages count).

    python benchmarks/metrics.py --device cuda --compare-cpu

runs every metric on the GPU (FRDist with the numba-cuda kernels, FRCorr and FRSyn in torch)
and then on the CPU, and prints whether each GPU value equals the CPU one (FRDist must, bit for
bit; FRCorr to round-off).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

METRICS = ("FRCorr", "FRDist", "FRDiv", "FRVar", "FRDvs", "FRSyn", "FRSyn_all", "FRRea_emotion")


# --------------------------------------------------------------------------- workload
def _smooth_noise(rng: np.random.Generator, shape: tuple[int, ...], width: int) -> np.ndarray:
    """Unit-scale noise smoothed over time (axis -2) by a moving average of ``width`` frames."""
    x = rng.standard_normal(shape, dtype=np.float32)
    c = np.cumsum(x, axis=-2, dtype=np.float32)
    c[..., width:, :] = c[..., width:, :] - c[..., :-width, :]
    return c / np.sqrt(width)


def emotion_sequences(rng: np.random.Generator, lead: tuple[int, ...], frames: int) -> np.ndarray:
    """(*lead, frames, 25) float32 emotion sequences with the REACT value structure."""
    z = _smooth_noise(rng, (*lead, frames, 25), width=25)
    out = np.empty_like(z)
    out[..., :15] = (z[..., :15] > 0.8).astype(np.float32)  # AUs, sparse binary
    out[..., 15:17] = np.tanh(0.7 * z[..., 15:17])  # valence, arousal
    logits = 1.5 * z[..., 17:]
    e = np.exp(logits - logits.max(axis=-1, keepdims=True))
    out[..., 17:] = e / e.sum(axis=-1, keepdims=True)  # expression probabilities
    return out


def neighbour_matrix(rng: np.random.Generator, n: int, per_row: int) -> np.ndarray:
    """Symmetric-ish 0/1 matrix, about ``per_row`` ones per row, diagonal 1."""
    m = np.zeros((n, n), dtype=np.int64)
    half = max(1, per_row // 2)
    for i in range(n):
        js = rng.choice(n, size=min(half, n), replace=False)
        m[i, js] = 1
        m[js, i] = 1
    np.fill_diagonal(m, 1)
    return m


def build_workload(
    folder: Path, n: int, samples: int, frames: int, per_row: int, seed: int
) -> None:
    """Write pred, listener, speaker (float32) and neighbours (.npy) to ``folder``."""
    rng = np.random.default_rng(seed)
    speaker = emotion_sequences(rng, (n,), frames)
    listener = emotion_sequences(rng, (n,), frames)
    np.save(folder / "speaker.npy", speaker)
    np.save(folder / "listener.npy", listener)
    np.save(folder / "neighbours.npy", neighbour_matrix(rng, n, per_row))
    pred = np.lib.format.open_memmap(
        folder / "pred.npy", mode="w+", dtype=np.float32, shape=(n, samples, frames, 25)
    )
    for start in range(0, n, 64):
        stop = min(n, start + 64)
        pred[start:stop] = emotion_sequences(rng, (stop - start, samples), frames)
    pred.flush()
    del pred


# --------------------------------------------------------------------------- child
def _call(metric: str, data: dict[str, np.ndarray], device: str) -> float:
    from reactdiff.evaluation import metrics as m

    p, lis, sp, nb = data["pred"], data["listener"], data["speaker"], data["neighbours"]
    calls = {
        "FRCorr": lambda: m.fr_corr(p, lis, nb, device=device),
        "FRDist": lambda: m.fr_dist(p, lis, nb, device=device),
        "FRDiv": lambda: m.fr_div(p),
        "FRVar": lambda: m.fr_var(p),
        "FRDvs": lambda: m.fr_dvs(p),
        "FRSyn": lambda: m.fr_syn(p, sp, samples="first", device=device),
        "FRSyn_all": lambda: m.fr_syn(p, sp, samples="all", device=device),
        "FRRea_emotion": lambda: m.fr_rea_emotion(p, lis),
    }
    return calls[metric]()


def run_child(metric: str, folder: Path, device: str) -> None:
    """Warm up on a tiny slice (JIT/cache load), then time the metric; print a JSON line."""
    data = {
        k: np.load(folder / f"{k}.npy", mmap_mode="r")
        for k in ("pred", "listener", "speaker", "neighbours")
    }
    tiny = {
        "pred": np.array(data["pred"][:2, :2, :100]),
        "listener": np.array(data["listener"][:2, :100]),
        "speaker": np.array(data["speaker"][:2, :100]),
        "neighbours": np.ones((2, 2), dtype=np.int64),
    }
    t0 = time.perf_counter()
    _call(metric, tiny, device)
    warm = time.perf_counter() - t0
    cpu0, t0 = _cpu_seconds(), time.perf_counter()
    value = _call(metric, data, device)
    seconds, cpu = time.perf_counter() - t0, _cpu_seconds() - cpu0
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        json.dumps(
            {
                "metric": metric,
                "value": value,
                "seconds": seconds,
                "cpu_seconds": cpu,
                "warmup_seconds": warm,
                "peak_rss_mb": peak_mb,
            }
        )
    )


def _cpu_seconds() -> float:
    """User + system CPU time of this process (all threads): robust to other load."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


# --------------------------------------------------------------------------- parent
def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1614, help="speaker samples (mirrored pairs)")
    ap.add_argument("--samples", type=int, default=10)
    ap.add_argument("--frames", type=int, default=750)
    ap.add_argument("--neighbours", type=int, default=20, help="about this many ones per row")
    ap.add_argument(
        "--device", default="cpu", help="cpu (numba, every core) or cuda (FRDist, FRCorr, FRSyn)"
    )
    ap.add_argument("--metrics", nargs="+", default=list(METRICS), choices=METRICS)
    ap.add_argument(
        "--compare-cpu", action="store_true", help="also run each metric on the CPU, compare"
    )
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--data", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        run_child(args.child, Path(args.data), args.device)
        return
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        build_workload(Path(tmp), args.n, args.samples, args.frames, args.neighbours, args.seed)
        nb = np.load(Path(tmp) / "neighbours.npy")
        print(
            f"workload: N={args.n} S={args.samples} T={args.frames} "
            f"neighbours/row={nb.sum(1).mean():.1f} built in {time.perf_counter() - t0:.1f}s; "
            f"cores={os.cpu_count()} device={args.device}",
            flush=True,
        )
        print(
            f"{'metric':<15}{'value':>14}{'seconds':>10}{'CPU s':>10}{'peak RSS MB':>13}",
            flush=True,
        )
        total = total_cpu = 0.0
        for metric in args.metrics:
            res = _run_child(metric, tmp, args.device)
            total += res["seconds"]
            total_cpu += res["cpu_seconds"]
            print(
                f"{metric:<15}{res['value']:>14.6g}{res['seconds']:>10.2f}"
                f"{res['cpu_seconds']:>10.2f}{res['peak_rss_mb']:>13.0f}",
                flush=True,
            )
            if args.compare_cpu:
                cpu = _run_child(metric, tmp, "cpu")
                diff = abs(res["value"] - cpu["value"])
                print(
                    f"{'  on cpu':<15}{cpu['value']:>14.6g}{cpu['seconds']:>10.2f}"
                    f"{cpu['cpu_seconds']:>10.2f}{cpu['peak_rss_mb']:>13.0f}  "
                    + ("identical" if res["value"] == cpu["value"] else f"differs by {diff:.3g}"),
                    flush=True,
                )
        print(f"{'total':<15}{'':>14}{total:>10.2f}{total_cpu:>10.2f}", flush=True)


def _run_child(metric: str, folder: str, device: str) -> dict:
    cmd = [sys.executable, __file__, "--child", metric, "--data", folder, "--device", device]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


if __name__ == "__main__":
    main()
