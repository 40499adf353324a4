"""The `train_kin` stage: the kinematics ReactDiff (``reactdiff-kin``) on the feature store.

It writes the whole model (``train_kin.model_out``); under torchrun it trains with
DistributedDataParallel and rank 0 reports. The model is registered as ``reactdiff-kin``.
"""

from __future__ import annotations

from dataclasses import dataclass

from reactdiff.config import Params
from reactdiff.models import load_model
from reactdiff.stages.result import RegisteredModel, StageOptions, StageResult
from reactdiff.stages.train_mmt import datasets
from reactdiff.training.kin import train_kin
from reactdiff.training.summary import final_metrics

NAME = "train_kin"


@dataclass(frozen=True)
class Options(StageOptions):
    resume: bool = False  # continue from train_kin.checkpoint


def run(params: Params, options: Options) -> StageResult:
    k, t = params.kin, params.train_kin
    train, val = datasets(params, [*k.audio_streams, *k.visual_streams], whole=True)
    summary = train_kin(params, train, val, options.resume, options.progress, options.on_epoch)
    if summary is None:  # a torchrun worker: rank 0 reports
        return StageResult(summary="train_kin: worker done")
    return StageResult(
        summary=f"train_kin: {summary} -> {t.model_out}",
        run_params={
            **k.model_dump(mode="json", exclude={"scales", "priors"}),
            **{f"priors.{n}": v for n, v in k.priors.model_dump().items()},
            **k.sizes.model_dump(mode="json"),
            **t.model_dump(mode="json"),
            "seed": params.base.seed,
            "resume": options.resume,
        },
        metrics=final_metrics(summary),
        model=RegisteredModel(
            load=lambda: load_model(t.model_out),
            artifact_path="reactdiff",
            registered_name=t.registered_name,
            model_file=t.model_out,
            files=(t.metrics_file, t.plots_dir / "loss.csv"),
        ),
    )
