"""`dvc repro` end to end on a tiny drop in a temp copy of the repo, then a no-op second call."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from tests.helpers.repo import repo_copy_env, run, tiny_params

STAGES = (
    "data",
    "validate",
    "split",
    "features",
    "train_mmt",
    "train_ddim",
    "train_kin",
    "evaluate",
)


@pytest.fixture
def repo_copy(tmp_path) -> tuple[Path, dict]:
    (tmp_path / "first").mkdir()
    return repo_copy_env(tmp_path / "first")


def _data_hashes(work: Path) -> dict[str, str]:
    lock = yaml.safe_load((work / "dvc.lock").read_text())["stages"]
    return {s: lock[s]["outs"][0]["md5"] for s in ("data", "split", "features")}


@pytest.mark.slow
def test_dvc_repro_end_to_end(repo_copy, tmp_path):
    """The whole pipeline, a no-op second call, the MLflow runs and models; and a second
    copy of the repo at another path, run later, gets the same DVC hashes of the drop, the
    splits and the feature store: a DVC cache made on one machine serves another."""
    work, env = repo_copy
    tiny_params(work / "params.yaml")
    first = run(["dvc", "repro"], work, env)
    assert first.returncode == 0, first.stdout + first.stderr
    for stage in STAGES:
        assert f"Running stage '{stage}'" in first.stdout
    assert (work / "data/validation/data_docs/index.html").is_file()
    assert (work / "data/splits/samples_test.csv").is_file()
    assert json.loads((work / "data/features/validation.json").read_text())["success"]
    evaluation = json.loads((work / "metrics/eval.json").read_text())
    assert evaluation["B_MeanFr"]["FRSyn"] == 49 and evaluation["GT"]["FRDist"] == 0
    assert "| GT |" in (work / "reports/eval.md").read_text()
    assert {"ReactDiff (offline)", "ReactDiff (online)", "ReactDiff w/o diffusion"} <= set(
        evaluation
    )
    assert evaluation["ReactDiff w/o diffusion"]["FRDiv"] == 0
    lock = yaml.safe_load((work / "dvc.lock").read_text())
    assert set(lock["stages"]) == set(STAGES)

    # numba writes its compiled kernels next to the code, in __pycache__ (any later metrics
    # call adds some): not a change of the evaluate stage's code dependency
    cache = work / "reactdiff/evaluation/__pycache__"
    cache.mkdir(exist_ok=True)
    (cache / "new_kernel.nbc").write_bytes(b"compiled")
    second = run(["dvc", "repro"], work, env)
    assert second.returncode == 0, second.stdout + second.stderr
    assert "Running stage" not in second.stdout
    assert "Data and pipelines are up to date." in second.stdout

    import mlflow

    mlflow.set_tracking_uri(env["MLFLOW_TRACKING_URI"])
    runs = mlflow.search_runs(experiment_names=["reactdiff"])
    assert sorted(runs["tags.stage"]) == sorted(STAGES)
    assert set(runs["status"]) == {"FINISHED"}
    validate = runs[runs["tags.stage"] == "validate"].iloc[0]
    assert validate["tags.dvc.dep.data/raw"] == lock["stages"]["data"]["outs"][0]["md5"]
    assert validate["metrics.failures"] == 0
    evaluate = runs[runs["tags.stage"] == "evaluate"].iloc[0]
    assert evaluate["metrics.B_MeanFr/FRSyn"] == 49
    client = mlflow.MlflowClient()
    for name in ("reactdiff-mmt", "reactdiff"):
        assert [int(v.version) for v in client.search_model_versions(f"name='{name}'")] == [1]
    champion = client.get_model_version_by_alias("reactdiff", "champion")
    assert int(champion.version) == 1
    # chosen on val: the version carries the val FRDist, never the test one
    selection = json.loads((work / "metrics/val.json").read_text())
    assert float(champion.tags["val.FRDist"]) == selection["ReactDiff (offline)"]["FRDist"]
    assert "FRDist" not in champion.tags

    shown = run(["dvc", "metrics", "show", "--json"], work, env)
    assert shown.returncode == 0 and "FRDist" in shown.stdout

    # through a DVC remote, a second clean clone gets every output, the models included,
    # and is up to date without running a stage
    remote = tmp_path / "dvc-remote"
    for cmd in (["make", "remote", f"DVC_REMOTE={remote}"], ["dvc", "push"]):
        done = run(cmd, work, env)
        assert done.returncode == 0, done.stdout + done.stderr
    git = ["git", "-c", "user.name=test", "-c", "user.email=test@example.com"]
    for cmd in (["git", "add", "-A"], [*git, "commit", "-qm", "trained"]):
        assert run(cmd, work, env).returncode == 0
    clone = tmp_path / "clone"
    assert run(["git", "clone", "-q", str(work), str(clone)], tmp_path, env).returncode == 0
    assert not (clone / "models/reactdiff.pt").exists()
    made = run(["make", "remote", f"DVC_REMOTE={remote}"], clone, env)
    assert f"DVC remote: local -> {remote}" in made.stdout, made.stdout + made.stderr
    pulled = run(["dvc", "pull"], clone, env)
    assert pulled.returncode == 0, pulled.stdout + pulled.stderr
    status = run(["dvc", "status"], clone, env)
    assert "Data and pipelines are up to date." in status.stdout, status.stdout + status.stderr
    for out in ("models/reactdiff.pt", "models/mmt.pt", "metrics/eval.json"):
        assert (clone / out).read_bytes() == (work / out).read_bytes(), out

    (tmp_path / "second").mkdir()
    other, other_env = repo_copy_env(tmp_path / "second")
    tiny_params(other / "params.yaml")
    done = run(["dvc", "repro", "features"], other, other_env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert _data_hashes(other) == _data_hashes(work)


@pytest.mark.slow
def test_bad_drop_stops_the_pipeline_before_split(repo_copy, tiny_drop_novideo):
    """A real (external) root that fails validation: validate exits 1, split never runs."""
    work, env = repo_copy
    emotion = next((tiny_drop_novideo / "train" / "Emotion").rglob("*.csv"))
    emotion.write_text(emotion.read_text().replace("\n0,", "\n0.5,", 1))
    tiny_params(work / "params.yaml", source=str(tiny_drop_novideo))
    result = run(["dvc", "repro"], work, env)
    assert result.returncode != 0
    assert f"FAIL {emotion}: AU1 is not 0/1" in result.stderr
    assert "Running stage 'split'" not in result.stdout
    assert (work / "data/raw/source.json").is_file()  # the real drop is fingerprinted, not copied
    assert not (work / "data/splits").exists()
