"""flows.dvc_stages: stage selection, the dvc command line, streamed output and the retry
policy."""

from __future__ import annotations

import sys
from collections import deque
from pathlib import Path

import pytest

from flows.dvc_stages import (
    StageFailed,
    StageOutput,
    dvc_command,
    is_transient,
    run_streaming,
    select_stages,
    stage_env,
)
from reactdiff.dvc_pipeline import pipeline_stages
from reactdiff.tracking import PARENT_RUN_ENV
from tests.helpers.repo import REPO


def test_stages_are_selected_in_pipeline_order():
    stages = pipeline_stages(REPO)
    assert select_stages(stages, ["split", "data"]) == ["data", "split"]
    assert select_stages(stages, None) == stages
    with pytest.raises(ValueError, match=r"unknown stage\(s\) \['trian'\]"):
        select_stages(stages, ["trian", "data"])
    with pytest.raises(ValueError, match="no stage selected"):
        select_stages(stages, [])


def test_overrides_turn_repro_into_an_experiment():
    assert dvc_command("data", {}) == ["dvc", "repro", "-s", "data"]
    assert dvc_command("train_mmt", {"train_mmt.epochs": 2, "data.source": "/r", "x": None}) == [
        "dvc", "exp", "run",
        "-S", "train_mmt.epochs=2", "-S", "data.source=/r", "-S", "x=null",
        "-s", "train_mmt",
    ]  # fmt: skip


def test_pull_restores_from_the_run_cache_when_it_can():
    assert dvc_command("train_mmt", {}, pull=True) == ["dvc", "repro", "--pull", "-s", "train_mmt"]
    assert dvc_command("train_mmt", {"x": 1}, pull=True)[-3:] == ["--pull", "-s", "train_mmt"]


def test_stage_env_nests_under_the_parent_run(monkeypatch):
    monkeypatch.setenv(PARENT_RUN_ENV, "stale")
    assert PARENT_RUN_ENV not in stage_env(None)
    env = stage_env("abc", "sqlite:///x.db")
    assert env[PARENT_RUN_ENV] == "abc" and env["MLFLOW_TRACKING_URI"] == "sqlite:///x.db"
    assert env["PATH"].startswith(str(Path(sys.executable).parent))


def test_output_is_streamed_line_by_line(tmp_path):
    script = (
        "import sys\n"
        "print('one'); print('two', file=sys.stderr)\n"
        "sys.stderr.write('bar 10%\\rbar 100%\\n')\n"
        "print(); sys.exit(3)\n"
    )
    seen = []
    out = run_streaming([sys.executable, "-c", script], tmp_path, {}, seen.append)
    assert out.returncode == 3
    assert sorted(seen) == ["bar 100%", "one", "two"]  # progress redraws: the last one only
    assert out.stdout == ["one"] and list(out.stderr_tail) == ["two", "bar 100%"]


def _output(returncode: int, *stderr: str) -> StageOutput:
    return StageOutput(returncode, stderr_tail=deque(stderr))


@pytest.mark.parametrize(
    ("output", "transient"),
    [
        # validation failed (1) or a user error (2): the same input fails the same way again
        (_output(255, "ERROR: failed to reproduce 'validate': failed to run: reactdiff validate, exited with 1"), False),
        (_output(255, "ERROR: failed to reproduce 'data': failed to run: reactdiff data, exited with 2"), False),
        (_output(255, "ERROR: './dvc.yaml' validation failed."), False),  # dvc's own error
        # killed by a signal (the OOM killer), directly or through the shell
        (_output(255, "ERROR: failed to reproduce 'x': failed to run: reactdiff x, exited with -9"), True),
        (_output(255, "ERROR: failed to reproduce 'x': failed to run: reactdiff x, exited with 137"), True),
        (_output(-15), True),
        # the workspace or the MLflow store was busy
        (_output(255, "ERROR: Unable to acquire lock. Most likely another DVC process is running"), True),
        (_output(255, "sqlite3.OperationalError: database is locked", "... exited with 1"), True),
    ],
)  # fmt: skip
def test_only_what_a_retry_can_fix_is_transient(output, transient):
    assert is_transient(output) is transient


def test_the_failure_message_names_the_stage_code_and_stderr():
    out = _output(
        255,
        "FAIL a.csv: AU1 is not 0/1",
        "ERROR: ... failed to run: reactdiff validate, exited with 1",
    )
    failed = StageFailed("validate", out)
    assert str(failed).startswith("stage 'validate' failed (the stage command exited with 1):\n")
    assert "FAIL a.csv: AU1 is not 0/1" in str(failed) and not failed.transient
    assert "(dvc exited with 255)" in str(StageFailed("data", _output(255, "ERROR: boom")))
