"""The latent diffusion model and scheduler that the ddim/sampling params describe."""

import pytest

from reactdiff.errors import ConfigError
from reactdiff.training.ddim import denoiser_config, make_latent_diffusion, scheduler_config
from tests.helpers.params import params_with, raw_params


def test_paper_scale_sizes():
    params = params_with({"mmt": {"scale": "paper"}, "ddim": {"scale": "paper"}})
    cfg = denoiser_config(params.ddim, params.mmt.sizes)
    assert (cfg.window_size, cfg.latent_dim, cfg.cond_dim) == (50, 128, 1024)


def test_model_follows_the_params():
    params = params_with(
        {"ddim": {"cfg_dropout": 0.1, "num_train_timesteps": 10}, "sampling": {"steps": 10}}
    )
    model = make_latent_diffusion(params.ddim, params.mmt.sizes)
    assert model.scheduler.num_train_timesteps == 10
    assert model.scheduler.config == scheduler_config(params.ddim)
    assert model.null_cond is not None and model.null_cond.shape == (params.ddim.sizes.cond_dim,)
    assert model.cfg.latent_dim == params.mmt.sizes.latent_dim


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"sampling": {"steps": 30}}, "sampling.steps 30 exceeds"),
        ({"sampling": {"guidance": 2.0}}, "needs ddim.cfg_dropout"),
        ({"ddim": {"scale": "huge"}}, "unknown scale"),
        ({"sampling": {"eta": 1.5}}, "sampling.eta"),
        ({"ddim": {"steps": 5}}, "ddim.steps: unknown key"),
        ({"ddim": {"beta_schedule": "linear"}}, "ddim.beta_schedule"),
        ({"ddim": {"priors": {"max_timestep": 20}}}, "ddim.priors.max_timestep 20: must be less"),
        ({"ddim": {"priors": {"kinematics": -1.0}}}, "ddim.priors.kinematics"),
        ({"ddim": {"au_threshold": 1.5}}, "ddim.au_threshold"),
        ({"ddim": {"au_threshold": "median"}}, "ddim.au_threshold"),
    ],
)
def test_bad_ddim_params_are_errors(overrides, message):
    with pytest.raises(ConfigError, match=message):
        params_with(overrides)


def test_a_missing_key_is_named():
    from reactdiff.config import parse_params

    raw = raw_params()
    del raw["ddim"]["clip_sample"]
    with pytest.raises(ConfigError, match=r"ddim\.clip_sample: missing"):
        parse_params(raw)
