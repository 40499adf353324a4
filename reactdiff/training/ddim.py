"""Stage 2: the conditional latent DDIM, with the MMT frozen (paper 3.4).

Listener latents of the frozen encoder, standardised with train-split statistics and cut into
windows, are the diffusion target x0; the speaker's latent windows (same encoder, same
standardisation) are the condition. Latents are computed once, before training. The datasets
of feature streams come from the caller (the `train_ddim` stage).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.utils.data import Dataset

from reactdiff.atomic import write_json
from reactdiff.config import DDIMParams, ModelScale, Params
from reactdiff.data.columns import AU_SLICE, EXPR_SLICE, VA_SLICE
from reactdiff.diffusion.schedule import DDIMScheduler, SchedulerConfig
from reactdiff.diffusion.windows import to_windows
from reactdiff.models.denoiser import DenoiserConfig, LatentDiffusion
from reactdiff.models.mmt import MMT
from reactdiff.models.postprocess import EmotionLayout
from reactdiff.models.reactdiff import ReactDiff
from reactdiff.models.standardize import LatentTransform, Standardizer
from reactdiff.training.distributed import cleanup_distributed, init_distributed
from reactdiff.training.loop import Trainer, loop_config
from reactdiff.training.priors import RealismPriors
from reactdiff.training.summary import loss_summary, write_loss_csv

EMOTION_LAYOUT = EmotionLayout.from_slices(AU_SLICE, VA_SLICE, EXPR_SLICE)


def scheduler_config(ddim: DDIMParams) -> SchedulerConfig:
    """The scheduler that the ``ddim`` params group describes."""
    return SchedulerConfig(
        num_train_timesteps=ddim.num_train_timesteps,
        beta_schedule=ddim.beta_schedule,
        prediction_type=ddim.prediction_type,
        clip_sample=ddim.clip_sample,
    )


def denoiser_config(ddim: DDIMParams, mmt: ModelScale) -> DenoiserConfig:
    """The U-Net sizes of ``ddim.sizes`` over the MMT's latent windows (``mmt`` = mmt.sizes)."""
    s = ddim.sizes
    return DenoiserConfig(
        window_size=mmt.window_size,
        latent_dim=mmt.latent_dim,
        cond_dim=s.cond_dim,
        base_width=s.base_width,
        width_mults=tuple(s.width_mults),
        blocks_per_level=s.blocks_per_level,
        time_dim=s.time_dim,
        groups=s.groups,
        dropout=s.dropout,
        cfg_dropout=ddim.cfg_dropout,
    )


def make_latent_diffusion(ddim: DDIMParams, mmt: ModelScale) -> LatentDiffusion:
    """A freshly initialised model (load a checkpoint's ``state_dict`` into it to restore one)."""
    return LatentDiffusion(denoiser_config(ddim, mmt), DDIMScheduler(scheduler_config(ddim)))


class LatentWindows(Dataset):
    """Pairs of (listener x0 window, speaker window), both standardised, (W, L) each."""

    def __init__(self, x0: torch.Tensor, speaker: torch.Tensor) -> None:
        self.x0, self.speaker = x0, speaker

    def __len__(self) -> int:
        return len(self.x0)

    def __getitem__(self, i: int) -> dict[str, Any]:
        return {"x0": self.x0[i], "speaker": self.speaker[i], "index": i}


class DDIMLoss(nn.Module):
    """L1 on the predicted noise, plus the weighted realism priors when some are on; called
    through the (possibly DDP-wrapped) model's forward."""

    def __init__(self, priors: RealismPriors | None = None) -> None:
        super().__init__()
        self.priors = priors

    def forward(self, model: nn.Module, batch: dict[str, Any]) -> dict[str, torch.Tensor]:
        if self.priors is None:
            return {"loss": model(batch["x0"], batch["speaker"])}
        l1, x0_pred, t = model(batch["x0"], batch["speaker"], return_x0=True)
        terms = self.priors(x0_pred, batch["x0"], t)
        return {"loss": l1 + self.priors.weighted(terms), "noise_l1": l1, **terms}


def realism_priors(params: Params, mmt: MMT, latent: LatentTransform) -> RealismPriors | None:
    """The priors ``ddim.priors`` turns on, decoding through the frozen ``mmt`` (None: none)."""
    p = params.ddim.priors
    if not p.active:
        return None

    def decode(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return mmt.decode(latent.inverse(x))

    return RealismPriors(p, decode)


def length_batches(lengths: list[int], batch_size: int) -> Iterator[list[int]]:
    """Indices in batches of equal length (so they stack), each length's in dataset order,
    lengths in order of first appearance: one length gives the plain sequential batches."""
    by_length: dict[int, list[int]] = {}
    for i, n in enumerate(lengths):
        by_length.setdefault(n, []).append(i)
    for ids in by_length.values():
        for start in range(0, len(ids), batch_size):
            yield ids[start : start + batch_size]


def _encoder_batches(
    mmt: MMT, dataset, batch_size: int, device: torch.device | str, sides: tuple[str, ...]
) -> Iterator[tuple[list[int], dict[str, dict[str, torch.Tensor]]]]:
    """(indices, {side: {stream: (B, T, D) on ``device``}}) of clips of equal length, cut to
    whole encoder windows; clips shorter than one window (nothing to learn from) are left out."""
    unit = mmt.cfg.window
    lengths = [n - n % unit if unit else n for n in dataset.lengths]
    for ids in length_batches(lengths, batch_size):
        frames = lengths[ids[0]]
        if frames == 0:
            continue
        items = [dataset[i] for i in ids]
        yield (
            ids,
            {
                side: {
                    s: torch.stack([it[side][s][:frames] for it in items]).to(device)
                    for s in items[0][side]
                }
                for side in sides
            },
        )


@torch.no_grad()
def encode_split(
    mmt: MMT, dataset, batch_size: int, device: torch.device
) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """(listener latents, speaker latents), each a list of (T_i, L) on the CPU in sample order,
    T_i the clip's frames rounded down to whole encoder windows; clips of equal length are
    encoded together."""
    listener: list[torch.Tensor | None] = [None] * len(dataset)
    speaker: list[torch.Tensor | None] = [None] * len(dataset)
    for ids, cut in _encoder_batches(mmt, dataset, batch_size, device, ("listener", "speaker")):
        lis = mmt.encode(cut["listener"]).float().cpu()
        spk = mmt.encode(cut["speaker"]).float().cpu()
        for i, lis_i, spk_i in zip(ids, lis, spk, strict=True):
            listener[i], speaker[i] = lis_i, spk_i
    kept = [i for i in range(len(dataset)) if listener[i] is not None]
    return [listener[i] for i in kept], [speaker[i] for i in kept]


@torch.no_grad()
def calibrated_au_thresholds(
    mmt: MMT, dataset: Dataset, batch_size: int, device: torch.device | str
) -> torch.Tensor:
    """Per-AU thresholds that give the decoded AUs the train listeners' activation rates.

    The MMT learns the 0/1 AUs with an L1 loss, whose minimiser is the conditional median: an
    AU that is on less than half the time is decoded well below 0.5, so one threshold of 0.5
    left such AUs off in every generated frame (a constant column, which makes the official
    FRSyn its worst value). AU k's threshold is the (1 - rate_k) quantile of its decoder output
    on the train listeners' own latents, rate_k the share of their frames with AU k on (an AU
    never on gets +inf, one always on -inf).
    """
    outputs, targets = [], []
    for _, cut in _encoder_batches(mmt, dataset, batch_size, device, ("listener",)):
        streams = cut["listener"]
        emotion = mmt.decode(mmt.encode(streams))[1]
        outputs.append(emotion[..., AU_SLICE].float().flatten(0, 1).cpu())
        targets.append(streams["emotion"][..., AU_SLICE].float().flatten(0, 1).cpu())
    raw, real = torch.cat(outputs).numpy(), torch.cat(targets).numpy() >= 0.5
    thresholds = []
    for k, rate in enumerate(real.mean(axis=0)):
        if rate == 0 or rate == 1:
            thresholds.append(np.inf if rate == 0 else -np.inf)
        else:
            thresholds.append(float(np.quantile(raw[:, k], 1 - rate)))
    return torch.tensor(thresholds, dtype=torch.float32)


def _windows(
    latent: LatentTransform, lis: list[torch.Tensor], spk: list[torch.Tensor], w: int
) -> LatentWindows:
    """Every whole window of every clip, clip after clip."""
    cut = [to_windows(latent(x[None]), w) for x in lis]
    cond = [to_windows(latent(x[None]), w) for x in spk]
    return LatentWindows(torch.cat(cut), torch.cat(cond))


def train_ddim(
    params: Params,
    mmt: MMT,
    std3: Standardizer,
    train: Dataset,
    val: Dataset,
    resume: bool = False,
    progress: bool = True,
    on_epoch: Callable[[dict[str, float]], None] | None = None,
) -> dict[str, Any] | None:
    """Train; rank 0 writes the whole model (``train_ddim.model_out``), metrics and plots.

    ``mmt`` and ``std3`` are the trained stage-1 model and its 3DMM standardiser
    (``load_mmt``); ``train``/``val`` hold the MMT's streams for speaker and listener.
    """
    d, t = params.ddim, params.train_ddim
    info = init_distributed(t.device)
    try:
        mmt = mmt.to(info.device).eval().requires_grad_(False)
        lis_tr, spk_tr = encode_split(mmt, train, t.batch_size, info.device)
        lis_va, spk_va = encode_split(mmt, val, t.batch_size, info.device)
        latent = LatentTransform.fit(lis_tr)
        w = params.mmt.sizes.window_size
        torch.manual_seed(params.base.seed)  # same initial weights on every rank and rerun
        model = make_latent_diffusion(d, params.mmt.sizes)
        priors = realism_priors(params, mmt, copy.deepcopy(latent).to(info.device))
        trainer = Trainer(
            model,
            DDIMLoss(priors.to(info.device) if priors else None),
            _windows(latent, lis_tr, spk_tr, w),
            _windows(latent, lis_va, spk_va, w),
            loop_config(params, t),
            t.checkpoint,
            info,
            progress=progress,
            on_epoch=on_epoch,
        )
        history = trainer.fit(resume=resume)
        if not info.is_main:
            return None
        if d.au_threshold == "calibrated":
            thresholds = calibrated_au_thresholds(mmt, train, t.batch_size, info.device)
        else:
            thresholds = torch.full(
                (EMOTION_LAYOUT.aus[1] - EMOTION_LAYOUT.aus[0],), d.au_threshold
            )
        full = ReactDiff(mmt.cpu(), std3, latent, trainer.ema.module.cpu(), EMOTION_LAYOUT)
        full.set_au_thresholds(thresholds)
        full.save(t.model_out, history=history)
        write_loss_csv(history, t.plots_dir)
        terms = ("noise_l1", "kinematics", "dependency")  # with priors: the loss's parts
        metrics = {
            **loss_summary(history),
            **{f"val_{k}": history[-1][f"val_{k}"] for k in terms if f"val_{k}" in history[-1]},
            "train_windows": len(trainer.train_loader.dataset),
            "parameters": sum(p.numel() for p in full.diffusion.parameters()),
        }
        write_json(t.metrics_file, metrics)
        return metrics
    finally:
        cleanup_distributed()
