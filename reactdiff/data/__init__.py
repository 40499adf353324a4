"""REACT 2024 layout, readers, the synthetic generator and the split stage."""

from reactdiff.data.errors import DataFileError
from reactdiff.data.layout import SPLITS, Pair, ReactLayout, emotion_rel, mirrored

__all__ = ["SPLITS", "DataFileError", "Pair", "ReactLayout", "emotion_rel", "mirrored"]
