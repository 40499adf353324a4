import pytest
import torch

from reactdiff.models.mmt import MMT, MMTConfig
from reactdiff.models.standardize import Standardizer
from reactdiff.training.mmt import mmt_config
from tests.helpers.params import params_with

DIMS = {"au": 15, "fe": 8, "va": 2, "wav2vec": 12, "mfcc": 26}
TOY = {
    "face_dim": 58, "emotion_dim": 25, "hidden_dim": 32, "latent_dim": 8, "heads": 4, "depth": 1,
    "decoder_layers": 2, "ff_dim": 128, "dropout": 0.1, "window": 50, "decoder_window": 0,
}  # fmt: skip


def _cfg(video: dict, audio: dict, **overrides) -> MMTConfig:
    """A toy MMT over the given streams (REACT output dims)."""
    return MMTConfig(video, audio, **{**TOY, **overrides})


def _inputs(cfg: MMTConfig, b=2, t=100):
    g = torch.Generator().manual_seed(0)
    dims = {**cfg.video_streams, **cfg.audio_streams}
    return {n: torch.randn(b, t, d, generator=g) for n, d in dims.items()}


@pytest.mark.parametrize(
    ("video", "audio"),
    [
        (["au", "fe", "va"], ["wav2vec", "mfcc"]),
        (["au"], ["mfcc"]),
        (["au", "va"], []),
        ([], ["mfcc"]),
    ],
)
def test_any_subset_of_streams(video, audio):
    cfg = _cfg(
        {n: DIMS[n] for n in video},
        {n: DIMS[n] for n in audio},
        hidden_dim=32,
        latent_dim=8,
        heads=4,
    )
    model = MMT(cfg).eval()
    z = model.encode(_inputs(cfg))
    assert z.shape == (2, 100, 8)
    face, emotion = model.decode(z)
    assert face.shape == (2, 100, 58) and emotion.shape == (2, 100, 25)


def test_every_stream_matters():
    torch.manual_seed(0)
    cfg = _cfg(
        {"au": 15, "fe": 8, "va": 2},
        {"wav2vec": 12, "mfcc": 26},
        hidden_dim=32,
        latent_dim=8,
        heads=4,
    )
    model = MMT(cfg).eval()
    x = _inputs(cfg)
    base = model.encode(x)
    for name in x:
        changed = {**x, name: x[name] + 1.0}
        assert not torch.allclose(model.encode(changed), base), name


def test_decoder_uses_positions():
    torch.manual_seed(0)
    model = MMT(_cfg({"au": 15}, {}, hidden_dim=32, latent_dim=8, heads=4)).eval()
    constant = torch.ones(1, 40, 8)  # the same latent at every frame
    face, _ = model.decode(constant)
    assert not torch.allclose(face[0, 0], face[0, 20], atol=1e-4)


def test_missing_stream_is_named():
    model = MMT(_cfg({"au": 15}, {"mfcc": 26}, hidden_dim=32, latent_dim=8, heads=4))
    with pytest.raises(KeyError, match="mfcc"):
        model.encode({"au": torch.zeros(1, 10, 15)})


def test_standardizer_round_trip():
    x = torch.randn(4, 100, 58) * torch.linspace(0.01, 5, 58) + 3
    std = Standardizer.fit(x)
    z = std(x)
    assert torch.allclose(z.reshape(-1, 58).mean(0), torch.zeros(58), atol=1e-4)
    assert torch.allclose(std.inverse(z), x, atol=1e-5)


@pytest.mark.slow
def test_paper_scale_forward_backward_on_cpu():
    params = params_with(
        {
            "mmt": {
                "scale": "paper",
                "video_streams": ["au", "fe", "va"],
                "audio_streams": ["wav2vec", "mfcc"],
            },
            "features": {"streams": ["au", "fe", "va", "wav2vec", "mfcc"]},
        }
    )
    model = MMT(mmt_config(params.mmt, params.benchmarks.paper_feature_dims))
    assert model.cfg.hidden_dim == 1024 and model.cfg.latent_dim == 128
    x = _inputs(model.cfg, b=1, t=750)
    face, emotion = model(x)
    (face.square().mean() + emotion.abs().mean()).backward()
    assert face.shape == (1, 750, 58)
    assert all(p.grad is not None for p in model.parameters() if p.requires_grad)


def test_encoder_window_limits_what_a_latent_sees():
    torch.manual_seed(0)
    cfg = _cfg({"au": 15}, {"mfcc": 26}, hidden_dim=32, latent_dim=8, heads=4, window=50)
    model = MMT(cfg).eval()
    x = _inputs(cfg, b=1, t=150)
    later = {n: v.clone() for n, v in x.items()}
    for v in later.values():
        v[:, 100:] += 3.0  # change only the third window
    z, z_later = model.encode(x), model.encode(later)
    assert torch.equal(z[:, :100], z_later[:, :100])
    assert not torch.allclose(z[:, 100:], z_later[:, 100:])
    with pytest.raises(ValueError, match="not a multiple of the window 50"):
        model.encode(_inputs(cfg, b=1, t=120))


def test_shifted_decoder_windows_pass_context_across_borders():
    torch.manual_seed(0)
    cfg = _cfg(
        {"au": 15},
        {},
        hidden_dim=32,
        latent_dim=8,
        heads=4,
        decoder_layers=2,
        decoder_window=50,
        dropout=0.0,
    )
    model = MMT(cfg).eval()
    z = torch.randn(1, 150, 8)
    changed = z.clone()
    changed[:, 45] += 5.0  # frame 45 is in the first window of layer 0
    face, face_changed = model.decode(z)[0], model.decode(changed)[0]
    assert not torch.allclose(face[:, 55], face_changed[:, 55])  # reached via the shifted layer
    # but not beyond the next border (frames 125-149 share a shifted window with 0-24: cyclic)
    assert torch.allclose(face[:, 75:125], face_changed[:, 75:125])
