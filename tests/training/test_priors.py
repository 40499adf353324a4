"""The realism priors: what they penalise, and that they change nothing when weighted 0."""

from __future__ import annotations

import math

import pytest
import torch

from reactdiff.data.columns import FACE_3DMM_DIM, POSE_SLICE, face_action_pairs
from reactdiff.training.ddim import DDIMLoss, make_latent_diffusion, realism_priors
from reactdiff.training.priors import (
    RealismPriors,
    dependency_loss,
    kinematics_loss,
    kinematics_weights,
)
from tests.helpers.params import params_with


def _smooth_motion(frames: int = 50) -> torch.Tensor:
    t = torch.linspace(0, 2 * math.pi, frames)
    return torch.stack([torch.sin(t + k) for k in range(FACE_3DMM_DIM)], -1)[None]


def test_a_jittery_sequence_costs_more_than_a_smooth_one():
    real = _smooth_motion()
    weights = kinematics_weights(params_with().ddim.priors)
    smooth = real + 0.3  # offset, same motion
    jitter = real + 0.05 * (-1.0) ** torch.arange(real.shape[1])[None, :, None]
    assert kinematics_loss(smooth, real, weights) < 1e-9  # round-off of the offset
    assert kinematics_loss(jitter, real, weights) > 1e-3
    # the default weights look at the head pose only, as the paper's code does
    expression_jitter = real.clone()
    expression_jitter[..., : POSE_SLICE.start] = jitter[..., : POSE_SLICE.start]
    assert kinematics_loss(expression_jitter, real, weights) == 0  # pose untouched


def test_an_exclusive_pair_switched_on_together_is_penalised():
    pairs = face_action_pairs()
    i, j = (int(v) for v in pairs["exclusive"][0])
    real = torch.zeros(1, 10, FACE_3DMM_DIM)
    real[..., i] = 1.0  # one action of the pair on
    both = real.clone()
    both[..., j] = 1.0  # and its exclusive partner too
    all_pairs = torch.from_numpy(pairs["exclusive"])
    assert dependency_loss(real, real, all_pairs) == 0
    assert dependency_loss(both, real, all_pairs) > 0.1
    # a symmetric pair moving apart costs too
    a, b = (int(v) for v in pairs["symmetric"][0])
    real_sym = torch.zeros(1, 10, FACE_3DMM_DIM)
    real_sym[..., a] = real_sym[..., b] = 1.0
    apart = real_sym.clone()
    apart[..., b] = 0.0
    sym = torch.from_numpy(pairs["symmetric"])
    assert dependency_loss(apart, real_sym, sym) > dependency_loss(real_sym, real_sym, sym) == 0


def _toy_decode(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """A fixed linear 'decoder' from (B, W, L) latents to 58-d 3DMM and 25-d emotion."""
    g = torch.Generator().manual_seed(3)
    w_face = torch.randn(x.shape[-1], FACE_3DMM_DIM, generator=g)
    w_emotion = torch.randn(x.shape[-1], 25, generator=g)
    return x @ w_face, x @ w_emotion


def _loss_and_grads(loss_fn: DDIMLoss, priors_on: bool) -> tuple[dict, list[torch.Tensor]]:
    params = params_with()
    torch.manual_seed(0)
    model = make_latent_diffusion(params.ddim, params.mmt.sizes)
    s = params.mmt.sizes
    g = torch.Generator().manual_seed(1)
    batch = {
        "x0": torch.randn(8, s.window_size, s.latent_dim, generator=g),
        "speaker": torch.randn(8, s.window_size, s.latent_dim, generator=g),
    }
    torch.manual_seed(2)  # the loss's draws of t and noise
    losses = loss_fn(model, batch)
    losses["loss"].backward()
    return losses, [p.grad.clone() for p in model.parameters() if p.grad is not None]


def test_zero_weights_change_nothing_bit_for_bit():
    zero = params_with(
        {"ddim": {"priors": {"kinematics": 0.0, "dependency": 0.0, "max_timestep": 19}}}
    ).ddim.priors
    plain, plain_grads = _loss_and_grads(DDIMLoss(), False)
    # the priors' path, forced on with both weights 0
    weighted_zero, zero_grads = _loss_and_grads(DDIMLoss(RealismPriors(zero, _toy_decode)), True)
    assert torch.equal(plain["loss"], weighted_zero["loss"])
    assert all(torch.equal(a, b) for a, b in zip(plain_grads, zero_grads, strict=True))
    # and with a weight, the loss and the gradients move
    on = zero.model_copy(update={"kinematics": 1.0, "dependency": 0.01})
    with_priors, grads = _loss_and_grads(DDIMLoss(RealismPriors(on, _toy_decode)), True)
    assert {"kinematics", "dependency", "noise_l1"} <= set(with_priors)
    assert torch.equal(with_priors["noise_l1"], plain["loss"])
    assert with_priors["loss"] > plain["loss"]
    assert not all(torch.equal(a, b) for a, b in zip(plain_grads, grads, strict=True))


def test_the_params_turn_the_priors_on():
    params = params_with()
    assert realism_priors(params, None, None) is None  # off by default: the plain loss
    on = params_with({"ddim": {"priors": {"kinematics": 1.0}}})
    assert isinstance(realism_priors(on, None, None), RealismPriors)


@pytest.mark.parametrize("kind", ["symmetric", "co_occurring", "exclusive"])
def test_the_pair_lists_are_expression_columns(kind):
    pairs = face_action_pairs()[kind]
    assert pairs.shape[1] == 2 and len(pairs) > 0
    assert pairs.min() >= 0 and pairs.max() < POSE_SLICE.start


def test_training_with_the_priors_reports_each_term(tiny_reactdiff, tmp_path):
    from reactdiff.stages.train_mmt import datasets
    from reactdiff.training.ddim import train_ddim
    from reactdiff.training.mmt import load_mmt

    params, _, _ = tiny_reactdiff
    priors = params.ddim.priors.model_copy(
        update={"kinematics": 1.0, "dependency": 0.01, "max_timestep": 19}
    )
    t = params.train_ddim.model_copy(
        update={
            "epochs": 1,
            "checkpoint": tmp_path / "ckpt.pt",
            "model_out": tmp_path / "reactdiff.pt",
            "metrics_file": tmp_path / "ddim.json",
            "plots_dir": tmp_path / "plots",
        }
    )
    p = params.model_copy(
        update={"ddim": params.ddim.model_copy(update={"priors": priors}), "train_ddim": t}
    )
    mmt, std3 = load_mmt(p.train_mmt.model_out)
    metrics = train_ddim(p, mmt, std3, *datasets(p, mmt.streams), progress=False)
    assert metrics["val_kinematics"] > 0 and metrics["val_dependency"] > 0
    assert metrics["val_loss"] > metrics["val_noise_l1"]  # the weighted terms are in the loss
    assert all(not q.requires_grad for q in mmt.parameters())  # the decoder stays frozen
