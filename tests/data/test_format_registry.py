"""Adding a format is adding one module: a toy format registered here, at 20 fps with its own
layout class, goes through the real `split` and `features` stage code untouched."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest
import soundfile as sf

from reactdiff.data.columns import write_emotion
from reactdiff.data.formats import (
    FORMATS,
    clip_rel_problem,
    detect_format,
    get_format,
    register_format,
    unregister_format,
)
from reactdiff.data.formats.base import Format
from reactdiff.data.formats.react2024 import React2024, ReactLayout
from reactdiff.data.splits import SPLITS, Pair, read_split_csv, write_split_csv
from reactdiff.errors import ConfigError, DataFileError
from reactdiff.features.store import FeatureStore
from reactdiff.stages import features, split
from tests.helpers.params import repo_params

FPS, FRAMES = 20, 60  # 3 s clips at 20 fps, a timing neither real format has


@dataclass(frozen=True)
class ToyLayout(ReactLayout):
    """The REACT 2024 tree, at the toy format's timing."""

    fmt: ClassVar[Format]


@dataclass(frozen=True)
class Toy(React2024):
    def layout(self, root: Path | str) -> ToyLayout:
        return ToyLayout(Path(root))


TOY = Toy(
    **{
        **{f.name: getattr(FORMATS["react2024"], f.name) for f in dataclasses.fields(Format)},
        "name": "toy20",
        "title": "Toy",
        "fps": FPS,
        "clip_frames": FRAMES,
        "frames": FRAMES,
        "audio_rate": 16000,
        "min_audio_seconds": FRAMES / FPS,
    }
)
ToyLayout.fmt = TOY


@pytest.fixture
def toy():
    register_format(TOY)
    yield TOY
    unregister_format(TOY.name)


def _write_toy_drop(root: Path) -> None:
    """Two sessions of one clip per split: emotion, 3DMM and audio files, split CSVs, matrices."""
    rng = np.random.default_rng(0)
    layout = TOY.layout(root)
    for s, split_name in enumerate(SPLITS):
        pairs = []
        for k in range(2):
            session = f"NoXI/{s}{k}_toy"
            pair = Pair(f"{session}/Expert_video/1", f"{session}/Novice_video/1")
            for rel in (pair.speaker, pair.listener):
                paths = {
                    st: layout.clip_path(split_name, rel, st) for st in ("emotion", "3dmm", "audio")
                }
                for p in paths.values():
                    p.parent.mkdir(parents=True, exist_ok=True)
                emotion = rng.uniform(0, 1, (FRAMES, 25)).astype(np.float32)
                emotion[:, :15] = emotion[:, :15] > 0.5
                emotion[:, 17:] /= emotion[:, 17:].sum(axis=1, keepdims=True)
                write_emotion(paths["emotion"], emotion)
                np.save(paths["3dmm"], rng.normal(size=(FRAMES, 1, 58)).astype(np.float32))
                sf.write(paths["audio"], rng.normal(0, 0.1, FRAMES * 800), 16000)
            pairs.append(pair)
        write_split_csv(root / f"{split_name}.csv", pairs)
        np.save(root / f"neighbour_emotion_{split_name}.npy", np.eye(4, dtype=np.uint8))


def test_a_toy_format_runs_split_and_features(toy, tmp_path):
    root = tmp_path / "toy"
    _write_toy_drop(root)
    assert get_format("toy20") is toy
    params = repo_params()
    data = params.data.model_copy(update={"format": toy.name, "source": str(root)})
    fp = params.features.model_copy(
        update={"out": tmp_path / "features", "streams": ["mfcc", "emotion", "3dmm"], "workers": 1}
    )
    params = params.model_copy(
        update={
            "data": data,
            "split": params.split.model_copy(update={"out": tmp_path / "splits"}),
            "features": fp,
        }
    )
    result = split.run(params, split.Options(progress=False))
    assert result.failure is None
    assert (
        read_split_csv(tmp_path / "splits" / "val.csv")[0].speaker == "NoXI/10_toy/Expert_video/1"
    )
    assert (tmp_path / "splits" / "neighbour_emotion_test.npy").read_bytes() == (
        root / "neighbour_emotion_test.npy"
    ).read_bytes()
    result = features.run(params, features.Options(progress=False))
    assert result.failure is None, result.summary
    store = FeatureStore(tmp_path / "features")
    mfcc = store.open("train", "NoXI/00_toy/Expert_video/1", "mfcc")
    assert mfcc.shape[0] == FRAMES  # one row per 20 fps frame: the format's timing, not 25 fps
    assert store.open("val", "NoXI/10_toy/Novice_video/1", "emotion").shape == (FRAMES, 25)


def test_registration_is_undone_and_checked(toy):
    with pytest.raises(ConfigError, match="already registered"):
        register_format(toy)
    assert clip_rel_problem("NoXI/a/Expert_video/1") is None


def test_the_toy_is_gone_after_its_test():
    assert "toy20" not in FORMATS


def test_detection_asks_every_registered_format(tmp_path):
    with pytest.raises(DataFileError, match="neither layout"):
        detect_format(tmp_path)
