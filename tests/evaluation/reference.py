"""Slow, obviously-correct metric implementations written from the official metric definitions.

They follow the official REACT script loop by loop (np.corrcoef with nan_to_num and clipping for
CCC, tslearn's DTW on float32 inputs, np.corrcoef per lag and dimension for TLCC) and serve as the
test oracle of the fast implementations.
"""

from __future__ import annotations

import warnings

import numpy as np
from tslearn.metrics import dtw

GROUPS = ((0, 15, 1 / 15), (15, 17, 1.0), (17, 25, 1 / 8))


def ccc(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Official concordance_correlation_coefficient: mean over dims, ddof 0, +1e-8."""
    out = []
    for i in range(y_true.shape[1]):
        a, b = y_true[:, i], y_pred[:, i]
        c = np.cov(a, b)
        sd = np.sqrt(np.diag(c))
        with np.errstate(divide="ignore", invalid="ignore"):
            c = c / sd[:, None] / sd[None, :]
        cor = np.clip(np.nan_to_num(c), -1, 1)[0, 1]
        num = 2 * cor * np.std(a) * np.std(b)
        den = np.var(a) + np.var(b) + (np.mean(a) - np.mean(b)) ** 2
        out.append(num / (den + 1e-8))
    return float(np.mean(out))


def fr_corr(pred, listener, neighbours) -> float:
    scores = []
    for k in range(pred.shape[0]):
        nb = np.argwhere(neighbours[k] == 1).reshape(-1)
        scores.append(
            sum(max(ccc(listener[j], pred[k, i]) for j in nb) for i in range(pred.shape[1]))
        )
    return float(np.mean(scores))


def weighted_dtw(a: np.ndarray, b: np.ndarray) -> float:
    res = 0
    for st, ed, w in GROUPS:
        res += w * dtw(a.astype(np.float32)[:, st:ed], b.astype(np.float32)[:, st:ed])
    return res


def fr_dist(pred, listener, neighbours) -> float:
    scores = []
    for k in range(pred.shape[0]):
        nb = np.argwhere(neighbours[k] == 1).reshape(-1)
        scores.append(
            sum(
                min(weighted_dtw(pred[k, i], listener[j]) for j in nb) for i in range(pred.shape[1])
            )
        )
    return float(np.mean(scores))


def fr_div(pred) -> float:
    n, s = pred.shape[:2]
    if s == 1:
        return 0.0
    vals = []
    for k in range(n):
        x = pred[k].reshape(s, -1).astype(np.float64)
        tot = sum(np.sum((x[i] - x[j]) ** 2) for i in range(s) for j in range(s))
        vals.append(tot / (s * (s - 1)) / x.shape[1])
    return float(np.mean(vals))


def fr_var(pred) -> float:
    return float(np.mean(np.var(pred.astype(np.float64), axis=2, ddof=1)))


def fr_dvs(pred) -> float:
    n, s = pred.shape[:2]
    tot = 0.0
    for i in range(s):
        y = pred[:, i].reshape(n, -1).astype(np.float64)
        tot += sum(np.sum((y[k] - y[m]) ** 2) for k in range(n) for m in range(n))
    return tot / (n * (n - 1) * s) / y.shape[1]


def _shift(x, y, lag):
    if lag > 0:
        return x[lag:], y[:-lag]
    if lag < 0:
        return x[:lag], y[-lag:]
    return x, y


def tlcc_offset(p: np.ndarray, s: np.ndarray) -> int:
    p, s = p.astype(np.float32), s.astype(np.float32)
    rs = []
    for lag in range(-49, 50):
        rows = []
        for d in range(p.shape[1]):
            x, y = _shift(p[:, d], s[:, d], lag)
            with warnings.catch_warnings(), np.errstate(divide="ignore", invalid="ignore"):
                warnings.simplefilter("ignore")
                rows.append(np.corrcoef(x, y)[0, 1])
        rs.append(np.mean(np.asarray(rows, dtype=np.float64)))
    return abs(len(rs) // 2 - int(np.argmax(rs)))


def fr_syn(pred, speaker, samples="first") -> float:
    idx = [0] if samples == "first" else range(pred.shape[1])
    return float(
        np.mean([tlcc_offset(pred[k, i], speaker[k]) for k in range(pred.shape[0]) for i in idx])
    )


def fr_rea_emotion(pred, listener) -> float:
    import scipy.linalg

    def feats(x):
        x = x.astype(np.float64)
        return np.concatenate(
            [f for seq in x for f in [np.concatenate([seq[1:], seq[1:] - seq[:-1]], axis=1)]],
            axis=0,
        )

    f1, f2 = feats(pred[:, 0]), feats(listener)
    mu1, mu2 = f1.mean(0), f2.mean(0)
    s1, s2 = np.cov(f1, rowvar=False), np.cov(f2, rowvar=False)
    covmean = scipy.linalg.sqrtm(s1.dot(s2))
    if not np.isfinite(covmean).all():
        off = np.eye(s1.shape[0]) * 1e-6
        covmean = scipy.linalg.sqrtm((s1 + off).dot(s2 + off))
    covmean = np.real(covmean)
    diff = mu1 - mu2
    return float(diff.dot(diff) + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean))
