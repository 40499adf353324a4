import numpy as np

from reactdiff.features.extract import split_clips
from reactdiff.features.store import FeatureStore, array_key
from reactdiff.features.validation import validate_store

from .conftest import FRAMES

DIMS = {"mfcc": 26, "emotion": 25, "3dmm": 58}


def test_a_complete_store_passes(tiny_store, tiny_drop_master):
    report = validate_store(tiny_store, split_clips(tiny_drop_master), DIMS, FRAMES, "float32")
    assert report.success and report.rows == 12 * 3 and report.failures == []
    assert (tiny_store / "validation.json").is_file()


def test_missing_stream_wrong_frames_and_nan_are_caught(tiny_store, tiny_drop_master):
    clips = split_clips(tiny_drop_master)
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
    report = validate_store(tiny_store, clips, {**DIMS, "wav2vec": 32}, FRAMES, "float32")
    assert not report.success
    fails = set(report.failures)
    missing = "array missing (not in the manifest, or no readable file)"
    assert f"{store.array_path('train', 'mfcc', a)}: {missing}" in fails
    assert f"{store.array_path('train', 'emotion', b)}: {missing}" in fails
    assert f"{store.array_path('train', 'wav2vec', c)}: {missing}" in fails  # stream not there
    assert f"{short}: frames != {FRAMES}" in fails
    assert f"{nan}: NaN/inf values" in fails
    assert f"{nan}: bytes differ from the manifest's sha256" in fails
    wrong_dim = f"{store.array_path('train', 'mfcc', c)}: not (frames, dim) with the stream's dim"
    assert wrong_dim not in fails  # a missing array is reported once, as missing
