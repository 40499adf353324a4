"""Feature-store helpers; the tiny store itself is built in tests/conftest.py."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from reactdiff.data.formats.react2024 import ReactLayout
from reactdiff.features.extract import extract_features, split_clips
from tests.helpers.params import repo_params

FRAMES, FPS = 750, 25


def extract(root: Path, out: Path, clips: dict | None = None, **kwargs):
    """extract_features of ``clips`` (default: all of the drop), default params, in process."""
    params = kwargs.pop("params", repo_params().features)
    kwargs.setdefault("workers", 1)
    kwargs.setdefault("progress", False)
    clips = split_clips(ReactLayout(root)) if clips is None else clips
    return extract_features(ReactLayout(root), out, clips, params, **kwargs)


@pytest.fixture
def tiny_store(tiny_store_master, tmp_path) -> Path:
    return Path(shutil.copytree(tiny_store_master, tmp_path / "store"))
