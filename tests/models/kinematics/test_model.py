"""The kinematics ReactDiff family: generation's shapes and format, the online stream's
causality and chunking, guidance, and the model file's round trip through ``load_model``."""

import pytest
import torch

from reactdiff.models import load_model
from reactdiff.models.family import ReactionModel
from reactdiff.training.kin import make_model
from tests.helpers.params import repo_params

DIMS = {"mfcc": 26, "emotion": 25, "3dmm": 58}
FAST = {"steps": 2}


@pytest.fixture(scope="module")
def model():
    """A demo-scale model with random weights (its zero-initialised output and attention
    projections too, so that the speaker matters)."""
    torch.manual_seed(0)
    m = make_model(repo_params(), DIMS)
    with torch.no_grad():
        for p in m.denoiser.parameters():
            p.add_(torch.randn_like(p) * 0.2)
    return m.eval()


def _speaker(frames, seed=0):
    g = torch.Generator().manual_seed(seed)
    return {s: torch.randn(frames, d, generator=g) for s, d in DIMS.items()}


def test_is_a_reaction_model(model):
    assert isinstance(model, ReactionModel) and model.can_stream
    assert model.speaker_streams == {"mfcc": 26, "emotion": 25, "3dmm": 58}


@pytest.mark.parametrize("online", [False, True])
def test_generate_shapes_format_and_seed(model, online):
    speaker = _speaker(100)
    face, emotion = model.generate(speaker, 3, online=online, seed=5, **FAST)
    assert face.shape == (3, 100, 58) and emotion.shape == (3, 100, 25)
    assert set(emotion[..., :15].unique().tolist()) <= {0.0, 1.0}
    assert emotion[..., 15:17].abs().max() <= 1
    assert torch.allclose(emotion[..., 17:].sum(-1), torch.ones(3, 100), atol=1e-5)
    again = model.generate(speaker, 3, online=online, seed=5, **FAST)
    assert torch.equal(face, again[0]) and not torch.equal(face[0], face[1])


def test_batched_generate_and_chunks(model):
    speaker = _speaker(150)
    batch = {k: torch.stack([v, v]) for k, v in speaker.items()}
    face, emotion = model.generate(batch, 2, seed=1, **FAST)
    assert face.shape == (2, 2, 150, 58) and emotion.shape == (2, 2, 150, 25)
    face, emotion = model.generate_clip(speaker, 2, 64, seed=1, **FAST)  # 3 chunks, padded
    assert face.shape == (2, 150, 58) and emotion.shape == (2, 150, 25)


@pytest.mark.parametrize("delay", [0, 7, 63])
def test_online_frames_ignore_later_speaker_frames(model, delay):
    """Output frames <= t are the same when speaker frames after t + delay change; later
    output frames do change (so the test can fail)."""
    base = _speaker(200)
    reference = model.generate(base, 2, online=True, seed=3, delay_frames=delay, **FAST)[0]
    for t in (10, 70, 130):
        changed = {k: v.clone() for k, v in base.items()}
        for v in changed.values():
            v[t + delay + 1 :] += 3.0
        face = model.generate(changed, 2, online=True, seed=3, delay_frames=delay, **FAST)[0]
        assert torch.equal(face[:, : t + 1], reference[:, : t + 1])
        assert not torch.equal(face, reference)


def test_stream_in_chunks_equals_one_push(model):
    speaker = _speaker(150)
    whole = model.generate(speaker, 2, online=True, seed=4, delay_frames=5, **FAST)
    session = model.stream(2, seed=4, delay_frames=5, **FAST)
    parts = [session.push({k: v[i : i + 7] for k, v in speaker.items()}) for i in range(0, 150, 7)]
    parts.append(session.finish())
    assert torch.equal(torch.cat([p[0] for p in parts], 1), whole[0])
    assert torch.equal(torch.cat([p[1] for p in parts], 1), whole[1])


def test_guidance_changes_the_samples(model):
    speaker = _speaker(64)
    plain = model.generate(speaker, 2, seed=2, guidance=1.0, **FAST)[0]
    guided = model.generate(speaker, 2, seed=2, guidance=2.0, **FAST)[0]
    assert guided.shape == plain.shape and not torch.equal(plain, guided)


def test_save_load_round_trip(model, tmp_path):
    model.save(tmp_path / "kin.pt", history=[])
    loaded = load_model(tmp_path / "kin.pt")
    assert type(loaded) is type(model) and loaded.cfg == model.cfg
    speaker = _speaker(70)
    a = model.generate(speaker, 2, seed=9, **FAST)
    b = loaded.generate(speaker, 2, seed=9, **FAST)
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
