"""FRDist's torch path: a brute-force anti-diagonal DTW over many pairs at once, on any torch
device (no screen: slower than the numba paths, but it runs wherever torch does)."""

from __future__ import annotations

import torch

from reactdiff.evaluation.dtw.groups import GROUPS


def dtw_wavefront(
    a: torch.Tensor,
    b: torch.Tensor,
    groups: tuple[tuple[int, int, float], ...] = GROUPS,
    a_index: torch.Tensor | None = None,
    b_index: torch.Tensor | None = None,
) -> torch.Tensor:
    """DTW distance per group of many pairs at once, by anti-diagonals (any torch device).

    Pairs are (a[p], b[p]) for a (P, T1, D), b (P, T2, D), or (a[a_index[p]], b[b_index[p]])
    when indices are given (sequences are then gathered one diagonal at a time, never copied
    per pair). Returns (P, G) float64 distances (square roots), like ``tslearn.metrics.dtw`` on
    every pair and group. Inputs are cast to float32 (as the official script does), then float64.
    """
    a = a.to(torch.float32).to(torch.float64)
    b = b.to(torch.float32).to(torch.float64)
    dev = a.device
    if a_index is None:
        a_index = torch.arange(a.shape[0], device=dev)
    if b_index is None:
        b_index = torch.arange(b.shape[0], device=dev)
    n_pairs, t1, t2 = a_index.shape[0], a.shape[1], b.shape[1]
    ai, bi = a_index.to(dev)[:, None], b_index.to(dev)[:, None]
    # diagonal buffers indexed by i + 1 (index 0 is the i = -1 border)
    prev2 = torch.full(
        (n_pairs, len(groups), t1 + 1), float("inf"), dtype=torch.float64, device=dev
    )
    prev1 = prev2.clone()
    for d in range(t1 + t2 - 1):
        ilo, ihi = max(0, d - t2 + 1), min(d, t1 - 1)
        i = torch.arange(ilo, ihi + 1, device=dev)[None, :]
        diff = a[ai, i] - b[bi, d - i]
        sq = diff * diff
        cost = torch.stack([sq[..., lo:hi].sum(-1) for lo, hi, _ in groups], dim=1)
        cur = torch.full_like(prev1, float("inf"))
        if d == 0:
            cur[:, :, 1] = cost[:, :, 0]
        else:
            up = prev1[:, :, ilo : ihi + 1]  # (i - 1, j)
            left = prev1[:, :, ilo + 1 : ihi + 2]  # (i, j - 1)
            diag = prev2[:, :, ilo : ihi + 1]  # (i - 1, j - 1)
            cur[:, :, ilo + 1 : ihi + 2] = cost + torch.minimum(torch.minimum(up, left), diag)
        prev2, prev1 = prev1, cur
    return torch.sqrt(prev1[:, :, t1])


def weighted_dtw_torch(
    a: torch.Tensor,
    b: torch.Tensor,
    a_index: torch.Tensor | None = None,
    b_index: torch.Tensor | None = None,
) -> torch.Tensor:
    """FRDist's D for pairs (see :func:`dtw_wavefront`) with the torch wavefront: float64 (P,)."""
    dist = dtw_wavefront(a, b, GROUPS, a_index, b_index)
    res = torch.zeros(dist.shape[0], dtype=torch.float64, device=dist.device)
    for g, (_, _, w) in enumerate(GROUPS):
        res = res + w * dist[:, g]
    return res
