"""Features of a hand-made REACT 2025 (MARS) tree: 30 fps, every clip at its own length."""

import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from reactdiff.data.formats.react2025 import MarsLayout
from reactdiff.errors import DataFileError
from reactdiff.features.audio import MfccExtractor, frame_rate_multiple
from reactdiff.features.extract import extract_features, split_clips
from reactdiff.features.store import FeatureStore
from reactdiff.stages import features
from reactdiff.stages.split import write_splits
from tests.helpers.params import params_with, repo_params
from tests.helpers.react2025_tree import AUDIO_RATE, write_mars_tree


@pytest.fixture(scope="module")
def mars(tmp_path_factory):
    return write_mars_tree(tmp_path_factory.mktemp("mars") / "root")


def test_mfcc_hop_is_one_frame_of_whole_samples():
    assert frame_rate_multiple(16000, 25) == 16000  # REACT 2024: unchanged, 640 a frame
    assert frame_rate_multiple(16000, 30) == 16020  # 534 samples = 1/30 s exactly
    ex = MfccExtractor(repo_params().features.mfcc, None, 30, slack_frames=2)
    assert ex.hop == ex.window == 534 and ex.rate == 30 * 534


def test_every_stream_of_every_clip_has_the_clip_s_length(mars, tmp_path):
    layout = MarsLayout(mars)
    clips = split_clips(layout)
    summary = extract_features(
        layout,
        tmp_path / "store",
        clips,
        repo_params().features,
        workers=1,
        progress=False,
    )
    assert not summary.errors
    store = FeatureStore(tmp_path / "store")
    for split, rels in clips.items():
        for rel in rels:
            frames = layout.clip_frames(split, rel)
            for stream, dim in (("mfcc", 26), ("emotion", 25), ("3dmm", 58)):
                assert store.open(split, rel, stream).shape == (frames, dim)
    assert {layout.clip_frames("train", r) for r in clips["train"]} == {130, 170, 200, 160}


def test_audio_a_frame_short_is_padded_but_a_second_short_is_named(mars, tmp_path):
    layout = MarsLayout(mars)
    rel = "listener/session1/Camera-test-1-1"
    wav = layout.clip_path("test", rel, "audio")
    frames = layout.clip_frames("test", rel)
    ex = MfccExtractor(repo_params().features.mfcc, None, 30, slack_frames=2)
    tone = np.full(round((frames - 1) * AUDIO_RATE / 30), 0.1, np.float32)
    short = MarsLayout(Path(shutil.copytree(mars, tmp_path / "root")))
    sf.write(short.clip_path("test", rel, "audio"), tone, AUDIO_RATE, subtype="PCM_16")
    assert ex.extract(short, "test", rel, ["mfcc"])["mfcc"].shape == (frames, 26)
    sf.write(short.clip_path("test", rel, "audio"), tone[: AUDIO_RATE // 2], AUDIO_RATE)
    with pytest.raises(DataFileError, match=rf"{wav.name}.*need .* for {frames} MFCC frames"):
        ex.extract(short, "test", rel, ["mfcc"])


def test_the_features_stage_on_a_mars_root(mars, tmp_path):
    root = Path(shutil.copytree(mars, tmp_path / "root"))
    params = params_with(
        {
            "data": {"source": str(root), "format": "auto"},
            "split": {"out": str(tmp_path / "splits")},
            "features": {"out": str(tmp_path / "store"), "workers": 1},
        }
    )
    write_splits(MarsLayout(root), params.split.out)
    result = features.run(params, features.Options(progress=False))
    assert "24 clips" in result.summary and result.failure is None
    # a clip's facial-attributes file fixes its length: shortening it recomputes exactly the
    # arrays of that clip, now as long as the file
    rel = "speaker/session0/Camera-val-0-0"
    path = MarsLayout(root).clip_path("val", rel, "emotion")
    np.save(path, np.load(path)[:100])
    again = features.run(params, features.Options(progress=False))
    assert "3 arrays computed" in again.summary and again.failure is None
    store = FeatureStore(tmp_path / "store")
    assert {store.open("val", rel, s).shape[0] for s in ("mfcc", "emotion", "3dmm")} == {100}
