import numpy as np
import pytest
import torch

from reactdiff.data.layout import ReactLayout
from reactdiff.errors import DataFileError
from reactdiff.features.dataset import PairFeatureDataset
from reactdiff.features.store import FeatureStore
from reactdiff.stages.split import write_splits

from .conftest import FRAMES


@pytest.fixture(scope="module")
def splits_dir(tiny_drop_master, tmp_path_factory):
    out = tmp_path_factory.mktemp("splits") / "splits"
    write_splits(tiny_drop_master, out)
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
