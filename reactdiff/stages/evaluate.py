"""The `evaluate` stage: every REACT metric for every configured method on two splits.

Val chooses, test reports: ``evaluate.select_split`` (val) is scored into
``evaluate.select_metrics_file`` and is the only split the champion alias (and any tuning) is
chosen on; ``evaluate.report_split`` (test) into ``evaluate.metrics_file``, reported once.
Every method's entry carries ``ci95``: 95% bootstrap intervals over items
(:mod:`reactdiff.evaluation.bootstrap`), the same resamples for every method of a split.

A method maps the split's speakers to reactions: the naive baselines, and the trained ReactDiff
(offline; online, streamed: each listener frame from the speaker frames up to it plus
``online.delay_frames``; and the paper's "w/o diffusion" ablation), each one more entry of ``evaluate.methods``. The offline row's
FRDist on the selection split decides the registry's champion alias.

The protocol is the data format's (:mod:`reactdiff.evaluation.protocols`): this stage hands it
the trained models' reactions as callables, and it scores them with the baselines.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from reactdiff.atomic import make_dir, write_json
from reactdiff.config import Params, TrainParams
from reactdiff.data.formats import Layout, params_layout
from reactdiff.data.render import comparison_video
from reactdiff.devices import resolve_device
from reactdiff.evaluation.bootstrap import split_intervals
from reactdiff.evaluation.metrics import describe_device, metrics_device
from reactdiff.evaluation.predictions import Reactions
from reactdiff.evaluation.protocols import get_protocol
from reactdiff.evaluation.protocols.base import ModelRows
from reactdiff.evaluation.report import CI_KEY, SplitScores, write_report
from reactdiff.evaluation.tlcc import MAX_LAG
from reactdiff.features.dataset import PairFeatureDataset
from reactdiff.models import load_model
from reactdiff.models.family import ReactionModel
from reactdiff.stages import predict
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
    "ReactDiff-Kin (offline)": ModelMethod("train_kin", "offline"),
    "ReactDiff-Kin (online)": ModelMethod("train_kin", "online"),
}
CHAMPION_METHOD = "ReactDiff (offline)"  # its FRDist on val decides the champion alias
SELECT_ROLE = "selection: the champion and every tuning choice are made on it"
REPORT_ROLE = "report: scored once, never chosen on"


def _dataset(params: Params, split: str, model: ReactionModel) -> PairFeatureDataset:
    """The split's whole clips, in sample order."""
    return predict.split_dataset(params, split, list(model.speaker_streams))


def _trainer(params: Params, method: str) -> TrainParams:
    """The params group of the stage that trains ``method``'s model."""
    return getattr(params, MODELS[method].trained_by)


def _model(params: Params, method: str) -> ReactionModel:
    """``method``'s trained model, of whichever family its file holds."""
    model = load_model(_trainer(params, method).model_out)
    return model.to(resolve_device(params.evaluate.device))


def _reactions(params: Params, split: str, method: str, batched: bool, progress: bool) -> Reactions:
    """Per item reactions of ``method``'s trained model in its mode, by the code `reactdiff
    predict` writes its folders with (same samples and seed: the same arrays)."""
    model, mode = _model(params, method), MODELS[method].mode
    samples, seed = params.evaluate.samples, params.base.seed
    return predict.model_reactions(params, split, model, mode, samples, seed, batched, progress)


def _model_row(params: Params, split: str, method: str, progress: bool) -> Reactions:
    """(N, S, T, ...) reactions of ``method``'s trained model to clips of one length."""
    rows = _reactions(params, split, method, True, progress)
    return Reactions(np.stack(rows.emotion), np.stack(rows.face))


def _model_clips(
    params: Params, split: str, method: str, progress: bool
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Per sample (S, T_i, ...) reactions of ``method``'s trained model to whole clips."""
    return _reactions(params, split, method, False, progress)


def _model_rows(params: Params, split: str) -> ModelRows:
    """What the protocol calls for the trained models' rows on ``split``."""
    return ModelRows(
        methods=frozenset(MODELS),
        fixed=lambda method, progress: _model_row(params, split, method, progress),
        whole_clips=lambda method, progress: _model_clips(params, split, method, progress),
        real_3dmm=lambda frames: predict.real_3dmm(params, split, frames),
    )


def _videos(params: Params, layout: Layout) -> list[Path]:
    """The first ``evaluate.videos`` samples of the report split as videos to watch: the speaker (its
    video and audio), its real listener and ``evaluate.video_samples`` offline reactions of
    the model of the first model row of ``evaluate.methods``, drawn with seed ``base.seed``;
    none when no model row is evaluated."""
    ev, split = params.evaluate, params.evaluate.report_split
    shutil.rmtree(ev.video_dir, ignore_errors=True)  # the last run's videos are replaced
    make_dir(ev.video_dir)
    shown = next((m for m in ev.methods if m in MODELS), None)
    if not ev.videos or shown is None:
        return []
    model = _model(params, shown)
    generation = params.generation(model.family)
    dataset = _dataset(params, split, model)
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
        video = layout.video_path(split, rel)
        path = ev.video_dir / f"{k:02d}_{rel.replace('/', '_')}.mp4"
        comparison_video(
            path,
            video if video.exists() else None,
            item["speaker_emotion"].numpy(),
            np.asarray(dataset.store.open(split, rel, "3dmm")[dataset.window(k)]),
            item["listener_emotion"].numpy(),
            item["listener_3dmm"].numpy(),
            emotion.cpu().numpy(),
            face.cpu().numpy(),
            layout.fmt.fps,
            layout.clip_path(split, rel, "audio"),
        )
        paths.append(path)
    return paths


def _score(
    params: Params, layout: Layout, split: str, role: str, device: str, progress: bool
) -> SplitScores:
    """Every method on ``split``, each entry with its ``ci95`` over the split's items."""
    protocol, bootstrap = get_protocol(layout.fmt.protocol), params.evaluate.bootstrap
    results, per_item, context = protocol.run(
        params, layout, split, _model_rows(params, split), device, progress
    )
    context.update(fps=layout.fmt.fps, max_lag=MAX_LAG, bootstrap=bootstrap.model_dump())
    for method, ci95 in split_intervals(per_item, bootstrap.resamples, bootstrap.seed).items():
        results[method][CI_KEY] = ci95
    return SplitScores(split, role, results, context)


def _flat_metrics(scores: SplitScores, prefix: str) -> dict[str, float]:
    """MLflow's metrics of one split: ``<prefix><method>/<metric>`` and its interval's ends."""
    flat = {}
    for method, row in scores.results.items():
        for key, value in row.items():
            if key != CI_KEY:
                flat[f"{prefix}{method}/{key}"] = value
        for key, (lo, hi) in row.get(CI_KEY, {}).items():
            flat.update(
                {f"{prefix}{method}/{key}/ci95_lo": lo, f"{prefix}{method}/{key}/ci95_hi": hi}
            )
    return flat


def run(params: Params, options: Options) -> StageResult:
    """Score the selection and the report split; write their metrics files, eval.md, eval.png."""
    ev, layout = params.evaluate, params_layout(params.data)
    device = metrics_device(ev.device)  # "cpu" or "cuda", resolved once
    selected = _score(params, layout, ev.select_split, SELECT_ROLE, device, options.progress)
    reported = _score(params, layout, ev.report_split, REPORT_ROLE, device, options.progress)
    write_json(ev.select_metrics_file, selected.results)
    write_json(ev.metrics_file, reported.results)
    write_report([selected, reported], ev.report_file, ev.plot_file)
    videos = _videos(params, layout)
    t = _trainer(params, CHAMPION_METHOD)
    champion = None
    if CHAMPION_METHOD in selected.results:
        champion = Champion(
            t.registered_name, t.model_out, ev.select_metrics_file, CHAMPION_METHOD, ev.select_split
        )
    files = (ev.select_metrics_file, ev.metrics_file, ev.report_file, ev.plot_file)
    return StageResult(
        summary=(
            f"evaluate: {len(reported.results)} methods on {selected.context['n']} "
            f"{ev.select_split} (chooses) and {reported.context['n']} {ev.report_split} "
            f"(reported) samples, metrics on {describe_device(device)}"
        ),
        run_params={
            "select_split": ev.select_split,
            "report_split": ev.report_split,
            "samples": ev.samples,
            "methods": ",".join(ev.methods),
            "device": ev.device,
            "metrics_device": device,
            "seed": params.base.seed,
            "gt_seed": ev.gt_seed,
            **{f"bootstrap.{k}": v for k, v in ev.bootstrap.model_dump().items()},
            "format": layout.fmt.name,
            "protocol": layout.fmt.protocol,
            **{f"sampling.{k}": v for k, v in params.sampling.model_dump().items()},
            "online.delay_frames": params.online.delay_frames,
        },
        metrics={**_flat_metrics(reported, ""), **_flat_metrics(selected, f"{ev.select_split}/")},
        artifacts=[
            *((p, "evaluation") for p in files),
            *((p, "evaluation/videos") for p in videos),
        ],
        champion=champion,
        report=ev.report_file.read_text(),
    )
