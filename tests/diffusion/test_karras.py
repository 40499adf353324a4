"""The EDM pieces: scalings against Karras et al.'s formulas, the sigma schedules, and the
DPM-Solver++(2M) SDE sampler on Gaussian data, whose optimal denoiser is known."""

import math

import pytest
import torch

from reactdiff.diffusion.karras import (
    cosine_sigmas,
    edm_scalings,
    karras_sigmas,
    sample_dpmpp_2m_sde,
)


@pytest.mark.parametrize("sigma", [0.01, 0.3, 1.0, 80.0])
def test_edm_scalings_match_the_formulas(sigma):
    sd = 0.5
    s = edm_scalings(torch.tensor([sigma], dtype=torch.float64), sd)
    assert s.c_skip.item() == pytest.approx(sd**2 / (sigma**2 + sd**2))
    assert s.c_out.item() == pytest.approx(sigma * sd / math.sqrt(sigma**2 + sd**2))
    assert s.c_in.item() == pytest.approx(1 / math.sqrt(sigma**2 + sd**2))
    assert s.c_noise.item() == pytest.approx(math.log(sigma) / 4)
    # the network's input and target have unit variance for data of std sd
    assert (s.c_in**2 * (sd**2 + sigma**2)).item() == pytest.approx(1)


def test_karras_sigmas_run_from_max_to_min_then_zero():
    sigmas = karras_sigmas(10, 0.01, 80.0)
    assert len(sigmas) == 11 and sigmas[-1] == 0
    assert sigmas[0].item() == pytest.approx(80.0) and sigmas[-2].item() == pytest.approx(0.01)
    assert torch.all(sigmas[1:] < sigmas[:-1])


def test_cosine_density_spans_the_range_and_small_u_is_least_noisy():
    u = torch.linspace(0, 0.999999, 1001)
    sigmas = cosine_sigmas(u, 0.5, 0.01, 80.0)
    assert sigmas[0].item() == pytest.approx(0.01, rel=1e-4)
    assert sigmas[-1].item() == pytest.approx(80.0, rel=1e-3)
    assert torch.all(sigmas[1:] > sigmas[:-1])
    assert cosine_sigmas(torch.tensor([0.1]), 0.5, 0.01, 80.0).item() < 0.1  # the prior share


@pytest.mark.parametrize("eta", [0.0, 1.0])
def test_sampler_draws_gaussian_data_with_the_optimal_denoiser(eta):
    """Data N(mu, s^2) per dimension: D(x; sigma) = mu + s^2 / (s^2 + sigma^2) (x - mu)."""
    mu, s = torch.tensor([1.0, -2.0]), torch.tensor([0.5, 0.2])

    def denoise(x, sigma):
        v = sigma[:, None] ** 2
        return mu + s**2 / (s**2 + v) * (x - mu)

    g = torch.Generator().manual_seed(0)
    sigmas = karras_sigmas(30, 0.01, 80.0).double()
    x = torch.randn(20000, 2, generator=g, dtype=torch.float64) * sigmas[0]
    out = sample_dpmpp_2m_sde(
        lambda x, sg: denoise(x, sg).double(), x, sigmas, eta=eta, generator=g
    )
    assert torch.allclose(out.mean(0).float(), mu, atol=0.02)
    assert torch.allclose(out.std(0).float(), s, rtol=0.05)
