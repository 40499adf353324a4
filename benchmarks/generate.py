"""Time to generate 10 reactions to one 30 s clip (750 frames), offline and online, at the demo
and paper scales, with randomly initialised models of the sizes in params.yaml (the cost does
not depend on the weights). The online real-time factor is generation time / clip duration:
below 1 keeps up with a live speaker.

    python benchmarks/generate.py [--samples 10] [--device cpu|cuda] [--repeats 2]
"""

from __future__ import annotations

import argparse
import time

import torch

from reactdiff.config import load_params
from reactdiff.data.format import EMOTION_DIM, FACE_3DMM_DIM, REACT2024
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
    return model.eval(), dims, params.sampling.model_dump()


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--samples", type=int, default=10)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--repeats", type=int, default=2)
    args = ap.parse_args()
    device = torch.device(args.device)
    print(
        f"device {device}, torch threads {torch.get_num_threads()}, {args.samples} reactions "
        f"to a {FRAMES / FPS:.0f} s clip"
    )
    for scale in ("demo", "paper"):
        model, dims, sampling = build(scale)
        model.to(device)
        speaker = {n: torch.randn(FRAMES, d, device=device) for n, d in dims.items()}
        for online in (False, True):
            model.generate(speaker, args.samples, online=online, seed=0, **sampling)  # warm-up
            if device.type == "cuda":
                torch.cuda.synchronize(device)
            start = time.perf_counter()
            for r in range(args.repeats):
                model.generate(speaker, args.samples, online=online, seed=r, **sampling)
            if device.type == "cuda":
                torch.cuda.synchronize(device)
            seconds = (time.perf_counter() - start) / args.repeats
            mode = "online " if online else "offline"
            rtf = f"  real-time factor {seconds / (FRAMES / FPS):.3f}" if online else ""
            print(f"{scale:>5} {mode}  {seconds:7.2f} s{rtf}")


if __name__ == "__main__":
    main()
