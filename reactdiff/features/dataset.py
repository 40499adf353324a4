"""Training pairs over the feature store, in the challenge's mirrored sample order.

Sample k is row k of the split CSV (speaker, listener) for k < rows, then the same rows with
the roles swapped. Each item memory-maps the few arrays it needs (``np.load(mmap_mode="r")``)
and copies only those into float32 tensors, so the store is never loaded as a whole and the
dataset works in DataLoader worker processes.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from reactdiff.config import TARGET_STREAMS
from reactdiff.data.layout import mirrored, read_split_csv
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
    ) -> None:
        """``splits_dir``: where the split CSVs are (the split stage's ``split.out``)."""
        self.store = FeatureStore(features_dir)
        self.split, self.streams = split, list(streams)
        self.samples = mirrored(read_split_csv(Path(splits_dir) / f"{split}.csv"))
        manifest = self.store.load_manifest(missing_ok=False)
        needed = dict.fromkeys([*self.streams, *TARGET_STREAMS])
        for pair in self.samples[: len(self.samples) // 2]:
            for rel in (pair.speaker, pair.listener):
                missing = [s for s in needed if array_key(split, s, rel) not in manifest.entries]
                if missing:
                    raise DataFileError(
                        self.store.manifest_path,
                        f"no {missing} array(s) for {split} clip {rel}; run `reactdiff features`"
                        " with these streams",
                    )
        self.dims = self.store.stream_dims(self.streams)

    def __len__(self) -> int:
        return len(self.samples)

    def _load(self, rel: str, stream: str) -> torch.Tensor:
        return torch.from_numpy(np.array(self.store.open(self.split, rel, stream), np.float32))

    def __getitem__(self, k: int) -> dict:
        pair = self.samples[k]
        return {
            "speaker": {s: self._load(pair.speaker, s) for s in self.streams},
            "listener": {s: self._load(pair.listener, s) for s in self.streams},
            "listener_3dmm": self._load(pair.listener, "3dmm"),
            "listener_emotion": self._load(pair.listener, "emotion"),
            "speaker_emotion": self._load(pair.speaker, "emotion"),
            "index": k,
        }
