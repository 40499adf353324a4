"""The kinematics ReactDiff's speed at the demo and the paper scale: training throughput
(windows per second, forward + backward + optimizer step) and sampling's real-time factor
(seconds of compute per second of 25 fps reaction), offline and online, on random inputs of
the pipeline's stream widths.

    python benchmarks/kin_speed.py [--device cpu|cuda] [--threads 2] [--scales demo paper]
        [--items 8] [--samples 10] [--steps N] [--train-steps 5]

CPU times are process CPU seconds divided by the threads (what a machine with that many free
cores would take; on a shared machine the wall clock says more about the neighbours) and the
wall clock; on CUDA the wall clock. ``--items`` clips of 750 frames are generated as one batch
with ``--samples`` reactions each; "per evaluation row" scales that to the demo's 80 items.
"""

from __future__ import annotations

import argparse
import time

import torch

from reactdiff.config import load_params
from reactdiff.data.columns import EMOTION_DIM, FACE_3DMM_DIM
from reactdiff.training.kin import KinLoss, KinObjective, make_model

FRAMES, FPS, ROW_ITEMS = 750, 25, 80


def _clock(device: torch.device, threads: int):
    """(wall, cpu) seconds since the last call."""
    last = [time.perf_counter(), time.process_time()]

    def tick() -> tuple[float, float]:
        if device.type == "cuda":
            torch.cuda.synchronize()
        now = [time.perf_counter(), time.process_time()]
        out = now[0] - last[0], (now[1] - last[1]) / threads
        last[:] = now
        return out

    return tick


def bench(scale: str, args, device: torch.device) -> None:
    params = load_params()
    params = params.model_copy(update={"kin": params.kin.model_copy(update={"scale": scale})})
    widths = {"mfcc": params.features.mfcc.n_mfcc, "emotion": EMOTION_DIM, "3dmm": FACE_3DMM_DIM}
    dims = {s: widths[s] for s in (*params.kin.audio_streams, *params.kin.visual_streams)}
    torch.manual_seed(0)
    model = make_model(params, dims).to(device)
    k, n_params = params.kin, sum(p.numel() for p in model.denoiser.parameters())
    w, n, b = k.window_size, k.train_windows, params.train_kin.batch_size
    batch = {
        "target": torch.randn(b, n * w, model.target_dim) * 0.5,
        "positions": torch.arange(n * w).reshape(n, w).expand(b, n, w),
        "past": torch.zeros(b, n, model.target_dim),
        "audio": torch.randn(b, n, w, model.audio.mean.numel()),
        "visual": torch.randn(b, n, w, model.visual.mean.numel()),
        "index": torch.arange(b),
    }
    batch = {key: v.to(device) for key, v in batch.items()}
    objective, loss = KinObjective(model.denoiser, k).train(), KinLoss(k).to(device)
    opt = torch.optim.AdamW(objective.parameters(), lr=1e-4)
    tick = _clock(device, args.threads)
    for i in range(args.train_steps + 1):
        if i == 1:
            tick()  # the first step warms up
        opt.zero_grad()
        loss(objective, batch)["loss"].backward()
        opt.step()
    wall, cpu = tick()
    per = b * n * args.train_steps
    print(
        f"{scale}: {n_params / 1e6:.2f} M parameters; training {b} x {n} windows of {w} frames: "
        f"{per / wall:.1f} windows/s wall"
        + (f", {per / cpu:.1f} per CPU budget" if device.type == "cpu" else "")
    )
    steps = args.steps or params.sampling.families[model.family].steps
    speaker = {s: torch.randn(args.items, FRAMES, d, device=device) for s, d in dims.items()}
    model.eval()
    for online in (False, True):
        tick()
        model.generate(speaker, args.samples, online=online, seed=0, steps=steps)
        wall, cpu = tick()
        seconds = args.items * args.samples * FRAMES / FPS
        row = (cpu if device.type == "cpu" else wall) * ROW_ITEMS / args.items
        print(
            f"  {'online' if online else 'offline'} sampling, {steps} steps, {args.items} clips x "
            f"{args.samples} samples x {FRAMES} frames: real-time factor {wall / seconds:.4f} wall"
            + (f", {cpu / seconds:.4f} CPU budget" if device.type == "cpu" else "")
            + f"; per evaluation row ({ROW_ITEMS} items) {row:.1f} s"
        )


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    ap.add_argument("--threads", type=int, default=2, help="CPU threads (torch.set_num_threads)")
    ap.add_argument("--scales", nargs="+", default=["demo", "paper"])
    ap.add_argument("--items", type=int, default=8, help="clips generated as one batch")
    ap.add_argument("--samples", type=int, default=10)
    ap.add_argument(
        "--steps", type=int, default=None, help="[sampling.families.reactdiff-kin.steps]"
    )
    ap.add_argument("--train-steps", type=int, default=5)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    for scale in args.scales:
        bench(scale, args, device)


if __name__ == "__main__":
    main()
