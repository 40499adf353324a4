"""The speaker chunks an online stream accepts, checked the same way for every family."""

from __future__ import annotations

import torch


def speaker_chunk(
    streams: tuple[str, ...] | list[str],
    speaker: dict[str, torch.Tensor],
    single: bool | None,
    device: torch.device | str,
) -> tuple[dict[str, torch.Tensor], bool]:
    """The model's ``streams`` of a pushed chunk as (B, t, d) float tensors on ``device``, and
    whether the chunk came as (t, d) streams (``single``: the earlier chunks' answer, None for
    the first chunk; a stream may not switch between the two)."""
    missing = [n for n in streams if n not in speaker]
    if missing:
        raise KeyError(f"online stream: chunk lacks the model's input stream(s) {missing}")
    chunk = {n: speaker[n] for n in streams}
    ndims = {v.dim() for v in chunk.values()}
    if not ndims <= {2, 3} or len(ndims) > 1:
        shapes = {n: tuple(v.shape) for n, v in chunk.items()}
        raise ValueError(f"online stream: streams must all be (t, d) or (B, t, d), got {shapes}")
    is_single = ndims == {2}
    if single is not None and is_single != single:
        raise ValueError("online stream: a chunk switched between (t, d) and (B, t, d) input")
    chunk = {n: (v[None] if is_single else v).to(device).float() for n, v in chunk.items()}
    lengths = {n: tuple(v.shape[:2]) for n, v in chunk.items()}
    if len(set(lengths.values())) > 1:
        raise ValueError(f"online stream: streams of one chunk differ in length: {lengths}")
    return chunk, is_single
