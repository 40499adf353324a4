"""`reactdiff features`: the stage command, its MLflow run and its exit codes."""

from pathlib import Path

import mlflow
from typer.testing import CliRunner

from reactdiff.cli import app
from reactdiff.data.formats.react2024 import ReactLayout
from reactdiff.features.store import FeatureStore

PARAMS = Path(__file__).resolve().parents[2] / "params.yaml"


def _features(root: Path, out: Path, *extra: str):
    args = ["features", "--root", str(root), "--out", str(out), "--params", str(PARAMS)]
    return CliRunner().invoke(app, [*args, *extra])


def test_extracts_with_workers_and_logs_a_run(tiny_drop_master, tmp_path, mlflow_store):
    result = _features(tiny_drop_master, tmp_path / "store", "--streams", "mfcc", "--workers", "2")
    assert result.exit_code == 0, result.output
    assert "12 clips" in result.output and "36 arrays computed" in result.output
    assert FeatureStore(tmp_path / "store").stream_dims() == {"mfcc": 26, "emotion": 25, "3dmm": 58}
    runs = mlflow.search_runs(experiment_names=["reactdiff"])
    assert list(runs["status"]) == ["FINISHED"] and list(runs["tags.stage"]) == ["features"]
    assert runs["metrics.arrays_computed"][0] == 36 and runs["params.streams"][0] == "mfcc"


def test_corrupted_wav_exits_2_naming_it(tiny_drop, tmp_path, mlflow_store):
    layout = ReactLayout(tiny_drop)
    rel = layout.clips("test")[0]
    wav = layout.clip_path("test", rel, "audio")
    wav.write_bytes(b"garbage")
    result = _features(tiny_drop, tmp_path / "store", "--workers", "1")
    assert result.exit_code == 2
    assert f"FAIL {wav}: not a readable audio file" in result.output
    assert len(FeatureStore(tmp_path / "store").load_manifest().entries) == 12 * 3 - 1
    runs = mlflow.search_runs(experiment_names=["reactdiff"])
    assert list(runs["status"]) == ["FAILED"]


def test_unknown_stream_is_a_config_error(tiny_drop_master, tmp_path):
    result = _features(tiny_drop_master, tmp_path / "store", "--streams", "mfcc,lips")
    assert result.exit_code == 2
    assert "features.streams: unknown stream(s) ['lips']" in result.output
