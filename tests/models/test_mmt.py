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


def _windowed(**overrides) -> MMT:
    torch.manual_seed(0)
    cfg = _cfg(
        {"au": 15}, {}, hidden_dim=32, latent_dim=8, heads=4, decoder_layers=2,
        decoder_window=50, dropout=0.0, **overrides,
    )  # fmt: skip
    return MMT(cfg).eval()


def test_block_causal_decoder_sees_back_its_layers_windows_and_never_ahead():
    model = _windowed()
    z = torch.randn(1, 250, 8)
    changed = z.clone()
    changed[:, 120] += 5.0  # a frame of the third window
    face, face_changed = model.decode(z)[0], model.decode(changed)[0]
    assert torch.equal(face[:, :100], face_changed[:, :100])  # earlier windows: bit-identical
    assert not torch.allclose(face[:, 100:105], face_changed[:, 100:105])  # its own window
    assert not torch.allclose(face[:, 245:], face_changed[:, 245:])  # 2 layers: 2 windows on


def test_decoding_window_by_window_equals_decoding_the_whole():
    model = _windowed()
    z = torch.randn(3, 200, 8)
    with torch.no_grad():
        whole = model.decode(z)
        cache, parts = model.new_decoder_cache(), []
        for start in range(0, 200, 50):
            out, cache = model.decode_window(z[:, start : start + 50], start, cache)
            parts.append(out)
    for k, full in enumerate(whole):
        assert torch.allclose(torch.cat([p[k] for p in parts], 1), full, atol=1e-5)


def test_decoder_positions_repeat_every_two_windows():
    model = _windowed()
    assert torch.equal(model.positions(0, 100, None), model.positions(100, 100, None))
    assert not torch.equal(model.positions(0, 50, None), model.positions(50, 50, None))


def test_window_by_window_decoding_needs_a_windowed_decoder():
    model = MMT(_cfg({"au": 15}, {}, decoder_window=0)).eval()
    with pytest.raises(ValueError, match="decoder_window > 0"):
        model.decode_window(torch.zeros(1, 50, 8), 0, model.new_decoder_cache())
