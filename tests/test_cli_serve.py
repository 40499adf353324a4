"""`reactdiff serve --model FILE` samples with the settings of the file's own family."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import torch
from typer.testing import CliRunner

from reactdiff.cli import app
from reactdiff.training.kin import make_model
from tests.helpers.params import repo_params

REPO = Path(__file__).resolve().parents[1]
DIMS = {"mfcc": 26, "emotion": 25, "3dmm": 58}


def test_a_kinematics_model_file_is_served_with_its_familys_settings(tmp_path, monkeypatch):
    torch.manual_seed(0)
    params = repo_params()
    path = tmp_path / "kin.pt"
    make_model(params, DIMS).save(path, history=[])
    served = {}

    def fake_serve(model, limits, generation, port, host):  # the server itself: tests/serve
        served.update(model=model, generation=generation, port=port)

    monkeypatch.setattr("reactdiff.serve.server.serve", fake_serve)  # cli imports it at call
    args = ["serve", "--model", str(path), "--port", "5099", "--params", str(REPO / "params.yaml")]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    own = asdict(params.generation("reactdiff-kin"))
    assert served["generation"] == own != asdict(params.generation())  # not the latent model's
    assert served["model"] == str(path) and served["port"] == 5099
