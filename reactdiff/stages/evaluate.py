"""The `evaluate` stage: every REACT metric for every configured method on one split.

A method maps the split's speakers to reactions: the naive baselines, and the trained ReactDiff
(offline; online, streamed: each listener frame from the speaker frames up to it plus
``online.delay_frames``; and the paper's "w/o diffusion" ablation), each one more entry of ``evaluate.methods``. The offline row's
FRDist decides the registry's champion alias.

The protocol is the data format's (:mod:`reactdiff.evaluation.protocols`): this stage hands it
the trained models' reactions as callables, and it scores them with the baselines.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from reactdiff.atomic import write_json
from reactdiff.config import Params, TrainParams
from reactdiff.data.formats import Layout, params_layout
from reactdiff.data.render import comparison_video
from reactdiff.devices import resolve_device
from reactdiff.evaluation.metrics import describe_device, metrics_device
from reactdiff.evaluation.predictions import Reactions, clip_predictions, model_predictions
from reactdiff.evaluation.protocols import get_protocol
from reactdiff.evaluation.protocols.base import ModelRows
from reactdiff.evaluation.report import write_report
from reactdiff.evaluation.tlcc import MAX_LAG
from reactdiff.features.dataset import PairFeatureDataset
from reactdiff.models import load_model
from reactdiff.models.family import ReactionModel
from reactdiff.stages.result import Champion, StageOptions, StageResult

NAME = "evaluate"
Options = StageOptions


@dataclass(frozen=True)
class ModelMethod:
    """A row of a trained model: ``trained_by`` names the params group of the stage that
    trains it (its ``model_out`` is the model file, its ``registered_name`` the registry's
    entry), ``mode`` how the model produces the row (evaluation.predictions.MODES)."""

    trained_by: str
    mode: str


# method -> its model and mode. These and BASELINES are exactly config.EVALUATE_METHODS, which
# evaluate.methods is checked against.
MODELS = {
    "ReactDiff (offline)": ModelMethod("train_ddim", "offline"),
    "ReactDiff (online)": ModelMethod("train_ddim", "online"),
    "ReactDiff w/o diffusion": ModelMethod("train_ddim", "reconstruct"),
}
CHAMPION_METHOD = "ReactDiff (offline)"  # its FRDist decides the registry's champion alias
BATCH = 8  # speaker samples generated together


def _dataset(params: Params, model: ReactionModel) -> PairFeatureDataset:
    """The split's whole clips, in sample order."""
    return PairFeatureDataset(
        params.features.out,
        params.evaluate.split,
        list(model.speaker_streams),
        splits_dir=params.split.out,
    )


def _trainer(params: Params, method: str) -> TrainParams:
    """The params group of the stage that trains ``method``'s model."""
    return getattr(params, MODELS[method].trained_by)


def _model(params: Params, method: str) -> ReactionModel:
    """``method``'s trained model, of whichever family its file holds."""
    model = load_model(_trainer(params, method).model_out)
    return model.to(resolve_device(params.evaluate.device))


def _model_row(params: Params, method: str, progress: bool) -> Reactions:
    """(N, S, T, ...) reactions of ``method``'s trained model in its mode."""
    ev, model, mode = params.evaluate, _model(params, method), MODELS[method].mode
    loader = torch.utils.data.DataLoader(_dataset(params, model), batch_size=BATCH)
    seed, generation = params.base.seed, params.generation()
    return model_predictions(model, loader, mode, ev.samples, seed, generation, progress)


def _model_clips(
    params: Params, method: str, progress: bool
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Per sample (S, T_i, ...) reactions of ``method``'s trained model to whole clips."""
    ev, model = params.evaluate, _model(params, method)
    return clip_predictions(
        model,
        _dataset(params, model),
        MODELS[method].mode,
        ev.samples,
        params.base.seed,
        params.generation(),
        progress,
    )


def _model_rows(params: Params) -> ModelRows:
    """What the protocol calls for the trained models' rows."""
    return ModelRows(
        methods=frozenset(MODELS),
        fixed=lambda method, progress: _model_row(params, method, progress),
        whole_clips=lambda method, progress: _model_clips(params, method, progress),
        real_3dmm=lambda frames: _real_3dmm(params, frames),
    )


def _real_3dmm(params: Params, frames: int | None = None) -> list[np.ndarray]:
    """The split's real listeners' 3DMM (T, 58) in sample order (the first ``frames``)."""
    dataset = PairFeatureDataset(
        params.features.out, params.evaluate.split, ["3dmm"], splits_dir=params.split.out
    )
    return [dataset[k]["listener_3dmm"][:frames].numpy() for k in range(len(dataset))]


def _videos(params: Params, layout: Layout) -> list[Path]:
    """The first ``evaluate.videos`` samples of the split as videos to watch: the speaker (its
    video and audio), its real listener and ``evaluate.video_samples`` offline reactions of
    the model of the first model row of ``evaluate.methods``, drawn with seed ``base.seed``;
    none when no model row is evaluated."""
    ev = params.evaluate
    shutil.rmtree(ev.video_dir, ignore_errors=True)  # the last run's videos are replaced
    ev.video_dir.mkdir(parents=True)
    shown = next((m for m in ev.methods if m in MODELS), None)
    if not ev.videos or shown is None:
        return []
    model, generation = _model(params, shown), params.generation()
    dataset = _dataset(params, model)
    paths = []
    for k in range(min(ev.videos, len(dataset))):
        item, rel = dataset[k], dataset.samples[k].speaker
        face, emotion = model.generate_clip(
            item["speaker"],
            ev.video_samples,
            generation.chunk_frames,
            seed=params.base.seed,
            **generation.sampling(),
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
    protocol = get_protocol(layout.fmt.protocol)
    device = metrics_device(ev.device)  # "cpu" or "cuda", resolved once
    results, context = protocol.run(params, layout, _model_rows(params), device, options.progress)
    context.update(fps=layout.fmt.fps, max_lag=MAX_LAG)
    write_json(ev.metrics_file, results)
    write_report(results, context, ev.report_file, ev.plot_file)
    videos = _videos(params, layout)
    t = _trainer(params, CHAMPION_METHOD)
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
            "format": layout.fmt.name,
            "protocol": layout.fmt.protocol,
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
