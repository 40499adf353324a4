"""The data stage with a real root, and the split stage."""

import csv
import json
import os

import numpy as np
import pytest

from reactdiff.atomic import OUTPUT_MARKER
from reactdiff.data.formats.react2024 import ReactLayout
from reactdiff.errors import DataFileError
from reactdiff.stages import data as data_stage
from reactdiff.stages.data import SOURCE_FILE
from reactdiff.stages.split import write_splits
from tests.helpers.params import params_with


def run_data_stage(params):
    return data_stage.run(params, data_stage.Options(progress=False)).documents["data_summary.json"]


def test_external_source_is_fingerprinted_not_copied(tiny_drop, tmp_path):
    params = params_with({"data": {"source": str(tiny_drop), "root": str(tmp_path / "raw")}})
    first = run_data_stage(params)
    written = json.loads((tmp_path / "raw" / SOURCE_FILE).read_text())
    assert written["source"] == str(tiny_drop.resolve()) and written["files"] > 40
    assert sorted(p.name for p in (tmp_path / "raw").iterdir()) == [OUTPUT_MARKER, SOURCE_FILE]
    wav = next(tiny_drop.rglob("*.wav"))
    os.utime(wav, ns=(0, 0))  # any change to the real drop changes the fingerprint
    assert run_data_stage(params)["fingerprint"] != first["fingerprint"]


def test_external_source_must_look_like_react(tmp_path):
    params = params_with({"data": {"source": str(tmp_path), "root": str(tmp_path / "raw")}})
    with pytest.raises(DataFileError, match=r"not a react2024 root: missing .*train\.csv"):
        run_data_stage(params)


def test_split_stage_writes_mirrored_samples(tiny_drop_master, tmp_path):
    summary = write_splits(ReactLayout(tiny_drop_master), tmp_path / "splits")
    layout = ReactLayout(tiny_drop_master)
    for split in ("train", "val", "test"):
        pairs = layout.pairs(split)
        with (tmp_path / "splits" / f"samples_{split}.csv").open() as f:
            rows = list(csv.DictReader(f))
        assert len(rows) == 2 * len(pairs) == summary[split]["samples"]
        assert rows[0]["speaker_path"] == pairs[0].speaker
        assert rows[len(pairs)]["speaker_path"] == pairs[0].listener  # mirrored half
    m = np.load(tmp_path / "splits" / "neighbour_emotion_test.npy")
    np.testing.assert_array_equal(m, np.load(layout.neighbour_matrix("test")))


def test_split_stage_rejects_mismatched_matrix(tiny_drop, tmp_path):
    np.save(ReactLayout(tiny_drop).neighbour_matrix("val"), np.ones((3, 3)))
    with pytest.raises(DataFileError, match=r"neighbour_emotion_val\.npy: shape \(3, 3\)"):
        write_splits(ReactLayout(tiny_drop), tmp_path / "splits")
    assert not (tmp_path / "splits").exists()  # nothing half-written


def test_a_mars_root_is_fingerprinted_and_split_from_its_tree(mars_master, tmp_path):
    import shutil

    from reactdiff.data.formats.react2025 import MarsLayout, appropriateness
    from reactdiff.stages import split as split_stage

    root = shutil.copytree(mars_master / "root", tmp_path / "mars")
    params = params_with(
        {
            "data": {"source": str(root), "format": "auto", "root": str(tmp_path / "raw")},
            "split": {"out": str(tmp_path / "splits")},
        }
    )
    summary = run_data_stage(params)
    assert summary["format"] == "react2025" and summary["files"] == 3 * 2 * 2 * 2 * 3
    result = split_stage.run(params, split_stage.Options(progress=False))
    out = tmp_path / "splits"
    assert result.metrics["test_pairs"] == 4 and result.metrics["test_sessions"] == 2
    rows = list(csv.reader((out / "samples_test.csv").open()))
    assert rows[1] == ["0", "speaker/session0/Camera-test-0-0", "listener/session0/Camera-test-0-0"]
    assert rows[5] == ["4", "listener/session0/Camera-test-0-0", "speaker/session0/Camera-test-0-0"]
    samples = MarsLayout(root).samples("test")
    m = np.load(out / "neighbour_emotion_test.npy")
    np.testing.assert_array_equal(m, appropriateness(samples, "test"))
    shutil.rmtree(root / "val")  # a MARS root needs every split's facial-attributes folder
    with pytest.raises(DataFileError, match=r"not a react2025 root: missing .*val/facial-attr"):
        run_data_stage(params)
