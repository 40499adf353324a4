"""Per-AU thresholds calibrated on the train split, saved with the model."""

from __future__ import annotations

import numpy as np
import torch

from reactdiff.data.columns import AU_SLICE
from reactdiff.models.reactdiff import DEFAULT_AU_THRESHOLD, ReactDiff
from reactdiff.stages.train_mmt import datasets
from reactdiff.training.ddim import calibrated_au_thresholds


def test_calibrated_thresholds_give_the_train_listeners_rates(tiny_reactdiff):
    params, _, _ = tiny_reactdiff
    model = ReactDiff.load(params.train_ddim.model_out)
    train = datasets(params, model.streams)[0]
    thresholds = calibrated_au_thresholds(model.mmt, train, 4, "cpu")
    assert torch.equal(model.au_thresholds, thresholds)  # what training saved
    real, decoded = [], []
    for k in range(len(train)):
        item = train[k]["listener"]
        real.append(item["emotion"][:, AU_SLICE].numpy() >= 0.5)
        decoded.append(model.reconstruct({s: v[None] for s, v in item.items()})[1][0])
    real_rate = np.concatenate(real).mean(0)
    rate = torch.cat(decoded)[:, AU_SLICE].numpy().mean(0)
    frames = sum(len(r) for r in real)
    assert np.abs(rate - real_rate).max() <= 2 / frames  # quantile ties: a frame or two
    assert not torch.all(thresholds == DEFAULT_AU_THRESHOLD)


def test_a_model_file_from_before_the_thresholds_loads_with_one_half(tiny_reactdiff, tmp_path):
    params, _, _ = tiny_reactdiff
    state = torch.load(params.train_ddim.model_out, weights_only=False)
    del state["state_dict"]["au_thresholds"]
    old = tmp_path / "old.pt"
    torch.save(state, old)
    model = ReactDiff.load(old)
    assert torch.equal(model.au_thresholds, torch.full_like(model.au_thresholds, 0.5))
