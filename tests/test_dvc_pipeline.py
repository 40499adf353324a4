"""reactdiff.dvc_pipeline: what dvc.yaml declares (stage order, deps, outputs) and dvc.lock
records (output hashes), read from the repo's own files and from a tiny pipeline."""

from __future__ import annotations

import pytest
import yaml

from reactdiff.dvc_pipeline import (
    is_pipeline_output,
    locked_output_hashes,
    pipeline_outputs,
    pipeline_stages,
    stage_definitions,
    stage_deps,
    upstream_stages,
)
from tests.helpers.repo import REPO


def test_stages_come_in_dvc_yaml_order():
    stages = pipeline_stages(REPO)
    assert stages[:3] == ["data", "validate", "split"] and stages[-1] == "evaluate"


def test_upstream_stages_are_those_whose_outputs_a_stage_reads():
    assert upstream_stages(REPO, "train_mmt") == ["split", "features"]
    assert upstream_stages(REPO, "train_ddim") == ["split", "features", "train_mmt"]
    assert upstream_stages(REPO, "split") == ["data", "validate"]  # via a file in an output
    assert upstream_stages(REPO, "data") == []
    outputs = pipeline_outputs(REPO)
    assert {"data/raw", "models/mmt.pt", "metrics/mmt.json"} <= set(outputs)
    assert is_pipeline_output("data/validation/summary.json", outputs)
    assert not is_pipeline_output("data/raw_notes.txt", outputs)
    assert not is_pipeline_output("reactdiff/cli.py", outputs)


@pytest.fixture
def tiny_pipeline(tmp_path):
    """Two stages, ``b`` reading ``a``'s output (a dep given as a one-key mapping too), and
    their dvc.lock."""
    stages = {
        "a": {"cmd": "make a", "outs": ["out/a"], "metrics": [{"m/a.json": {"cache": False}}]},
        "b": {"cmd": "make b", "deps": ["out/a", {"b.py": None}], "outs": ["out/b"]},
    }
    (tmp_path / "dvc.yaml").write_text(yaml.safe_dump({"stages": stages}, sort_keys=False))
    lock = {
        "schema": "2.0",
        "stages": {
            "a": {"outs": [{"path": "out/a", "md5": "aaa.dir"}, {"path": "m/a.json", "md5": "m"}]},
            "b": {"deps": [{"path": "out/a", "md5": "aaa.dir"}], "outs": [{"path": "out/b"}]},
        },
    }
    (tmp_path / "dvc.lock").write_text(yaml.safe_dump(lock))
    return tmp_path


def test_a_tiny_pipeline_reads_as_declared(tiny_pipeline):
    assert list(stage_definitions(tiny_pipeline)) == ["a", "b"]
    assert stage_deps(stage_definitions(tiny_pipeline)["b"]) == ["out/a", "b.py"]
    assert pipeline_outputs(tiny_pipeline) == ["out/a", "m/a.json", "out/b"]
    assert upstream_stages(tiny_pipeline, "b") == ["a"]
    assert locked_output_hashes(tiny_pipeline) == {"out/a": "aaa.dir", "m/a.json": "m", "out/b": ""}


def test_an_empty_lock_has_no_hashes(tmp_path):
    (tmp_path / "dvc.lock").write_text("")
    assert locked_output_hashes(tmp_path) == {}
    with pytest.raises(FileNotFoundError):
        stage_definitions(tmp_path)
