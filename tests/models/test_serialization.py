"""Model and checkpoint files are untrusted input: loading one never runs code from it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

from reactdiff.errors import DataFileError
from reactdiff.models import load_model
from reactdiff.models.reactdiff import ReactDiff
from reactdiff.models.serialization import load_state_file
from reactdiff.training.checkpoint import load_checkpoint
from reactdiff.training.mmt import load_mmt


class _Payload:
    """Unpickling this creates ``marker``: what a crafted .pt file could do instead."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.makedirs, (str(self.marker),))


LOADERS = {
    "ReactDiff.load": ReactDiff.load,
    "load_model": load_model,
    "load_mmt": load_mmt,
    "load_checkpoint": load_checkpoint,
}


@pytest.mark.parametrize("loader", LOADERS.values(), ids=LOADERS.keys())
def test_a_crafted_pickle_is_refused_without_running(tmp_path, loader):
    marker = tmp_path / "pwned"
    crafted = tmp_path / "model.pt"
    torch.save({"state_dict": {}, "x": _Payload(marker)}, crafted)
    with pytest.raises(DataFileError, match="refused") as err:
        loader(crafted)
    assert err.value.path == crafted
    assert str(crafted) in str(err.value)
    assert not marker.exists()


@pytest.mark.parametrize("loader", LOADERS.values(), ids=LOADERS.keys())
def test_a_file_that_is_not_a_model_names_itself(tmp_path, loader):
    csv = tmp_path / "reactions.csv"
    csv.write_text("a,b\n1,2\n")
    with pytest.raises(DataFileError, match="not a PyTorch file") as err:
        loader(csv)
    assert err.value.path == csv


def test_a_torch_file_of_another_kind_names_what_is_missing(tmp_path):
    other = tmp_path / "mmt.pt"
    torch.save({"config": {}, "state_dict": {}}, other)
    with pytest.raises(DataFileError, match="not a ReactDiff model file: missing mmt_config"):
        ReactDiff.load(other)


def test_a_missing_file_is_named(tmp_path):
    with pytest.raises(DataFileError, match="training checkpoint not found"):
        load_state_file(tmp_path / "none.pt", "training checkpoint")


def test_tensors_and_plain_data_load(tmp_path):
    path = tmp_path / "ok.pt"
    torch.save({"w": torch.ones(2), "cfg": {"a": 1, "b": (0.9, 0.99), "name": "x"}}, path)
    state = load_state_file(path, "file", ("w", "cfg"))
    assert torch.equal(state["w"], torch.ones(2)) and state["cfg"]["b"] == (0.9, 0.99)


def _tiny_mmt_file(path: Path, rename: dict[str, str] | None = None) -> Path:
    """An MMT model file, its weight names changed as ``rename`` says."""
    from reactdiff.models.mmt import MMT, MMTConfig

    cfg = MMTConfig({"au": 3}, {}, 58, 25, 8, 4, 2, 1, 1, 16, 0.0, 10, 10)
    weights = {rename.get(k, k) if rename else k: v for k, v in MMT(cfg).state_dict().items()}
    std = {"mean": torch.zeros(58), "std": torch.ones(58)}
    config = {**cfg.__dict__}
    torch.save({"config": config, "state_dict": weights, "standardizer_3dmm": std}, path)
    return path


def test_weights_of_another_architecture_are_named_not_loaded(tmp_path):
    assert load_mmt(_tiny_mmt_file(tmp_path / "ok.pt"))[0].cfg.decoder_window == 10
    old = "decoder.layers.0.attend.attn.in_proj_weight"  # as an older decoder named it:
    path = _tiny_mmt_file(tmp_path / "old.pt", {old: "decoder.layers.0.self_attn.in_proj_weight"})
    with pytest.raises(DataFileError, match=r"old\.pt.*do not fit this version.*missing decoder"):
        load_mmt(path)
