"""`dvc repro` end to end on a tiny drop in a temp copy of the repo, then a no-op second call."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def _copy_repo(dst: Path) -> Path:
    files = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    for rel in files:
        if (REPO / rel).is_file() and not rel.startswith("data/") and rel != "dvc.lock":
            (dst / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / rel, dst / rel)
    subprocess.run(["git", "init", "-q"], cwd=dst, check=True)
    return dst


def _tiny_params(path: Path, **data_overrides) -> None:
    params = yaml.safe_load(path.read_text())
    params["data"]["synthetic"].update(sessions=3, clips_per_session=1, workers=1)
    params["data"].update(data_overrides)
    path.write_text(yaml.safe_dump(params, sort_keys=False))


def _run(cmd: list[str], cwd: Path, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)


@pytest.fixture
def repo_copy(tmp_path) -> tuple[Path, dict]:
    work = _copy_repo(tmp_path / "repo")
    env = {
        **os.environ,
        "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}",
        "MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path / 'mlflow.db'}",
    }
    env.pop("REACTDIFF_PARENT_RUN_ID", None)
    return work, env


@pytest.mark.slow
def test_dvc_repro_end_to_end(repo_copy):
    work, env = repo_copy
    _tiny_params(work / "params.yaml")
    first = _run(["dvc", "repro"], work, env)
    assert first.returncode == 0, first.stdout + first.stderr
    for stage in ("data", "validate", "split"):
        assert f"Running stage '{stage}'" in first.stdout
    assert (work / "data/validation/data_docs/index.html").is_file()
    assert (work / "data/splits/samples_test.csv").is_file()
    lock = yaml.safe_load((work / "dvc.lock").read_text())
    assert set(lock["stages"]) == {"data", "validate", "split"}

    second = _run(["dvc", "repro"], work, env)
    assert second.returncode == 0, second.stdout + second.stderr
    assert "Running stage" not in second.stdout
    assert "Data and pipelines are up to date." in second.stdout

    import mlflow

    mlflow.set_tracking_uri(env["MLFLOW_TRACKING_URI"])
    runs = mlflow.search_runs(experiment_names=["reactdiff"])
    assert sorted(runs["tags.stage"]) == ["data", "split", "validate"]
    assert set(runs["status"]) == {"FINISHED"}
    validate = runs[runs["tags.stage"] == "validate"].iloc[0]
    assert validate["tags.dvc.dep.data/raw"] == lock["stages"]["data"]["outs"][0]["md5"]
    assert validate["metrics.failures"] == 0


@pytest.mark.slow
def test_bad_drop_stops_the_pipeline_before_split(repo_copy, tiny_drop_novideo):
    """A real (external) root that fails validation: validate exits 1, split never runs."""
    work, env = repo_copy
    emotion = next((tiny_drop_novideo / "train" / "Emotion").rglob("*.csv"))
    emotion.write_text(emotion.read_text().replace("\n0,", "\n0.5,", 1))
    _tiny_params(work / "params.yaml", source=str(tiny_drop_novideo))
    result = _run(["dvc", "repro"], work, env)
    assert result.returncode != 0
    assert f"FAIL {emotion}: AU1 is not 0/1" in result.stderr
    assert "Running stage 'split'" not in result.stdout
    assert (work / "data/raw/source.json").is_file()  # the real drop is fingerprinted, not copied
    assert not (work / "data/splits").exists()
