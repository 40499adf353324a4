"""The store's inventory (one row per expected array) and the feature-store suite over it."""

import numpy as np

from reactdiff.data.formats.react2024 import ReactLayout
from reactdiff.features.extract import split_clips
from reactdiff.features.inventory import store_table
from reactdiff.features.store import FeatureStore, array_key
from reactdiff.validation.feature_store import REPORT, validate_feature_table

from .conftest import FRAMES

DIMS = {"mfcc": 26, "emotion": 25, "3dmm": 58}


def fixed_frames(split: str, rel: str) -> int:
    return FRAMES


def test_a_complete_store_passes(tiny_store, tiny_drop_master):
    table = store_table(
        FeatureStore(tiny_store), split_clips(ReactLayout(tiny_drop_master)), DIMS, fixed_frames
    )
    assert len(table) == 12 * 3 and table["present"].all() and table["hash_ok"].all()
    assert set(table["frames"]) == {FRAMES} and set(table["dtype"]) == {"float32"}
    report = validate_feature_table(table, "float32")
    assert report.success and report.rows == 12 * 3 and report.failures == []
    assert not (tiny_store / REPORT).exists()  # the caller writes the report


def test_wrong_dtype_is_named_per_file(tiny_store, tiny_drop_master):
    table = store_table(
        FeatureStore(tiny_store), split_clips(ReactLayout(tiny_drop_master)), DIMS, fixed_frames
    )
    report = validate_feature_table(table, "float16")
    assert not report.success
    assert report.failures == [f"{f}: dtype is not float16" for f in table["file"]]


def test_missing_stream_wrong_frames_and_nan_are_caught(tiny_store, tiny_drop_master):
    clips = split_clips(ReactLayout(tiny_drop_master))
    store = FeatureStore(tiny_store)
    manifest = store.load_manifest()
    a, b, c = clips["train"][:3]
    del manifest.entries[array_key("train", "mfcc", a)]  # missing from the manifest
    store.save_manifest(manifest)
    store.array_path("train", "emotion", b).unlink()  # listed but the file is gone
    short = store.array_path("val", "3dmm", clips["val"][0])
    np.save(short, np.zeros((FRAMES - 1, 58), np.float32))
    nan = store.array_path("test", "mfcc", clips["test"][0])
    arr = np.load(nan)
    arr[10, 3] = np.nan
    np.save(nan, arr)
    table = store_table(store, clips, {**DIMS, "wav2vec": 32}, fixed_frames)
    report = validate_feature_table(table, "float32")
    assert not report.success and report.rows == 12 * 4
    fails = set(report.failures)
    missing = "array missing (not in the manifest, or no readable file)"
    assert f"{store.array_path('train', 'mfcc', a)}: {missing}" in fails
    assert f"{store.array_path('train', 'emotion', b)}: {missing}" in fails
    assert f"{store.array_path('train', 'wav2vec', c)}: {missing}" in fails  # stream not there
    assert f"{short}: not as many frames as the clip" in fails
    assert f"{nan}: NaN/inf values" in fails
    assert f"{nan}: bytes differ from the manifest's sha256" in fails
    wrong_dim = f"{store.array_path('train', 'mfcc', c)}: not (frames, dim) with the stream's dim"
    assert wrong_dim not in fails  # a missing array is reported once, as missing
