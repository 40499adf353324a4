"""Ctrl-C on `python -m flows.pipeline`: the stage stops, every run is KILLED, exit 130."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
from mlflow import MlflowClient

from tests.helpers.repo import repo_copy_env, tiny_params
from tests.helpers.signals import default_sigint


@pytest.mark.slow
def test_ctrl_c_stops_the_pipeline_and_marks_its_runs_killed(tmp_path):
    work, env = repo_copy_env(tmp_path, commit=True)
    tiny_params(work / "params.yaml")
    # its own process group, as a terminal's foreground job: Ctrl-C signals that group
    pipeline = subprocess.Popen(
        [sys.executable, "-m", "flows.pipeline", "--stages", "data", "validate"],
        cwd=work,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
        preexec_fn=default_sigint,
    )
    client = MlflowClient(env["MLFLOW_TRACKING_URI"])
    running = "tags.stage = 'data' and attributes.status = 'RUNNING'"
    data = work / "data"  # not in the copy: the stage makes it, then writes its temp there
    for _ in range(900):  # a hang guard, not a time limit
        experiment = client.get_experiment_by_name("reactdiff")
        writing = data.is_dir() and any(p.name.endswith(".tmp") for p in data.iterdir())
        if writing and experiment and client.search_runs([experiment.experiment_id], running):
            break
        assert pipeline.poll() is None, pipeline.stdout.read()
        time.sleep(0.2)
    os.killpg(pipeline.pid, signal.SIGINT)
    output = pipeline.communicate(timeout=120)[0]
    assert pipeline.returncode == 130, output
    assert "Traceback" not in output and "interrupted" in output
    runs = client.search_runs([experiment.experiment_id])
    assert {r.data.tags["stage"]: r.info.status for r in runs} == {
        "pipeline": "KILLED",
        "data": "KILLED",
    }
    assert not any(p.name.endswith(".tmp") for p in data.iterdir())
