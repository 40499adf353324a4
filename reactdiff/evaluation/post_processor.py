"""The REACT 2025 challenge's ground-truth alignment around its learned network.

The challenge brings every ground truth of another length to the item's length with
``framework/modules/post_processor.py`` ``Processor`` (the 2025 baseline's ``test()`` and the
later baselines' ``baseline_reaction_metrics.py`` call it): a ground truth of the item's length
is kept as it is; any other is cut into segments that fit the network's ``clip_len_test``
(1000) frames, zero-padded, run through an emotion auto-encoder with the frames each segment
reads and writes, and decoded (AUs thresholded at 0.5, expressions soft-maxed). The auto-encoder
itself (``framework/modules/emotion_autoencoder.py``, its config and the released
``pretrained_models/post_processor/checkpoint.pth``) could not be read where this was written
(the 2026 baseline ships it as a ``.pyc``), so this module takes it as a TorchScript module with
the baseline's signature and reproduces the wrapper around it, segment indices and their quirks
included.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from reactdiff.data.columns import AU_SLICE, EMOTION_DIM
from reactdiff.errors import InputError

__all__ = [
    "CLIP_LEN_TEST",
    "ChallengeAlignment",
    "PostProcessorError",
    "Segments",
    "load_challenge_post_processor",
    "segments",
]

CLIP_LEN_TEST = 1000  # the baseline's post_clip_length: frames of one network input
_AU, _VA = AU_SLICE.stop, AU_SLICE.stop + 2  # au (15) | valence, arousal (2) | expressions (8)


class PostProcessorError(InputError):
    """The challenge's post-processor (``name``: its file) failed or returned a wrong value."""


@dataclass(frozen=True)
class Segments:
    """One network call: the padded ground truth and, per segment, the frames it reads
    (``input_end``, inclusive) and writes (``output_end``, inclusive); starts are all 0."""

    inputs: np.ndarray  # (n, clip_len, 25) float32
    input_end: np.ndarray  # (n,) int64
    output_end: np.ndarray  # (n,) int64


def _ends(n: int, full: int, length: int, first: int) -> np.ndarray:
    """[full - 1] * n, the last one ``length % full - 1`` unless that is 0; one segment:
    ``first - 1`` (the baseline's index lists)."""
    if n == 1:
        return np.array([first - 1], dtype=np.int64)
    if length % full == 0:
        return np.full(n, full - 1, dtype=np.int64)
    return np.array([full - 1] * (n - 1) + [length % full - 1], dtype=np.int64)


def segments(gt: np.ndarray, length: int, clip_len: int = CLIP_LEN_TEST) -> Segments:
    """The baseline's segmentation of a ground truth (L_j, 25) for an item of ``length`` frames
    (L_j != length). Longer item: ceil(length / clip_len) segments each read ceil(L_j / n)
    frames and write clip_len; shorter item: ceil(L_j / clip_len) segments each read clip_len
    frames and write ceil(length / n)."""
    gt_len = gt.shape[0]
    if length > gt_len:
        n = math.ceil(length / clip_len)
        if gt_len < n:
            raise ValueError(f"a ground truth of {gt_len} frames cannot fill {n} segments")
        read = math.ceil(gt_len / n)
        padded = np.zeros((n * read, gt.shape[1]), dtype=np.float32)
        padded[:gt_len] = gt
        inputs = np.zeros((n, clip_len, gt.shape[1]), dtype=np.float32)
        inputs[:, :read] = padded.reshape(n, read, -1)
        output_end = _ends(n, clip_len, length, length)
        input_end = _ends(n, read, gt_len, gt_len)
    else:
        n = math.ceil(gt_len / clip_len)
        if length < n:
            raise ValueError(f"an item of {length} frames cannot take {n} segments")
        write = math.ceil(length / n)
        inputs = np.zeros((n * clip_len, gt.shape[1]), dtype=np.float32)
        inputs[:gt_len] = gt
        inputs = inputs.reshape(n, clip_len, -1)
        input_end = _ends(n, clip_len, gt_len, gt_len)
        output_end = _ends(n, write, length, length)
    return Segments(inputs, input_end, output_end)


def _decode(au: torch.Tensor, va: torch.Tensor, em: torch.Tensor) -> torch.Tensor:
    """The network's logits as facial attributes: 0/1 AUs, raw valence/arousal, expression
    probabilities."""
    return torch.cat(
        ((torch.sigmoid(au) >= 0.5).float(), va.float(), torch.softmax(em, dim=-1).float()),
        dim=-1,
    )


@dataclass(frozen=True)
class ChallengeAlignment:
    """The challenge's ``Processor.forward`` for one (prediction, ground truth) pair, as an
    alignment of :mod:`reactdiff.evaluation.protocols.session` (numpy in, (L, 25) out)."""

    network: Any = field(repr=False)  # forward(x, in_start, in_end, out_start, out_end)[0]
    path: Path
    clip_len: int = CLIP_LEN_TEST

    def __call__(self, pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
        length = pred.shape[1]
        if gt.shape[0] == length:
            return gt
        try:
            seg = segments(np.asarray(gt, dtype=np.float32), length, self.clip_len)
            starts = torch.zeros(len(seg.input_end), dtype=torch.long)
            with torch.no_grad():
                au, va, em = self.network(
                    torch.from_numpy(seg.inputs),
                    starts,
                    torch.from_numpy(seg.input_end),
                    starts,
                    torch.from_numpy(seg.output_end),
                )[0]
            parts = [
                _decode(au[i], va[i], em[i])[: int(end) + 1] for i, end in enumerate(seg.output_end)
            ]
        except (RuntimeError, TypeError, ValueError, IndexError) as err:
            raise PostProcessorError(
                str(self.path),
                f"failed on ground truth {tuple(gt.shape)} for {length} frames: {err}",
            ) from err
        out = torch.cat(parts).cpu().numpy()
        if out.shape != (length, EMOTION_DIM) or not np.isfinite(out).all():
            raise PostProcessorError(
                str(self.path),
                f"gave shape {out.shape} (finite: {bool(np.isfinite(out).all())}) for a ground "
                f"truth {tuple(gt.shape)} and {length} frames, expected ({length}, {EMOTION_DIM})",
            )
        return out


def load_challenge_post_processor(path: Path) -> ChallengeAlignment:
    """The challenge's auto-encoder, exported as TorchScript, wrapped as the challenge wraps it.

    Loaded on the CPU with ``torch.jit.load`` (TorchScript code, no pickled Python objects).
    """
    path = Path(path)
    if not path.is_file():
        raise PostProcessorError(str(path), "no such post-processor file")
    try:
        network = torch.jit.load(str(path), map_location="cpu")
    except (RuntimeError, ValueError) as err:
        raise PostProcessorError(str(path), f"not a TorchScript module: {err}") from err
    return ChallengeAlignment(network.eval(), path)
