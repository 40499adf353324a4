from pathlib import Path

import pytest
import yaml

from reactdiff.config import ConfigError, load_params, parse_params

REPO = Path(__file__).resolve().parents[1]


def test_repo_params_load():
    params = load_params(REPO / "params.yaml")
    assert params.data.is_synthetic
    assert params.format.frames == params.format.clip_frames - 1
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
        parse_params({"validate": {"prob_sum_tolerance": -1}})


def test_split_fractions_must_sum_to_one():
    with pytest.raises(ConfigError, match="split_fractions"):
        parse_params({"data": {"synthetic": {"split_fractions": [0.5, 0.2, 0.2]}}})


def test_real_source_switches_root():
    params = parse_params({"data": {"source": "/mnt/REACT"}})
    assert not params.data.is_synthetic
    assert params.data.react_root == Path("/mnt/REACT")


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_params(tmp_path / "nope.yaml")
