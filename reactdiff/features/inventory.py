"""What the feature store holds: one row per expected (split, clip, stream) array.

For each array the configured clips and streams call for, the row says whether the manifest
lists it and its file reads, and what the file holds (frames, dim, dtype, all finite, bytes
matching the manifest's sha256). The rows are what the feature-store expectations check; this
module only reads.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from reactdiff.errors import DataFileError
from reactdiff.features.store import FeatureStore, array_key, array_sha256

COLUMNS = [
    "file",
    "stream",
    "expected_dim",
    "expected_frames",
    "present",
    "frames",
    "dim",
    "dtype",
    "finite",
    "hash_ok",
]


def store_table(
    store: FeatureStore,
    clips: dict[str, list[str]],
    dims: dict[str, int],
    frames: Callable[[str, str], int],
) -> pd.DataFrame:
    """One row per expected array (``file`` is its path), in clip then stream order;
    ``frames(split, rel)`` is the number of rows each array of the clip must have."""
    manifest = store.load_manifest()
    rows = []
    for split, rels in clips.items():
        for rel in rels:
            expected_frames = frames(split, rel)
            for stream, dim in dims.items():
                path = store.array_path(split, stream, rel)
                row = {
                    "file": str(path),
                    "stream": stream,
                    "expected_dim": dim,
                    "expected_frames": expected_frames,
                    "present": False,
                    "frames": np.nan,
                    "dim": np.nan,
                    "dtype": None,
                    "finite": None,
                    "hash_ok": None,
                }
                entry = manifest.entries.get(array_key(split, stream, rel))
                if entry is not None and path.is_file():
                    try:
                        arr = store.open(split, rel, stream)
                    except DataFileError:
                        arr = None
                    if arr is not None:
                        row.update(
                            present=True,
                            frames=arr.shape[0],
                            dim=arr.shape[1] if arr.ndim == 2 else np.nan,
                            dtype=str(arr.dtype),
                            finite=bool(np.isfinite(arr).all()),
                            hash_ok=array_sha256(arr) == entry.sha256,
                        )
                rows.append(row)
    return pd.DataFrame(rows, columns=COLUMNS)
