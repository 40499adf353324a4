"""Videos of generated reactions: decodable H.264 + AAC of the clip's length, laid out as a grid
of labelled tiles, the speaker's own video or drawn face first, then the drawn reactions."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from reactdiff.data.columns import AU_COLUMNS, ROTATION_SLICE, TRANSLATION_SLICE, VA_SLICE
from reactdiff.data.render import (
    LABEL_HEIGHT,
    comparison_video,
    face_drive,
    fit_tile,
    grid_size,
    reaction_video,
)
from reactdiff.data.synthetic.conversation import Style, simulate_clip
from reactdiff.data.synthetic.face import draw_face_frames, draw_faces, encode_mp4
from reactdiff.errors import DataFileError
from tests.helpers.video import assert_audio_lasts, decode

SIZE = 62  # small tiles keep the tests fast; 62 + LABEL_HEIGHT is not a multiple of 4


def _clip(seed: int, fps: int, frames: int, sides: int):
    """Emotion (S, T, 25) and 3DMM (S, T, 58) of simulated people, and one side's signals."""
    rng = np.random.default_rng(seed)
    got = []
    while len(got) < sides:
        styles = (Style.sample(rng, fps), Style.sample(rng, fps))
        got += simulate_clip(rng, styles, frames).sides
    return (
        np.stack([s.emotion for s in got[:sides]]),
        np.stack([s.face_3dmm for s in got[:sides]]),
        got[0],
    )


def _wav(path: Path, seconds: float, rate: int) -> Path:
    t = np.arange(round(seconds * rate)) / rate
    sf.write(path, (0.2 * np.sin(2 * np.pi * 220 * t)).astype(np.float32), rate)
    return path


def _tile(frame: np.ndarray, index: int, columns: int) -> np.ndarray:
    x, y = (index % columns) * SIZE, (index // columns) * (SIZE + LABEL_HEIGHT) + LABEL_HEIGHT
    return frame[y : y + SIZE, x : x + SIZE].astype(np.int16)


def test_reaction_video_with_the_speakers_video_and_audio(tmp_path):
    fps, frames = 25, 140  # two chunks, the second one partial
    emotion, face, speaker = _clip(0, fps, frames, 3)
    speaker_mp4 = tmp_path / "speaker.mp4"
    encode_mp4(draw_faces(speaker, 96), speaker_mp4, fps)
    wav = _wav(tmp_path / "speaker.wav", 7.0, 44100)  # longer than the clip: cut
    out = reaction_video(
        tmp_path / "out" / "reactions.mp4",
        speaker_mp4,
        None,
        None,
        emotion,
        face,
        fps,
        wav,
        size=SIZE,
    )
    assert out == tmp_path / "out" / "reactions.mp4"
    assert sorted(p.name for p in out.parent.iterdir()) == ["reactions.mp4"]  # no temp left

    got = decode(out)
    width, height = grid_size(4, SIZE)
    assert (width, height) == (4 * SIZE, SIZE + LABEL_HEIGHT)  # one row of 4 tiles
    assert got.frames.shape == (frames, height, width, 3)
    assert (got.video_codec, got.pix_fmt, got.fps) == ("h264", "yuv420p", fps)
    assert_audio_lasts(got, frames / fps)

    # the tiles show what they say: the speaker's video frames, then each reaction's face
    speaker_frames = draw_faces(speaker, 96)
    for t in (0, 70, frames - 1):
        assert np.abs(_tile(got.frames[t], 0, 4) - fit_tile(speaker_frames[t], SIZE)).mean() < 8
        for i in range(3):
            drawn = draw_face_frames(face_drive(emotion[i], face[i], frames).frames(t, t + 1), SIZE)
            assert np.abs(_tile(got.frames[t], 1 + i, 4) - drawn[0]).mean() < 8
    reactions = [_tile(got.frames[70], 1 + i, 4) for i in range(3)]
    assert np.abs(reactions[0] - reactions[1]).mean() > 2  # different people, different faces


def test_without_a_video_the_speaker_is_drawn_and_a_short_video_holds_its_last_frame(tmp_path):
    fps, frames = 30, 95
    emotion, face, speaker = _clip(1, fps, frames + 10, 2)
    wav = _wav(tmp_path / "speaker.wav", 2.0, 16000)  # shorter than the clip: padded
    drawn = reaction_video(
        tmp_path / "drawn.mp4",
        None,
        emotion[0],
        face[0],
        emotion[1:, :frames],
        face[1:, :frames],
        fps,
        wav,
        size=SIZE,
    )
    got = decode(drawn)
    assert got.frames.shape[0] == frames and got.fps == fps
    assert_audio_lasts(got, frames / fps)
    expected = draw_face_frames(face_drive(emotion[0], face[0], frames), SIZE)
    for t in (0, frames - 1):
        assert np.abs(_tile(got.frames[t], 0, 2) - expected[t]).mean() < 8

    short = tmp_path / "short.mp4"
    encode_mp4(draw_faces(speaker, SIZE)[:10], short, fps)
    held = decode(
        reaction_video(
            tmp_path / "held.mp4",
            short,
            None,
            None,
            emotion[1:, :frames],
            face[1:, :frames],
            fps,
            None,
            size=SIZE,
        )
    )
    assert held.frames.shape[0] == frames and held.audio_seconds is None
    np.testing.assert_array_equal(_tile(held.frames[20], 0, 2), _tile(held.frames[-1], 0, 2))


def test_comparison_video_shows_ground_truth_next_to_the_samples(tmp_path):
    fps, frames = 25, 60
    emotion, face, _ = _clip(2, fps, frames, 6)
    wav = _wav(tmp_path / "speaker.wav", 3.0, 44100)
    path = comparison_video(
        tmp_path / "compare.mp4",
        None,
        emotion[0],
        face[0],
        emotion[1],
        face[1],
        emotion[2:],
        face[2:],
        fps,
        wav,
        size=SIZE,
    )
    got = decode(path)
    width, height = grid_size(6, SIZE)  # speaker, ground truth, 4 samples
    assert got.frames.shape == (frames, height, width, 3)
    assert_audio_lasts(got, frames / fps)
    columns = width // SIZE
    truth = draw_face_frames(face_drive(emotion[1], face[1], frames), SIZE)
    sample = draw_face_frames(face_drive(emotion[2], face[2], frames), SIZE)
    assert np.abs(_tile(got.frames[30], 1, columns) - truth[30]).mean() < 8
    assert np.abs(_tile(got.frames[30], 2, columns) - sample[30]).mean() < 8


def test_a_grid_of_many_reactions_wraps_into_rows(tmp_path):
    assert grid_size(11, 128) == (6 * 128, 2 * (128 + LABEL_HEIGHT))
    assert grid_size(3, 128) == (3 * 128, 128 + LABEL_HEIGHT)
    emotion, face, _ = _clip(3, 25, 30, 10)
    got = decode(reaction_video(tmp_path / "r.mp4", None, None, None, emotion, face, 25, None))
    assert got.frames.shape == (30, *grid_size(11, 128)[::-1], 3)


def test_a_bad_speaker_video_is_named_and_leaves_no_file(tmp_path):
    emotion, face, _ = _clip(4, 25, 20, 1)
    bad = tmp_path / "speaker.mp4"
    bad.write_bytes(b"not a video")
    out = tmp_path / "out"
    with pytest.raises(DataFileError, match=r"speaker\.mp4: not a readable video"):
        reaction_video(out / "r.mp4", bad, None, None, emotion, face, 25, None, size=SIZE)
    assert list(out.iterdir()) == []


def test_face_drive_maps_the_format_columns():
    frames = 4
    emotion = np.zeros((frames, 25), dtype=np.float32)
    emotion[1, AU_COLUMNS.index("AU26")] = 1
    emotion[2, VA_SLICE.start] = 0.5  # valence
    emotion[3, VA_SLICE.start + 1] = -2  # arousal out of range: clipped
    face = np.zeros((frames, 58), dtype=np.float32)
    face[:, ROTATION_SLICE.start] = [0.0, 0.1, 0.0, 3.0]  # pitch; 3 rad: kept in the tile
    face[:, TRANSLATION_SLICE.start] = [5.0, 5.0, 5.0, 5.2]  # translation x: relative to mean
    drive = face_drive(emotion, face, frames)
    assert drive.mouth_open[0] == 0 and drive.mouth_open[1] > 0
    assert drive.valence[2] == 0.5 and drive.arousal[3] == -1
    np.testing.assert_allclose(drive.pitch, [0, 0.1, 0, 0.4], atol=1e-6)
    np.testing.assert_allclose(drive.yaw, [-0.05, -0.05, -0.05, 0.15], atol=1e-5)
    neutral = face_drive(None, None, frames)
    assert neutral.au.shape == (frames, len(AU_COLUMNS)) and not neutral.au.any()
    with pytest.raises(ValueError, match="3DMM must be"):
        face_drive(emotion, face[:2], frames)


def test_fit_tile_crops_to_a_square_and_resizes():
    image = np.zeros((6, 10, 3), dtype=np.uint8)
    image[:, 2:8] = np.arange(6, dtype=np.uint8)[None, :, None] * 10  # the centred 6x6 square
    np.testing.assert_array_equal(fit_tile(image, 3)[0, :, 0], [5, 25, 45])  # 2x2 block means
    np.testing.assert_array_equal(fit_tile(image, 4)[0, :, 0], [0, 10, 30, 40])  # nearest
