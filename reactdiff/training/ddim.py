"""Stage 2: the conditional latent DDIM, with the MMT frozen (paper 3.4).

Listener latents of the frozen encoder, standardised with train-split statistics and cut into
windows, are the diffusion target x0; the speaker's latent windows (same encoder, same
standardisation) are the condition. Latents are computed once, before training. The datasets
of feature streams come from the caller (the `train_ddim` stage).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import torch
from torch import nn
from torch.utils.data import Dataset

from reactdiff.atomic import write_json
from reactdiff.config import DDIMParams, ModelScale, Params
from reactdiff.data.format import AU_SLICE, EXPR_SLICE, VA_SLICE
from reactdiff.diffusion.schedule import DDIMScheduler, SchedulerConfig
from reactdiff.diffusion.windows import to_windows
from reactdiff.models.denoiser import DenoiserConfig, LatentDiffusion
from reactdiff.models.mmt import MMT
from reactdiff.models.postprocess import EmotionLayout
from reactdiff.models.reactdiff import ReactDiff
from reactdiff.models.standardize import LatentTransform, Standardizer
from reactdiff.training.common import loop_config, loss_summary, write_loss_csv
from reactdiff.training.distributed import cleanup_distributed, init_distributed
from reactdiff.training.loop import Trainer

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
    """L1 on the predicted noise; called through the (possibly DDP-wrapped) model's forward."""

    def forward(self, model: nn.Module, batch: dict[str, Any]) -> dict[str, torch.Tensor]:
        return {"loss": model(batch["x0"], batch["speaker"])}


def length_batches(lengths: list[int], batch_size: int) -> Iterator[list[int]]:
    """Indices in batches of equal length (so they stack), each length's in dataset order,
    lengths in order of first appearance: one length gives the plain sequential batches."""
    by_length: dict[int, list[int]] = {}
    for i, n in enumerate(lengths):
        by_length.setdefault(n, []).append(i)
    for ids in by_length.values():
        for start in range(0, len(ids), batch_size):
            yield ids[start : start + batch_size]


@torch.no_grad()
def encode_split(
    mmt: MMT, dataset, batch_size: int, device: torch.device
) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """(listener latents, speaker latents), each a list of (T_i, L) on the CPU in sample order,
    T_i the clip's frames rounded down to whole encoder windows; clips of equal length are
    encoded together."""
    unit = mmt.cfg.window
    lengths = [n - n % unit if unit else n for n in dataset.lengths]
    listener: list[torch.Tensor | None] = [None] * len(dataset)
    speaker: list[torch.Tensor | None] = [None] * len(dataset)
    for ids in length_batches(lengths, batch_size):
        if lengths[ids[0]] == 0:  # shorter than one window: nothing to learn from
            continue
        items, frames = [dataset[i] for i in ids], lengths[ids[0]]
        cut = {
            side: {
                s: torch.stack([it[side][s][:frames] for it in items]).to(device)
                for s in items[0][side]
            }
            for side in ("listener", "speaker")
        }
        lis = mmt.encode(cut["listener"]).float().cpu()
        spk = mmt.encode(cut["speaker"]).float().cpu()
        for i, lis_i, spk_i in zip(ids, lis, spk, strict=True):
            listener[i], speaker[i] = lis_i, spk_i
    kept = [i for i in range(len(dataset)) if listener[i] is not None]
    return [listener[i] for i in kept], [speaker[i] for i in kept]


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
        trainer = Trainer(
            model,
            DDIMLoss(),
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
        full = ReactDiff(mmt.cpu(), std3, latent, trainer.ema.module.cpu(), EMOTION_LAYOUT)
        full.save(t.model_out, history=history)
        write_loss_csv(history, t.plots_dir)
        metrics = {
            **loss_summary(history),
            "train_windows": len(trainer.train_loader.dataset),
            "parameters": sum(p.numel() for p in full.diffusion.parameters()),
        }
        write_json(t.metrics_file, metrics)
        return metrics
    finally:
        cleanup_distributed()
