"""Training throughput of the MMT: forward + backward + AdamW step, samples per second and
peak memory, at the demo and paper scales (params.yaml), on random inputs of T = 750 frames.

    python benchmarks/train.py [--steps 5] [--device cpu|cuda] [--batch-demo 16] [--batch-paper 2]
"""

from __future__ import annotations

import argparse
import resource
import time

import torch

from reactdiff.config import load_params
from reactdiff.data.columns import EMOTION_DIM, FACE_3DMM_DIM
from reactdiff.data.formats.react2024 import REACT2024
from reactdiff.models.mmt import MMT
from reactdiff.training.mmt import mmt_config

FRAMES = REACT2024.frames


def _peak_mb(device: torch.device) -> float:
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def bench(
    scale: str,
    streams: dict[str, int],
    video: list[str],
    batch: int,
    steps: int,
    device: torch.device,
) -> None:
    m = load_params().mmt
    m = m.model_copy(
        update={
            "scale": scale,
            "video_streams": tuple(video),
            "audio_streams": tuple(n for n in streams if n not in video),
        }
    )
    torch.manual_seed(0)
    model = MMT(mmt_config(m, streams)).to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    x = {n: torch.randn(batch, FRAMES, d, device=device) for n, d in streams.items()}
    amp = device.type == "cuda"
    if amp:
        torch.cuda.reset_peak_memory_stats(device)

    def step() -> None:
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp):
            face, emotion = model(x)
            loss = face.float().square().mean() + emotion.float().abs().mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    step()  # warm-up
    if amp:
        torch.cuda.synchronize(device)
    start = time.perf_counter()
    for _ in range(steps):
        step()
    if amp:
        torch.cuda.synchronize(device)
    seconds = time.perf_counter() - start
    params = sum(p.numel() for p in model.parameters())
    print(
        f"{scale:>5} scale  {params / 1e6:7.2f} M params  batch {batch:3d}  "
        f"{steps * batch / seconds:8.2f} samples/s  {seconds / steps * 1000:8.1f} ms/step  "
        f"peak {_peak_mb(device):8.0f} MiB ({'GPU' if amp else 'process RSS'})"
    )


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--batch-demo", type=int, default=16)
    ap.add_argument("--batch-paper", type=int, default=2)
    args = ap.parse_args()
    device = torch.device(args.device)
    params = load_params()
    print(f"device {device}, torch {torch.__version__}, threads {torch.get_num_threads()}")
    demo_streams = {
        "emotion": EMOTION_DIM,
        "3dmm": FACE_3DMM_DIM,
        "mfcc": params.features.mfcc.n_mfcc,
    }
    bench("demo", demo_streams, list(params.mmt.video_streams), args.batch_demo, args.steps, device)
    paper = params.benchmarks.paper_feature_dims
    bench(
        "paper",
        {n: paper[n] for n in ("au", "fe", "va", "wav2vec", "mfcc")},
        ["au", "fe", "va"],
        args.batch_paper,
        args.steps,
        device,
    )


if __name__ == "__main__":
    main()
