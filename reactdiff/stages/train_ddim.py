"""The `train_ddim` stage: stage 2 of ReactDiff, the conditional latent DDIM, MMT frozen.

It writes the whole model (``train_ddim.model_out``); under torchrun it trains with
DistributedDataParallel and rank 0 reports. The model is registered as ``reactdiff``.
"""

from __future__ import annotations

from dataclasses import dataclass

from reactdiff.config import Params
from reactdiff.models import load_model
from reactdiff.stages.result import RegisteredModel, StageOptions, StageResult
from reactdiff.stages.train_mmt import datasets
from reactdiff.training.ddim import train_ddim
from reactdiff.training.mmt import load_mmt
from reactdiff.training.summary import final_metrics

NAME = "train_ddim"


@dataclass(frozen=True)
class Options(StageOptions):
    resume: bool = False  # continue from train_ddim.checkpoint


def run(params: Params, options: Options) -> StageResult:
    d, t = params.ddim, params.train_ddim
    mmt, std3 = load_mmt(params.train_mmt.model_out)
    train, val = datasets(params, mmt.streams, whole=True)  # every latent window of every clip
    summary = train_ddim(
        params, mmt, std3, train, val, options.resume, options.progress, options.on_epoch
    )
    if summary is None:  # a torchrun worker: rank 0 reports
        return StageResult(summary="train_ddim: worker done")
    return StageResult(
        summary=f"train_ddim: {summary} -> {t.model_out}",
        run_params={
            **d.model_dump(exclude={"scales"}),  # the scheduler, condition dropout and scale
            **d.sizes.model_dump(),
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
