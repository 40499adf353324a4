"""Speed of the latent DDIM (stage 2) at the demo and paper scales (params.yaml): training steps
per second (forward + backward + AdamW on latent windows) and the time to sample 10 reactions
to one 750-frame clip (15 windows of 50 frames, all samples and windows in one batch).

    python benchmarks/ddim.py [--device cpu|cuda] [--steps 5] [--threads N]
                              [--batch-demo 64] [--batch-paper 16] [--sampling-steps 20]
"""

from __future__ import annotations

import argparse
import time

import torch

from reactdiff.config import load_params
from reactdiff.data.formats.react2024 import REACT2024
from reactdiff.training.ddim import make_latent_diffusion

FRAMES, SAMPLES = REACT2024.frames, 10


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def bench(scale: str, batch: int, steps: int, sampling_steps: int, device: torch.device) -> None:
    params = load_params()
    mmt = params.mmt.model_copy(update={"scale": scale}).sizes
    ddim = params.ddim.model_copy(update={"scale": scale})
    torch.manual_seed(0)
    model = make_latent_diffusion(ddim, mmt).to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    w, d = mmt.window_size, mmt.latent_dim
    x0, speaker = (torch.randn(batch, w, d, device=device) for _ in range(2))
    amp = device.type == "cuda"

    def train_step() -> None:
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp):
            loss = model(x0, speaker)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    train_step()  # warm-up
    _sync(device)
    start = time.perf_counter()
    for _ in range(steps):
        train_step()
    _sync(device)
    train_s = (time.perf_counter() - start) / steps

    model.eval()
    clip = torch.randn(FRAMES // w, w, d, device=device)
    model.sample(clip, SAMPLES, steps=1)  # warm-up
    _sync(device)
    start = time.perf_counter()
    out = model.sample(clip, SAMPLES, steps=sampling_steps)
    _sync(device)
    sample_s = time.perf_counter() - start
    n_params = sum(p.numel() for p in model.parameters())
    print(f"{scale:>5} scale  {n_params / 1e6:6.2f} M params  train batch {batch:3d}: "
          f"{1 / train_s:7.2f} steps/s ({batch / train_s:8.1f} windows/s)  "
          f"sample {SAMPLES} x {FRAMES} frames {tuple(out.shape)}, {sampling_steps} DDIM steps: "
          f"{sample_s:7.2f} s")  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--steps", type=int, default=5, help="timed training steps")
    ap.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: default)")
    ap.add_argument("--batch-demo", type=int, default=load_params().train_ddim.batch_size)
    ap.add_argument("--batch-paper", type=int, default=16)
    ap.add_argument("--sampling-steps", type=int, default=load_params().sampling.steps)
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    print(f"device {device}, torch {torch.__version__}, threads {torch.get_num_threads()}")
    bench("demo", args.batch_demo, args.steps, args.sampling_steps, device)
    bench("paper", args.batch_paper, args.steps, args.sampling_steps, device)


if __name__ == "__main__":
    main()
