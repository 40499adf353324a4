"""A prediction folder: written whole with its zip, read back exactly, and every way it can be
wrong is an error naming the item or file."""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest

from reactdiff.evaluation.predictions import Reactions
from reactdiff.evaluation.submission import (
    MANIFEST,
    ZIP_NAME,
    Expected,
    Item,
    SubmissionError,
    item_file,
    item_stem,
    read_submission,
    speaker_of,
    write_submission,
)

S = 2
ITEMS = [
    Item("speaker/session1/Camera-test-1-0", "listener/session1/Camera-test-1-0", 120),
    Item("listener/session1/Camera-test-1-0", "speaker/session1/Camera-test-1-0", 120),
    Item("speaker/session2/Camera-test-2-0", "listener/session2/Camera-test-2-0", 101),
]
EXPECTED = Expected("test", "react2025", "session", ITEMS)
HEADER = {"split": "test", "format": "react2025", "protocol": "session", "samples": S, "seed": 3}


def _reactions() -> Reactions:
    rng = np.random.default_rng(0)
    return Reactions(
        [rng.random((S, i.frames, 25), dtype=np.float32) for i in ITEMS],
        [rng.random((S, i.frames, 58), dtype=np.float32) for i in ITEMS],
    )


@pytest.fixture
def folder(tmp_path):
    out = tmp_path / "pred"
    write_submission(out, HEADER, ITEMS, _reactions(), "test")
    return out


def test_names_are_the_speaker_paths_reversibly():
    for item in ITEMS:
        stem = item_stem(item.speaker)
        assert "/" not in stem and speaker_of(stem) == item.speaker
    assert item_file("a/b%2Fc", "emotion") == "a%2Fb%252Fc.emotion.npy"  # % itself is escaped
    assert speaker_of("a%2Fb%252Fc") == "a/b%2Fc"


def test_round_trip_and_zip(folder):
    manifest, got = read_submission(folder, EXPECTED)
    want = _reactions()
    for a, b in zip([*got.emotion, *got.face], [*want.emotion, *want.face], strict=True):
        np.testing.assert_array_equal(a, b)
        assert a.dtype == np.float32
    assert manifest["seed"] == 3 and manifest["items"][2]["frames"] == 101
    with zipfile.ZipFile(folder / ZIP_NAME) as zf:
        names = set(zf.namelist())
        assert names == {MANIFEST} | {
            item_file(i.speaker, s) for i in ITEMS for s in ("emotion", "3dmm")
        }
        assert zf.read(MANIFEST) == (folder / MANIFEST).read_bytes()


def _edit_manifest(folder, **changes):
    path = folder / MANIFEST
    manifest = json.loads(path.read_text())
    manifest.update(changes)
    path.write_text(json.dumps(manifest))


def _save(folder, k, stream, values):
    np.save(folder / item_file(ITEMS[k].speaker, stream), values)


def _missing_item(folder):
    (folder / item_file(ITEMS[1].speaker, "3dmm")).unlink()


def _extra_file(folder):
    (folder / "notes.txt").write_text("x")


def _wrong_shape(folder):
    _save(folder, 2, "emotion", np.zeros((S, 100, 25), np.float32))


def _wrong_samples(folder):
    _save(folder, 0, "3dmm", np.zeros((S + 1, 120, 58), np.float32))


def _nan(folder):
    values = np.zeros((S, 101, 25), np.float32)
    values[1, 5, 3] = np.nan
    _save(folder, 2, "emotion", values)


def _inf(folder):
    _save(folder, 0, "3dmm", np.full((S, 120, 58), np.inf, np.float32))


def _integers(folder):
    _save(folder, 1, "emotion", np.zeros((S, 120, 25), np.int64))


def _pickle(folder):
    _save(folder, 1, "emotion", np.array([{"a": 1}], dtype=object))


def _other_split(folder):
    _edit_manifest(folder, split="val")


def _other_protocol(folder):
    _edit_manifest(folder, protocol="neighbour")


def _other_format(folder):
    _edit_manifest(folder, format="react2024")


def _other_items(folder):
    manifest = json.loads((folder / MANIFEST).read_text())
    _edit_manifest(folder, items=manifest["items"][::-1])


def _fewer_items(folder):
    manifest = json.loads((folder / MANIFEST).read_text())
    _edit_manifest(folder, items=manifest["items"][:2])


def _no_manifest(folder):
    (folder / MANIFEST).unlink()


def _bad_samples(folder):
    _edit_manifest(folder, samples=0)


@pytest.mark.parametrize(
    ("damage", "culprit", "problem"),
    [
        (_missing_item, f"{item_file(ITEMS[1].speaker, '3dmm')}", "missing: the 3dmm of item 1"),
        (_extra_file, "notes.txt", "not a file of this submission"),
        (_wrong_shape, "item 2: speaker/session2", r"shape \(2, 100, 25\), expected"),
        (_wrong_samples, "item 0: speaker/session1", r"shape \(3, 120, 58\)"),
        (_nan, "item 2: speaker/session2", "1 NaN or infinite values"),
        (_inf, "item 0", "NaN or infinite"),
        (_integers, "item 1", "int64 values, expected floats"),
        (_pickle, "item 1", "pickle"),
        (_other_split, "manifest.json: split", "for split 'val', scored here as 'test'"),
        (_other_protocol, "manifest.json: protocol", "'neighbour', scored here as 'session'"),
        (_other_format, "manifest.json: format", "'react2024', scored here as 'react2025'"),
        (_other_items, "manifest.json: item 0", "mirrored sample order"),
        (_fewer_items, "manifest.json: items", "lists 2 items, the test split has 3"),
        (_no_manifest, "manifest.json", "missing"),
        (_bad_samples, "manifest.json: samples", "positive integer"),
    ],
)
def test_a_bad_folder_names_the_item_or_file(folder, damage, culprit, problem):
    damage(folder)
    with pytest.raises(SubmissionError, match=problem) as err:
        read_submission(folder, EXPECTED)
    assert culprit in err.value.name


def test_a_folder_of_someone_else_is_not_replaced(tmp_path):
    from reactdiff.atomic import OutputFolderError

    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "thesis.tex").write_text("x")
    with pytest.raises(OutputFolderError):
        write_submission(tmp_path / "mine", HEADER, ITEMS, _reactions(), "test")


def test_two_items_of_one_speaker_cannot_be_written(tmp_path):
    items = [ITEMS[0], ITEMS[0], ITEMS[2]]
    with pytest.raises(SubmissionError, match="speaker of two items"):
        write_submission(tmp_path / "pred", HEADER, items, _reactions(), "test")
