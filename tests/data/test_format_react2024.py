import pytest

from reactdiff.data.formats import clip_rel_problem
from reactdiff.data.formats.react2024 import ReactLayout, emotion_rel
from reactdiff.data.splits import Pair, mirrored, read_split_csv, read_split_rows
from reactdiff.errors import DataFileError

GOOD = "NoXI/001_2016-03-17_Paris/Expert_video/3"
GOOD_LISTENER = "NoXI/001_2016-03-17_Paris/Novice_video/3"
# paths that are not REACT clip paths, and what the grammar says about each
BAD_RELS = {
    "/etc/passwd": "is absolute",
    "/NoXI/s/Expert_video/1": "is absolute",
    "../../x": "'..' component",
    "NoXI/../Expert_video/1": "'..' component",
    "NoXI/s/../Expert_video/1": "'..' component",
    "NoXI/./Expert_video/1": "'.' or '..' component",
    "NoXI//Expert_video/1": "empty",
    "NoXI/s/Expert_video/1/": "empty",
    "NoXI\\s\\Expert_video\\1": "backslash",
    "NoXI/s/Expert_video/1\x1b[2J": "control character",
    "NoXI/s/Expert_video": "3 components",
    "NoXI/s/Expert_video/1/2": "5 components",
    "Other/s/P1/1": "unknown dataset 'Other'",
    "NoXI/s/Teacher_video/1": "unknown NoXI side 'Teacher_video'",
    "NoXI/s/P25/1": "unknown NoXI side 'P25'",
    "RECOLA/group-1/P99/1": "unknown RECOLA side 'P99'",
    "RECOLA/group-1/Expert_video/1": "unknown RECOLA side",
    "RECOLA/..group/P25/1": "not group-<k>",
    "RECOLA/session/P25/1": "not group-<k>",
}


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


@pytest.mark.parametrize("rel", ["NoXI/s/Expert_video/1", "RECOLA/group-12/P46/clip_7", GOOD])
def test_clip_rel_problem_accepts_both_shapes(rel):
    assert clip_rel_problem(rel) is None


@pytest.mark.parametrize(("rel", "problem"), BAD_RELS.items())
def test_clip_rel_problem_names_what_is_wrong(rel, problem):
    assert problem in clip_rel_problem(rel)


@pytest.mark.parametrize("rel", [*BAD_RELS, "a/b"])
def test_emotion_rel_rejects_bad_paths_as_data_file_error(rel):
    with pytest.raises(DataFileError, match="not a REACT clip path"):
        emotion_rel(rel)


@pytest.mark.parametrize("stream", ["audio", "3dmm", "video", "emotion"])
@pytest.mark.parametrize("rel", ["/etc/passwd", "../../x", "NoXI/../Expert_video/1"])
def test_clip_path_forms_no_path_outside_the_root(tmp_path, rel, stream):
    with pytest.raises(DataFileError, match="not a REACT clip path"):
        ReactLayout(tmp_path).clip_path("train", rel, stream)


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


def _split_csv(path, rows: list[tuple[str, str]], newline="\n", bom=""):
    lines = [",speaker_path,listener_path", *(f"{i},{s},{l_}" for i, (s, l_) in enumerate(rows))]
    path.write_bytes((bom + newline.join(lines) + newline).encode())
    return path


@pytest.mark.parametrize(("rel", "problem"), BAD_RELS.items())
def test_split_csv_refuses_a_path_outside_the_grammar(tmp_path, rel, problem):
    path = _split_csv(tmp_path / "train.csv", [(GOOD, GOOD_LISTENER), (rel, GOOD_LISTENER)])
    with pytest.raises(DataFileError) as err:
        read_split_csv(path)
    assert str(err.value).startswith(f"{path}: line 3: speaker_path {rel!r} ")
    assert problem in str(err.value) and repr(f"1,{rel},{GOOD_LISTENER}") in str(err.value)


def test_split_csv_names_the_listener_side_too(tmp_path):
    path = _split_csv(tmp_path / "val.csv", [(GOOD, "/etc/passwd")])
    with pytest.raises(DataFileError, match=r"val\.csv: line 2: listener_path '/etc/passwd'"):
        read_split_csv(path)


def test_split_rows_report_every_bad_row_with_its_line(tmp_path):
    rows = [(GOOD, GOOD_LISTENER), ("/etc/passwd", GOOD_LISTENER), (GOOD, "../../x")]
    got = read_split_rows(_split_csv(tmp_path / "train.csv", rows))
    assert [(r.line, r.pair) for r in got] == [(i + 2, Pair(*p)) for i, p in enumerate(rows)]
    assert got[0].problem == ""
    assert got[1].problem == "speaker_path '/etc/passwd' is absolute"
    assert got[2].problem.startswith("listener_path '../../x' has an empty, '.' or '..'")


@pytest.mark.parametrize(("bom", "newline"), [("\ufeff", "\r\n"), ("\ufeff", "\n"), ("", "\r\n")])
def test_split_csv_with_bom_or_crlf_reads_like_a_plain_one(tmp_path, bom, newline):
    rows = [(GOOD, GOOD_LISTENER), ("RECOLA/group-1/P25/1", "RECOLA/group-1/P26/1")]
    plain = read_split_csv(_split_csv(tmp_path / "plain.csv", rows))
    assert plain == [Pair(*r) for r in rows]
    assert read_split_csv(_split_csv(tmp_path / "x.csv", rows, newline, bom)) == plain


def test_split_csv_not_utf8_is_named(tmp_path):
    path = tmp_path / "test.csv"
    path.write_bytes(
        ",speaker_path,listener_path\n0,NoXI/s\xe9/Expert_video/1,x\n".encode("latin-1")
    )
    with pytest.raises(DataFileError, match=r"test\.csv: not UTF-8 text"):
        read_split_csv(path)
