import dataclasses
import time

import pytest
import torch

from reactdiff.diffusion.schedule import DDIMScheduler, SchedulerConfig
from reactdiff.models.denoiser import ConditionEncoder, DenoiserConfig, LatentDiffusion, UNet1D
from reactdiff.training.ddim import make_latent_diffusion
from tests.helpers.params import params_with

W, L = 10, 16


def _config(window_size: int = W, latent_dim: int = L, **overrides) -> DenoiserConfig:
    toy = {"cond_dim": 32, "base_width": 16, "width_mults": (1, 2), "blocks_per_level": 1,
           "time_dim": 32, "groups": 4, "dropout": 0.1, "cfg_dropout": 0.0}  # fmt: skip
    return DenoiserConfig(window_size, latent_dim, **{**toy, **overrides})


TINY = _config()
SCHEDULER = SchedulerConfig(20, "squaredcos_cap_v2", "epsilon", clip_sample=False)


@pytest.fixture(autouse=True)
def _one_thread():
    """Tiny tensors: with 2 intra-op threads on 2 busy cores each op waits ~100x longer."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _model(seed: int = 0, clip_sample: bool = False, **overrides) -> LatentDiffusion:
    torch.manual_seed(seed)
    cfg = DenoiserConfig(**{**TINY.__dict__, **overrides})
    scheduler = DDIMScheduler(dataclasses.replace(SCHEDULER, clip_sample=clip_sample))
    return LatentDiffusion(cfg, scheduler).eval()


def _windows(n: int, seed: int) -> torch.Tensor:
    return torch.randn(n, W, L, generator=torch.Generator().manual_seed(seed))


def test_condition_encoder_shape():
    enc = ConditionEncoder(window_size=W, latent_dim=L, cond_dim=64, groups=8)
    z = enc(_windows(5, 0))
    assert z.shape == (5, 64) and z.min() > -0.28  # SiLU's minimum is about -0.278


@pytest.mark.parametrize("mults", [(1,), (1, 2), (1, 2, 2, 4)])
def test_unet_keeps_the_shape(mults):
    cfg = _config(W, 32, cond_dim=8, base_width=8, width_mults=mults, time_dim=16, groups=4)
    out = UNet1D(cfg)(torch.randn(3, W, 32), torch.tensor([0, 5, 19]), torch.randn(3, 8))
    assert out.shape == (3, W, 32)


def test_latent_dim_must_survive_the_downsampling():
    with pytest.raises(ValueError, match="divisible by 4"):
        _config(W, 18, width_mults=(1, 2, 2))


def test_prediction_depends_on_noise_level_and_condition():
    model = _model()
    x, speaker = _windows(4, 1), _windows(4, 2)
    t = torch.full((4,), 5)
    cond = model.condition(speaker)
    base = model.unet(x, t, cond)
    assert not torch.allclose(base, model.unet(x, t + 5, cond))
    assert not torch.allclose(base, model.unet(x, t, model.condition(speaker + 1)))


def test_every_parameter_is_trained():
    model = _model(cfg_dropout=0.5).train()
    model.loss(_windows(16, 1), _windows(16, 2), torch.Generator().manual_seed(0)).backward()
    untrained = [n for n, p in model.named_parameters() if p.grad is None or not p.grad.any()]
    assert untrained == []


def test_null_condition_only_with_cfg_dropout():
    assert _model().null_cond is None
    assert "null_cond" in dict(_model(cfg_dropout=0.1).named_parameters())
    with pytest.raises(ValueError, match="cfg_dropout"):
        _model().sample(_windows(2, 0), guidance=2.0)


def test_state_dict_round_trip_gives_an_identical_model():
    a, b = _model(seed=0, cfg_dropout=0.2), _model(seed=1, cfg_dropout=0.2)
    with torch.no_grad():
        a.null_cond.normal_()  # a trained, non-zero null condition
    keys = a.state_dict().keys()
    assert {"condition.proj.weight", "condition.norm.weight", "null_cond"} <= keys
    speaker, noise = _windows(3, 0), torch.randn(2, 3, W, L)

    def outputs(m):
        return (m.loss(_windows(3, 1), speaker, torch.Generator().manual_seed(0)),
                m.sample(speaker, 2, steps=4, guidance=2.0, noise=noise),
                m.sample(speaker, 2, steps=4, guidance=0.0, noise=noise))  # fmt: skip

    before = outputs(b)
    assert not any(torch.allclose(x, y) for x, y in zip(outputs(a), before, strict=True))
    b.load_state_dict(a.state_dict())
    for x, y in zip(outputs(a), outputs(b), strict=True):
        assert torch.equal(x, y)


def test_sample_shape_determinism_and_batching():
    model = _model()
    speaker = _windows(3, 0)
    noise = torch.randn(4, 3, W, L, generator=torch.Generator().manual_seed(5))
    out = model.sample(speaker, num_samples=4, steps=5, noise=noise)
    assert out.shape == (4, 3, W, L)
    assert torch.equal(out, model.sample(speaker, num_samples=4, steps=5, noise=noise))
    assert not torch.allclose(out[0], out[1])  # different noise, different reaction
    one = model.sample(speaker[1:2], num_samples=1, steps=5, noise=noise[2:3, 1:2])
    torch.testing.assert_close(one[0, 0], out[2, 1], atol=1e-3, rtol=1e-4)
    g = torch.Generator().manual_seed(9)
    drawn = model.sample(speaker, num_samples=2, steps=5, generator=g)
    assert torch.equal(drawn, model.sample(speaker, 2, steps=5, generator=g.manual_seed(9)))
    with pytest.raises(ValueError, match="noise must have shape"):
        model.sample(speaker, num_samples=2, noise=noise)


def test_samples_stay_in_the_x0_range():
    """The last DDIM step returns the predicted x0: clipped, it lies within the range."""
    model = _model()
    speaker = _windows(3, 0)
    noise = torch.randn(2, 3, W, L, generator=torch.Generator().manual_seed(1))
    free = model.sample(speaker, 2, steps=5, noise=noise)
    low, high = torch.linspace(-1.0, -0.5, L), torch.linspace(0.5, 1.0, L)
    clipping = _model(clip_sample=True)  # the same weights, a scheduler that clips
    clipped = clipping.sample(speaker, 2, steps=5, noise=noise, x0_range=(low, high))
    assert ((free < low) | (free > high)).any()  # an untrained model leaves the range
    assert (clipped >= low).all() and (clipped <= high).all()


def test_guidance_zero_ignores_the_speaker():
    model = _model(cfg_dropout=0.3)
    noise = torch.randn(2, 3, W, L)
    a = model.sample(_windows(3, 0), 2, steps=4, guidance=0.0, noise=noise)
    b = model.sample(_windows(3, 1), 2, steps=4, guidance=0.0, noise=noise)
    torch.testing.assert_close(a, b)
    assert not torch.allclose(a, model.sample(_windows(3, 0), 2, steps=4, noise=noise))


def test_training_reduces_the_loss():
    model = _model(dropout=0.0).train()
    x0, speaker = _windows(32, 1), _windows(32, 2)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    g = torch.Generator().manual_seed(0)

    def eval_loss() -> float:
        with torch.no_grad():
            return sum(
                model(x0, speaker, torch.Generator().manual_seed(s)).item() for s in range(4)
            )

    start = eval_loss()
    for _ in range(60):
        opt.zero_grad()
        model(x0, speaker, g).backward()
        opt.step()
    assert eval_loss() < 0.8 * start


def test_paper_scale_forward_and_backward_on_cpu():
    start = time.perf_counter()
    params = params_with(
        {"mmt": {"scale": "paper"}, "ddim": {"scale": "paper", "cfg_dropout": 0.1}}
    )
    model = make_latent_diffusion(params.ddim, params.mmt.sizes)
    assert model.condition.proj.out_features == 1024
    x0 = torch.randn(2, 50, 128)
    loss = model.loss(x0, torch.randn(2, 50, 128), torch.Generator().manual_seed(0))
    loss.backward()
    assert torch.isfinite(loss) and model.condition.proj.weight.grad.abs().sum() > 0
    with torch.no_grad():
        out = model.unet(x0, torch.tensor([3, 19]), torch.randn(2, 1024))
    assert out.shape == (2, 50, 128)
    print(f"paper scale: {time.perf_counter() - start:.1f} s")
