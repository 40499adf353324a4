"""Stage 2, `train_ddim`: the conditional latent DDIM, with the MMT frozen (paper 3.4).

Listener latents of the frozen encoder, standardised with train-split statistics and cut into
windows, are the diffusion target x0; the speaker's latent windows (same encoder, same
standardisation) are the condition. Latents are computed once, before training.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from reactdiff.atomic import write_json
from reactdiff.config import Params
from reactdiff.diffusion.factory import make_latent_diffusion, make_sampling
from reactdiff.diffusion.transform import LatentTransform
from reactdiff.diffusion.windows import to_windows
from reactdiff.models.mmt import MMT
from reactdiff.models.reactdiff import ReactDiff
from reactdiff.training.common import (
    feature_datasets,
    loop_config,
    loss_summary,
    write_loss_csv,
)
from reactdiff.training.distributed import cleanup_distributed, init_distributed
from reactdiff.training.loop import Trainer, to_device
from reactdiff.training.mmt_stage import load_mmt


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


@torch.no_grad()
def encode_split(
    mmt: MMT, dataset, batch_size: int, device: torch.device
) -> tuple[torch.Tensor, torch.Tensor]:
    """(listener latents, speaker latents), each (N, T, L) on the CPU, in sample order."""
    listener, speaker = [], []
    for batch in DataLoader(dataset, batch_size=batch_size):
        batch = to_device(batch, device)
        listener.append(mmt.encode(batch["listener"]).float().cpu())
        speaker.append(mmt.encode(batch["speaker"]).float().cpu())
    return torch.cat(listener), torch.cat(speaker)


def _windows(
    latent: LatentTransform, lis: torch.Tensor, spk: torch.Tensor, w: int
) -> LatentWindows:
    return LatentWindows(to_windows(latent(lis), w), to_windows(latent(spk), w))


def run_train_ddim(
    params: Params,
    resume: bool = False,
    progress: bool = True,
    on_epoch: Callable[[dict[str, float]], None] | None = None,
) -> dict[str, Any] | None:
    """Train; rank 0 writes the whole model (models/reactdiff.pt), metrics and plots."""
    d, t = params.ddim, params.train_ddim
    info = init_distributed(t.device)
    try:
        mmt, std3 = load_mmt(params.train_mmt.model_out)
        mmt = mmt.to(info.device).eval().requires_grad_(False)
        train, val = feature_datasets(params, mmt.streams)
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
        full = ReactDiff(
            mmt.cpu(),
            std3,
            latent,
            trainer.ema.module.cpu(),
            make_sampling(d),
        )
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
