import shutil

import numpy as np
import pytest
import torch
from transformers import Wav2Vec2Config, Wav2Vec2FeatureExtractor, Wav2Vec2Model

from reactdiff.config import FeaturesParams, Wav2VecParams
from reactdiff.errors import ConfigError
from reactdiff.features.extract import split_clips
from reactdiff.features.store import FeatureStore
from reactdiff.features.wav2vec import Wav2VecExtractor
from tests.helpers.params import repo_params

from .conftest import FPS, FRAMES, extract

HIDDEN = 16


def _tiny_model(path, local: bool = False):
    """A random wav2vec 2.0 with the real conv strides (320 samples per hidden frame).

    ``local``: no transformer layers, a per-frame conv norm and a 2-tap positional conv, so a
    hidden frame depends only on its receptive field and the frame before it (to test
    alignment); otherwise a regular tiny model."""
    torch.manual_seed(0)
    config = Wav2Vec2Config(
        hidden_size=HIDDEN,
        num_hidden_layers=0 if local else 2,
        num_attention_heads=2,
        intermediate_size=32,
        conv_dim=(8,) * 7,
        num_conv_pos_embeddings=2 if local else 16,
        num_conv_pos_embedding_groups=2,
        feat_extract_norm="layer" if local else "group",
        do_stable_layer_norm=False,
    )
    Wav2Vec2Model(config).save_pretrained(path)
    Wav2Vec2FeatureExtractor(do_normalize=not local).save_pretrained(path)
    return path


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    return _tiny_model(tmp_path_factory.mktemp("w2v") / "model")


def _w2v(**kw) -> Wav2VecParams:
    """The repository's wav2vec params with ``kw`` replaced."""
    return repo_params().features.wav2vec.model_copy(update=kw)


def _wave(seconds: float = 30.04, tone_from: int | None = None) -> np.ndarray:
    rng = np.random.default_rng(1)
    t = np.arange(round(seconds * 16000)) / 16000
    wave = 0.01 * rng.standard_normal(len(t))
    if tone_from is not None:
        on = t >= tone_from / FPS
        wave[on] += 0.5 * np.sin(2 * np.pi * 300 * t[on])
    return wave.astype(np.float32)


def test_shapes_chunks_and_determinism(tiny_model):
    params = _w2v(checkpoint=tiny_model, chunk_seconds=10, batch_size=2, device="cpu")
    ex = Wav2VecExtractor(params, FRAMES, FPS)
    assert ex.dims() == {"wav2vec": 2 * HIDDEN} and ex.pad == (40, 40)
    wave = _wave()
    first = ex.compute(wave)
    assert first.shape == (FRAMES, 2 * HIDDEN) and first.dtype == np.float32
    np.testing.assert_array_equal(first, ex.compute(wave))  # same input, same bytes
    whole = Wav2VecExtractor(params.model_copy(update={"chunk_seconds": 30}), FRAMES, FPS)
    assert whole.compute(wave).shape == (FRAMES, 2 * HIDDEN)


def test_hidden_frames_align_with_video_frames(tmp_path):
    ex = Wav2VecExtractor(
        _w2v(checkpoint=_tiny_model(tmp_path / "m", local=True), device="cpu"),
        FRAMES,
        FPS,
    )
    quiet, tone = ex.compute(_wave()), ex.compute(_wave(tone_from=300))
    changed = np.abs(tone - quiet).max(axis=1) > 1e-4
    # frames 0..298 cannot see the tone; frame 299's second hidden frame sees its first
    # 2.5 ms through the receptive field (400 samples, centred on each 20 ms slot)
    assert not changed[:299].any()
    assert np.abs(tone - quiet)[299, :HIDDEN].max() <= 1e-4
    assert changed[300:].all()


def test_stage_stores_wav2vec(tiny_model, tiny_drop_master, tmp_path):
    params: FeaturesParams = repo_params().features.model_copy(
        update={"streams": ("wav2vec",), "wav2vec": _w2v(checkpoint=tiny_model, device="cpu")}
    )
    rel = split_clips(tiny_drop_master)["test"][0]
    summary = extract(tiny_drop_master, tmp_path / "store", {"test": [rel]}, params=params)
    assert summary.streams == ("wav2vec", "emotion", "3dmm")
    store = FeatureStore(tmp_path / "store")
    assert store.stream_dims(["wav2vec"]) == {"wav2vec": 2 * HIDDEN}
    entry = next(e for e in store.load_manifest().entries.values() if e.stream == "wav2vec")
    assert entry.shape == (FRAMES, 2 * HIDDEN)


def test_missing_checkpoint_is_a_config_error_not_a_download(tmp_path):
    with pytest.raises(ConfigError, match=r"features\.wav2vec\.checkpoint: not set"):
        Wav2VecExtractor(_w2v(checkpoint=None), FRAMES, FPS)
    missing = tmp_path / "nowhere"
    with pytest.raises(ConfigError, match=rf"features\.wav2vec\.checkpoint: {missing} is not"):
        Wav2VecExtractor(_w2v(checkpoint=missing), FRAMES, FPS)


def test_the_checkpoint_counts_by_its_files_not_its_path(tiny_model, tmp_path):
    params = _w2v(checkpoint=tiny_model, device="cpu")
    copy = shutil.copytree(tiny_model, tmp_path / "elsewhere" / "model")
    (copy / ".cache").mkdir()
    (copy / ".cache" / "download.metadata").write_text("etag and a timestamp")
    here = Wav2VecExtractor(params, FRAMES, FPS).settings("wav2vec")
    there = Wav2VecExtractor(params.model_copy(update={"checkpoint": copy}), FRAMES, FPS)
    assert there.settings("wav2vec") == here and str(tmp_path) not in str(here)
    assert {name for name, _ in here["checkpoint"]} >= {"config.json", "preprocessor_config.json"}
    (copy / "config.json").write_text((copy / "config.json").read_text() + " ")
    changed = Wav2VecExtractor(params.model_copy(update={"checkpoint": copy}), FRAMES, FPS)
    assert changed.settings("wav2vec") != here
