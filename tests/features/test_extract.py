import json
import os
import shutil

import numpy as np
import pytest

from reactdiff.data.columns import VA_SLICE, read_emotion_table, write_emotion
from reactdiff.data.formats.react2024 import ReactLayout
from reactdiff.errors import UserError
from reactdiff.features.audio import MfccExtractor
from reactdiff.features.extract import ExtractionFailed, split_clips
from reactdiff.features.store import Entry, FeatureStore, Manifest, array_key
from tests.helpers.params import params_with

from .conftest import FRAMES, extract


def _keys(root, streams=("mfcc", "emotion", "3dmm")) -> set[str]:
    return {
        array_key(split, s, rel)
        for split, rels in split_clips(ReactLayout(root)).items()
        for rel in rels
        for s in streams
    }


def test_store_layout_and_manifest(tiny_store_master, tiny_drop_master):
    store = FeatureStore(tiny_store_master)
    manifest = store.load_manifest()
    assert set(manifest.entries) == _keys(tiny_drop_master)
    assert manifest.dims == {"mfcc": 26, "emotion": 25, "3dmm": 58}
    rel = split_clips(ReactLayout(tiny_drop_master))["val"][0]
    entry = manifest.entries[array_key("val", "emotion", rel)]
    path = tiny_store_master / "val" / "emotion" / f"{rel}.npy"  # the clip rel, not P1/P2
    assert path.is_file() and entry.shape == (FRAMES, 25) and entry.dtype == "float32"
    raw = json.loads((tiny_store_master / "manifest.json").read_text())
    assert set(raw["arrays"][entry.key]) >= {"shape", "dtype", "sha256", "inputs"}


def test_rerun_skips_unchanged_clips_and_redoes_changed_ones(tiny_drop, tmp_path):
    out = tmp_path / "store"
    extract(tiny_drop, out)
    again = extract(tiny_drop, out)
    assert again.computed == [] and again.skipped == len(_keys(tiny_drop))
    layout = ReactLayout(tiny_drop)
    rel = layout.clips("test")[1]
    emotion = layout.clip_path("test", rel, "emotion")
    emotion.write_text(emotion.read_text())  # same content, new mtime: still current
    assert extract(tiny_drop, out).computed == []
    values = read_emotion_table(emotion).to_numpy()
    valence = VA_SLICE.start
    values[0, valence] = -0.99 if values[0, valence] > 0 else 0.99  # new content: recomputed
    write_emotion(emotion, values)
    assert extract(tiny_drop, out).computed == [array_key("test", "emotion", rel)]
    mfcc = params_with({"features": {"mfcc": {"n_mfcc": 13}}}).features  # only that stream
    redone = extract(tiny_drop, out, params=mfcc)
    assert set(redone.computed) == _keys(tiny_drop, ["mfcc"])
    assert FeatureStore(out).stream_dims(["mfcc"]) == {"mfcc": 13}


def test_resume_after_a_crash_redoes_only_the_rest(tiny_drop, tmp_path, monkeypatch):
    out = tmp_path / "store"
    compute, calls = MfccExtractor.compute, []

    def crash_after_5(self, wave, frames):
        if len(calls) == 5:
            raise KeyboardInterrupt  # as if the run was killed
        calls.append(1)
        return compute(self, wave, frames)

    monkeypatch.setattr(MfccExtractor, "compute", crash_after_5)
    with pytest.raises(KeyboardInterrupt):
        extract(tiny_drop, out)
    done = set(FeatureStore(out).load_manifest().entries)  # flushed on the way out
    assert len([k for k in done if "/mfcc/" in k]) == 5
    monkeypatch.undo()
    rerun = extract(tiny_drop, out)
    assert set(rerun.computed) == _keys(tiny_drop) - done
    assert set(FeatureStore(out).load_manifest().entries) == _keys(tiny_drop)


def test_corrupted_wav_is_named_and_other_clips_survive(tiny_drop, tmp_path):
    layout = ReactLayout(tiny_drop)
    rel = layout.clips("val")[0]
    wav = layout.clip_path("val", rel, "audio")
    wav.write_bytes(b"RIFF not really a wav file")
    summary = extract(tiny_drop, tmp_path / "store")
    assert len(summary.errors) == 1
    path, problem = summary.errors[0]
    assert path == str(wav) and "not a readable audio file" in problem
    entries = FeatureStore(tmp_path / "store").load_manifest().entries
    assert set(entries) == _keys(tiny_drop) - {array_key("val", "mfcc", rel)}
    assert not (tmp_path / "store" / "val" / "mfcc" / f"{rel}.npy").exists()


def test_bad_input_is_a_user_error_with_the_summary(tiny_drop, tmp_path):
    layout = ReactLayout(tiny_drop)
    wav = layout.clip_path("test", layout.clips("test")[0], "audio")
    wav.write_bytes(b"garbage")
    summary = extract(tiny_drop, tmp_path / "store")
    err = ExtractionFailed(summary)
    assert isinstance(err, UserError) and err.exit_code == 2 and err.summary is summary
    assert f"{wav}: not a readable audio file" in str(err)


def test_float16_store_and_stale_streams_removed(tiny_store, tiny_drop_master):
    only_targets = {
        "features": {"streams": [], "dtype": "float16"},
        "mmt": {"audio_streams": []},
        "kin": {"audio_streams": ["emotion"], "visual_streams": ["3dmm"]},
    }
    params = params_with(only_targets).features  # the models read no stream the store drops
    summary = extract(tiny_drop_master, tiny_store, params=params)
    assert summary.streams == ("emotion", "3dmm")  # the targets are always there
    assert summary.removed == len(_keys(tiny_drop_master, ["mfcc"]))
    store = FeatureStore(tiny_store)
    assert not [p for p in tiny_store.rglob("*.npy") if "/mfcc/" in str(p)]
    assert {e.dtype for e in store.load_manifest().entries.values()} == {"float16"}
    rel = split_clips(ReactLayout(tiny_drop_master))["train"][0]
    assert store.open("train", rel, "3dmm").dtype == np.float16


def _store_files(root) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_same_drop_elsewhere_gives_a_byte_identical_store(tiny_drop_master, tmp_path):
    """Content, not paths or mtimes, decides the store: a copy of the drop at another path
    with other mtimes, extracted by two workers (so in another completion order), gives the
    same arrays and the same manifest bytes."""
    a = shutil.copytree(tiny_drop_master, tmp_path / "a" / "react")
    b = shutil.copytree(tiny_drop_master, tmp_path / "elsewhere" / "drop")
    for path in b.rglob("*"):
        os.utime(path, ns=(10**18, 10**18))  # 2001, whatever the first copy has
    extract(a, tmp_path / "store_a")
    extract(b, tmp_path / "store_b", workers=2)
    files_a, files_b = _store_files(tmp_path / "store_a"), _store_files(tmp_path / "store_b")
    assert "manifest.json" in files_a and len(files_a) == 1 + len(_keys(tiny_drop_master))
    assert files_a.keys() == files_b.keys()
    assert [k for k in files_a if files_a[k] != files_b[k]] == []
    manifest = (tmp_path / "store_a" / "manifest.json").read_text()
    assert str(tmp_path) not in manifest


def test_manifest_bytes_do_not_depend_on_insertion_order(tmp_path):
    def entry(split, rel, stream):
        return Entry(split, rel, stream, (FRAMES, 2), "float32", "ab", 128, "cd")

    entries = [
        entry(s, r, t) for s in ("val", "train") for r in ("y", "x") for t in ("3dmm", "mfcc")
    ]
    one = Manifest({"emotion": 25, "mfcc": 26, "3dmm": 58})
    two = Manifest({"3dmm": 58, "mfcc": 26, "emotion": 25})
    for e in entries:
        one.add(e)
    for e in reversed(entries):
        two.add(e)
    FeatureStore(tmp_path / "one").save_manifest(one)
    FeatureStore(tmp_path / "two").save_manifest(two)
    raw = (tmp_path / "one" / "manifest.json").read_bytes()
    assert raw == (tmp_path / "two" / "manifest.json").read_bytes()
    written = json.loads(raw)
    assert list(written["streams"]) == ["mfcc", "emotion", "3dmm"]  # the canonical order
    assert list(written["arrays"]) == sorted(written["arrays"])
