import numpy as np
import pytest
import soundfile as sf

from reactdiff.data.formats.react2024 import ReactLayout
from reactdiff.data.readers import read_audio
from reactdiff.errors import ConfigError, DataFileError
from reactdiff.features.audio import MfccExtractor, read_audio_at
from tests.helpers.params import params_with, repo_params

FRAMES, FPS = 750, 25


def _tone_wav(path, rate: int, on_frame: int, seconds: float = 30.04) -> None:
    """Faint noise, then a 440 Hz tone from the start of video frame ``on_frame``."""
    rng = np.random.default_rng(0)
    t = np.arange(round(seconds * rate)) / rate
    wave = 1e-3 * rng.standard_normal(len(t))
    wave[t >= on_frame / FPS] += 0.5 * np.sin(2 * np.pi * 440 * t[t >= on_frame / FPS])
    sf.write(path, wave.astype(np.float32), rate)


@pytest.mark.parametrize("rate", [16000, 44100])
def test_tone_onset_shows_up_at_its_frame(tmp_path, rate):
    path = tmp_path / "tone.wav"
    _tone_wav(path, rate, on_frame=300)
    ex = MfccExtractor(repo_params().features.mfcc, FRAMES, FPS)
    mfcc = ex.compute(read_audio_at(path, 16000), FRAMES)
    assert mfcc.shape == (FRAMES, 26) and mfcc.dtype == np.float32
    energy = mfcc[:, 0]
    assert np.argmax(np.diff(energy)) + 1 == 300
    quiet, loud = energy[:299], energy[300:]
    assert abs(energy[299] - quiet.mean()) < 3 * quiet.std() + 1e-3  # nothing leaks back
    assert loud.min() > quiet.max() + 20


def test_short_audio_is_an_error_naming_the_file(tiny_drop):
    layout = ReactLayout(tiny_drop)
    rel = layout.clips("train")[0]
    path = layout.clip_path("train", rel, "audio")
    wave, rate = read_audio(path)
    sf.write(path, wave[: 29 * rate], rate)
    ex = MfccExtractor(repo_params().features.mfcc, FRAMES, FPS)
    with pytest.raises(DataFileError, match=r"1\.wav: audio is 29\.000 s, need 30\.000 s"):
        ex.extract(layout, "train", rel, ["mfcc"])


def test_window_and_hop_are_one_video_frame():
    ex = MfccExtractor(repo_params().features.mfcc, FRAMES, FPS)
    assert (ex.rate, ex.window, ex.hop) == (16000, 640, 640)  # 40 ms at 25 fps
    with pytest.raises(ConfigError, match=r"features\.mfcc\.hop_ms"):  # fixed by the format
        params_with({"features": {"mfcc": {"hop_ms": 20}}})
