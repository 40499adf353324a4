import json

import numpy as np
import pytest

from reactdiff.config import FeaturesParams
from reactdiff.data.layout import ReactLayout
from reactdiff.features.audio import MfccExtractor
from reactdiff.features.extract import split_clips
from reactdiff.features.store import FeatureStore, array_key

from .conftest import FRAMES, extract


def _keys(root, streams=("mfcc", "emotion", "3dmm")) -> set[str]:
    return {
        array_key(split, s, rel)
        for split, rels in split_clips(root).items()
        for rel in rels
        for s in streams
    }


def test_store_layout_and_manifest(tiny_store_master, tiny_drop_master):
    store = FeatureStore(tiny_store_master)
    manifest = store.load_manifest()
    assert set(manifest.entries) == _keys(tiny_drop_master)
    assert manifest.dims == {"mfcc": 26, "emotion": 25, "3dmm": 58}
    rel = split_clips(tiny_drop_master)["val"][0]
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
    emotion.write_text(emotion.read_text())  # same content, new mtime: recomputed
    assert extract(tiny_drop, out).computed == [array_key("test", "emotion", rel)]
    mfcc = FeaturesParams(mfcc={"n_mfcc": 13})  # a stream's params change: only that stream
    redone = extract(tiny_drop, out, params=mfcc)
    assert set(redone.computed) == _keys(tiny_drop, ["mfcc"])
    assert FeatureStore(out).stream_dims(["mfcc"]) == {"mfcc": 13}


def test_resume_after_a_crash_redoes_only_the_rest(tiny_drop, tmp_path, monkeypatch):
    out = tmp_path / "store"
    compute, calls = MfccExtractor.compute, []

    def crash_after_5(self, wave):
        if len(calls) == 5:
            raise KeyboardInterrupt  # as if the run was killed
        calls.append(1)
        return compute(self, wave)

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


def test_float16_store_and_stale_streams_removed(tiny_store, tiny_drop_master):
    summary = extract(
        tiny_drop_master, tiny_store, params=FeaturesParams(streams=(), dtype="float16")
    )
    assert summary.streams == ("emotion", "3dmm")  # the targets are always there
    assert summary.removed == len(_keys(tiny_drop_master, ["mfcc"]))
    store = FeatureStore(tiny_store)
    assert not [p for p in tiny_store.rglob("*.npy") if "/mfcc/" in str(p)]
    assert {e.dtype for e in store.load_manifest().entries.values()} == {"float16"}
    rel = split_clips(tiny_drop_master)["train"][0]
    assert store.open("train", rel, "3dmm").dtype == np.float16
