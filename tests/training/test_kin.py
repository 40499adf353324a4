"""Training the kinematics ReactDiff: the priors (what they penalise, the per-window mask,
zero weights changing nothing), the training sequences' causality, and a tiny run that
lowers the loss."""

from __future__ import annotations

import copy
import math
from types import SimpleNamespace

import torch

from reactdiff.training.distributed import DistInfo
from reactdiff.training.kin import KinLoss, KinObjective, KinSequences, make_model
from reactdiff.training.kin_priors import pair_prior, velocity_prior, velocity_weights
from reactdiff.training.loop import LoopConfig, Trainer
from tests.helpers.params import params_with

DIMS = {"mfcc": 26, "emotion": 25, "3dmm": 58}
D = 83


def _params(**priors):
    return params_with({"kin": {"priors": priors, "window_size": 8, "train_windows": 2}})


def test_velocity_prior_penalises_jitter_on_the_pose_only():
    p = _params().kin.priors
    weights = velocity_weights(p, 58, 25, 52)
    t = torch.linspace(0, 2 * math.pi, 32)
    real = torch.stack([torch.sin(t + k) for k in range(D)], -1)[None]
    jitter = real + 0.05 * (-1.0) ** torch.arange(32)[None, :, None]
    mask = torch.ones(1)
    assert velocity_prior(real + 0.3, real, 8, weights, mask) < 1e-9
    assert velocity_prior(jitter, real, 8, weights, mask) > 1e-3
    expression_only = real.clone()
    expression_only[..., :52] = jitter[..., :52]
    assert velocity_prior(expression_only, real, 8, weights, mask) == 0


def test_the_mask_is_per_window():
    """A window outside the least-noisy share adds nothing, whatever its error (the code's
    (B, 1, 1) mask broadcast the pair loss over every pair of windows)."""
    pairs = torch.tensor([[0, 1], [2, 3]])
    real = torch.zeros(2, 10, D)
    out = real.clone()
    out[1, :, 0] = 5.0  # only window 1 is wrong
    assert pair_prior(out, real, pairs, torch.tensor([1.0, 0.0])) == 0
    assert pair_prior(out, real, pairs, torch.tensor([0.0, 1.0])) > 0


def _batch(model, b=4, seed=0):
    g = torch.Generator().manual_seed(seed)
    w, n = 8, 2
    return {
        "target": torch.randn(b, n * w, D, generator=g) * 0.5,
        "positions": torch.arange(n * w).reshape(n, w).expand(b, n, w),
        "past": torch.zeros(b, n, D),
        "audio": torch.randn(b, n, w, 26, generator=g),
        "visual": torch.randn(b, n, w, 83, generator=g),
        "index": torch.arange(b),
    }


def _loss_and_grads(params, model, batch):
    objective = KinObjective(copy.deepcopy(model.denoiser), params.kin).train()
    torch.manual_seed(1)
    losses = KinLoss(params.kin)(objective, batch)
    losses["loss"].backward()
    return losses["loss"], [p.grad.clone() for p in objective.parameters() if p.grad is not None]


def test_zero_prior_weights_change_nothing_bit_for_bit():
    torch.manual_seed(0)
    params = _params(velocity=0.0, pairs=0.0)
    model = make_model(params, DIMS)
    batch = _batch(model)
    off = _loss_and_grads(params, model, batch)
    zero = _loss_and_grads(_params(velocity=0.0, pairs=0.0, least_noisy=1.0), model, batch)
    on = _loss_and_grads(_params(velocity=1.0, pairs=0.01, least_noisy=1.0), model, batch)
    assert torch.equal(off[0], zero[0])
    assert all(torch.equal(a, b) for a, b in zip(off[1], zero[1], strict=True))
    assert not torch.equal(off[0], on[0])


def test_sequences_see_the_past_frame_and_causal_keys():
    frames = torch.arange(40.0)[:, None]  # each frame holds its index
    clips = SimpleNamespace(
        listener=[frames.expand(40, D)],
        audio=[frames.expand(40, 26)],
        visual=[frames.expand(40, 83)],
    )
    seqs = KinSequences(clips, 8, 2, seed=0, random=True)
    for epoch in range(3):
        seqs.set_epoch(epoch)
        for i in range(len(seqs)):
            item = seqs[i]
            starts = item["positions"][:, 0]
            assert torch.equal(item["target"][:, 0], torch.arange(starts[0], starts[0] + 16.0))
            for j, s in enumerate(starts.tolist()):
                assert item["past"][j, 0] == (s - 1 if s > 0 else 0)
                # keys end at most W - 1 frames after the window's first frame
                assert item["audio"][j, -1, 0] <= s + 7


def test_as_many_sequences_every_epoch_whatever_the_clip_lengths():
    """A DistributedSampler fixes the dataset's length it shards at its start, so the offset
    drawn per epoch may move the sequences but never change their number."""
    clips = SimpleNamespace(
        listener=[torch.zeros(t, D) for t in (40, 56, 64, 90)],
        audio=[torch.zeros(t, 26) for t in (40, 56, 64, 90)],
        visual=[torch.zeros(t, 83) for t in (40, 56, 64, 90)],
    )
    seqs = KinSequences(clips, 8, 2, seed=0, random=True)
    lengths, tables = set(), set()
    for epoch in range(12):
        seqs.set_epoch(epoch)
        lengths.add(len(seqs))
        tables.add(tuple((c, start) for c, start, _ in seqs.table))
        for c, start, _ in seqs.table:  # every sequence lies inside its clip
            assert start + 16 <= len(clips.listener[c])
    assert lengths == {2 + 3 + 4 + 5} and len(tables) > 1  # offsets move, counts stay


def test_a_tiny_training_run_lowers_the_loss(tmp_path):
    torch.manual_seed(0)
    params = _params()
    model = make_model(params, DIMS)
    initial = copy.deepcopy(model)
    batch = _batch(model, 16)
    t = torch.arange(16.0)[:, None]
    batch["target"] = 0.5 * torch.sin(0.3 * t + torch.arange(D)).expand(16, 16, D)  # learnable

    class Fixed(torch.utils.data.Dataset):
        def __len__(self):
            return 16

        def __getitem__(self, i):
            return {k: v[i] for k, v in batch.items()}

    cfg = LoopConfig(
        epochs=12,
        batch_size=16,
        lr=1e-2,
        weight_decay=0.0,
        betas=(0.9, 0.999),
        ema_decay=0.5,
        grad_clip=1.0,
        amp=False,
        seed=0,
        num_workers=0,
    )
    trainer = Trainer(
        KinObjective(model.denoiser, params.kin),
        KinLoss(params.kin),
        Fixed(),
        Fixed(),
        cfg,
        tmp_path / "ckpt.pt",
        DistInfo(0, 1, 0, torch.device("cpu")),
        progress=False,
    )
    before = _fixed_noise_loss(params, initial, batch)
    trainer.fit()
    assert _fixed_noise_loss(params, model, batch) < 0.8 * before


def _fixed_noise_loss(params, model, batch) -> float:
    """The denoising loss at the same noise levels and noise, in eval mode."""
    objective = KinObjective(model.denoiser, params.kin).eval()
    torch.manual_seed(5)
    with torch.no_grad():
        return float(KinLoss(params.kin)(objective, batch)["denoising"])
