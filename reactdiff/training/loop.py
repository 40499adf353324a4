"""One training loop for both stages: AdamW, cosine schedule, EMA, clipping, AMP, DDP, and a
checkpoint after every epoch from which ``resume`` continues to the same result as a run that
was never interrupted (same weights, bit for bit, on the same hardware)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, Dataset, DistributedSampler, Subset
from tqdm import tqdm

from reactdiff.config import Params, TrainParams
from reactdiff.errors import ConfigError
from reactdiff.training.checkpoint import (
    load_checkpoint,
    rng_state,
    save_checkpoint,
    seed_everything,
    set_rng_state,
)
from reactdiff.training.distributed import DistInfo, reduce_sums
from reactdiff.training.ema import EMA

LossFn = Callable[[nn.Module, dict[str, Any]], dict[str, torch.Tensor]]


@dataclass(frozen=True)
class LoopConfig:
    """A training stage's loop settings (:func:`loop_config` reads them from params)."""

    epochs: int
    batch_size: int
    lr: float
    weight_decay: float
    betas: tuple[float, float]
    ema_decay: float
    grad_clip: float
    amp: bool  # only ever used on CUDA
    seed: int
    num_workers: int


def loop_config(params: Params, train: TrainParams) -> LoopConfig:
    """The loop settings of the stage whose ``train`` params these are."""
    return LoopConfig(
        epochs=train.epochs,
        batch_size=train.batch_size,
        lr=train.lr,
        weight_decay=train.weight_decay,
        betas=train.betas,
        ema_decay=train.ema_decay,
        grad_clip=train.grad_clip,
        amp=train.amp,
        seed=params.base.seed,
        num_workers=train.num_workers,
    )


def to_device(batch: Any, device: torch.device) -> Any:
    if isinstance(batch, torch.Tensor):
        return batch.to(device, non_blocking=True)
    if isinstance(batch, dict):
        return {k: to_device(v, device) for k, v in batch.items()}
    return batch


class Trainer:
    """Trains ``model`` with ``loss_fn(model, batch) -> {"loss": ..., other terms}``."""

    def __init__(
        self,
        model: nn.Module,
        loss_fn: LossFn,
        train_set: Dataset,
        val_set: Dataset,
        cfg: LoopConfig,
        checkpoint: Path,
        info: DistInfo,
        progress: bool = True,
        on_epoch: Callable[[dict[str, float]], None] | None = None,
    ) -> None:
        self.cfg, self.info, self.loss_fn = cfg, info, loss_fn
        self.checkpoint, self.progress, self.on_epoch = Path(checkpoint), progress, on_epoch
        self.model = model.to(info.device)
        self.ema = EMA(self.model, cfg.ema_decay)
        self.net = DistributedDataParallel(self.model) if info.enabled else self.model
        self.opt = torch.optim.AdamW(
            self.model.parameters(), lr=cfg.lr, betas=cfg.betas, weight_decay=cfg.weight_decay
        )
        self.sched = torch.optim.lr_scheduler.CosineAnnealingLR(self.opt, T_max=cfg.epochs)
        self.autocast = cfg.amp and info.device.type == "cuda"
        self.amp_dtype = (
            torch.bfloat16
            if torch.cuda.is_available() and torch.cuda.is_bf16_supported()
            else torch.float16
        )
        self.scaler = torch.amp.GradScaler(
            "cuda", enabled=self.autocast and self.amp_dtype == torch.float16
        )
        self.sampler = DistributedSampler(
            train_set, num_replicas=info.world, rank=info.rank, shuffle=True, seed=cfg.seed
        )
        self.train_loader = DataLoader(
            train_set, batch_size=cfg.batch_size, sampler=self.sampler, num_workers=cfg.num_workers
        )
        shard = Subset(val_set, range(info.rank, len(val_set), info.world))
        self.val_loader = DataLoader(shard, batch_size=cfg.batch_size, num_workers=cfg.num_workers)
        self.history: list[dict[str, float]] = []
        self.start_epoch = 0

    # ------------------------------------------------------------------ state
    def state(self) -> dict[str, Any]:
        rngs = [None] * self.info.world
        if self.info.enabled:
            dist.all_gather_object(rngs, rng_state())
        else:
            rngs = [rng_state()]
        return {
            "model": self.model.state_dict(),
            "ema": self.ema.state_dict(),
            "optimizer": self.opt.state_dict(),
            "scheduler": self.sched.state_dict(),
            "scaler": self.scaler.state_dict(),
            "epoch": len(self.history),
            "history": self.history,
            "rng": rngs,
            "loop": dataclasses.asdict(self.cfg),
        }

    def load_state(self, state: dict[str, Any]) -> None:
        if (saved := {**state["loop"], "epochs": self.cfg.epochs}) != dataclasses.asdict(self.cfg):
            raise ConfigError(
                f"{self.checkpoint}: saved with other training params {saved}; "
                "delete it or train without --resume"
            )
        if len(state["rng"]) != self.info.world:
            raise ConfigError(
                f"{self.checkpoint}: saved by {len(state['rng'])} processes, "
                f"resumed with {self.info.world}"
            )
        self.model.load_state_dict(state["model"])
        self.ema.load_state_dict(state["ema"])
        self.opt.load_state_dict(state["optimizer"])
        self.sched.load_state_dict(state["scheduler"])
        self.scaler.load_state_dict(state["scaler"])
        self.history = list(state["history"])
        self.start_epoch = state["epoch"]
        set_rng_state(state["rng"][self.info.rank])

    # ------------------------------------------------------------------ loop
    def _step(self, batch: dict[str, Any]) -> dict[str, float]:
        with torch.autocast(self.info.device.type, dtype=self.amp_dtype, enabled=self.autocast):
            losses = self.loss_fn(self.net, batch)
        self.opt.zero_grad(set_to_none=True)
        self.scaler.scale(losses["loss"]).backward()
        self.scaler.unscale_(self.opt)
        nn.utils.clip_grad_norm_(self.model.parameters(), self.cfg.grad_clip)
        self.scaler.step(self.opt)
        self.scaler.update()
        self.ema.update(self.model)
        return {k: float(v.detach()) for k, v in losses.items()}

    @torch.no_grad()
    def _validate(self) -> dict[str, float]:
        sums: dict[str, float] = {}
        count = 0
        for batch in self.val_loader:
            batch = to_device(batch, self.info.device)
            with torch.autocast(self.info.device.type, dtype=self.amp_dtype, enabled=self.autocast):
                losses = self.loss_fn(self.ema.module, batch)
            n = len(batch["index"])
            count += n
            for k, v in losses.items():
                sums[k] = sums.get(k, 0.0) + float(v) * n
        totals = reduce_sums({**sums, "__n": float(count)}, self.info)
        n = max(totals.pop("__n"), 1.0)
        return {f"val_{k}": v / n for k, v in totals.items()}

    def fit(self, resume: bool = False) -> list[dict[str, float]]:
        if resume and self.checkpoint.is_file():
            self.load_state(load_checkpoint(self.checkpoint))
        else:
            seed_everything(self.cfg.seed + self.info.rank)
        for epoch in range(self.start_epoch, self.cfg.epochs):
            self.sampler.set_epoch(epoch)
            if hasattr(self.train_loader.dataset, "set_epoch"):  # windows cropped per epoch
                self.train_loader.dataset.set_epoch(epoch)
            self.model.train()
            sums: dict[str, float] = {}
            count = 0
            bar = tqdm(
                self.train_loader,
                desc=f"epoch {epoch + 1}/{self.cfg.epochs}",
                disable=not (self.progress and self.info.is_main),
                leave=False,
            )
            for batch in bar:
                batch = to_device(batch, self.info.device)
                losses = self._step(batch)
                n = len(batch["index"])
                count += n
                for k, v in losses.items():
                    sums[k] = sums.get(k, 0.0) + v * n
                bar.set_postfix(loss=f"{losses['loss']:.4f}")
            lr = self.opt.param_groups[0]["lr"]
            self.sched.step()
            totals = reduce_sums({**sums, "__n": float(count)}, self.info)
            n = totals.pop("__n")
            metrics = {
                "epoch": epoch + 1,
                "lr": lr,
                **{f"train_{k}": v / n for k, v in totals.items()},
                **self._validate(),
            }
            self.history.append(metrics)
            state = self.state()  # collective: every rank takes part
            if self.info.is_main:
                save_checkpoint(self.checkpoint, state)
                if self.on_epoch is not None:
                    self.on_epoch(metrics)
            if self.info.enabled:
                dist.barrier()
        return self.history
