"""Speed and memory of feature extraction on the demo drop (``dvc repro`` makes data/raw).

    python benchmarks/features.py [--root data/raw] [--clips 32] [--workers 2]
                                  [--wav2vec DIR|random-base] [--torchscript DIR|random]

prints (1) the MFCC time of one 30 s clip on one thread (the transform alone, and with reading
and resampling the 44.1 kHz wav), (2) clips per second of each stream's extractor over the
first ``--clips`` clips on one thread, each in its own child process with its peak RSS, and
(3) the whole `features` stage with the default streams over every clip of the drop with
``--workers`` processes into a temporary store: wall time, clips per second, peak RSS of the
parent and of the largest worker. ``--wav2vec random-base`` benchmarks a randomly initialised
wav2vec 2.0 base (same shapes and cost as facebook/wav2vec2-base-960h, nothing downloaded);
``--torchscript random`` uses pooled linear heads with the paper's output dims (64, 25088,
1408), so it measures decoding, preprocessing and storing, not a real predictor. Devices follow
params (``auto``: the GPU when there is one).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from reactdiff.config import FeaturesParams, load_params  # noqa: E402
from reactdiff.data.formats import detect_format, get_format, open_layout  # noqa: E402
from reactdiff.features.extract import extract_features, split_clips  # noqa: E402
from reactdiff.features.streams import build_extractors  # noqa: E402


def _peak_mb(pid: int | str = "self") -> float:
    """Peak RSS of one process (VmHWM). Unlike ru_maxrss it restarts at exec, so a child does
    not report the peak of the parent it was forked from."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"/proc/{pid}/status has no VmHWM")


class ChildPeak(threading.Thread):
    """Polls the peak RSS of this process's children (the stage's workers) while they run."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.peak_mb = 0.0
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.wait(0.2):
            for children in Path(f"/proc/{os.getpid()}/task").glob("*/children"):
                for pid in children.read_text().split():
                    with contextlib.suppress(OSError, RuntimeError):
                        self.peak_mb = max(self.peak_mb, _peak_mb(pid))


def random_wav2vec(folder: Path) -> Path:
    """A randomly initialised wav2vec 2.0 base with its feature-extractor config."""
    from transformers import Wav2Vec2Config, Wav2Vec2FeatureExtractor, Wav2Vec2Model

    Wav2Vec2Model(Wav2Vec2Config()).save_pretrained(folder)
    Wav2Vec2FeatureExtractor(do_normalize=True).save_pretrained(folder)
    return folder


def random_torchscript(folder: Path) -> dict[str, Path]:
    """Pooled linear heads with the paper's output dims, scripted."""
    import torch
    from torch import nn

    class Head(nn.Module):
        def __init__(self, dim: int) -> None:
            super().__init__()
            self.proj = nn.Linear(3, dim)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.proj(x.mean(dim=(2, 3)))

    paths = {}
    for name, dim in {"va": 64, "au": 25088, "fe": 1408}.items():
        paths[name] = folder / f"{name}.pt"
        torch.jit.script(Head(dim)).save(str(paths[name]))
    return paths


def mfcc_one_clip(root: Path, fp: FeaturesParams, frames: int, fps: int, reps: int = 20) -> dict:
    import torch

    from reactdiff.features.audio import MfccExtractor, read_audio_at

    torch.set_num_threads(1)
    layout = open_layout(root, detect_format(root))
    wav = layout.clip_path("train", layout.clips("train")[0], "audio")
    ex = MfccExtractor(fp.mfcc, frames, fps)
    wave = read_audio_at(wav, ex.rate)

    def median_ms(fn) -> float:
        fn()
        times = []
        for _ in range(reps):
            start = time.perf_counter()
            fn()
            times.append(time.perf_counter() - start)
        return 1000 * statistics.median(times)

    return {
        "transform_ms": median_ms(lambda: ex.compute(wave, frames)),
        "read_resample_transform_ms": median_ms(
            lambda: ex.compute(read_audio_at(wav, ex.rate), frames)
        ),
    }


def stream_child(cfg: dict) -> dict:
    """One extractor over the first ``clips`` clips (train, then val, test), one thread."""
    import torch

    torch.set_num_threads(1)
    fp = FeaturesParams.model_validate(cfg["params"])
    root = Path(cfg["root"])
    streams = cfg["streams"]
    ex = next(
        e
        for e in build_extractors(fp, streams, get_format(cfg["format"]))
        if set(e.streams) & set(streams)
    )
    layout = open_layout(root, cfg["format"])
    todo = [(s, r) for s, rels in split_clips(layout).items() for r in rels][: cfg["clips"]]
    ex.extract(layout, *todo[0], streams)  # warm-up: model loading, first-call costs
    start = time.perf_counter()
    for split, rel in todo:
        ex.extract(layout, split, rel, streams)
    seconds = time.perf_counter() - start
    return {"clips": len(todo), "seconds": seconds, "peak_rss_mb": _peak_mb()}


def stage_child(cfg: dict) -> dict:
    """The whole stage, default streams, ``workers`` processes, into a fresh temp store."""
    fp = FeaturesParams.model_validate(cfg["params"])
    root = Path(cfg["root"])
    layout = open_layout(root, cfg["format"])
    clips = split_clips(layout)
    watch = ChildPeak()
    watch.start()
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        summary = extract_features(
            layout,
            Path(tmp),
            clips,
            fp,
            workers=cfg["workers"],
            progress=False,
        )
        seconds = time.perf_counter() - start
    watch.done.set()
    return {
        "clips": summary.clips,
        "arrays": len(summary.computed),
        "seconds": seconds,
        "peak_rss_mb": _peak_mb(),
        "worker_peak_rss_mb": watch.peak_mb,
    }


def _child(kind: str, cfg: dict) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--child", kind, json.dumps(cfg)],
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode:
        raise SystemExit(f"{kind} child failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--root", type=Path, default=None, help="REACT root [params data root]")
    ap.add_argument("--clips", type=int, default=32, help="clips per stream benchmark")
    ap.add_argument("--workers", type=int, default=2, help="processes for the whole stage")
    ap.add_argument("--wav2vec", help="model directory, or random-base")
    ap.add_argument("--torchscript", help="folder with va.pt au.pt fe.pt, or random")
    ap.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        kind, cfg = args.child
        fn = {"stream": stream_child, "stage": stage_child}[kind]
        print(json.dumps(fn(json.loads(cfg))))
        return

    params = load_params(REPO / "params.yaml")
    root = (args.root or REPO / params.data.react_root).resolve()
    fmt = get_format(params.data.format)
    frames, fps = fmt.frames, fmt.fps
    fp = params.features
    print(
        f"drop: {root} ({sum(len(r) for r in split_clips(open_layout(root, fmt)).values())} clips)"
    )
    one = mfcc_one_clip(root, fp, frames, fps)
    print(
        f"MFCC of one 30 s clip, 1 thread (median of 20): transform {one['transform_ms']:.1f} ms;"
        f" with reading + resampling the wav {one['read_resample_transform_ms']:.1f} ms"
    )

    with tempfile.TemporaryDirectory(prefix="features-bench-") as tmpdir:
        tmp = Path(tmpdir)
        facial = fp.facial.model_dump(mode="json")
        groups = [["mfcc"], ["emotion"], ["3dmm"]]
        w2v = fp.wav2vec.model_dump(mode="json")
        if args.wav2vec:
            w2v["checkpoint"] = str(
                random_wav2vec(tmp / "w2v") if args.wav2vec == "random-base" else args.wav2vec
            )
            groups.append(["wav2vec"])
        if args.torchscript:
            folder = Path(args.torchscript)
            paths = (
                random_torchscript(tmp)
                if args.torchscript == "random"
                else {s: folder / f"{s}.pt" for s in ("va", "au", "fe")}
            )
            facial.update(backend="torchscript", **{k: str(v) for k, v in paths.items()})
            groups.append(["va", "au", "fe"])
        cfg_params = {**fp.model_dump(mode="json"), "wav2vec": w2v, "facial": facial}
        base = {"root": str(root), "format": fmt.name, "params": cfg_params}

        print(f"\n{'stream':<10} {'clips':>5} {'seconds':>8} {'clips/s':>8} {'peak RSS MB':>12}")
        for streams in groups:
            r = _child("stream", {**base, "streams": streams, "clips": args.clips})
            print(
                f"{','.join(streams):<10} {r['clips']:>5} {r['seconds']:>8.2f} "
                f"{r['clips'] / r['seconds']:>8.1f} {r['peak_rss_mb']:>12.0f}"
            )

    default = {**base, "params": fp.model_dump(mode="json"), "workers": args.workers}
    r = _child("stage", default)
    print(
        f"\nwhole stage, streams {list(fp.streams)}, {args.workers} workers: {r['clips']} clips"
        f" ({r['arrays']} arrays) in {r['seconds']:.1f} s = {r['clips'] / r['seconds']:.1f} "
        f"clips/s; peak RSS parent {r['peak_rss_mb']:.0f} MB, largest worker "
        f"{r['worker_peak_rss_mb']:.0f} MB"
    )


if __name__ == "__main__":
    main()
