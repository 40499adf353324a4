from pathlib import Path

import pytest
import yaml

from reactdiff.config import load_params, parse_params
from reactdiff.errors import ConfigError
from tests.helpers.params import params_with, raw_params

REPO = Path(__file__).resolve().parents[1]


def test_repo_params_load():
    params = load_params(REPO / "params.yaml")
    assert params.data.is_synthetic
    assert params.data.format == "react2024" and params.sampling.steps == 20
    assert params.validation.report_dir == Path("data/validation")


def test_unknown_key_is_named(tmp_path):
    raw = yaml.safe_load((REPO / "params.yaml").read_text())
    raw["data"]["synthetic"]["sesions"] = 3
    with pytest.raises(ConfigError, match=r"data\.synthetic\.sesions: unknown key"):
        parse_params(raw, tmp_path / "params.yaml")


def test_wrong_type_is_named(tmp_path):
    path = tmp_path / "params.yaml"
    path.write_text("base:\n  seed: forty-two\n")
    with pytest.raises(ConfigError, match=r"params\.yaml.*\n  base\.seed: "):
        load_params(path)


def test_validate_group_keeps_its_name():
    with pytest.raises(ConfigError, match=r"validate\.prob_sum_tolerance"):
        params_with({"validate": {"prob_sum_tolerance": -1}})


def test_split_fractions_must_sum_to_one():
    with pytest.raises(ConfigError, match="split_fractions"):
        params_with({"data": {"synthetic": {"split_fractions": [0.5, 0.2, 0.2]}}})


def test_real_source_switches_root():
    params = params_with({"data": {"source": "/mnt/REACT"}})
    assert not params.data.is_synthetic
    assert params.data.react_root == Path("/mnt/REACT")


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_params(tmp_path / "nope.yaml")


def test_params_yaml_is_the_only_source_of_values():
    """No group has defaults in code: leaving a key out of params.yaml is an error naming it."""
    raw = raw_params()
    del raw["train_mmt"]["lr"]
    with pytest.raises(ConfigError, match=r"train_mmt\.lr: missing"):
        parse_params(raw)
    with pytest.raises(ConfigError, match="missing"):
        parse_params({})
