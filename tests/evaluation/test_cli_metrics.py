"""`reactdiff metrics`: one JSON object on stdout; bad input exits 2 naming the input and file."""

import json
import math

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from reactdiff.cli import app
from reactdiff.evaluation.inputs import MAX_ABS
from reactdiff.evaluation.metrics import compute_all

N, S, T = 6, 2, 100


def _inputs(tmp_path, **override):
    rng = np.random.default_rng(0)
    arrays = {
        "pred": rng.random((N, S, T, 25), dtype=np.float32),
        "listener": rng.random((N, T, 25), dtype=np.float32),
        "speaker": rng.random((N, T, 25), dtype=np.float32),
        "neighbours": np.eye(N, dtype=np.uint8) | np.eye(N, k=1, dtype=np.uint8),
    }
    arrays.update(override)
    paths = {}
    for name, value in arrays.items():
        paths[name] = tmp_path / f"{name}.npy"
        np.save(paths[name], value)
    return arrays, paths


def _invoke(paths, *extra):
    args = ["metrics"] + [a for name, p in paths.items() for a in (f"--{name}", str(p))]
    return CliRunner().invoke(app, [*args, *extra])


def test_prints_every_metric(tmp_path):
    arrays, paths = _inputs(tmp_path)
    result = _invoke(paths, "--out", str(tmp_path / "m.json"))
    assert result.exit_code == 0, result.output
    got = json.loads(result.stdout)
    assert list(got) == [
        "FRCorr",
        "FRDist",
        "FRDiv",
        "FRVar",
        "FRDvs",
        "FRSyn",
        "FRSyn_all",
        "FRRea_emotion",
    ]
    assert got == json.loads((tmp_path / "m.json").read_text())
    assert got == pytest.approx(compute_all(**arrays))


@pytest.mark.parametrize(
    ("override", "culprit"),
    [
        ({"pred": np.zeros((N, T, 25))}, "pred"),
        ({"listener": np.zeros((N, T, 24))}, "listener"),
        ({"speaker": np.zeros((N - 1, T, 25))}, "speaker"),
        ({"neighbours": np.ones((N, N - 1))}, "neighbours"),
        ({"neighbours": np.full((N, N), 0.5)}, "neighbours"),
        ({"neighbours": np.eye(N)[:, ::-1] * (np.arange(N) != 2)[:, None]}, "neighbours"),
        ({"pred": np.full((N, S, T, 25), np.nan)}, "pred"),
    ],
    ids=["rank", "24-dims", "N-mismatch", "non-square", "non-binary", "no-neighbour", "nan"],
)
def test_bad_input_names_input_and_file(tmp_path, override, culprit):
    _, paths = _inputs(tmp_path, **override)
    result = _invoke(paths)
    assert result.exit_code == 2
    assert f"error: {paths[culprit]}: {culprit}:" in result.output


def test_unreadable_file(tmp_path):
    _, paths = _inputs(tmp_path)
    paths["speaker"].write_text("not numpy")
    result = _invoke(paths)
    assert result.exit_code == 2
    assert f"error: {paths['speaker']}: speaker: not an .npy array file" in result.output


def _scaled(name, factor, dtype):
    rng = np.random.default_rng(1)
    shape = (N, S, T, 25) if name == "pred" else (N, T, 25)
    return {name: rng.random(shape).astype(dtype) * dtype(factor)}


@pytest.mark.parametrize(
    ("override", "culprit", "problem"),
    [
        (_scaled("pred", 1e30, np.float32), "pred", "|value| > 1e+06"),
        (_scaled("listener", 1e300, np.float64), "listener", "|value| > 1e+06"),
        ({"speaker": np.full((N, T, 25), "a")}, "speaker", "<U1"),
        ({"speaker": np.array([["a"]])}, "speaker", "<U1"),
        ({"pred": np.ones((N, S, T, 25), np.complex64)}, "pred", "complex64"),
        ({"pred": np.ones((N, S, T, 25), bool)}, "pred", "boolean array"),
        ({"neighbours": np.eye(N, dtype=complex)}, "neighbours", "complex128"),
    ],
    ids=["float32-1e30", "float64-1e300", "strings", "strings-2d", "complex", "bool", "nb-complex"],
)
def test_input_outside_the_domain_names_input_and_file(tmp_path, override, culprit, problem):
    _, paths = _inputs(tmp_path, **override)
    result = _invoke(paths)
    assert result.exit_code == 2, result.output
    assert f"error: {paths[culprit]}: {culprit}:" in result.output
    assert problem in result.output


def _refuse(constant):
    raise ValueError(f"not strict JSON: {constant}")


def _at_bound():
    rng = np.random.default_rng(2)
    return {
        name: np.where(rng.random(shape) > 0.5, MAX_ABS, -MAX_ABS).astype(np.float32)
        for name, shape in (
            ("pred", (N, S, T, 25)),
            ("listener", (N, T, 25)),
            ("speaker", (N, T, 25)),
        )
    }


@pytest.mark.parametrize(
    "override",
    [
        _at_bound(),
        {"pred": np.random.default_rng(3).integers(-3, 4, (N, S, T, 25), dtype=np.int16)},
        {"listener": np.random.default_rng(4).random((N, T, 25)).astype(np.float16)},
        {"neighbours": np.eye(N, dtype=bool)},
        {"neighbours": np.eye(N, dtype=np.float32)},
    ],
    ids=["at-bound", "int16", "float16", "nb-bool", "nb-float"],
)
def test_accepted_inputs_print_strict_json(tmp_path, override):
    _, paths = _inputs(tmp_path, **override)
    result = _invoke(paths, "--out", str(tmp_path / "m.json"))
    assert result.exit_code == 0, result.output
    got = json.loads(result.stdout, parse_constant=_refuse)
    assert got == json.loads((tmp_path / "m.json").read_text(), parse_constant=_refuse)
    assert all(math.isfinite(v) for v in got.values())


def test_help_states_the_accepted_domain():
    result = CliRunner().invoke(app, ["metrics", "--help"])
    assert result.exit_code == 0
    help_text = " ".join(result.output.split())
    assert "|value| <= 1e6" in help_text and float("1e6") == MAX_ABS
    assert "not bool, complex, string or object" in help_text


def test_says_where_it_ran_and_uses_the_threads_asked(tmp_path):
    _, paths = _inputs(tmp_path)
    result = _invoke(paths, "--device", "cpu", "--workers", "1")
    assert result.exit_code == 0, result.output
    assert "metrics: cpu, 1 threads (FRDist)" in result.stderr
    json.loads(result.stdout)  # stdout stays one JSON object


def test_too_many_workers_is_a_clear_error(tmp_path):
    _, paths = _inputs(tmp_path)
    result = _invoke(paths, "--workers", "100000")
    assert result.exit_code != 0
    assert "--workers 100000" in result.output and "NUMBA_NUM_THREADS" in result.output


@pytest.mark.skipif(torch.cuda.is_available(), reason="a GPU is there")
def test_cuda_without_a_gpu_is_an_error_not_a_cpu_run(tmp_path):
    _, paths = _inputs(tmp_path)
    result = _invoke(paths, "--device", "cuda")
    assert result.exit_code != 0
    assert "CUDA is not available" in result.output
    assert "FRDist" not in result.stdout


def test_arrays_or_a_prediction_folder_not_both_nor_neither(tmp_path):
    _, paths = _inputs(tmp_path)
    both = _invoke(paths, "--predictions", str(tmp_path))
    assert both.exit_code == 2 and "--predictions scores a folder: drop --pred" in both.output
    partial = _invoke({"pred": paths["pred"]})
    assert partial.exit_code == 2
    assert "missing --listener, --speaker, --neighbours" in partial.output
    root = _invoke(paths, "--root", str(tmp_path))
    assert root.exit_code == 2 and "--root goes with --predictions" in root.output
