"""Training pairs over the feature store, in the challenge's mirrored sample order.

Sample k is row k of the split CSV (speaker, listener) for k < rows, then the same rows with
the roles swapped. Each item memory-maps the few arrays it needs (``np.load(mmap_mode="r")``)
and copies only those into float32 tensors, so the store is never loaded as a whole and the
dataset works in DataLoader worker processes.

Clips of one length (REACT 2024) are items as they are. Clips of many lengths (REACT 2025) are
either items whole (``clip_frames`` None: batch them by length, ``lengths`` says it) or cut
to ``clip_frames``: a pair shorter than that is left out (``skipped``), a longer one gives the
window starting at a seeded random frame, drawn anew each epoch (``set_epoch``) for training
and fixed (epoch 0) otherwise. A pair exactly ``clip_frames`` long is used whole, so fixed-length
data reads as before.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from reactdiff.config import TARGET_STREAMS
from reactdiff.data.splits import Pair, mirrored, read_split_csv
from reactdiff.errors import DataFileError
from reactdiff.features.store import FeatureStore, array_key


class PairFeatureDataset(Dataset):
    """``{"speaker": {stream: (T, d)}, "listener": {stream: (T, d)}, "listener_3dmm": (T, 58),
    "listener_emotion": (T, 25), "speaker_emotion": (T, 25), "index": k}``, float32 tensors."""

    def __init__(
        self,
        features_dir: Path | str,
        split: str,
        streams: list[str],
        splits_dir: Path | str,
        clip_frames: int | None = None,
        seed: int = 0,
    ) -> None:
        """``splits_dir``: where the split CSVs are (the split stage's ``split.out``)."""
        self.store = FeatureStore(features_dir)
        self.split, self.streams = split, list(streams)
        self.all_samples = mirrored(read_split_csv(Path(splits_dir) / f"{split}.csv"))
        manifest = self.store.load_manifest(missing_ok=False)
        needed = dict.fromkeys([*self.streams, *TARGET_STREAMS])
        for pair in self.all_samples[: len(self.all_samples) // 2]:
            for rel in (pair.speaker, pair.listener):
                missing = [s for s in needed if array_key(split, s, rel) not in manifest.entries]
                if missing:
                    raise DataFileError(
                        self.store.manifest_path,
                        f"no {missing} array(s) for {split} clip {rel}; run `reactdiff features`"
                        " with these streams",
                    )
        self.dims = self.store.stream_dims(self.streams)
        self.clip_frames, self.seed, self.epoch = clip_frames, seed, 0
        lengths = [self._pair_frames(p) for p in self.all_samples]
        keep = [k for k, n in enumerate(lengths) if clip_frames is None or n >= clip_frames]
        self.skipped = [self.all_samples[k] for k in range(len(lengths)) if k not in set(keep)]
        if not keep:
            raise DataFileError(
                self.store.manifest_path,
                f"no {split} pair has {clip_frames} frames (train_mmt.clip_frames); the longest "
                f"has {max(lengths)}",
            )
        self.samples: list[Pair] = [self.all_samples[k] for k in keep]
        self.lengths = [lengths[k] for k in keep]  # whole pair, before any crop

    def _pair_frames(self, pair: Pair) -> int:
        """Frames both clips of a pair have (the shorter one's)."""
        return min(
            self.store.open(self.split, rel, "emotion").shape[0]
            for rel in (pair.speaker, pair.listener)
        )

    def set_epoch(self, epoch: int) -> None:
        """Draw this epoch's windows (the training loop calls it before each epoch)."""
        self.epoch = epoch

    def window(self, k: int) -> slice:
        """The frames item ``k`` uses."""
        n, f = self.lengths[k], self.clip_frames
        if f is None:
            return slice(0, n)
        start = (
            0
            if n == f
            else int(np.random.default_rng([self.seed, self.epoch, k]).integers(n - f + 1))
        )
        return slice(start, start + f)

    def __len__(self) -> int:
        return len(self.samples)

    def _load(self, rel: str, stream: str, frames: slice) -> torch.Tensor:
        array = self.store.open(self.split, rel, stream)[frames]
        return torch.from_numpy(np.array(array, np.float32))

    def __getitem__(self, k: int) -> dict:
        pair, frames = self.samples[k], self.window(k)
        return {
            "speaker": {s: self._load(pair.speaker, s, frames) for s in self.streams},
            "listener": {s: self._load(pair.listener, s, frames) for s in self.streams},
            "listener_3dmm": self._load(pair.listener, "3dmm", frames),
            "listener_emotion": self._load(pair.listener, "emotion", frames),
            "speaker_emotion": self._load(pair.speaker, "emotion", frames),
            "index": k,
        }
