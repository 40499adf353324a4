import shutil

import numpy as np
import pytest
import torch
from transformers import Wav2Vec2Config, Wav2Vec2FeatureExtractor, Wav2Vec2Model

from reactdiff.config import FeaturesParams, Wav2VecParams
from reactdiff.data.formats.react2024 import ReactLayout
from reactdiff.errors import ConfigError, DataFileError
from reactdiff.features.extract import split_clips
from reactdiff.features.store import FeatureStore
from reactdiff.features.wav2vec import Wav2VecExtractor, first_hidden_frames
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
    rel = split_clips(ReactLayout(tiny_drop_master))["test"][0]
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


def _old_compute(ex: Wav2VecExtractor, wave: np.ndarray) -> np.ndarray:
    """The 25 fps-only algorithm this module had before any fps was allowed: chunks of whole
    video frames, hidden frames 2t, 2t + 1 reshaped into row t."""
    hop, (left, right) = ex.rate // ex.fps, ex.pad
    assert hop == 2 * ex.stride
    padded = np.pad(wave[: ex.frames * hop], (left, right))
    step = max(1, round(ex.params.chunk_seconds * ex.fps))
    chunks = [
        padded[a * hop : min(a + step, ex.frames) * hop + left + right]
        for a in range(0, ex.frames, step)
    ]
    outputs = [None] * len(chunks)
    by_length: dict[int, list[int]] = {}
    for i, c in enumerate(chunks):
        by_length.setdefault(len(c), []).append(i)
    for ids in by_length.values():
        for start in range(0, len(ids), ex.params.batch_size):
            batch = ids[start : start + ex.params.batch_size]
            x = ex.processor([chunks[i] for i in batch], sampling_rate=ex.rate, return_tensors="pt")
            with torch.inference_mode():
                hidden = ex.model(x.input_values).last_hidden_state.float().numpy()
            for i, h in zip(batch, hidden, strict=True):
                outputs[i] = h.reshape(len(h) // 2, 2 * h.shape[-1])
    return np.concatenate(outputs)


@pytest.mark.parametrize("chunk_seconds", [10, 10.3, 7.9, 60])
def test_25_fps_is_bit_identical_to_the_old_algorithm(tiny_model, chunk_seconds):
    # 10.3 s is 257.5 video frames: rounded to 258 frames (516 hidden frames), not to 515
    # hidden frames, so the chunk boundaries stay where they were
    params = _w2v(checkpoint=tiny_model, chunk_seconds=chunk_seconds, batch_size=2, device="cpu")
    ex = Wav2VecExtractor(params, FRAMES, FPS)
    wave = _wave()
    np.testing.assert_array_equal(ex.compute(wave), _old_compute(ex, wave))
    assert ex.samples_needed(FRAMES) == FRAMES * 16000 // FPS


def test_video_frames_take_the_two_hidden_frames_around_their_centre():
    # 25 fps: centres at 20, 60, 100 ms; hidden centres at 10, 30, 50, ... ms -> 2t, 2t + 1
    np.testing.assert_array_equal(first_hidden_frames(6, 25, 50), [0, 2, 4, 6, 8, 10])
    # 30 fps: centres at 16.7, 50, 83.3, 116.7, 150, 183.3 ms; (c - 10) / 20 = 0.33, 2, 3.67,
    # 5.33, 7, 8.67 -> floor; at 50 ms (t = 1) the centre is hidden frame 2's, so (2, 3)
    np.testing.assert_array_equal(first_hidden_frames(6, 30, 50), [0, 2, 3, 5, 7, 8])
    for fps in (24, 25, 30, 50):
        t = np.arange(3000)
        j0 = first_hidden_frames(len(t), fps, 50)
        centre_ms, j0_ms = (t + 0.5) * 1000 / fps, j0 * 20 + 10
        assert (j0_ms <= centre_ms + 1e-9).all() and (centre_ms < j0_ms + 20).all()
        assert (np.diff(j0) >= 1).all()  # no two video frames share a pair


def test_30_fps_shape_and_one_chunk_equals_one_forward_pass(tiny_model):
    frames = 900  # 30 s at 30 fps: hidden frames 0..1499, exactly 30 s of audio
    params = _w2v(checkpoint=tiny_model, chunk_seconds=60, batch_size=2, device="cpu")
    ex = Wav2VecExtractor(params, frames, 30)
    assert ex.hidden_frames(frames) == 1500 and ex.samples_needed(frames) == 30 * 16000
    wave = _wave()
    out = ex.compute(wave)
    assert out.shape == (frames, 2 * HIDDEN) and out.dtype == np.float32
    x = ex.processor(
        np.pad(wave[: 30 * 16000], ex.pad), sampling_rate=16000, return_tensors="pt"
    ).input_values
    with torch.inference_mode():
        states = ex.model(x).last_hidden_state[0].numpy()
    assert len(states) == 1500
    j0 = first_hidden_frames(frames, 30, 50)
    np.testing.assert_array_equal(out, np.concatenate([states[j0], states[j0 + 1]], axis=1))
    chunked = Wav2VecExtractor(params.model_copy(update={"chunk_seconds": 7}), frames, 30)
    assert chunked._chunk_step() == 350
    assert chunked.compute(wave, frames).shape == (frames, 2 * HIDDEN)
    assert ex.compute(wave, 300).shape == (300, 2 * HIDDEN)  # frames per call


def test_30_fps_hidden_frames_align_with_video_frames(tmp_path):
    ex = Wav2VecExtractor(
        _w2v(checkpoint=_tiny_model(tmp_path / "m", local=True), device="cpu"), 900, 30
    )
    quiet, tone = ex.compute(_wave()), ex.compute(_wave(tone_from=250))  # tone from 10 s
    changed = np.abs(tone - quiet).max(axis=1) > 1e-4
    # the tone starts on hidden frame 500's slot; hidden frame 499 sees its first 2.5 ms.
    # Frame 298 (centre 9950 ms) takes hidden frames 497, 498; frame 299 (9983.3 ms) 498, 499;
    # frame 300 (10016.7 ms) 500, 501
    assert not changed[:299].any()
    assert np.abs(tone - quiet)[299, :HIDDEN].max() <= 1e-4
    assert changed[300:].all()


class _OneWav:
    """A layout whose every clip's audio is one file."""

    def __init__(self, path):
        self.path = path

    def clip_path(self, split, rel, kind):
        return self.path


def test_too_short_wav_at_30_fps_is_a_data_file_error(tiny_model, tmp_path):
    import soundfile as sf

    wav = tmp_path / "short.wav"
    sf.write(wav, _wave(29.99), 16000)
    ex = Wav2VecExtractor(_w2v(checkpoint=tiny_model, device="cpu"), 900, 30)
    with pytest.raises(DataFileError, match=r"short\.wav: audio is 29\.990 s, need 30\.000 s"):
        ex.extract(_OneWav(wav), "test", "clip", ["wav2vec"])
    sf.write(wav, _wave(30.0), 16000)
    assert ex.extract(_OneWav(wav), "test", "clip", ["wav2vec"])["wav2vec"].shape == (900, 32)


def test_fps_is_in_the_settings_and_impossible_rates_are_config_errors(tiny_model, tmp_path):
    params = _w2v(checkpoint=tiny_model, device="cpu")
    at25 = Wav2VecExtractor(params, 900, 25).settings("wav2vec")
    at30 = Wav2VecExtractor(params, 900, 30).settings("wav2vec")
    assert (at25["fps"], at30["fps"]) == (25, 30) and at25 != at30
    with pytest.raises(ConfigError, match="below the video's 60 fps"):
        Wav2VecExtractor(params, 900, 60)
    odd = shutil.copytree(tiny_model, tmp_path / "odd")
    Wav2Vec2FeatureExtractor(sampling_rate=16001).save_pretrained(odd)  # 50.003 per second
    with pytest.raises(ConfigError, match="not a whole number of hidden frames per second"):
        Wav2VecExtractor(params.model_copy(update={"checkpoint": odd}), 900, 25)
