"""``load_model`` loads any registered family's file by the family name it carries; a file from
before families is the latent ReactDiff."""

from __future__ import annotations

import pytest
import torch

from reactdiff.diffusion.schedule import DDIMScheduler, SchedulerConfig
from reactdiff.errors import DataFileError
from reactdiff.models import load_model
from reactdiff.models.denoiser import DenoiserConfig, LatentDiffusion
from reactdiff.models.family import ReactionModel, Reconstructs
from reactdiff.models.mmt import MMT, MMTConfig
from reactdiff.models.postprocess import EmotionLayout
from reactdiff.models.reactdiff import ReactDiff
from reactdiff.models.registry import FAMILIES
from reactdiff.models.standardize import LatentTransform, Standardizer
from tests.helpers.toy_family import ToyMirror, register_toy_family

STREAMS = {"emotion": 25, "mfcc": 26}


def _reactdiff() -> ReactDiff:
    """An untrained latent ReactDiff of the smallest sizes."""
    torch.manual_seed(0)
    mmt = MMT(MMTConfig({"emotion": 25}, {"mfcc": 26}, 58, 25, 16, 8, 2, 1, 1, 32, 0.0, 10, 10))
    scheduler = DDIMScheduler(SchedulerConfig(10, "squaredcos_cap_v2", "epsilon", True))
    diffusion = LatentDiffusion(DenoiserConfig(10, 8, 8, 8, (1, 2), 1, 8, 4, 0.0, 0.0), scheduler)
    layout = EmotionLayout.from_slices(slice(0, 15), slice(15, 17), slice(17, 25))
    std3 = Standardizer(torch.zeros(58), torch.ones(58))
    return ReactDiff(mmt, std3, LatentTransform.identity(8), diffusion, layout)


def test_a_reactdiff_file_names_its_family_and_loads_as_one(tmp_path):
    path = tmp_path / "reactdiff.pt"
    _reactdiff().save(path)
    assert torch.load(path, weights_only=True)["family"] == "reactdiff-latent"
    model = load_model(path)
    assert isinstance(model, ReactDiff) and isinstance(model, ReactionModel)
    assert isinstance(model, Reconstructs)
    assert model.speaker_streams == STREAMS


def test_a_file_from_before_families_is_the_latent_reactdiff(tmp_path):
    path = tmp_path / "old.pt"
    _reactdiff().save(path)
    state = torch.load(path, weights_only=True)
    del state["family"]
    torch.save(state, path)
    model = load_model(path)
    speaker = {s: torch.randn(20, d) for s, d in STREAMS.items()}
    loaded = model.generate(speaker, 2, seed=3, steps=2)
    same = ReactDiff.load(path).generate(speaker, 2, seed=3, steps=2)
    assert all(torch.equal(a, b) for a, b in zip(loaded, same, strict=True))


def test_another_familys_model_round_trips(tmp_path, monkeypatch):
    register_toy_family(monkeypatch)
    toy = ToyMirror(STREAMS)
    with torch.no_grad():
        toy.gain.fill_(0.25)
    toy.save(tmp_path / "toy.pt", history=[1.0])
    model = load_model(tmp_path / "toy.pt")
    assert isinstance(model, ToyMirror) and isinstance(model, ReactionModel)
    assert not isinstance(model, Reconstructs)
    assert model.gain.item() == 0.25 and model.speaker_streams == STREAMS
    with pytest.raises(DataFileError, match="not a ReactDiff model file: a model of the family"):
        ReactDiff.load(tmp_path / "toy.pt")


def test_an_unknown_family_names_the_file_and_the_known_ones(tmp_path):
    path = tmp_path / "future.pt"
    torch.save({"family": "reactdiff-future", "state_dict": {}}, path)
    with pytest.raises(
        DataFileError,
        match=r"unknown family 'reactdiff-future'.*\['reactdiff-kin', 'reactdiff-latent'\]",
    ) as err:
        load_model(path)
    assert err.value.path == path
    assert "toy-mirror" not in FAMILIES  # registered for one test only


def test_an_old_incompatible_file_says_retrain(tmp_path):
    path = tmp_path / "old.pt"
    _reactdiff().save(path)
    state = torch.load(path, weights_only=True)
    weights = state["state_dict"]
    weights["mmt.renamed"] = weights.pop(next(k for k in weights if k.startswith("mmt.")))
    torch.save(state, path)
    with pytest.raises(DataFileError, match=r"do not fit this version.*retrain \(dvc repro\)"):
        load_model(path)


def test_a_model_file_missing_an_entry_names_it(tmp_path):
    path = tmp_path / "partial.pt"
    torch.save({"family": "reactdiff-latent", "state_dict": {}}, path)
    with pytest.raises(DataFileError, match="not a ReactDiff model file: missing mmt_config"):
        load_model(path)
