"""Facial streams: the clip's own annotations, or user-supplied TorchScript predictors.

``annotations``: ``emotion`` (25-d) and ``3dmm`` (58-d) read from the drop, the clip's first
``frames`` rows (or as many as the clip has, for formats of variable length); no video decoding. They are also the training targets, so they are always extracted.

``torchscript``: ``va``, ``au`` and ``fe`` from modules (paths in ``features.facial``) that map a
(B, 3, crop, crop) float batch to (B, ...) outputs, flattened per frame. Frames are decoded with
PyAV (or read from a PNG folder), scaled to [0, 1], resized so the shorter side is ``resize``
(bilinear, antialiased), center-cropped to ``crop`` and normalised with ``mean``/``std``, as the
paper's predictors expect. The video is decoded once for all three.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from pathlib import Path

import numpy as np

from reactdiff.config import FacialParams
from reactdiff.data.columns import EMOTION_DIM, FACE_3DMM_DIM, read_emotion
from reactdiff.data.formats import Layout
from reactdiff.data.readers import read_3dmm, read_video
from reactdiff.devices import resolve_device
from reactdiff.errors import ConfigError, DataFileError
from reactdiff.features.base import Extractor, file_sha256

TORCHSCRIPT_STREAMS = ("va", "au", "fe")
_ANNOTATIONS: dict[str, tuple[Callable[[Path, int | None], np.ndarray], int]] = {
    "emotion": (read_emotion, EMOTION_DIM),
    "3dmm": (read_3dmm, FACE_3DMM_DIM),
}


class AnnotationExtractor(Extractor):
    """``emotion`` or ``3dmm``: the clip's annotation file as it is."""

    def __init__(self, stream: str, frames: int | None) -> None:
        self.streams = (stream,)
        self.read, self.dim = _ANNOTATIONS[stream]
        self.frames = frames

    def inputs(self, layout: Layout, split: str, rel: str) -> list[Path]:
        return [layout.clip_path(split, rel, self.streams[0])]

    def settings(self, stream: str) -> dict:
        return {"frames": self.frames}  # None: the clip's own length

    def dims(self) -> dict[str, int]:
        return {self.streams[0]: self.dim}

    def extract(
        self, layout: Layout, split: str, rel: str, streams: Collection[str]
    ) -> dict[str, np.ndarray]:
        frames = self.clip_frames(layout, split, rel)
        return {self.streams[0]: self.read(self.inputs(layout, split, rel)[0], frames)}


class TorchScriptExtractor(Extractor):
    """``va`` / ``au`` / ``fe``: TorchScript predictors over the clip's video frames."""

    def __init__(self, params: FacialParams, streams: Collection[str], frames: int | None) -> None:
        import torch

        if params.backend != "torchscript":
            raise ConfigError(
                f"features.streams: {sorted(streams)} need features.facial.backend: "
                f"torchscript (it is {params.backend!r})"
            )
        if params.crop > params.resize:
            raise ConfigError(
                f"features.facial.crop: {params.crop} is larger than resize {params.resize}"
            )
        self.params, self.frames = params, frames
        self.streams = tuple(s for s in TORCHSCRIPT_STREAMS if s in streams)
        try:
            self.device = resolve_device(params.device)
        except ConfigError as err:
            raise ConfigError(f"features.facial.device: {err}") from None
        self.paths: dict[str, Path] = {}
        self.modules = {}
        for s in self.streams:
            key = f"features.facial.{s}"
            path = getattr(params, s)
            if path is None:
                raise ConfigError(f"{key}: not set, but the {s} stream is requested")
            path = path.expanduser()
            if not path.is_file():
                raise ConfigError(f"{key}: {path} not found")
            try:
                self.modules[s] = torch.jit.load(str(path), map_location=self.device).eval()
            except RuntimeError as err:
                raise ConfigError(f"{key}: {path} is not a TorchScript module: {err}") from None
            self.paths[s] = path
        # a module counts by its bytes, not its path: the same file elsewhere is the same model
        self._module_digests = {s: file_sha256(p) for s, p in self.paths.items()}
        probe = torch.zeros(1, 3, params.crop, params.crop, device=self.device)
        self._dims = {s: self._run(s, probe, f"features.facial.{s}").shape[1] for s in self.streams}

    def _run(self, stream: str, batch, where: str):
        import torch

        with torch.inference_mode():
            try:
                out = self.modules[stream](batch)
            except RuntimeError as err:
                raise ConfigError(
                    f"{where}: {self.paths[stream]} failed on a batch: {err}"
                ) from None
        if not isinstance(out, torch.Tensor) or out.ndim < 2 or len(out) != len(batch):
            raise ConfigError(
                f"{where}: {self.paths[stream]} must return a (B, ...) tensor for a batch of "
                f"{len(batch)} frames"
            )
        return out.reshape(len(batch), -1).float()

    def inputs(self, layout: Layout, split: str, rel: str) -> list[Path]:
        return [layout.video_path(split, rel)]

    def settings(self, stream: str) -> dict:
        p = self.params
        return {
            "frames": self.frames,
            "module": self._module_digests[stream],
            **{k: getattr(p, k) for k in ("resize", "crop", "mean", "std")},
        }

    def dims(self) -> dict[str, int]:
        return dict(self._dims)

    def preprocess(self, frames: np.ndarray):
        """(B, H, W, 3) uint8 -> (B, 3, crop, crop) normalised float on the device."""
        import torch
        import torch.nn.functional as F

        p = self.params
        x = torch.from_numpy(frames).to(self.device).permute(0, 3, 1, 2).float() / 255.0
        h, w = x.shape[-2:]
        scale = p.resize / min(h, w)
        size = (max(p.resize, round(h * scale)), max(p.resize, round(w * scale)))
        x = F.interpolate(x, size=size, mode="bilinear", antialias=True, align_corners=False)
        top, left = (size[0] - p.crop) // 2, (size[1] - p.crop) // 2
        x = x[..., top : top + p.crop, left : left + p.crop]
        return (x - p.mean) / p.std

    def extract(
        self, layout: Layout, split: str, rel: str, streams: Collection[str]
    ) -> dict[str, np.ndarray]:
        path = self.inputs(layout, split, rel)[0]
        frames = self.clip_frames(layout, split, rel)
        video = read_video(path, frames)
        if len(video) < frames:
            raise DataFileError(path, f"has {len(video)} frames, need {frames}")
        wanted = [s for s in self.streams if s in streams]
        parts: dict[str, list[np.ndarray]] = {s: [] for s in wanted}
        bs = self.params.batch_size
        for start in range(0, frames, bs):
            x = self.preprocess(video[start : start + bs])
            for s in wanted:
                parts[s].append(self._run(s, x, f"features.facial.{s}").cpu().numpy())
        return {s: np.concatenate(parts[s]) for s in wanted}
