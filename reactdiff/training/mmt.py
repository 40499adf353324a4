"""Stage 1: the MMT as an auto-encoder of the listener's own features into the listener's 3DMM
(standardised with train-split statistics) and emotion (paper eq. 5).

The datasets come from the caller (the `train_mmt` stage reads them from the feature store):
items as ``reactdiff.features.dataset.PairFeatureDataset`` yields them.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.utils.data import Dataset

from reactdiff.atomic import write_json
from reactdiff.config import MMTParams, Params
from reactdiff.data.columns import EMOTION_DIM, FACE_3DMM_DIM
from reactdiff.models.mmt import MMT, MMTConfig
from reactdiff.models.serialization import load_state_file, load_weights
from reactdiff.models.standardize import Standardizer
from reactdiff.training.ccc import ccc_per_dim
from reactdiff.training.checkpoint import save_checkpoint
from reactdiff.training.distributed import DistInfo, cleanup_distributed, init_distributed
from reactdiff.training.loop import Trainer, loop_config, to_device
from reactdiff.training.summary import loss_summary, write_loss_csv


def mmt_config(m: MMTParams, dims: dict[str, int]) -> MMTConfig:
    """The MMT of the configured scale over the configured streams with the given dims."""
    s = m.sizes
    return MMTConfig(
        video_streams={n: dims[n] for n in m.video_streams},
        audio_streams={n: dims[n] for n in m.audio_streams},
        face_dim=FACE_3DMM_DIM,
        emotion_dim=EMOTION_DIM,
        hidden_dim=s.hidden_dim,
        latent_dim=s.latent_dim,
        heads=s.heads,
        depth=s.depth,
        decoder_layers=s.decoder_layers,
        ff_dim=s.ff_dim,
        dropout=s.dropout,
        window=s.window_size,
        decoder_window=s.decoder_window,
    )


class MMTLoss(nn.Module):
    """``w_3dmm * MSE(standardised 3DMM) + w_emotion * L1(emotion)`` on the listener."""

    def __init__(self, standardizer: Standardizer, w_3dmm: float, w_emotion: float) -> None:
        super().__init__()
        self.std3 = standardizer
        self.w_3dmm, self.w_emotion = w_3dmm, w_emotion

    def forward(self, model: nn.Module, batch: dict[str, Any]) -> dict[str, torch.Tensor]:
        pred_3dmm, pred_emotion = model(batch["listener"])
        mse = nn.functional.mse_loss(pred_3dmm.float(), self.std3(batch["listener_3dmm"]))
        l1 = nn.functional.l1_loss(pred_emotion.float(), batch["listener_emotion"])
        return {"loss": self.w_3dmm * mse + self.w_emotion * l1, "mse_3dmm": mse, "l1_emotion": l1}


@torch.no_grad()
def val_emotion_ccc(model: MMT, val, info: DistInfo, batch_size: int) -> tuple[float, list[float]]:
    """Mean CCC (over non-constant dimensions) of decoded vs true listener emotion on val."""
    model.eval()
    preds, truths = [], []
    loader = torch.utils.data.DataLoader(val, batch_size=batch_size)
    for batch in loader:
        batch = to_device(batch, info.device)
        preds.append(model(batch["listener"])[1].float().cpu())
        truths.append(batch["listener_emotion"].cpu())
    per_dim = ccc_per_dim(torch.cat(preds), torch.cat(truths))
    return float(per_dim.nanmean()), [float(v) for v in per_dim]


def save_mmt(path: Path, model: MMT, std3: Standardizer, history: list, streams: list[str]) -> None:
    save_checkpoint(
        path,
        {
            "config": dataclasses.asdict(model.cfg),
            "state_dict": model.state_dict(),
            "standardizer_3dmm": std3.state_dict(),
            "streams": streams,
            "history": history,
        },
    )


def load_mmt(path: Path | str) -> tuple[MMT, Standardizer]:
    """The trained (EMA) MMT and its 3DMM standardiser, in eval mode."""
    state = load_state_file(path, "MMT model file", ("config", "state_dict", "standardizer_3dmm"))
    model = MMT(MMTConfig(**state["config"]))
    load_weights(model, state["state_dict"], path, "MMT model file")
    sd = state["standardizer_3dmm"]
    std3 = Standardizer(sd["mean"], sd["std"])
    return model.eval(), std3


def train_mmt(
    params: Params,
    train: Dataset,
    val: Dataset,
    resume: bool = False,
    progress: bool = True,
    on_epoch: Callable[[dict[str, float]], None] | None = None,
) -> dict[str, Any] | None:
    """Train; rank 0 writes the model, metrics and plots and returns the final metrics.

    ``train``/``val`` hold the listener streams ``mmt.video_streams + mmt.audio_streams``.
    """
    m, t = params.mmt, params.train_mmt
    info = init_distributed(t.device)
    try:
        streams = [*m.video_streams, *m.audio_streams]
        first = train[0]["listener"]
        dims = {s: int(first[s].shape[-1]) for s in streams}
        torch.manual_seed(params.base.seed)  # same initial weights on every rank and rerun
        model = MMT(mmt_config(m, dims))
        std3 = Standardizer.fit(torch.stack([train[i]["listener_3dmm"] for i in range(len(train))]))
        loss = MMTLoss(std3, m.w_3dmm, m.w_emotion).to(info.device)
        trainer = Trainer(
            model,
            loss,
            train,
            val,
            loop_config(params, t),
            t.checkpoint,
            info,
            progress=progress,
            on_epoch=on_epoch,
        )
        history = trainer.fit(resume=resume)
        if not info.is_main:
            return None
        ema = trainer.ema.module
        ccc, per_dim = val_emotion_ccc(ema, val, info, t.batch_size)
        save_mmt(t.model_out, ema.cpu(), std3.cpu(), history, streams)
        write_loss_csv(history, t.plots_dir)
        metrics = {
            **loss_summary(history),
            "val_emotion_ccc": ccc,
            "parameters": sum(p.numel() for p in ema.parameters()),
        }
        write_json(t.metrics_file, metrics)
        return {**metrics, "val_emotion_ccc_per_dim": json.dumps(per_dim)}
    finally:
        cleanup_distributed()
