"""An output path that cannot be created, from params.yaml or from an option: one line naming
the path, what is in the way and the key or option it came from; exit 2, no traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from reactdiff.cli import app
from tests.helpers.params import raw_params


def _params(tmp_path: Path, overrides: dict) -> Path:
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(raw_params(overrides), sort_keys=False))
    return path


def _refused(args: list[str], blocker: Path, problem: str = "") -> str:
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    (line,) = [line for line in result.output.splitlines() if line.startswith("error:")]
    problem = problem or f"cannot be created: {blocker} is a file, not a folder"
    assert f": {problem} (" in line
    assert blocker.read_text() == "the user's" and isinstance(result.exception, SystemExit)
    return line


@pytest.fixture
def afile(tmp_path) -> Path:
    path = tmp_path / "afile"
    path.write_text("the user's")
    return path


def test_a_params_key(tiny_drop_novideo_master, afile, tmp_path):
    params = _params(tmp_path, {"validate": {"report_dir": str(afile / "report")}})
    args = ["validate", "--root", str(tiny_drop_novideo_master), "--params", str(params)]
    line = _refused(args, afile)  # before the drop is read
    assert line == (
        f"error: {afile / 'report'}: cannot be created: {afile} is a file, not a folder "
        f"(validate.report_dir in {params})"
    )


def test_an_option(tiny_drop_novideo_master, afile, tmp_path):
    params = _params(tmp_path, {})
    args = ["features", "--root", str(tiny_drop_novideo_master), "--out", str(afile / "store")]
    line = _refused([*args, "--streams", "emotion", "--params", str(params)], afile)
    assert line.endswith("(--out)")


def test_a_key_whose_path_is_a_file(tiny_drop_novideo_master, afile, tmp_path):
    overrides = {"data": {"root": str(tiny_drop_novideo_master)}, "split": {"out": str(afile)}}
    params = _params(tmp_path, overrides)
    problem = "exists and is not a folder; reactdiff split writes a folder"
    line = _refused(["split", "--params", str(params)], afile, problem)
    assert line == (
        f"error: {afile}: exists and is not a folder; reactdiff split writes a folder "
        f"(split.out in {params})"
    )
