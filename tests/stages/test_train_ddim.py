"""train_ddim on the tiny store, and the whole model's generation (offline and online)."""

import json

import pytest
import torch

from reactdiff.features.dataset import PairFeatureDataset
from reactdiff.models import load_model


@pytest.fixture(scope="module")
def trained(tiny_reactdiff):
    return tiny_reactdiff


def _speaker(params, model):
    test = PairFeatureDataset(
        params.features.out, "test", model.streams, splits_dir=params.split.out
    )
    return test[0]["speaker"]


def test_outputs(trained):
    _, tmp, summary = trained
    metrics = json.loads((tmp / "ddim.json").read_text())
    assert metrics == summary and metrics["epochs"] == 2
    assert (tmp / "plots_ddim" / "loss.csv").read_text().startswith("epoch,train_loss,val_loss")


def test_every_trained_tensor_is_saved(trained):
    _, tmp, _ = trained
    model = load_model(tmp / "reactdiff.pt")
    state = torch.load(tmp / "reactdiff.pt", weights_only=False)["state_dict"]
    assert set(model.state_dict()) == set(state)
    assert any(k.startswith("diffusion.condition.") for k in state)  # the paper's code lost these
    assert any(k.startswith("latent.") for k in state) and any(k.startswith("std3.") for k in state)


@pytest.mark.parametrize("online", [False, True])
def test_generate_shapes_format_and_seed(trained, online):
    params, tmp, _ = trained
    model = load_model(tmp / "reactdiff.pt")
    speaker = _speaker(params, model)
    face, emotion = model.generate(speaker, num_samples=3, online=online, seed=11)
    assert face.shape == (3, 750, 58) and emotion.shape == (3, 750, 25)
    assert set(emotion[..., :15].unique().tolist()) <= {0.0, 1.0}
    assert emotion[..., 15:17].abs().max() <= 1
    assert torch.allclose(emotion[..., 17:].sum(-1), torch.ones(3, 750), atol=1e-5)
    again = model.generate(speaker, num_samples=3, online=online, seed=11)
    assert torch.equal(face, again[0])
    assert not torch.equal(face[0], face[1])  # several different reactions


def test_batched_generate(trained):
    params, tmp, _ = trained
    model = load_model(tmp / "reactdiff.pt")
    speaker = _speaker(params, model)
    batch = {k: torch.stack([v, v]) for k, v in speaker.items()}
    face, emotion = model.generate(batch, num_samples=2, seed=1)
    assert face.shape == (2, 2, 750, 58) and emotion.shape == (2, 2, 750, 25)


def _long(speaker: dict, frames: int) -> dict:
    """The speaker's streams repeated to ``frames`` frames."""
    return {k: v.repeat(-(-frames // len(v)), 1)[:frames] for k, v in speaker.items()}


def test_a_clip_of_any_length_is_generated_in_chunks(trained):
    params, tmp, _ = trained
    model = load_model(tmp / "reactdiff.pt")
    speaker = _speaker(params, model)
    whole = model.generate(speaker, num_samples=2, seed=4)
    chunked = model.generate_clip(speaker, 2, 750, seed=4)
    assert all(torch.equal(a, b) for a, b in zip(whole, chunked, strict=True))  # 2024: as before
    for frames in (437, 1600):
        x = _long(speaker, frames)
        face, emotion = model.generate_clip(x, 2, 750, seed=4)
        assert face.shape == (2, frames, 58) and emotion.shape == (2, frames, 25)
        assert set(emotion[..., :15].unique().tolist()) <= {0.0, 1.0}
        assert torch.equal(emotion, model.generate_clip(x, 2, 750, seed=4)[1])
    x = _long(speaker, 1600)
    changed = {k: torch.cat([v[:750], v[750:] + 5.0]) for k, v in x.items()}
    first = model.generate_clip(x, 2, 750, seed=4)[0][:, :750]
    assert torch.equal(first, model.generate_clip(changed, 2, 750, seed=4)[0][:, :750])
    with pytest.raises(ValueError, match="chunk_frames 725 is not a multiple of the model's 50"):
        model.generate_clip(x, 2, 725)


def test_reconstruct_a_clip_of_any_length(trained):
    params, tmp, _ = trained
    model = load_model(tmp / "reactdiff.pt")
    speaker = _speaker(params, model)
    batch = {k: v[None] for k, v in speaker.items()}
    assert torch.equal(model.reconstruct_clip(speaker, 750)[1][0], model.reconstruct(batch)[1][0])
    face, emotion = model.reconstruct_clip(_long(speaker, 980), 750)
    assert face.shape == (1, 980, 58) and emotion.shape == (1, 980, 25)
