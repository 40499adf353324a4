"""The `evaluate` stage: every REACT metric for every configured method on one split.

A method maps the split's speakers to reactions: the naive baselines, and the trained ReactDiff
(offline; online, streamed: each listener frame from the speaker frames up to it plus
``online.delay_frames``; and the paper's "w/o diffusion" ablation), each one more entry of ``evaluate.methods``. The offline row's
FRDist decides the registry's champion alias.

The protocol follows the data format. REACT 2024: (N, S, 750, 25) reactions scored against the
neighbour matrix. REACT 2025: reactions as long as each clip, generated in chunks of
``evaluate.chunk_frames``, scored by :mod:`reactdiff.evaluation.session_protocol` (ground
truths drawn from the item's session, AUs rounded, 750-frame chunks).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import torch

from reactdiff.atomic import write_json
from reactdiff.config import Params
from reactdiff.data.emotions import clip_emotions, load_split_emotions, whole_clip_emotions
from reactdiff.data.layout import clips_of, mirrored, neighbour_matrix_name, read_split_csv
from reactdiff.data.layouts import Layout, params_layout
from reactdiff.data.readers import load_npy
from reactdiff.data.render import comparison_video
from reactdiff.devices import resolve_device
from reactdiff.evaluation.baselines import BASELINES, TrainStats
from reactdiff.evaluation.metrics import compute_all, describe_device, metrics_device
from reactdiff.evaluation.predictions import Reactions, clip_predictions, model_predictions
from reactdiff.evaluation.realism import realism_metrics
from reactdiff.evaluation.report import write_report
from reactdiff.evaluation.session_protocol import (
    SessionProtocol,
    draw_ground_truths,
    load_post_processor,
    score_session_protocol,
)
from reactdiff.evaluation.tlcc import MAX_LAG
from reactdiff.features.dataset import PairFeatureDataset
from reactdiff.models.reactdiff import ReactDiff
from reactdiff.stages.result import Champion, StageOptions, StageResult

NAME = "evaluate"
Options = StageOptions

# method -> how the trained model produces it (evaluation.predictions.MODES). These and
# BASELINES are exactly config.EVALUATE_METHODS, which evaluate.methods is checked against.
MODELS = {
    "ReactDiff (offline)": "offline",
    "ReactDiff (online)": "online",
    "ReactDiff w/o diffusion": "reconstruct",
}
CHAMPION_METHOD = "ReactDiff (offline)"  # its FRDist decides the registry's champion alias
BATCH = 8  # speaker samples generated together
BASELINE_SEED = 0xE7A1  # with base.seed, the stream B_Random draws from


def _train_rels(params: Params) -> list[str]:
    return clips_of(read_split_csv(params.split.out / "train.csv"))


def _dataset(params: Params, model: ReactDiff) -> PairFeatureDataset:
    """The split's whole clips, in sample order."""
    return PairFeatureDataset(
        params.features.out, params.evaluate.split, model.streams, splits_dir=params.split.out
    )


def _model(params: Params) -> ReactDiff:
    return ReactDiff.load(params.train_ddim.model_out).to(resolve_device(params.evaluate.device))


def _model_row(params: Params, mode: str, progress: bool) -> Reactions:
    """(N, S, T, ...) reactions of the trained model in ``mode``."""
    ev, model = params.evaluate, _model(params)
    loader = torch.utils.data.DataLoader(_dataset(params, model), batch_size=BATCH)
    sampling = params.generation_kwargs()
    return model_predictions(model, loader, mode, ev.samples, params.base.seed, sampling, progress)


def _real_3dmm(params: Params, frames: int | None = None) -> list[np.ndarray]:
    """The split's real listeners' 3DMM (T, 58) in sample order (the first ``frames``)."""
    dataset = PairFeatureDataset(
        params.features.out, params.evaluate.split, ["3dmm"], splits_dir=params.split.out
    )
    return [dataset[k]["listener_3dmm"][:frames].numpy() for k in range(len(dataset))]


def _neighbour_protocol(
    params: Params, layout: Layout, device: str, progress: bool
) -> tuple[dict[str, dict[str, float]], dict]:
    """REACT 2024: every clip's first ``frames`` frames, the neighbour matrix as it is."""
    ev, fmt, split_dir = params.evaluate, layout.fmt, params.split.out
    data = load_split_emotions(layout.root, ev.split, fmt.frames, split_dir / f"{ev.split}.csv")
    neighbours = load_npy(split_dir / neighbour_matrix_name(ev.split))
    stats = TrainStats.from_sequences(
        clip_emotions(layout, "train", _train_rels(params), fmt.frames)
    )
    rng = np.random.default_rng([params.base.seed, BASELINE_SEED])
    results, real_3dmm = {}, None
    for name in ev.methods:
        face = None
        if name in MODELS:
            pred, face = _model_row(params, MODELS[name], progress)
            real_3dmm = real_3dmm or _real_3dmm(params, fmt.frames)
        else:
            pred = BASELINES[name](data.speaker, data.listener, stats, ev.samples, rng)
        results[name] = {
            **compute_all(
                pred,
                data.listener,
                data.speaker,
                neighbours,
                device=device,
                progress=progress,
            ),
            **realism_metrics(pred, data.listener, face, real_3dmm),
        }
    context = {
        "protocol": fmt.name,
        "split": ev.split,
        "n": len(data.samples),
        "samples": ev.samples,
        "frames": fmt.frames,
        "neighbours": float(neighbours.sum(axis=1).mean()),
    }
    return results, context


def _session_protocol(
    params: Params, layout: Layout, device: str, progress: bool
) -> tuple[dict[str, dict[str, float]], dict]:
    """REACT 2025: whole clips, ground truths drawn from each item's session."""
    ev, split_dir = params.evaluate, params.split.out
    samples = mirrored(read_split_csv(split_dir / f"{ev.split}.csv"))
    emotions = whole_clip_emotions(layout, ev.split, clips_of(samples))
    listeners = [emotions[s.listener] for s in samples]
    lengths = [min(len(emotions[s.speaker]), len(emotions[s.listener])) for s in samples]
    speakers = [emotions[s.speaker][:n] for s, n in zip(samples, lengths, strict=True)]
    neighbours = load_npy(split_dir / neighbour_matrix_name(ev.split))
    protocol = SessionProtocol(
        gt_samples=ev.gt_samples, chunk_frames=ev.chunk_frames, seed=params.base.seed
    )
    ground_truths = draw_ground_truths([np.flatnonzero(row) for row in neighbours], protocol)
    align = load_post_processor(ev.post_processor) if ev.alignment == "torchscript" else None
    train = whole_clip_emotions(layout, "train", _train_rels(params))
    stats = TrainStats.from_clips(list(train.values()), ev.chunk_frames)
    rng = np.random.default_rng([params.base.seed, BASELINE_SEED])
    results, info, real_3dmm = {}, {}, None
    for name in ev.methods:
        faces = None
        if name in MODELS:
            model = _model(params)
            preds, faces = clip_predictions(
                model,
                _dataset(params, model),
                MODELS[name],
                ev.samples,
                params.base.seed,
                params.generation_kwargs(),
                ev.chunk_frames,
                progress,
            )
            preds = [p[:, :n] for p, n in zip(preds, lengths, strict=True)]
            faces = [f[:, :n] for f, n in zip(faces, lengths, strict=True)]
            real_3dmm = real_3dmm or [
                f[:n] for f, n in zip(_real_3dmm(params), lengths, strict=True)
            ]
        else:
            preds = [
                BASELINES[name](sp[None], li[:n][None], stats, ev.samples, rng)[0]
                for sp, li, n in zip(speakers, listeners, lengths, strict=True)
            ]
        results[name], info = score_session_protocol(
            preds,
            speakers,
            listeners,
            ground_truths,
            protocol,
            align,
            device=device,
            progress=progress,
        )
        real = [li[:n] for li, n in zip(listeners, lengths, strict=True)]
        results[name].update(realism_metrics(preds, real, faces, real_3dmm))
    context = {
        **info,
        "protocol": layout.fmt.name,
        "split": ev.split,
        "n": len(samples),
        "samples": ev.samples,
        "gt_samples": ev.gt_samples,
        "min_chunk_frames": protocol.min_chunk_frames,
        "seed": params.base.seed,
        "aligner": str(ev.post_processor),
    }
    return results, context


def _videos(params: Params, layout: Layout) -> list[Path]:
    """The first ``evaluate.videos`` samples of the split as videos to watch: the speaker (its
    video and audio), its real listener and ``evaluate.video_samples`` offline reactions,
    drawn with seed ``base.seed``; none when no ReactDiff row is evaluated."""
    ev = params.evaluate
    shutil.rmtree(ev.video_dir, ignore_errors=True)  # the last run's videos are replaced
    ev.video_dir.mkdir(parents=True)
    if not ev.videos or not any(m in MODELS for m in ev.methods):
        return []
    model = _model(params)
    dataset = _dataset(params, model)
    paths = []
    for k in range(min(ev.videos, len(dataset))):
        item, rel = dataset[k], dataset.samples[k].speaker
        face, emotion = model.generate_clip(
            item["speaker"],
            ev.video_samples,
            ev.chunk_frames,
            seed=params.base.seed,
            **params.generation_kwargs(),
        )
        video = layout.video_path(ev.split, rel)
        path = ev.video_dir / f"{k:02d}_{rel.replace('/', '_')}.mp4"
        comparison_video(
            path,
            video if video.exists() else None,
            item["speaker_emotion"].numpy(),
            np.asarray(dataset.store.open(ev.split, rel, "3dmm")[dataset.window(k)]),
            item["listener_emotion"].numpy(),
            item["listener_3dmm"].numpy(),
            emotion.cpu().numpy(),
            face.cpu().numpy(),
            layout.fmt.fps,
            layout.clip_path(ev.split, rel, "audio"),
        )
        paths.append(path)
    return paths


def run(params: Params, options: Options) -> StageResult:
    """Compute every metric for every method; write eval.json, eval.md and eval.png."""
    ev, layout = params.evaluate, params_layout(params.data)
    protocol = _session_protocol if layout.fmt.variable_length else _neighbour_protocol
    device = metrics_device(ev.device)  # "cpu" or "cuda", resolved once
    results, context = protocol(params, layout, device, options.progress)
    context.update(fps=layout.fmt.fps, max_lag=MAX_LAG)
    write_json(ev.metrics_file, results)
    write_report(results, context, ev.report_file, ev.plot_file)
    videos = _videos(params, layout)
    t = params.train_ddim
    champion = None
    if CHAMPION_METHOD in results:
        champion = Champion(t.registered_name, t.model_out, ev.metrics_file, CHAMPION_METHOD)
    return StageResult(
        summary=(
            f"evaluate: {len(results)} methods on {context['n']} {ev.split} samples, metrics on "
            f"{describe_device(device)}"
        ),
        run_params={
            "split": ev.split,
            "samples": ev.samples,
            "methods": ",".join(ev.methods),
            "device": ev.device,
            "metrics_device": device,
            "seed": params.base.seed,
            "protocol": layout.fmt.name,
            **{f"sampling.{k}": v for k, v in params.sampling.model_dump().items()},
            "online.delay_frames": params.online.delay_frames,
        },
        metrics={f"{m}/{k}": v for m, row in results.items() for k, v in row.items()},
        artifacts=[
            *((p, "evaluation") for p in (ev.metrics_file, ev.report_file, ev.plot_file)),
            *((p, "evaluation/videos") for p in videos),
        ],
        champion=champion,
        report=ev.report_file.read_text(),
    )
