"""The kinematics ReactDiff's priors as its released code computes them (``layers.py``:
``velocity_loss``, ``kinematics_loss``), on the network's output F against its target.

F - target = (D(x; sigma) - x0) / c_out, so a difference of F and target is the difference of
the denoised frames and the real ones, scaled per window: the priors compare the motion
(velocity prior) and the pairwise configuration of facial actions (pair prior) of the frames
the model outputs with the real ones. Both use SmoothL1 (beta 1) and apply to the least-noisy
windows of a batch only (``mask``), whose estimate is sharp enough to have motion. The code
multiplies its (B, T) pair loss by a (B, 1, 1) mask, which broadcasts to (B, B, T) and mixes
the windows; here the mask is per window, (B, 1). Both are averaged over the whole batch,
masked windows counting as 0, as in the code.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from reactdiff.config import KinPriorParams


def _smooth_l1(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return F.smooth_l1_loss(a, b, reduction="none", beta=1.0)


def _lagged(x: torch.Tensor, lag: int) -> torch.Tensor:
    return x[:, lag:] - x[:, :-lag]


def velocity_prior(
    out: torch.Tensor, target: torch.Tensor, lag: int, weights: torch.Tensor, mask: torch.Tensor
) -> torch.Tensor:
    """SmoothL1 between the lag-1 differences of ``out`` and ``target`` (B, T, D), plus that of
    the lag-``lag`` differences divided by ``lag`` (none when T <= lag): per frame the
    ``weights`` (D,)-weighted mean over the weighted dimensions, times ``mask`` (B,), averaged
    over frames and batch."""
    used = int((weights > 0).sum())
    total = out.new_zeros(())
    if used == 0:
        return total
    for k, scale in ((1, 1.0), (lag, 1.0 / lag)):
        if out.shape[1] <= k:
            continue
        per_frame = (_smooth_l1(_lagged(out, k), _lagged(target, k)) * weights).sum(-1) / used
        total = total + (per_frame * mask[:, None]).mean() * scale
    return total


def pair_prior(
    out: torch.Tensor, target: torch.Tensor, pairs: torch.Tensor, mask: torch.Tensor
) -> torch.Tensor:
    """SmoothL1 between x_i - x_j of ``out`` and of ``target`` (B, T, D) for the (P, 2)
    column ``pairs``, summed over the pairs, times ``mask`` (B,), averaged over frames and
    batch."""
    i, j = pairs[:, 0], pairs[:, 1]
    per_frame = _smooth_l1(out[..., i] - out[..., j], target[..., i] - target[..., j]).sum(-1)
    return (per_frame * mask[:, None]).mean()


def velocity_weights(p: KinPriorParams, face_dim: int, emotion_dim: int, expression_dim: int):
    """Per-dimension weights of the target (3DMM expression, head pose, then emotion)."""
    w = torch.full((face_dim + emotion_dim,), p.emotion_weight)
    w[:expression_dim] = p.expression_weight
    w[expression_dim:face_dim] = p.pose_weight
    return w
