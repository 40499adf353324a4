"""Cut per-frame latents into the fixed-length windows the diffusion model works on, and back.

The MMT encoder attends within windows of ``window_size`` frames, so a window of latents is a
self-contained unit: the diffusion target x0 and, for the speaker, its condition.
"""

from __future__ import annotations

import torch


def to_windows(latent: torch.Tensor, window: int) -> torch.Tensor:
    """(B, T, L) -> (B * T / window, window, L), clip-major (a clip's windows are contiguous)."""
    if latent.ndim != 3:
        raise ValueError(f"to_windows: expected (B, T, L) latents, got shape {tuple(latent.shape)}")
    b, t, d = latent.shape
    if window < 1 or t % window:
        raise ValueError(f"to_windows: {t} frames is not a multiple of the window {window}")
    return latent.reshape(b * (t // window), window, d)


def from_windows(windows: torch.Tensor, batch: int) -> torch.Tensor:
    """(batch * n, W, L) -> (batch, n * W, L): the inverse of ``to_windows``."""
    if windows.ndim != 3:
        raise ValueError(f"from_windows: expected (N, W, L) windows, got {tuple(windows.shape)}")
    n, w, d = windows.shape
    if batch < 1 or n % batch:
        raise ValueError(f"from_windows: {n} windows do not split into {batch} clips")
    return windows.reshape(batch, (n // batch) * w, d)
