from pathlib import Path

import pytest

from reactdiff.config import ConfigError, DDIMParams, MMTParams, load_params, parse_params
from reactdiff.diffusion.factory import denoiser_config, make_latent_diffusion

REPO = Path(__file__).resolve().parents[2]


def test_params_yaml_ddim_group_equals_the_defaults():
    assert load_params(REPO / "params.yaml").ddim == DDIMParams()


def test_paper_scale_sizes():
    mmt = MMTParams(scale="paper").sizes
    cfg = denoiser_config(DDIMParams(scale="paper"), mmt)
    assert (cfg.window_size, cfg.latent_dim, cfg.cond_dim) == (50, 128, 1024)


def test_model_follows_the_params():
    model = make_latent_diffusion(
        DDIMParams(cfg_dropout=0.1, num_train_timesteps=10, sampling_steps=10), MMTParams().sizes
    )
    assert model.scheduler.num_train_timesteps == 10
    assert model.null_cond is not None and model.null_cond.shape == (256,)
    assert model.cfg.latent_dim == 32 and model.cfg.window_size == 50


@pytest.mark.parametrize(
    ("ddim", "message"),
    [
        ({"sampling_steps": 30}, "sampling_steps 30 exceeds"),
        ({"guidance": 2.0}, "needs cfg_dropout"),
        ({"scale": "huge"}, "unknown scale"),
        ({"eta": 1.5}, "ddim.eta"),
        ({"steps": 5}, "ddim.steps: unknown key"),
    ],
)
def test_bad_ddim_params_are_errors(ddim, message):
    with pytest.raises(ConfigError, match=message):
        parse_params({"ddim": ddim})
