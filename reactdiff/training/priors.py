"""The realism priors of the kinematics ReactDiff (Luo et al., arXiv 2510.04712) as loss terms of
the stage-2 training, on reactions decoded by the frozen MMT decoder.

Both compare a predicted reaction with the real one through differences, with SmoothL1 (beta 1)
as the paper's code does, so they push towards the real motion rather than towards stillness:

- kinematics: frame-to-frame velocity and acceleration, per-dimension weighted (the paper's
  code weighs the head pose x10 and leaves the expression coefficients out; it has a lag-16
  difference where this has the acceleration the issue asks for). A jittery prediction of a
  smooth reaction costs more than a smooth one.
- dependency: the difference of each declared pair of 3DMM expression coefficients
  (``reactdiff.data.columns.face_action_pairs``), one form for the three kinds of pair, as in
  the paper's code: a symmetric pair that moves apart, or both actions of an exclusive pair on
  where the real face shows one, costs more than the real combination.

The terms apply to windows noised at t <= ``max_timestep`` only: from a noisier x_t the x0
estimate is a blur whose motion says nothing (the paper's code keeps the least-noisy 10%).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F

from reactdiff.config import PriorParams
from reactdiff.data.columns import FACE_3DMM_DIM, POSE_SLICE, face_action_pairs

Decoder = Callable[[torch.Tensor], tuple[torch.Tensor, torch.Tensor]]


def _smooth_l1(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return F.smooth_l1_loss(a, b, reduction="none", beta=1.0)


def velocity(x: torch.Tensor) -> torch.Tensor:
    """Frame-to-frame differences of (B, T, D) sequences."""
    return x[:, 1:] - x[:, :-1]


def acceleration(x: torch.Tensor) -> torch.Tensor:
    """Second differences of (B, T, D) sequences."""
    return x[:, 2:] - 2 * x[:, 1:-1] + x[:, :-2]


def kinematics_loss(pred: torch.Tensor, real: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """SmoothL1 between the velocities and between the accelerations of ``pred`` and ``real``,
    (B, T, D) each: per frame the ``weights`` (D,) -weighted sum over the dimensions divided by
    the number of weighted ones, averaged over frames and batch."""
    used = int((weights > 0).sum())
    if used == 0:
        return pred.new_zeros(())
    total = pred.new_zeros(())
    for diff in (velocity, acceleration):
        total = total + (_smooth_l1(diff(pred), diff(real)) * weights).sum(-1).mean() / used
    return total


def dependency_loss(pred: torch.Tensor, real: torch.Tensor, pairs: torch.Tensor) -> torch.Tensor:
    """SmoothL1 between the pairwise differences x_i - x_j of ``pred`` and ``real`` (B, T, D),
    for the (P, 2) column ``pairs``: summed over the pairs, averaged over frames and batch."""
    i, j = pairs[:, 0], pairs[:, 1]
    per_pair = _smooth_l1(pred[..., i] - pred[..., j], real[..., i] - real[..., j])
    return per_pair.mean(dim=tuple(range(per_pair.dim() - 1))).sum()


def kinematics_weights(p: PriorParams) -> torch.Tensor:
    """Per-dimension weights of the 3DMM coefficients: expression, then head pose."""
    w = torch.full((FACE_3DMM_DIM,), p.expression_weight)
    w[POSE_SLICE] = p.pose_weight
    return w


class RealismPriors(torch.nn.Module):
    """The weighted prior terms of a batch, from the x0 the noise predictions imply.

    ``decode`` maps standardised latent windows (B, W, L) to (3DMM, emotion) as the decoder
    outputs them (3DMM standardised); it is frozen, but gradients flow through it to x0.
    """

    def __init__(self, p: PriorParams, decode: Decoder) -> None:
        super().__init__()
        self.p, self.decode = p, decode
        pairs = face_action_pairs()
        self.register_buffer("face_weights", kinematics_weights(p))
        self.register_buffer("pairs", torch.from_numpy(_all_pairs(pairs)))

    def forward(
        self, x0_pred: torch.Tensor, x0: torch.Tensor, t: torch.Tensor
    ) -> dict[str, torch.Tensor]:
        """{"kinematics": ..., "dependency": ...}: unweighted terms of the windows with t <=
        ``max_timestep`` (0 when the batch has none); only the terms with a weight > 0."""
        keep, terms = t <= self.p.max_timestep, {}
        if not bool(keep.any()):
            zero = x0_pred.new_zeros(())
            return {k: zero for k in ("kinematics", "dependency") if getattr(self.p, k) > 0}
        face, emotion = self.decode(x0_pred[keep])
        with torch.no_grad():
            real_face, real_emotion = self.decode(x0[keep])
        face, emotion = face.float(), emotion.float()
        if self.p.kinematics > 0:
            emotion_w = torch.full(
                (emotion.shape[-1],), self.p.emotion_weight, device=emotion.device
            )
            terms["kinematics"] = kinematics_loss(
                face, real_face.float(), self.face_weights
            ) + kinematics_loss(emotion, real_emotion.float(), emotion_w)
        if self.p.dependency > 0:
            terms["dependency"] = dependency_loss(face, real_face.float(), self.pairs)
        return terms

    def weighted(self, terms: dict[str, torch.Tensor]) -> torch.Tensor:
        return sum(getattr(self.p, k) * v for k, v in terms.items())


def _all_pairs(pairs: dict[str, np.ndarray]) -> np.ndarray:
    return np.concatenate([pairs[k] for k in ("symmetric", "co_occurring", "exclusive")])
