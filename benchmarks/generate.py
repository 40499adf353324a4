"""Time to generate 10 reactions to one 30 s clip (750 frames) at the demo and paper scales, with
randomly initialised models of the sizes in params.yaml (the cost does not depend on the
weights): offline (all windows at once), online in one call, and online streamed as a live
speaker would feed it (chunks of --chunk-frames, default one frame). The real-time factor is
generation time / clip duration (below 1 keeps up with a live speaker); the streamed run also
prints the latency of the pushes that sample a window (the others only buffer), and how the
per-window cost grows along the clip (it should not).

    python benchmarks/generate.py [--samples 10] [--device cpu|cuda] [--threads 1]
        [--scales demo paper] [--steps N] [--chunk-frames 1] [--repeats 2]
"""

from __future__ import annotations

import argparse
import time

import torch

from reactdiff.config import load_params
from reactdiff.data.columns import EMOTION_DIM, FACE_3DMM_DIM
from reactdiff.data.formats.react2024 import REACT2024
from reactdiff.models.mmt import MMT
from reactdiff.models.reactdiff import ReactDiff
from reactdiff.models.standardize import LatentTransform, Standardizer
from reactdiff.training.ddim import EMOTION_LAYOUT, make_latent_diffusion
from reactdiff.training.mmt import mmt_config

FRAMES, FPS = REACT2024.frames, REACT2024.fps


def build(scale: str) -> tuple[ReactDiff, dict[str, int], dict]:
    params = load_params()
    m = params.mmt.model_copy(update={"scale": scale})
    if scale == "paper":
        m = m.model_copy(
            update={"video_streams": ("au", "fe", "va"), "audio_streams": ("wav2vec", "mfcc")}
        )
        paper_dims = params.benchmarks.paper_feature_dims
        dims = {n: paper_dims[n] for n in (*m.video_streams, *m.audio_streams)}
    else:
        demo_dims = {
            "emotion": EMOTION_DIM,
            "3dmm": FACE_3DMM_DIM,
            "mfcc": params.features.mfcc.n_mfcc,
        }
        dims = {n: demo_dims[n] for n in (*m.video_streams, *m.audio_streams)}
    d = params.ddim.model_copy(update={"scale": scale})
    torch.manual_seed(0)
    model = ReactDiff(
        MMT(mmt_config(m, dims)),
        Standardizer(torch.zeros(FACE_3DMM_DIM), torch.ones(FACE_3DMM_DIM)),
        LatentTransform.identity(m.sizes.latent_dim),
        make_latent_diffusion(d, m.sizes),
        EMOTION_LAYOUT,
    )
    return model.eval(), dims, params.generation().sampling()


def streamed(model: ReactDiff, speaker: dict, samples: int, chunk: int, sampling: dict, sync):
    """Push the clip in chunks; (total seconds, latencies of the pushes that sampled a window)."""
    session = model.stream(samples, seed=0, **sampling)
    window_pushes, start = [], time.perf_counter()
    for a in range(0, FRAMES, chunk):
        t0 = time.perf_counter()
        before = session.windows_sampled
        session.push({n: v[a : a + chunk] for n, v in speaker.items()})
        sync()
        if session.windows_sampled > before:
            window_pushes.append(time.perf_counter() - t0)
    session.finish()
    sync()
    return time.perf_counter() - start, window_pushes


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--samples", type=int, default=10)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    ap.add_argument("--scales", nargs="+", default=["demo", "paper"])
    ap.add_argument("--steps", type=int, default=None, help="DDIM steps [sampling.steps]")
    ap.add_argument("--chunk-frames", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=2)
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)

    def sync() -> None:
        if device.type == "cuda":
            torch.cuda.synchronize(device)

    seconds_of_clip = FRAMES / FPS
    for scale in args.scales:
        model, dims, sampling = build(scale)
        if args.steps:
            sampling["steps"] = args.steps
        model.to(device)
        print(
            f"{scale}: device {device}, torch threads {torch.get_num_threads()}, "
            f"{args.samples} reactions to a {seconds_of_clip:.0f} s clip, "
            f"{sampling['steps']} DDIM steps, windows of {model.window} frames"
        )
        speaker = {n: torch.randn(FRAMES, d, device=device) for n, d in dims.items()}
        for online in (False, True):
            model.generate(speaker, args.samples, online=online, seed=0, **sampling)  # warm-up
            sync()
            start = time.perf_counter()
            for r in range(args.repeats):
                model.generate(speaker, args.samples, online=online, seed=r, **sampling)
            sync()
            seconds = (time.perf_counter() - start) / args.repeats
            mode = "online, one call" if online else "offline"
            print(
                f"  {mode:<22} {seconds:7.2f} s  real-time factor {seconds / seconds_of_clip:.3f}"
            )
        total, pushes = streamed(model, speaker, args.samples, args.chunk_frames, sampling, sync)
        lat = sorted(pushes)
        third = max(1, len(pushes) // 3)
        print(
            f"  {'online, streamed':<22} {total:7.2f} s  real-time factor "
            f"{total / seconds_of_clip:.3f}  ({args.chunk_frames}-frame chunks)"
        )
        print(
            f"    pushes that sample a window: {len(pushes)}, latency median "
            f"{lat[len(lat) // 2] * 1e3:.0f} ms, max {lat[-1] * 1e3:.0f} ms; first third "
            f"{sum(pushes[:third]) / third * 1e3:.0f} ms, last third "
            f"{sum(pushes[-third:]) / third * 1e3:.0f} ms per window "
            f"(a window is {model.window / FPS:.1f} s of speaker)"
        )


if __name__ == "__main__":
    main()
