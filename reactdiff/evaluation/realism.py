"""How real generated reactions look over time, next to FRRea: their speed and jerkiness against
the real listeners', AU combinations a face cannot make, and AUs frozen where the listener moves.

- ``Vel_*`` / ``Acc_*``: mean |x_t - x_{t-1}| and mean |x_t - 2 x_{t-1} + x_{t-2}| of the
  reactions over the same of the real listeners of the split (1 = as lively as real; above:
  jittery; below: too still). ``emotion`` is the 25-d challenge vector, ``3dmm`` the 58
  coefficients (methods that produce no 3DMM, the baselines, have no ``*_3dmm`` keys).
- ``AU_conflict``: the share of frames with both AUs of an antagonistic pair on
  (``reactdiff.data.columns.AU_CONFLICT_PAIRS``).
- ``AU_frozen``: of the (reaction, AU) columns whose real listener's AU changes in the clip, the
  share that never changes. One frozen column makes FRSyn its worst value (its Pearson r is NaN,
  which the official argmax takes for the best lag); this says how often that happens.

Inputs are lists of arrays, so clips of different lengths (REACT 2025) need no padding: a
reaction set is (S, T, D), the real listener (T, D); a REACT 2024 array (N, S, T, D) is the
list of its N items.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from reactdiff.data.columns import AU_COLUMNS, AU_CONFLICT_PAIRS, AU_SLICE

REALISM_KEYS = ("Vel_emotion", "Acc_emotion", "AU_conflict", "AU_frozen")
FACE_REALISM_KEYS = ("Vel_3dmm", "Acc_3dmm")


def _motion(seqs: Sequence[np.ndarray]) -> tuple[float, float]:
    """(mean |velocity|, mean |acceleration|) over every element of (..., T, D) sequences."""
    v_sum = a_sum = 0.0
    v_n = a_n = 0
    for x in seqs:
        x = np.asarray(x, dtype=np.float64)
        v, a = np.diff(x, axis=-2), np.diff(x, n=2, axis=-2)
        v_sum, v_n = v_sum + np.abs(v).sum(), v_n + v.size
        a_sum, a_n = a_sum + np.abs(a).sum(), a_n + a.size
    if v_n == 0 or a_n == 0:
        raise ValueError("motion needs sequences of at least 3 frames")
    return v_sum / v_n, a_sum / a_n


def motion_ratios(
    pred: Sequence[np.ndarray], real: Sequence[np.ndarray], name: str
) -> dict[str, float]:
    """``Vel_<name>``, ``Acc_<name>``: the reactions' mean absolute velocity and acceleration
    over the real listeners'."""
    (v_pred, a_pred), (v_real, a_real) = _motion(pred), _motion(real)
    if v_real == 0 or a_real == 0:
        raise ValueError(f"the real listeners' {name} never moves: no motion to compare with")
    return {f"Vel_{name}": v_pred / v_real, f"Acc_{name}": a_pred / a_real}


def _au_on(emotion: np.ndarray) -> np.ndarray:
    return np.asarray(emotion)[..., AU_SLICE] >= 0.5


def au_conflict_rate(pred: Sequence[np.ndarray]) -> float:
    """Share of frames (of every reaction) with both AUs of an antagonistic pair on."""
    i = [AU_COLUMNS.index(a) for a, _ in AU_CONFLICT_PAIRS]
    j = [AU_COLUMNS.index(b) for _, b in AU_CONFLICT_PAIRS]
    hits = frames = 0
    for x in pred:
        on = _au_on(x)
        hits += int((on[..., i] & on[..., j]).any(-1).sum())
        frames += on[..., 0].size
    return hits / frames


def au_frozen_rate(pred: Sequence[np.ndarray], real: Sequence[np.ndarray]) -> float:
    """Of the (reaction, AU) columns whose real listener's AU changes, the share that does not
    (0 when no real AU changes)."""
    frozen = moving = 0
    for p, r in zip(pred, real, strict=True):
        r_on = _au_on(r)
        moves = r_on.min(axis=-2) != r_on.max(axis=-2)  # (AUs,)
        p_on = _au_on(p)  # (S, T, AUs)
        still = p_on.min(axis=-2) == p_on.max(axis=-2)  # (S, AUs)
        frozen += int((still & moves).sum())
        moving += int(moves.sum()) * p_on.shape[0]
    return frozen / moving if moving else 0.0


def realism_metrics(
    pred: Sequence[np.ndarray],
    real: Sequence[np.ndarray],
    pred_3dmm: Sequence[np.ndarray] | None = None,
    real_3dmm: Sequence[np.ndarray] | None = None,
) -> dict[str, float]:
    """:data:`REALISM_KEYS` of emotion reactions ``pred`` (S, T, 25 each) against the real
    listeners ``real`` (T, 25 each), plus :data:`FACE_REALISM_KEYS` when 3DMM reactions and
    the real listeners' 3DMM are given."""
    result = {
        **motion_ratios(pred, real, "emotion"),
        "AU_conflict": au_conflict_rate(pred),
        "AU_frozen": au_frozen_rate(pred, real),
    }
    if pred_3dmm is not None and real_3dmm is not None:
        result.update(motion_ratios(pred_3dmm, real_3dmm, "3dmm"))
    return result
