"""The REACT 2025 (MARS) layout on a hand-made tree: paths, samples, appropriateness, format
detection."""

import numpy as np
import pytest

from reactdiff.data.columns import read_emotion
from reactdiff.data.formats import clip_rel_problem, detect_format, open_layout
from reactdiff.data.formats.react2024 import REACT2024
from reactdiff.data.formats.react2025 import REACT2025, MarsLayout, appropriateness, partner
from reactdiff.errors import DataFileError
from tests.helpers.react2025_tree import write_mars_tree


@pytest.fixture
def mars(tmp_path):
    return write_mars_tree(tmp_path / "mars")


def test_samples_are_both_directions_in_a_fixed_order(mars):
    layout = MarsLayout(mars)
    pairs = layout.pairs("train")
    assert [p.speaker for p in pairs] == [
        "speaker/session0/Camera-train-0-0",
        "speaker/session0/Camera-train-0-1",
        "speaker/session1/Camera-train-1-0",
        "speaker/session1/Camera-train-1-1",
    ]
    assert all(p.listener == partner(p.speaker) for p in pairs)
    samples = layout.samples("train")
    assert samples[4:] == [p.reversed() for p in pairs]
    assert layout.clip_path("train", pairs[0].speaker, "emotion") == (
        mars / "train/facial-attributes/speaker/session0/Camera-train-0-0.npy"
    )
    assert layout.clip_frames("train", pairs[0].speaker) == 130


def test_appropriate_reactions_are_the_same_session_and_direction(mars):
    samples = MarsLayout(mars).samples("test")
    m = appropriateness(samples, "test")
    # samples: 4 speaker-role (sessions 0,0,1,1), then 4 listener-role (sessions 0,0,1,1)
    expected = np.kron(np.eye(4, dtype=np.uint8), np.ones((2, 2), dtype=np.uint8))
    np.testing.assert_array_equal(m, expected)


def test_a_missing_partner_is_named(mars):
    missing = mars / "val/facial-attributes/listener/session1/Camera-val-1-0.npy"
    missing.unlink()
    with pytest.raises(DataFileError, match=r"Camera-val-1-0\.npy") as err:
        MarsLayout(mars).pairs("val")
    assert "missing" in str(err.value) and "speaker/session1/Camera-val-1-0.npy" in str(err.value)


@pytest.mark.parametrize(
    ("rel", "problem"),
    [
        ("speaker/session0/x", None),
        ("listener/session12/Camera-2024-06-21-103121-103102", None),
        ("viewer/session0/x", "role 'viewer'"),
        ("speaker/topic0/x", "session 'topic0'"),
        ("speaker/../x", "'..'"),
    ],
)
def test_the_react2025_path_grammar(rel, problem):
    got = clip_rel_problem(rel)
    assert got is None if problem is None else problem in got


def test_a_path_of_the_other_layout_is_refused(mars):
    with pytest.raises(DataFileError, match="REACT 2024 clip path"):
        MarsLayout(mars).clip_path("train", "NoXI/s/Expert_video/1", "emotion")
    with pytest.raises(DataFileError, match="REACT 2025 clip path"):
        open_layout(mars, REACT2024).clip_path("train", "speaker/session0/x", "emotion")


def test_the_format_is_detected(mars, tiny_drop_novideo_master, tmp_path):
    assert detect_format(mars) is REACT2025
    assert detect_format(tiny_drop_novideo_master) is REACT2024
    with pytest.raises(DataFileError, match="neither layout"):
        detect_format(tmp_path)


def test_facial_attributes_are_read_whole_and_checked(mars, tmp_path):
    path = mars / "train/facial-attributes/speaker/session0/Camera-train-0-0.npy"
    assert read_emotion(path).shape == (130, 25)
    bad = tmp_path / "bad.npy"
    np.save(bad, np.zeros((10, 24), np.float32))
    with pytest.raises(DataFileError, match=r"shape \(10, 24\), expected \(T, 25\)"):
        read_emotion(bad)
    values = np.zeros((10, 25), np.float32)
    values[3, 4] = np.nan
    np.save(bad, values)
    with pytest.raises(DataFileError, match="non-finite value on row 3"):
        read_emotion(bad)
