"""`reactdiff metrics`: one JSON object on stdout; bad input exits 2 naming the input and file."""

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from reactdiff.cli import app
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
    assert result.exit_code == 2 and f"{paths['speaker']}: not a readable .npy" in result.output
