import pytest

from reactdiff.errors import DataFileError
from reactdiff.data.layout import Pair, ReactLayout, emotion_rel, mirrored, read_split_csv


@pytest.mark.parametrize(
    ("rel", "expected"),
    [
        ("NoXI/001_2016-03-17_Paris/Expert_video/3", "NoXI/001_2016-03-17_Paris/P1/3"),
        ("NoXI/001_2016-03-17_Paris/Novice_video/3", "NoXI/001_2016-03-17_Paris/P2/3"),
        ("RECOLA/group-1/P25/1", "RECOLA/group-1/P1/1"),
        ("RECOLA/group-2/P42/7", "RECOLA/group-2/P2/7"),
        ("RECOLA/group-3/P45/2", "RECOLA/group-3/P1/2"),
    ],
)
def test_emotion_rel(rel, expected):
    assert emotion_rel(rel) == expected


@pytest.mark.parametrize(
    "rel", ["NoXI/s/Teacher_video/1", "RECOLA/group-1/P99/1", "Other/s/P1/1", "a/b"]
)
def test_emotion_rel_rejects_unknown(rel):
    with pytest.raises(ValueError, match="clip path"):
        emotion_rel(rel)


def test_clip_paths(tmp_path):
    layout = ReactLayout(tmp_path)
    rel = "NoXI/s1/Novice_video/2"
    assert layout.clip_path("val", rel, "emotion") == tmp_path / "val/Emotion/NoXI/s1/P2/2.csv"
    assert (
        layout.clip_path("val", rel, "3dmm")
        == tmp_path / "val/3D_FV_files/NoXI/s1/Novice_video/2.npy"
    )
    assert (
        layout.clip_path("val", rel, "audio")
        == tmp_path / "val/Audio_files/NoXI/s1/Novice_video/2.wav"
    )
    assert layout.video_path("val", rel) == tmp_path / "val/Video_files/NoXI/s1/Novice_video/2.mp4"
    (tmp_path / "val/Video_files/NoXI/s1/Novice_video/2").mkdir(parents=True)
    assert layout.video_path("val", rel) == tmp_path / "val/Video_files/NoXI/s1/Novice_video/2"


def test_mirrored_order():
    pairs = [Pair("a1", "b1"), Pair("a2", "b2")]
    assert mirrored(pairs) == [
        Pair("a1", "b1"),
        Pair("a2", "b2"),
        Pair("b1", "a1"),
        Pair("b2", "a2"),
    ]


def test_split_csv_header_checked(tmp_path):
    path = tmp_path / "train.csv"
    path.write_text("speaker,listener\na,b\n")
    with pytest.raises(DataFileError, match=r"train\.csv: header must be"):
        read_split_csv(path)


def test_split_csv_bad_row_named(tmp_path):
    path = tmp_path / "val.csv"
    path.write_text(",speaker_path,listener_path\n0,a,b\n1,c\n")
    with pytest.raises(DataFileError, match=r"val\.csv: line 3"):
        read_split_csv(path)
