"""Training the kinematics ReactDiff: the EDM denoising loss on windows of listener frames,
plus the velocity and pair priors (``kin_priors``), through the shared training loop.

A training sequence is ``kin.train_windows`` consecutive windows of one clip, starting at a
multiple of the window (as generation's windows do), at an offset drawn per epoch. Each window
sees the real listener frame before it (the code's ``past_cond``; zeros at a clip's start) and
the speaker's W frames that end at its first frame + a delay d: d = W - 1 (its own span, as
offline generation) for half the sequences, uniform in [0, W - 1] (online's causal context)
for the others. One noise level per sequence, drawn from the cosine density; the least-noisy
share of the batch gets the priors. The datasets of whole clips come from the caller (the
`train_kin` stage).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.utils.data import Dataset

from reactdiff.atomic import write_json
from reactdiff.config import KinParams, Params
from reactdiff.data.columns import (
    AU_SLICE,
    EMOTION_DIM,
    EXPR_SLICE,
    FACE_3DMM_DIM,
    FACE_EXPRESSION_DIM,
    VA_SLICE,
    face_action_pairs,
)
from reactdiff.diffusion.karras import cosine_sigmas, edm_scalings
from reactdiff.models.kinematics.denoiser import KinDenoiser, Window
from reactdiff.models.kinematics.model import KinConfig, KinReactDiff
from reactdiff.models.kinematics.network import KinNetConfig
from reactdiff.models.postprocess import EmotionLayout
from reactdiff.training.distributed import cleanup_distributed, init_distributed
from reactdiff.training.kin_priors import pair_prior, velocity_prior, velocity_weights
from reactdiff.training.loop import Trainer, loop_config
from reactdiff.training.summary import loss_summary, write_loss_csv

EMOTION_LAYOUT = EmotionLayout.from_slices(AU_SLICE, VA_SLICE, EXPR_SLICE)
PAIR_KINDS = ("symmetric", "co_occurring", "exclusive")


def make_model(params: Params, dims: dict[str, int]) -> KinReactDiff:
    """A freshly initialised model of the ``kin`` params for speaker streams of ``dims``."""
    k, s = params.kin, params.kin.sizes
    audio = {n: dims[n] for n in k.audio_streams}
    visual = {n: dims[n] for n in k.visual_streams}
    net = KinNetConfig(
        target_dim=FACE_3DMM_DIM + EMOTION_DIM,
        audio_dim=sum(audio.values()),
        visual_dim=sum(visual.values()),
        mapping_dim=s.mapping_dim,
        depths=s.depths,
        channels=s.channels,
        cross_attn=s.cross_attn,
        head_size=s.head_size,
        group_size=s.group_size,
        dropout=s.dropout,
        cfg_dropout=k.cfg_dropout,
        position_scale=k.window_size,
    )
    cfg = KinConfig(
        k.sigma_data,
        k.sigma_min,
        k.sigma_max,
        k.window_size,
        FACE_3DMM_DIM,
        EMOTION_DIM,
        audio,
        visual,
    )
    return KinReactDiff(cfg, KinDenoiser(net, k.sigma_data), EMOTION_LAYOUT)


class Clips:
    """A split's whole clips in the model's spaces: listener targets (T, D), speaker audio and
    facial keys (T, ...), standardised with the model's statistics."""

    def __init__(self, model: KinReactDiff, dataset: Dataset) -> None:
        self.listener, self.audio, self.visual = [], [], []
        for i in range(len(dataset)):
            item = dataset[i]
            y = torch.cat([item["listener_3dmm"], item["listener_emotion"]], -1)
            audio, visual = model.speaker_keys({n: v[None] for n, v in item["speaker"].items()})
            self.listener.append(model.to_target(y))
            self.audio.append(audio[0])
            self.visual.append(visual[0])

    @staticmethod
    def raw(model: KinReactDiff, dataset: Dataset) -> tuple[torch.Tensor, ...]:
        """Every frame of the split, unstandardised: (listener, audio, visual), each (N, d)."""
        listener, audio, visual = [], [], []
        for i in range(len(dataset)):
            item = dataset[i]
            listener.append(torch.cat([item["listener_3dmm"], item["listener_emotion"]], -1))
            s = item["speaker"]
            audio.append(torch.cat([s[n] for n in model.cfg.audio_streams], -1))
            visual.append(torch.cat([s[n] for n in model.cfg.visual_streams], -1))
        return torch.cat(listener), torch.cat(audio), torch.cat(visual)


class KinSequences(Dataset):
    """Training sequences of ``windows`` consecutive windows of W frames (module docstring):
    ``{"target": (n W, D), "positions": (n, W), "past": (n, D), "audio": (n, W, da),
    "visual": (n, W, dv), "index": i}``. The table of (clip, start, delay) is drawn per epoch
    (``set_epoch``, seeded); without ``random`` it is epoch 0's always (validation)."""

    def __init__(self, clips: Clips, window: int, windows: int, seed: int, random: bool) -> None:
        self.clips, self.w, self.n, self.seed, self.random = clips, window, windows, seed, random
        self.set_epoch(0)

    def set_epoch(self, epoch: int) -> None:
        rng = np.random.default_rng((self.seed, epoch if self.random else 0))
        w, n, table = self.w, self.n, []
        for c, clip in enumerate(self.clips.listener):
            whole = len(clip) // w  # whole windows in the clip
            if whole < n:
                continue
            # as many sequences every epoch (a DistributedSampler fixes the length it shards),
            # shifted by an offset within the windows they leave over
            count = whole // n
            offset = int(rng.integers(0, whole - count * n + 1))
            for first in range(offset, offset + count * n, n):
                delay = w - 1 if rng.random() < 0.5 else int(rng.integers(0, w))
                table.append((c, first * w, delay))
        self.table = table

    def __len__(self) -> int:
        return len(self.table)

    def __getitem__(self, i: int) -> dict[str, Any]:
        c, start, delay = self.table[i]
        w, n = self.w, self.n
        listener = self.clips.listener[c]
        starts = start + w * torch.arange(n)
        keys = (starts[:, None] + delay - w + 1 + torch.arange(w)).clamp(0, len(listener) - 1)
        past = torch.where(
            (starts > 0)[:, None], listener[(starts - 1).clamp_min(0)], torch.zeros(())
        )
        return {
            "target": listener[start : start + n * w],
            "positions": starts[:, None] + torch.arange(w),
            "past": past,
            "audio": self.clips.audio[c][keys],
            "visual": self.clips.visual[c][keys],
            "index": i,
        }


class KinObjective(nn.Module):
    """The trained module: noises a batch of sequences and returns the network's output F, its
    target (x0 - c_skip x) / c_out and the least-noisy mask, so that DDP sees one forward."""

    def __init__(self, denoiser: KinDenoiser, kin: KinParams) -> None:
        super().__init__()
        self.denoiser, self.kin = denoiser, kin

    def forward(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        x0, positions = batch["target"], batch["positions"]
        b, n, w = positions.shape
        k = self.kin
        u = torch.rand(b, device=x0.device)
        sigma = cosine_sigmas(u, k.sigma_data, k.sigma_min, k.sigma_max)
        x = x0 + torch.randn_like(x0) * sigma[:, None, None]
        drop = None  # in training always a mask, so that the null keys are in every graph (DDP)
        if self.training:
            drop = torch.rand(b, device=x0.device) < self.denoiser.cfg.cfg_dropout
            drop = drop.repeat_interleave(n)
        window = Window(
            positions.reshape(b * n, w),
            batch["past"].reshape(b * n, -1),
            batch["audio"].flatten(0, 1),
            batch["visual"].flatten(0, 1),
        )
        out = self.denoiser.network(
            x.reshape(b * n, w, -1),
            sigma.repeat_interleave(n),
            self.denoiser.condition(window, drop),
        ).reshape(x0.shape)
        s = edm_scalings(sigma, k.sigma_data)
        c_skip, c_out = s.c_skip[:, None, None], s.c_out[:, None, None]
        target = (x0 - c_skip * x) / c_out
        return {"out": out, "target": target, "mask": (u < k.priors.least_noisy).float()}


class KinLoss(nn.Module):
    """The code's loss: the mean squared error of F (karras weighting: 1 at every sigma), plus
    the weighted priors that are on; ``loss_fn`` of the training loop."""

    def __init__(self, kin: KinParams) -> None:
        super().__init__()
        self.p, self.lag = kin.priors, kin.window_size
        pairs = face_action_pairs()
        self.register_buffer(
            "pairs", torch.from_numpy(np.concatenate([pairs[k] for k in PAIR_KINDS]))
        )
        weights = velocity_weights(self.p, FACE_3DMM_DIM, EMOTION_DIM, FACE_EXPRESSION_DIM)
        self.register_buffer("weights", weights)

    def forward(self, model: nn.Module, batch: dict[str, Any]) -> dict[str, torch.Tensor]:
        r = model(batch)
        out, target, mask = r["out"].float(), r["target"].float(), r["mask"]
        denoising = (out - target).pow(2).flatten(1).mean(1).mean()
        losses, loss = {"denoising": denoising}, denoising
        if self.p.velocity > 0:
            losses["velocity"] = velocity_prior(out, target, self.lag, self.weights, mask)
            loss = loss + self.p.velocity * losses["velocity"]
        if self.p.pairs > 0:
            losses["pairs"] = pair_prior(out, target, self.pairs, mask)
            loss = loss + self.p.pairs * losses["pairs"]
        return {"loss": loss, **losses}


def train_kin(
    params: Params,
    train: Dataset,
    val: Dataset,
    resume: bool = False,
    progress: bool = True,
    on_epoch: Callable[[dict[str, float]], None] | None = None,
) -> dict[str, Any] | None:
    """Train; rank 0 writes the model (``train_kin.model_out``), metrics and plots.
    ``train``/``val``: whole clips of the pairs, with the ``kin`` streams for the speaker."""
    k, t = params.kin, params.train_kin
    info = init_distributed(t.device)
    try:
        torch.manual_seed(params.base.seed)  # same initial weights on every rank and rerun
        model = make_model(params, train.dims)
        model.fit_statistics(*Clips.raw(model, train))
        sets = [
            KinSequences(Clips(model, d), k.window_size, k.train_windows, params.base.seed, r)
            for d, r in ((train, True), (val, False))
        ]
        trainer = Trainer(
            KinObjective(model.denoiser, k),
            KinLoss(k).to(info.device),
            *sets,
            loop_config(params, t),
            t.checkpoint,
            info,
            progress=progress,
            on_epoch=on_epoch,
        )
        history = trainer.fit(resume=resume)
        if not info.is_main:
            return None
        model.denoiser = trainer.ema.module.denoiser.cpu()
        model.save(t.model_out, history=history)
        write_loss_csv(history, t.plots_dir)
        last = history[-1]
        metrics = {
            **loss_summary(history),
            **{
                f"val_{n}": last[f"val_{n}"]
                for n in ("denoising", "velocity", "pairs")
                if f"val_{n}" in last
            },
            "train_sequences": len(sets[0]),
            "parameters": sum(p.numel() for p in model.denoiser.parameters()),
        }
        write_json(t.metrics_file, metrics)
        return metrics
    finally:
        cleanup_distributed()
