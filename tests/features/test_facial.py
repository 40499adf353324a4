import shutil

import numpy as np
import pytest
import torch
from torch import nn

from reactdiff.config import FacialParams, FeaturesParams
from reactdiff.data.formats.react2024 import REACT2024, ReactLayout
from reactdiff.errors import ConfigError, DataFileError
from reactdiff.features.extract import split_clips
from reactdiff.features.facial import AnnotationExtractor, TorchScriptExtractor
from reactdiff.features.store import FeatureStore
from reactdiff.features.streams import build_extractors
from tests.helpers.params import repo_params

from .conftest import FPS, FRAMES, extract

PAPER_DIMS = {"va": 64, "au": 25088, "fe": 1408}


class _Head(nn.Module):
    """Pools the (B, 3, 224, 224) batch and maps it to ``shape`` per frame."""

    def __init__(self, *shape: int) -> None:
        super().__init__()
        self.shape = shape
        self.proj = nn.Linear(3, int(np.prod(shape)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(x.mean(dim=(2, 3))).reshape(len(x), *self.shape)


@pytest.fixture(scope="module")
def modules(tmp_path_factory) -> dict:
    """Scripted va (64), au (512x7x7 = 25088, flattened) and fe (1408) predictors."""
    torch.manual_seed(0)
    folder = tmp_path_factory.mktemp("torchscript")
    paths = {}
    for name, shape in {"va": (64,), "au": (512, 7, 7), "fe": (1408,)}.items():
        paths[name] = folder / f"{name}.pt"
        torch.jit.script(_Head(*shape)).save(str(paths[name]))
    return paths


def _facial(**kw) -> FacialParams:
    """The repository's facial params with ``kw`` replaced."""
    return repo_params().features.facial.model_copy(update=kw)


def _params(modules, **kw) -> FacialParams:
    return _facial(backend="torchscript", device="cpu", batch_size=128, **modules, **kw)


def _features(**kw) -> FeaturesParams:
    return repo_params().features.model_copy(update=kw)


def test_torchscript_streams_on_a_synthetic_mp4(modules, tiny_drop_master):
    ex = TorchScriptExtractor(_params(modules), ["va", "au", "fe"], FRAMES)
    assert ex.dims() == PAPER_DIMS
    layout = ReactLayout(tiny_drop_master)
    rel = layout.clips("val")[0]
    assert layout.video_path("val", rel).suffix == ".mp4"
    out = ex.extract(layout, "val", rel, ["va", "au", "fe"])
    for stream, dim in PAPER_DIMS.items():
        assert out[stream].shape == (FRAMES, dim) and np.isfinite(out[stream]).all()
    assert out["va"].std(axis=0).max() > 0  # the face moves, the features follow


def test_preprocessing_resizes_crops_and_normalises(modules):
    ex = TorchScriptExtractor(_params(modules), ["va"], FRAMES)
    frames = np.zeros((2, 100, 200, 3), np.uint8)  # 100 x 200 -> 256 x 512 -> centre 224
    frames[:, :, 50:150] = 255  # a white centre band, black sides
    x = ex.preprocess(frames)
    assert x.shape == (2, 3, 224, 224)
    assert torch.allclose(x[..., 112], torch.ones(()))  # white -> (1 - 0.5) / 0.5
    assert torch.allclose(x[..., 0], torch.ones(()))  # the band is 256 wide after resizing
    black = ex.preprocess(np.zeros((1, 224, 224, 3), np.uint8))
    assert torch.allclose(black, -torch.ones(()))


def test_stage_stores_torchscript_streams(modules, tiny_drop_master, tmp_path):
    params = _features(streams=("va", "fe"), facial=_params(modules))
    rel = split_clips(ReactLayout(tiny_drop_master))["test"][0]
    summary = extract(tiny_drop_master, tmp_path / "store", {"test": [rel]}, params=params)
    assert summary.streams == ("emotion", "3dmm", "va", "fe")
    dims = FeatureStore(tmp_path / "store").stream_dims(["va", "fe", "emotion"])
    assert dims == {"va": 64, "fe": 1408, "emotion": 25}


def test_torchscript_streams_need_the_backend_and_the_paths(modules, tmp_path):
    with pytest.raises(ConfigError, match=r"need features\.facial\.backend: torchscript"):
        build_extractors(_features(streams=("va",)), ["va"], REACT2024)
    with pytest.raises(ConfigError, match=r"features\.facial\.au: not set"):
        TorchScriptExtractor(_facial(backend="torchscript", va=modules["va"]), ["au"], FRAMES)
    missing = tmp_path / "fe.pt"
    with pytest.raises(ConfigError, match=rf"features\.facial\.fe: {missing} not found"):
        TorchScriptExtractor(_facial(backend="torchscript", fe=missing), ["fe"], FRAMES)


def test_annotations_are_the_clips_own_emotion_and_3dmm(tiny_drop_master):
    layout = ReactLayout(tiny_drop_master)
    rel = layout.clips("train")[0]
    emotion = AnnotationExtractor("emotion", FRAMES).extract(layout, "train", rel, ["emotion"])
    assert emotion["emotion"].shape == (FRAMES, 25)
    face = AnnotationExtractor("3dmm", FRAMES).extract(layout, "train", rel, ["3dmm"])
    stored = np.load(layout.clip_path("train", rel, "3dmm"))  # (751, 1, 58) in this drop
    np.testing.assert_array_equal(face["3dmm"], stored.reshape(-1, 58)[:FRAMES])


def test_a_short_video_is_an_error_naming_it(modules, tiny_drop):
    import av

    layout = ReactLayout(tiny_drop)
    rel = layout.clips("test")[0]
    path = layout.video_path("test", rel)
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=FPS)
        stream.width = stream.height = 32
        for _ in range(10):
            frame = av.VideoFrame.from_ndarray(np.zeros((32, 32, 3), np.uint8), format="rgb24")
            out.mux(stream.encode(frame))
        out.mux(stream.encode())
    ex = TorchScriptExtractor(_params(modules), ["va"], FRAMES)
    with pytest.raises(DataFileError, match=rf"{path}: has 10 frames, need {FRAMES}"):
        ex.extract(layout, "test", rel, ["va"])


def test_a_module_counts_by_its_bytes_not_its_path(modules, tmp_path):
    moved = tmp_path / "elsewhere" / "predictor.pt"
    moved.parent.mkdir()
    shutil.copy(modules["va"], moved)
    here = TorchScriptExtractor(_params(modules), ["va"], FRAMES)
    there = TorchScriptExtractor(_params({**modules, "va": moved}), ["va"], FRAMES)
    assert here.settings("va") == there.settings("va")
    assert str(tmp_path) not in str(there.settings("va"))
    other = TorchScriptExtractor(_params({**modules, "va": modules["fe"]}), ["va"], FRAMES)
    assert other.settings("va") != here.settings("va")


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without a GPU")
def test_cuda_without_a_gpu_is_a_config_error(modules):
    params = _facial(backend="torchscript", device="cuda", **modules)
    with pytest.raises(ConfigError, match=r"features\.facial\.device: device 'cuda' requested"):
        TorchScriptExtractor(params, ["va"], FRAMES)
