"""The `train_mmt` stage: stage 1 of ReactDiff, the MMT auto-encoder, on the feature store.

Under torchrun it trains with DistributedDataParallel; rank 0 writes the outputs and its
``StageResult`` carries the model to register (``reactdiff-mmt``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from reactdiff.config import Params
from reactdiff.features.dataset import PairFeatureDataset
from reactdiff.stages.result import RegisteredModel, StageOptions, StageResult
from reactdiff.training.mmt import load_mmt, train_mmt
from reactdiff.training.summary import final_metrics

NAME = "train_mmt"


@dataclass(frozen=True)
class Options(StageOptions):
    resume: bool = False  # continue from train_mmt.checkpoint


def datasets(
    params: Params, streams: list[str], whole: bool = False
) -> tuple[PairFeatureDataset, PairFeatureDataset]:
    """(train, val) pairs of the feature store, in the split stage's sample order: whole clips,
    or windows of ``train_mmt.clip_frames`` (train: drawn anew each epoch; val: fixed)."""
    return tuple(
        PairFeatureDataset(
            params.features.out,
            split,
            streams,
            splits_dir=params.split.out,
            clip_frames=None if whole else params.train_mmt.clip_frames,
            seed=params.base.seed,
        )
        for split in ("train", "val")
    )


def run(params: Params, options: Options) -> StageResult:
    m, t = params.mmt, params.train_mmt
    train, val = datasets(params, [*m.video_streams, *m.audio_streams])
    skipped = {"train_pairs_too_short": len(train.skipped), "val_pairs_too_short": len(val.skipped)}
    summary = train_mmt(
        params, train, val, options.resume, options.progress, on_epoch=options.on_epoch
    )
    if summary is None:  # a torchrun worker: rank 0 reports
        return StageResult(summary="train_mmt: worker done")
    per_dim = summary.pop("val_emotion_ccc_per_dim")
    return StageResult(
        summary=f"train_mmt: {summary} -> {t.model_out}",
        run_params={
            "scale": m.scale,
            **m.sizes.model_dump(),
            **t.model_dump(mode="json"),
            "video_streams": ",".join(m.video_streams),
            "audio_streams": ",".join(m.audio_streams),
            "seed": params.base.seed,
            "w_3dmm": m.w_3dmm,
            "w_emotion": m.w_emotion,
            "resume": options.resume,
        },
        metrics={**final_metrics(summary), **skipped},
        documents={"val_emotion_ccc_per_dim.json": json.loads(per_dim)},
        model=RegisteredModel(
            load=lambda: load_mmt(t.model_out)[0],
            artifact_path="mmt",
            registered_name=t.registered_name,
            model_file=t.model_out,
            files=(t.metrics_file, t.plots_dir / "loss.csv"),
        ),
    )
