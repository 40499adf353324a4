"""FRCorr and FRSyn in torch, batched over speakers and rows, on any torch device (e.g. CUDA).

Same formulas and quirks as the numpy/numba implementations, only the summation order differs:
:func:`fr_corr_torch` equals :func:`reactdiff.evaluation.metrics.fr_corr` to round-off (float64
everywhere) and :func:`tlcc_offsets_torch` gives the offsets of
:func:`reactdiff.evaluation.tlcc.tlcc_offsets` (exact constancy from runs of equal float32
values, the first NaN lag winning as with ``np.argmax``). Inputs are numpy arrays or tensors on
any device; they are moved to ``device`` chunk by chunk, so memory stays bounded.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from reactdiff.evaluation.inputs import as_numpy
from reactdiff.evaluation.metrics import CCC_EPS
from reactdiff.evaluation.tlcc import MAX_LAG

__all__ = [
    "fr_corr_torch",
    "fr_corr_torch_parts",
    "fr_syn_torch",
    "fr_syn_torch_parts",
    "tlcc_offsets_torch",
]

_CHUNK_BYTES = 1 << 28  # bound of one float64 temporary of a chunk (256 MiB)
Device = str | torch.device


def _to(x: Any, index: Any, device: Device, dtype: torch.dtype) -> torch.Tensor:
    """``x[index]`` as a ``dtype`` tensor on ``device``: only that part is copied."""
    if isinstance(x, torch.Tensor):
        if isinstance(index, np.ndarray):
            index = torch.from_numpy(index).to(x.device)
        return x[index].to(device=device, dtype=dtype)
    part = np.ascontiguousarray(np.asarray(x)[index])
    return torch.from_numpy(part).to(device=device, dtype=dtype)


# --------------------------------------------------------------------------- FRCorr
def _moments(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """float64 (..., T, 25) -> centred (..., 25, T), mean (..., 25), population variance (..., 25)."""
    mean = x.mean(dim=-2)
    centred = (x - mean[..., None, :]).transpose(-1, -2).contiguous()
    return centred, mean, (centred * centred).mean(dim=-1)


def fr_corr_torch(pred: Any, listener: Any, neighbours: Any, device: Device = "cpu") -> float:
    """FRCorr (see ``metrics.fr_corr`` and :func:`fr_corr_torch_parts`)."""
    return fr_corr_torch_parts(pred, listener, neighbours, device)[0]


def fr_corr_torch_parts(
    pred: Any, listener: Any, neighbours: Any, device: Device = "cpu"
) -> tuple[float, np.ndarray]:
    """FRCorr and its (N,) per-speaker values (the sum over samples of the max CCC), with the
    CCC of every (sample, pool sequence) pair.

    Batched matmuls in float64 on ``device`` over chunks of speakers: on a GPU this is far
    faster than the per-speaker numpy loop. pred (N, S, T, 25); listener (N, T, 25) with
    square 0/1 neighbours, or a pool (J, T, 25) with (N, J) ones. Official quirks kept:
    r = nan_to_num(cov / sd_p / sd_l) clipped to [-1, 1], 1e-8 added to the denominator.
    Raises ValueError when a speaker has no neighbour (the max over an empty set; numpy's
    ``fr_corr`` raises ValueError there too).
    """
    nb = torch.from_numpy(np.asarray(as_numpy(neighbours) == 1)).to(device)  # (N, J) bool
    empty = torch.nonzero(~nb.any(dim=1)).flatten()
    if empty.numel():
        raise ValueError(f"speaker {int(empty[0])} has no neighbour: FRCorr is a max over none")
    lis = _to(listener, slice(None), device, torch.float64)
    lc, lmean, lvar = _moments(lis)  # (J, 25, T), (J, 25), (J, 25)
    lct = lc.permute(1, 2, 0)  # (25, T, J)
    sl = lvar.sqrt()[None]  # (1, J, 25)
    n, s, t, dims = pred.shape
    rows = max(1, _CHUNK_BYTES // (8 * dims * max(lc.shape[0], t)))
    per_chunk = max(1, rows // s)
    total = torch.zeros((), dtype=torch.float64, device=device)
    items = []
    for start in range(0, n, per_chunk):
        stop = min(n, start + per_chunk)
        p = _to(pred, slice(start, stop), device, torch.float64).reshape(-1, t, dims)
        pc, pmean, pvar = _moments(p)  # (R, 25, T), (R, 25), (R, 25)
        cov = torch.matmul(pc.transpose(0, 1), lct).permute(1, 2, 0) / t  # (R, J, 25)
        sp = pvar.sqrt()[:, None]  # (R, 1, 25)
        r = torch.clamp(torch.nan_to_num(cov / sp / sl), -1.0, 1.0)
        num = 2 * r * sl * sp
        den = lvar[None] + pvar[:, None] + (lmean[None] - pmean[:, None]) ** 2
        ccc = (num / (den + CCC_EPS)).mean(dim=-1)  # (R, J)
        mask = nb[start:stop].repeat_interleave(s, dim=0)  # row k * s + i -> speaker k
        ccc = ccc.masked_fill(~mask, -torch.inf)
        best = ccc.amax(dim=1)  # (R,)
        total += best.sum()
        items.append(best.reshape(stop - start, s).sum(dim=1))
    return float(total) / n, torch.cat(items).cpu().numpy()


# --------------------------------------------------------------------------- TLCC
def _runs(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(..., T) -> length of the initial run of equal values, start of the final run.

    The exact counterpart of ``tlcc._runs`` (which compares with ==, so NaN ends a run).
    """
    n = x.shape[-1]
    idx = torch.arange(n, device=x.device)
    first = torch.where(~(x == x[..., :1]) & (idx >= 1), idx, n).amin(dim=-1)
    last = torch.where(~(x == x[..., -1:]) & (idx <= n - 2), idx + 1, 0).amax(dim=-1)
    return first, last


def _window_constant(
    lo: torch.Tensor, hi: torch.Tensor, n: int, first: torch.Tensor, last: torch.Tensor
) -> torch.Tensor:
    """(L,) prefix/suffix windows x (R, 25) runs -> (R, 25, L): is x[lo:hi] constant?"""
    f, la = first[..., None], last[..., None]
    return ((lo == 0) & (hi <= f)) | ((hi == n) & (lo >= la))


def _centred_sums(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """float64 (..., T) -> globally centred series, prefix sums of it and of its square (T + 1)."""
    x = x - x.mean(dim=-1, keepdim=True)
    pad = x.new_zeros((*x.shape[:-1], 1))
    return x, torch.cat([pad, x.cumsum(-1)], -1), torch.cat([pad, (x * x).cumsum(-1)], -1)


def _lag_offsets(p32: torch.Tensor, s32: torch.Tensor) -> torch.Tensor:
    """float32 (R, 25, T) reactions and their speakers -> (R,) int64 |offset| (tlcc_offset)."""
    n = p32.shape[-1]
    device = p32.device
    lags = torch.arange(-MAX_LAG, MAX_LAG + 1, device=device)
    xa, xb = lags.clamp(min=0), n + lags.clamp(max=0)  # pred window [xa, xb)
    ya, yb = (-lags).clamp(min=0), n - lags.clamp(min=0)  # speaker window [ya, yb)
    m = (xb - xa).to(torch.float64)
    fx, lx = _runs(p32)
    fy, ly = _runs(s32)
    # (R, L): a dimension constant on the overlap makes r, hence the mean over dimensions, NaN
    constant = _window_constant(xa, xb, n, fx, lx) | _window_constant(ya, yb, n, fy, ly)
    nan_lag = constant.any(dim=1)
    x, cx, cxx = _centred_sums(p32.to(torch.float64))
    y, cy, cyy = _centred_sums(s32.to(torch.float64))
    sx = cx[..., xb] - cx[..., xa]
    sy = cy[..., yb] - cy[..., ya]
    vx = (cxx[..., xb] - cxx[..., xa]) - sx * sx / m
    vy = (cyy[..., yb] - cyy[..., ya]) - sy * sy / m
    cross = torch.stack(
        [
            torch.linalg.vecdot(x[..., a:b], y[..., c:d])
            for a, b, c, d in zip(xa.tolist(), xb.tolist(), ya.tolist(), yb.tolist(), strict=True)
        ],
        dim=-1,
    )  # (R, 25, L) direct dot products, as the numba kernel
    cov = cross - sx * sy / m
    ok = (vx > 0) & (vy > 0)
    r = torch.where(ok, cov / torch.sqrt(torch.where(ok, vx * vy, 1.0)), 0.0).clamp(-1.0, 1.0)
    rs = r[:, 0]
    for d in range(1, r.shape[1]):  # dimension order, as the numba kernel
        rs = rs + r[:, d]
    rs = rs / r.shape[1]
    # np.argmax semantics, explicitly: the first NaN lag, else the first maximum
    idx = torch.arange(lags.numel(), device=device)
    none = lags.numel()
    first_nan = torch.where(nan_lag, idx, none).amin(dim=-1)
    best = torch.where(nan_lag, -torch.inf, rs).amax(dim=-1, keepdim=True)
    first_max = torch.where(rs == best, idx, none).amin(dim=-1)
    k = torch.where(first_nan < none, first_nan, first_max)
    return (MAX_LAG - k).abs()


def tlcc_offsets_torch(preds: Any, speakers: Any, owner: Any, device: Device = "cpu") -> np.ndarray:
    """|TLCC offset| of each preds[u] (T, 25) against speakers[owner[u]], as ``tlcc_offsets``.

    All 2 * MAX_LAG + 1 lags x 25 dimensions of a chunk of rows at once on ``device`` (float64
    sums of the float32 values; other dtypes are cast to float32 first, as ``fr_syn`` does).
    Returns int64 offsets, one per row, on the CPU.
    """
    owner_np = np.asarray(as_numpy(owner), dtype=np.int64).reshape(-1)
    n_rows, t, dims = preds.shape
    if t <= MAX_LAG:
        raise ValueError(f"T = {t} frames, TLCC needs more than {MAX_LAG}")
    if owner_np.shape[0] != n_rows:
        raise ValueError(f"owner has {owner_np.shape[0]} entries for {n_rows} rows")
    sp = _to(speakers, slice(None), device, torch.float32).transpose(-1, -2).contiguous()
    owner_t = torch.from_numpy(owner_np).to(device)
    rows = max(1, _CHUNK_BYTES // (8 * dims * (t + 1) * 8))  # ~8 float64 (R, 25, T) temporaries
    out = np.empty(n_rows, dtype=np.int64)
    for start in range(0, n_rows, rows):
        stop = min(n_rows, start + rows)
        p32 = _to(preds, slice(start, stop), device, torch.float32).transpose(-1, -2).contiguous()
        out[start:stop] = _lag_offsets(p32, sp[owner_t[start:stop]]).cpu().numpy()
    return out


def fr_syn_torch(pred: Any, speaker: Any, samples: str = "first", device: Device = "cpu") -> float:
    """FRSyn (see ``metrics.fr_syn`` and :func:`fr_syn_torch_parts`)."""
    return fr_syn_torch_parts(pred, speaker, samples, device)[0]


def fr_syn_torch_parts(
    pred: Any, speaker: Any, samples: str = "first", device: Device = "cpu"
) -> tuple[float, np.ndarray]:
    """FRSyn (see ``metrics.fr_syn``): mean |TLCC offset| of the reactions, in frames, and
    each speaker's (N,) mean offset.

    ``samples="first"`` scores sample 0 of each speaker (official script), ``"all"`` every
    sample (plain rows: identical samples give identical offsets, so no dedup is needed).
    """
    n, s = pred.shape[:2]
    if samples == "first":
        offsets = tlcc_offsets_torch(pred[:, 0], speaker, np.arange(n), device)
        return float(offsets.mean()), offsets.astype(np.float64)
    if samples != "all":
        raise ValueError(f"samples must be 'first' or 'all', got {samples!r}")
    rows = pred.reshape(n * s, *pred.shape[2:])
    offsets = tlcc_offsets_torch(rows, speaker, np.repeat(np.arange(n), s), device)
    return int(offsets.sum()) / (n * s), offsets.reshape(n, s).sum(axis=1) / s
