"""The loader on a tiny hand-made REACT tree: both path styles, P1/P2, both 3DMM shapes,
stereo wav, mp4 and PNG-folder video, and a clear error for each kind of bad file."""

import pickle
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from PIL import Image

from reactdiff.data.columns import EMOTION_COLUMNS, read_emotion
from reactdiff.data.formats.react2024 import ReactLayout
from reactdiff.data.readers import (
    PICKLE_REFUSED,
    count_video_frames,
    load_npy,
    read_3dmm,
    read_audio,
    read_video,
)
from reactdiff.data.synthetic.face import encode_mp4
from reactdiff.errors import DataFileError

NOXI = ("NoXI/010_2016-03-25_Paris/Expert_video/1", "NoXI/010_2016-03-25_Paris/Novice_video/1")
RECOLA = ("RECOLA/group-2/P41/1", "RECOLA/group-2/P42/1")
F = 120  # frames per hand-made clip


def _emotion(rng, frames=F):
    aus = rng.integers(0, 2, (frames, 15))
    va = rng.uniform(-1, 1, (frames, 2))
    probs = rng.dirichlet(np.ones(8), frames)
    return np.column_stack([aus, va, probs])


def _write_csv(path: Path, values: np.ndarray, header=EMOTION_COLUMNS):
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savetxt(path, values, delimiter=",", header=",".join(header), comments="", fmt="%.6f")


@pytest.fixture
def tree(tmp_path):
    """Hand-made root: a NoXI pair (3DMM (T, 1, 58), mp4, stereo 16 kHz wav) and a RECOLA pair
    (3DMM (T, 58), PNG-folder video, mono 44.1 kHz wav)."""
    rng = np.random.default_rng(0)
    layout = ReactLayout(tmp_path)
    truth = {}
    for rels, shape3d, rate, channels in (
        (NOXI, (F, 1, 58), 16000, 2),
        (RECOLA, (F, 58), 44100, 1),
    ):
        for rel in rels:
            emo = _emotion(rng)
            _write_csv(layout.clip_path("train", rel, "emotion"), emo)
            face = rng.normal(size=shape3d).astype(np.float32)
            p = layout.clip_path("train", rel, "3dmm")
            p.parent.mkdir(parents=True, exist_ok=True)
            np.save(p, face)
            wav = rng.uniform(-0.5, 0.5, (rate * 5, channels)).astype(np.float32)
            p = layout.clip_path("train", rel, "audio")
            p.parent.mkdir(parents=True, exist_ok=True)
            sf.write(p, wav, rate, subtype="FLOAT")
            frames = rng.integers(0, 255, (F, 32, 32, 3), dtype=np.uint8)
            video = layout.clip_path("train", rel, "video")
            video.parent.mkdir(parents=True, exist_ok=True)
            if rels is NOXI:
                encode_mp4(frames, video, 25)
            else:
                folder = video.with_suffix("")
                folder.mkdir()
                for i, img in enumerate(frames, start=1):
                    Image.fromarray(img).save(folder / f"{i}.png")
            truth[rel] = (emo, face.reshape(F, 58), wav.mean(axis=1), rate, frames)
    return layout, truth


@pytest.mark.parametrize("rel", [*NOXI, *RECOLA])
def test_reads_every_stream(tree, rel):
    layout, truth = tree
    emo, face, mono, rate, frames = truth[rel]
    np.testing.assert_allclose(
        read_emotion(layout.clip_path("train", rel, "emotion"), F - 1), emo[: F - 1], atol=1e-6
    )
    got = read_3dmm(layout.clip_path("train", rel, "3dmm"), F - 1)
    assert got.shape == (F - 1, 58)
    np.testing.assert_array_equal(got, face[: F - 1])
    wav, got_rate = read_audio(layout.clip_path("train", rel, "audio"))
    assert got_rate == rate
    np.testing.assert_allclose(wav, mono, atol=1e-6)  # stereo averaged to mono
    video = layout.video_path("train", rel)
    assert count_video_frames(video) == F
    decoded = read_video(video, frames=10)
    assert decoded.shape == (10, 32, 32, 3)
    if video.is_dir():  # PNG is lossless
        np.testing.assert_array_equal(decoded, frames[:10])


def test_emotion_uses_p1_p2_names(tree):
    layout, _ = tree
    assert layout.clip_path("train", RECOLA[0], "emotion").parent.name == "P1"
    assert layout.clip_path("train", NOXI[1], "emotion").parent.name == "P2"


def test_resample_on_request(tree):
    layout, _ = tree
    wav, rate = read_audio(layout.clip_path("train", RECOLA[0], "audio"), sample_rate=16000)
    assert rate == 16000 and len(wav) == 16000 * 5


def test_missing_file_is_named(tree):
    layout, _ = tree
    path = layout.clip_path("train", "NoXI/nope/Expert_video/1", "audio")
    with pytest.raises(DataFileError, match=r"nope/Expert_video/1\.wav: audio file not found"):
        read_audio(path)


def test_24_columns_named(tree, tmp_path):
    path = tmp_path / "bad.csv"
    _write_csv(path, _emotion(np.random.default_rng(1))[:, :24], header=EMOTION_COLUMNS[:24])
    with pytest.raises(DataFileError, match=r"bad\.csv: expected 25 columns, found 24"):
        read_emotion(path, 100)


def test_nan_row_named(tmp_path):
    values = _emotion(np.random.default_rng(1))
    values[9, 16] = np.nan
    path = tmp_path / "nan.csv"
    _write_csv(path, values)
    with pytest.raises(DataFileError, match=r"nan\.csv: non-finite value on line 11"):
        read_emotion(path, 100)


def test_short_clip_named(tree):
    layout, _ = tree
    with pytest.raises(DataFileError, match=r"1\.npy: has 120 frames, need at least 750"):
        read_3dmm(layout.clip_path("train", NOXI[0], "3dmm"), 750)


def test_bad_3dmm_shape_named(tmp_path):
    path = tmp_path / "x.npy"
    np.save(path, np.zeros((751, 2, 58)))
    with pytest.raises(DataFileError, match=r"x\.npy: shape \(751, 2, 58\)"):
        read_3dmm(path, 750)


def test_corrupt_audio_named(tmp_path):
    path = tmp_path / "broken.wav"
    path.write_bytes(b"RIFF....not a wav")
    with pytest.raises(DataFileError, match=r"broken\.wav: not a readable audio file"):
        read_audio(path)


def test_corrupt_video_named(tmp_path):
    path = tmp_path / "broken.mp4"
    path.write_bytes(b"\x00" * 100)
    with pytest.raises(DataFileError, match=r"broken\.mp4: not a readable video"):
        count_video_frames(path)


def _pickled_object_array(path: Path) -> Path:
    np.save(path, np.array([{"coefficients": 1}, None], dtype=object), allow_pickle=True)
    return path


def _raw_pickle(path: Path) -> Path:
    path.write_bytes(pickle.dumps(np.zeros((751, 58))))
    return path


def _text_file(path: Path) -> Path:
    path.write_text("0.1,0.2,0.3\n0.4,0.5,0.6\n")
    return path


def _npz_archive(path: Path) -> Path:
    np.savez(path.with_suffix(".npz"), a=np.zeros((751, 58)))
    path.with_suffix(".npz").rename(path)
    return path


def _empty_file(path: Path) -> Path:
    path.write_bytes(b"")
    return path


@pytest.mark.parametrize(
    ("make", "problem"),
    [
        (_pickled_object_array, PICKLE_REFUSED),
        (_raw_pickle, PICKLE_REFUSED),
        (_text_file, "not an .npy array file"),
        (_npz_archive, "an .npz (zip) archive, not an .npy array file"),
        (_empty_file, "empty, not an .npy array file"),
    ],
)
def test_npy_that_is_not_an_array_file_is_named_in_plain_words(tmp_path, make, problem):
    path = make(tmp_path / "1.npy")
    for read in (load_npy, lambda p: read_3dmm(p, 750)):
        with pytest.raises(DataFileError) as err:
            read(path)
        assert str(err.value) == f"{path}: {problem}"
        assert "allow_pickle" not in str(err.value)  # never a hint to load it unsafely


def test_npy_of_strings_is_not_a_numeric_array(tmp_path):
    path = tmp_path / "1.npy"
    np.save(path, np.full((751, 58), "x"))
    with pytest.raises(DataFileError, match=r"1\.npy: holds <U1 values, not a numeric array"):
        read_3dmm(path, 750)


@pytest.mark.parametrize(("bom", "newline"), [("\ufeff", "\r\n"), ("\ufeff", "\n"), ("", "\r\n")])
def test_emotion_csv_with_bom_or_crlf_reads_like_a_plain_one(tmp_path, bom, newline):
    values = _emotion(np.random.default_rng(2))
    plain = tmp_path / "plain.csv"
    _write_csv(plain, values)
    other = tmp_path / "other.csv"
    other.write_bytes((bom + newline.join(plain.read_text().splitlines()) + newline).encode())
    assert other.read_bytes() != plain.read_bytes()
    np.testing.assert_array_equal(read_emotion(other, F), read_emotion(plain, F))
