import numpy as np
import pytest
import torch

from reactdiff.data.formats.react2024 import ReactLayout
from reactdiff.errors import DataFileError
from reactdiff.features.dataset import PairFeatureDataset
from reactdiff.features.store import FeatureStore
from reactdiff.stages.split import write_splits

from .conftest import FRAMES


@pytest.fixture(scope="module")
def splits_dir(tiny_drop_master, tmp_path_factory):
    out = tmp_path_factory.mktemp("splits") / "splits"
    write_splits(ReactLayout(tiny_drop_master), out)
    return out


def test_items_in_mirrored_order_with_targets(tiny_store_master, tiny_drop_master, splits_dir):
    ds = PairFeatureDataset(tiny_store_master, "val", ["mfcc", "emotion"], splits_dir=splits_dir)
    pairs = ReactLayout(tiny_drop_master).pairs("val")
    assert len(ds) == 2 * len(pairs) and ds.dims == {"mfcc": 26, "emotion": 25}
    n = len(pairs)
    item = ds[n]  # first mirrored sample: row 0 with the roles swapped
    assert item["index"] == n
    assert set(item["speaker"]) == set(item["listener"]) == {"mfcc", "emotion"}
    assert item["speaker"]["mfcc"].shape == (FRAMES, 26)
    assert item["listener_3dmm"].shape == (FRAMES, 58)
    assert item["listener_emotion"].shape == item["speaker_emotion"].shape == (FRAMES, 25)
    assert all(t.dtype == torch.float32 for t in [*item["speaker"].values(), item["listener_3dmm"]])
    store = FeatureStore(tiny_store_master)
    listener = store.open("val", pairs[0].speaker, "emotion")
    assert isinstance(listener, np.memmap)  # arrays are memory-mapped, not loaded
    np.testing.assert_array_equal(item["listener_emotion"].numpy(), listener)
    np.testing.assert_array_equal(ds[0]["speaker_emotion"].numpy(), listener)
    batch = next(iter(torch.utils.data.DataLoader(ds, batch_size=3)))
    assert batch["speaker"]["mfcc"].shape == (3, FRAMES, 26)


def test_a_stream_not_in_the_store_is_an_error(tiny_store_master, splits_dir):
    with pytest.raises(DataFileError, match=r"manifest\.json: no \['wav2vec'\] array"):
        PairFeatureDataset(tiny_store_master, "train", ["wav2vec"], splits_dir=splits_dir)


def _mars(mars_master, split, clip_frames=None, seed=0):
    return PairFeatureDataset(
        mars_master / "store",
        split,
        ["mfcc", "emotion"],
        splits_dir=mars_master / "splits",
        clip_frames=clip_frames,
        seed=seed,
    )


def test_variable_length_clips_are_whole_or_seeded_windows(mars_master):
    whole = _mars(mars_master, "train")
    assert whole.lengths == [130, 170, 200, 160] * 2 and not whole.skipped
    assert whole[2]["speaker"]["mfcc"].shape == (200, 26)
    ds = _mars(mars_master, "train", clip_frames=150, seed=3)
    assert len(ds) == 6 and [p.speaker for p in ds.skipped] == [
        whole.samples[0].speaker,
        whole.samples[4].speaker,
    ]  # the 130-frame pair, both directions
    first = [ds.window(k) for k in range(len(ds))]
    assert all(w.stop - w.start == 150 for w in first)
    item = ds[1]  # the 200-frame pair: a window of its speaker's and listener's frames
    full = whole[2]
    w = first[1]
    torch.testing.assert_close(item["speaker"]["mfcc"], full["speaker"]["mfcc"][w])
    torch.testing.assert_close(item["listener_emotion"], full["listener_emotion"][w])
    assert [ds.window(k) for k in range(len(ds))] == first  # same epoch, same windows
    ds.set_epoch(1)
    assert [ds.window(k) for k in range(len(ds))] != first  # a new draw each epoch
    same_seed = _mars(mars_master, "train", clip_frames=150, seed=3)
    same_seed.set_epoch(1)
    assert [same_seed.window(k) for k in range(len(ds))] == [ds.window(k) for k in range(6)]


def test_no_pair_long_enough_is_an_error(mars_master):
    with pytest.raises(DataFileError, match="no val pair has 900 frames"):
        _mars(mars_master, "val", clip_frames=900)


def test_fixed_length_pairs_are_used_whole(tiny_store_master, splits_dir):
    ds = PairFeatureDataset(
        tiny_store_master, "val", ["mfcc"], splits_dir=splits_dir, clip_frames=FRAMES, seed=1
    )
    ds.set_epoch(5)
    assert all(ds.window(k) == slice(0, FRAMES) for k in range(len(ds)))
