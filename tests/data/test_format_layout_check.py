"""A root in another layout than data.format says: every command that reads a root answers with
one line naming the layout it looks like and the value to set, before reading any file."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from reactdiff.cli import app
from reactdiff.data.formats import check_layout
from reactdiff.data.formats.react2024 import REACT2024
from reactdiff.data.formats.react2025 import REACT2025
from reactdiff.errors import ConfigError
from tests.helpers.params import raw_params


def _params(tmp_path: Path, fmt: str) -> Path:
    path = tmp_path / f"params-{fmt}.yaml"
    path.write_text(yaml.safe_dump(raw_params({"data": {"format": fmt}}), sort_keys=False))
    return path


def _one_error_line(output: str) -> str:
    lines = [line for line in output.splitlines() if line.strip()]
    assert len(lines) == 1, output
    return lines[0]


@pytest.mark.parametrize("command", ["validate", "features"])
def test_a_mars_root_under_react2024_names_react2025(command, mars_master, tmp_path):
    root = mars_master / "root"
    args = [command, "--root", str(root), "--params", str(_params(tmp_path, "react2024"))]
    if command == "features":
        args += ["--out", str(tmp_path / "store")]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2, result.output
    line = _one_error_line(result.output)
    assert line.startswith("error: data.format is react2024 (REACT 2024), but ")
    assert f"{root} looks like a REACT 2025 root (it has " in line
    assert "facial-attributes" in line and line.endswith(
        "set data.format: react2025 in params.yaml"
    )
    assert "split CSV not found" not in result.output and not (tmp_path / "store").exists()


@pytest.mark.parametrize("command", ["validate", "features"])
def test_a_react2024_root_under_react2025_names_react2024(
    command, tiny_drop_novideo_master, tmp_path
):
    root = tiny_drop_novideo_master
    args = [command, "--root", str(root), "--params", str(_params(tmp_path, "react2025"))]
    if command == "features":
        args += ["--out", str(tmp_path / "store")]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2, result.output
    line = _one_error_line(result.output)
    assert f"data.format is react2025 (REACT 2025), but {root} looks like a REACT 2024 root" in line
    assert "train.csv" in line and line.endswith("set data.format: react2024 in params.yaml")


def test_a_root_of_its_own_layout_or_of_none_passes(mars_master, tmp_path):
    check_layout(mars_master / "root", REACT2025)
    check_layout(tmp_path, REACT2024)  # no layout at all: the format's own messages say what
    check_layout(tmp_path / "absent", REACT2024)
    with pytest.raises(ConfigError, match="looks like a REACT 2025 root"):
        check_layout(mars_master / "root", REACT2024)
