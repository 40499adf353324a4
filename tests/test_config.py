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
    with pytest.raises(ConfigError, match="no parameter groups"):
        parse_params({})


def _error(overrides: dict) -> str:
    with pytest.raises(ConfigError) as err:
        params_with(overrides)
    return str(err.value)


@pytest.mark.parametrize(
    "key",
    [
        "train_mmt.device",
        "train_ddim.device",
        "features.wav2vec.device",
        "features.facial.device",
        "evaluate.device",
    ],
)
def test_unknown_device_is_named(key):
    group, *inner, last = key.split(".")
    overrides = {group: {}}
    node = overrides[group]
    for part in inner:
        node = node.setdefault(part, {})
    node[last] = "cdua"
    assert f"  {key}: Input should be " in _error(overrides)


@pytest.mark.parametrize(
    ("overrides", "line"),
    [
        # sizes the models need to agree
        ({"mmt": {"scales": {"demo": {"heads": 3}}}}, "mmt.scales.demo.heads: does not divide"),
        ({"mmt": {"scales": {"paper": {"heads": 5}}}}, "mmt.scales.paper.heads: does not divide"),
        ({"mmt": {"scales": {"demo": {"latent_dim": 30}}}}, "mmt.scales.demo.latent_dim: not div"),
        (
            {"ddim": {"scales": {"demo": {"width_mults": []}}}},
            "ddim.scales.demo.width_mults: empty",
        ),
        ({"features": {"mfcc": {"n_mfcc": 40}}}, "features.mfcc.n_mels: fewer than n_mfcc 40"),
        # Adam's betas
        ({"train_mmt": {"betas": [0.9, 1.0]}}, "train_mmt.betas.1: Input should be less than 1"),
        ({"train_ddim": {"betas": [-0.1, 0.9]}}, "train_ddim.betas.0: Input should be greater"),
        # the streams the MMT reads
        ({"mmt": {"video_streams": ["emotoin"]}}, "mmt.video_streams.0: Input should be 'mfcc'"),
        ({"mmt": {"audio_streams": ["wav2vec"]}}, "mmt.audio_streams: ['wav2vec'] not in the fea"),
        ({"mmt": {"video_streams": ["3dmm", "3dmm"]}}, "mmt.video_streams: listed more than once"),
        ({"mmt": {"audio_streams": ["emotion"]}}, "mmt.audio_streams: ['emotion'] also in mmt.vi"),
        ({"mmt": {"video_streams": [], "audio_streams": []}}, "mmt.audio_streams: empty, and so"),
        # the rows the evaluate stage computes
        ({"evaluate": {"methods": ["B_Rnadom"]}}, "evaluate.methods.0: Input should be 'GT'"),
        ({"evaluate": {"methods": ["GT", "B_Mime", "GT"]}}, "evaluate.methods: listed more than"),
        ({"evaluate": {"methods": []}}, "evaluate.methods: empty"),
        # the data format: a name in data.format, no longer a group of its own
        ({"data": {"format": "REACT 2024"}}, "data.format: String should match pattern"),
        ({"data": {"format": "auto"}}, "data.format: auto detects the layout of a real root"),
        (
            {"train_mmt": {"clip_frames": 820}},
            "train_mmt.clip_frames 820 is not a multiple of mmt.scales.demo.window_size 50",
        ),
        # online generation: its latency, and a decoder it can stream through
        ({"online": {"delay_frames": 50}}, "online.delay_frames 50: must be less than mmt.scal"),
        (
            {"mmt": {"scales": {"demo": {"decoder_window": 0}}}},
            "mmt.scales.demo.decoder_window 0: online generation (in evaluate.methods) needs",
        ),
        ({"evaluate": {"alignment": "torchscript"}}, "evaluate.post_processor: set it"),
        ({"evaluate": {"alignment": "challenge"}}, "evaluate.post_processor: set it"),
        ({"evaluate": {"post_processor": "ae.pt"}}, "evaluate.post_processor: set it"),
        ({"format": {"frames": 800, "clip_frames": 751}}, "format: unknown key"),
        # val chooses, test reports: never the same split
        ({"evaluate": {"report_split": "val"}}, "evaluate.report_split: 'val' is also evalua"),
        ({"evaluate": {"bootstrap": {"resamples": 10}}}, "evaluate.bootstrap.resamples: "),
    ],
)
def test_bad_value_is_one_line_naming_its_key(overrides, line):
    message = _error(overrides)
    assert f"\n  {line}" in message
    assert len(message.splitlines()) == 2  # the file, then this one problem


@pytest.mark.parametrize(
    ("overrides", "line"),
    [
        (
            {"train_mmt": {"epochs": "3"}},
            "train_mmt.epochs: Input should be a valid integer (got '3')",
        ),
        ({"train_ddim": {"epochs": True}}, "train_ddim.epochs: Input should be a valid integer"),
        ({"base": {"seed": 42.0}}, "base.seed: Input should be a valid integer"),
        ({"sampling": {"guidance": "1"}}, "sampling.guidance: Input should be a valid number"),
        ({"train_mmt": {"lr": True}}, "train_mmt.lr: Input should be a valid number"),
        ({"train_mmt": {"amp": "yes"}}, "train_mmt.amp: Input should be a valid boolean"),
        (
            {"data": {"synthetic": {"video": 1}}},
            "data.synthetic.video: Input should be a valid bool",
        ),
        (
            {"train_mmt": {"betas": ["0.9", 0.999]}},
            "train_mmt.betas.0: Input should be a valid numb",
        ),
        (
            {"ddim": {"scales": {"demo": {"width_mults": [1, "2"]}}}},
            "ddim.scales.demo.width_mults.1: ",
        ),
        ({"train_mmt": {"model_out": 3}}, "train_mmt.model_out: Input is not a valid path"),
    ],
)
def test_no_type_is_coerced(overrides, line):
    assert f"\n  {line}" in _error(overrides)


def test_yaml_types_still_load(tmp_path):
    """An int is a float, a string a path, a list a tuple; 1e-3 is a number, as in YAML 1.2."""
    text = (REPO / "params.yaml").read_text()
    text = text.replace("lr: 2.0e-3", "lr: 1e-3").replace("guidance: 1.0", "guidance: 1")
    assert "\n  lr: 1e-3 " in text and "\n  guidance: 1 " in text
    (tmp_path / "params.yaml").write_text(text)
    params = load_params(tmp_path / "params.yaml")
    assert params.train_mmt.lr == 1e-3 and isinstance(params.train_mmt.lr, float)
    assert params.sampling.guidance == 1.0 and isinstance(params.sampling.guidance, float)
    assert params.train_mmt.betas == (0.9, 0.999) and params.ddim.sizes.width_mults == (1, 2, 2)
    assert params.train_ddim.model_out == Path("models/reactdiff.pt")
    assert params.features.wav2vec.checkpoint is None
    w2v = params_with({"features": {"wav2vec": {"checkpoint": "w2v"}}}).features.wav2vec
    assert w2v.checkpoint == Path("w2v")


@pytest.mark.parametrize("text", ["", "\n", "# every group was deleted\n"])
def test_empty_file_is_one_error(tmp_path, text):
    path = tmp_path / "params.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as err:
        load_params(path)
    message = str(err.value)
    assert message.startswith(f"{path}: no parameter groups (the file is empty or only comments)")
    assert "expected base, data, validate, split," in message
    assert len(message.splitlines()) == 1


def test_a_group_without_scales_is_named():
    raw = raw_params()
    raw["mmt"]["scales"] = {}
    with pytest.raises(ConfigError, match=r"\n  mmt\.scale: unknown scale 'demo'; defined: \[\]"):
        parse_params(raw)


def test_model_streams_may_be_targets_the_store_always_holds():
    params = params_with(
        {
            "features": {"streams": ["au", "mfcc"]},
            "mmt": {"video_streams": ["au", "emotion"], "audio_streams": ["mfcc"]},
        }
    )
    assert params.mmt.video_streams == ("au", "emotion")
    assert params_with({"mmt": {"video_streams": []}}).mmt.audio_streams == ("mfcc",)


def test_every_rule_across_groups_is_reported_at_once():
    message = _error(
        {
            "sampling": {"steps": 30},
            "mmt": {"scales": {"demo": {"latent_dim": 30}}, "audio_streams": ["wav2vec"]},
        }
    )
    lines = message.splitlines()[1:]
    assert lines[0].startswith("  sampling.steps 30 exceeds")
    assert lines[1].startswith("  mmt.audio_streams: ['wav2vec'] not in the feature store")
    assert lines[2].startswith("  mmt.scales.demo.latent_dim: not divisible by 4")
    assert len(lines) == 3


def test_an_unknown_data_format_is_named_when_the_root_is_opened():
    """config cannot import reactdiff.data: the registry checks the name, naming the key."""
    from reactdiff.data.formats import FORMATS, resolve_format

    params = params_with({"data": {"format": "react2026"}})
    with pytest.raises(ConfigError, match=r"data\.format: unknown format 'react2026'") as err:
        resolve_format(params.data)
    assert all(name in str(err.value) for name in FORMATS)
