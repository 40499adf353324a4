import math

import pytest
import torch

from reactdiff.diffusion.schedule import DDIMScheduler, SchedulerConfig


def _scheduler(steps: int = 20, clip_sample: bool = False) -> DDIMScheduler:
    cfg = SchedulerConfig(steps, "squaredcos_cap_v2", "epsilon", clip_sample=clip_sample)
    return DDIMScheduler(cfg)


def _cosine_abar(t: int, steps: int) -> float:
    """alpha-bar after step t of the uncapped cosine schedule (independent closed form)."""

    def f(s: float) -> float:
        return math.cos((s + 0.008) / 1.008 * math.pi / 2) ** 2

    return f((t + 1) / steps) / f(0)


def test_cosine_schedule_matches_closed_form():
    s = _scheduler()
    expected = torch.tensor([_cosine_abar(t, 20) for t in range(19)], dtype=torch.float64)
    torch.testing.assert_close(s.alphas_cumprod[:19], expected)
    assert s.betas.max() <= 0.999  # the last beta is capped, abar_{T-1} ~ 0
    assert s.alphas_cumprod[-1] < 1e-3
    assert (s.alphas_cumprod.diff() < 0).all()


def test_add_noise_is_the_closed_form():
    s = _scheduler()
    g = torch.Generator().manual_seed(0)
    x0, eps = torch.randn(6, 50, 32, generator=g), torch.randn(6, 50, 32, generator=g)
    t = torch.tensor([0, 3, 7, 12, 18, 19])
    out = s.add_noise(x0, eps, t)
    for i, ti in enumerate(t.tolist()):
        abar = s.alphas_cumprod[ti].item() if ti == 19 else _cosine_abar(ti, 20)
        expected = math.sqrt(abar) * x0[i] + math.sqrt(1 - abar) * eps[i]
        torch.testing.assert_close(out[i], expected)


@pytest.mark.parametrize(("n", "first"), [(20, 19), (10, 19), (7, 19), (1, 19)])
def test_set_timesteps_descends_from_the_noisiest_step(n, first):
    s = _scheduler()
    s.set_timesteps(n)
    ts = s.timesteps.tolist()
    assert len(ts) == n and ts[0] == first and ts == sorted(set(ts), reverse=True) and ts[-1] >= 0
    if n == 20:
        assert ts == list(range(19, -1, -1))


@pytest.mark.parametrize("n", [0, 21])
def test_set_timesteps_rejects_out_of_range(n):
    with pytest.raises(ValueError, match="num_inference_steps"):
        _scheduler().set_timesteps(n)


def test_step_rejects_a_timestep_not_in_the_schedule():
    s = _scheduler()
    s.set_timesteps(10)
    x = torch.zeros(1, 2, 4)
    with pytest.raises(ValueError, match="not one of"):
        s.step(x, 18, x)


def _sample(s: DDIMScheduler, eps_fn, x_t: torch.Tensor, steps: int, eta: float, seed: int):
    s.set_timesteps(steps)
    g = torch.Generator().manual_seed(seed)
    for t in s.timesteps.tolist():
        x_t = s.step(eps_fn(x_t, t), t, x_t, eta=eta, generator=g)
    return x_t


def _fake_net(x: torch.Tensor, t: int) -> torch.Tensor:
    return torch.tanh(x * 0.7 + t / 10)


def test_eta_zero_is_deterministic_given_the_noise():
    s = _scheduler()
    noise = torch.randn(3, 50, 32, generator=torch.Generator().manual_seed(1))
    a = _sample(s, _fake_net, noise.clone(), 20, 0.0, seed=1)
    b = _sample(s, _fake_net, noise.clone(), 20, 0.0, seed=2)  # the generator is not used
    assert torch.equal(a, b)
    c = _sample(s, _fake_net, noise.clone(), 20, 1.0, seed=1)
    d = _sample(s, _fake_net, noise.clone(), 20, 1.0, seed=2)
    assert not torch.allclose(c, d)  # eta > 0 draws fresh noise at every step
    assert torch.equal(c, _sample(s, _fake_net, noise.clone(), 20, 1.0, seed=1))


@pytest.mark.parametrize(("steps", "eta"), [(20, 0.0), (7, 0.0), (1, 0.0), (20, 1.0), (5, 0.5)])
def test_sampling_with_an_oracle_recovers_x0(steps, eta):
    s = _scheduler()
    g = torch.Generator().manual_seed(0)
    x0 = torch.randn(4, 50, 32, generator=g)

    def oracle(x_t, t):
        abar = s.alphas_cumprod[t].float()
        return (x_t - abar.sqrt() * x0) / (1 - abar).sqrt()

    out = _sample(s, oracle, torch.randn(4, 50, 32, generator=g), steps, eta, seed=3)
    torch.testing.assert_close(out, x0, atol=1e-4, rtol=1e-4)


def test_clipping_x0_keeps_a_poor_prediction_in_range_and_leaves_a_good_one_alone():
    """At t = T - 1 alpha-bar is 6e-6: a noise prediction off by 0.1 puts x0 ~40 sd away."""
    s, clipping = _scheduler(), _scheduler(clip_sample=True)
    g = torch.Generator().manual_seed(0)
    x0 = torch.randn(4, 50, 32, generator=g).clamp(-2, 2)
    x0_range = (torch.full((32,), -2.0), torch.full((32,), 2.0))

    def oracle(x_t, t):
        abar = s.alphas_cumprod[t].float()
        return (x_t - abar.sqrt() * x0) / (1 - abar).sqrt()

    noise = torch.randn(4, 50, 32, generator=g)
    s.set_timesteps(20)
    t, t_next = s.timesteps[:2].tolist()
    eps = oracle(noise, t) + 0.1
    abar_next = s.alphas_cumprod[t_next].float()

    def x0_of(x_next):  # the x0 that step() used, recovered from its output
        return (x_next - (1 - abar_next).sqrt() * eps) / abar_next.sqrt()

    assert x0_of(s.step(eps, t, noise)).abs().max() > 30
    assert torch.equal(s.step(eps, t, noise, x0_range=x0_range), s.step(eps, t, noise))
    clipping.set_timesteps(20)
    clipped = x0_of(clipping.step(eps, t, noise, x0_range=x0_range))
    assert clipped.min() >= -2 - 1e-3 and clipped.max() <= 2 + 1e-3
    x_t = noise.clone()  # the oracle's x0 lies in the range: clipping changes nothing
    for t in clipping.timesteps.tolist():
        x_t = clipping.step(oracle(x_t, t), t, x_t, x0_range=x0_range)
    torch.testing.assert_close(x_t, x0, atol=1e-4, rtol=1e-4)
    with pytest.raises(ValueError, match="needs the x0_range"):
        clipping.step(eps, t, noise)


def test_config_round_trips_and_rejects_what_is_not_implemented():
    cfg = _scheduler(clip_sample=True).config
    assert SchedulerConfig.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(ValueError, match="only squaredcos_cap_v2"):
        SchedulerConfig(20, "linear", "epsilon", True)
    with pytest.raises(ValueError, match="only epsilon"):
        SchedulerConfig(20, "squaredcos_cap_v2", "v_prediction", True)
