"""A stage stopped by SIGTERM or Ctrl-C ends its MLflow run KILLED and exits 130; one killed
outright (SIGKILL) is closed by the next stage run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from mlflow import MlflowClient

from tests.helpers.signals import default_sigint

REPO = Path(__file__).resolve().parents[1]

# A tracked stage that blocks until it is signalled, wired as `reactdiff` wires its commands.
SLEEPY_STAGE = textwrap.dedent(
    """
    import sys, time
    import typer
    from reactdiff import cli
    from reactdiff.processes import stop_on_sigterm
    from reactdiff.stages.result import StageOptions
    from reactdiff.tracking import stage_run
    from tests.helpers.params import params_with

    def sleepy(params, options):
        time.sleep(600)

    @cli.handle_errors
    def command():
        stage_run("sleepy", sleepy, params_with({}), StageOptions())

    stop_on_sigterm()
    try:
        command()
    except typer.Exit as done:
        sys.exit(done.exit_code)
    """
)


def _start_and_wait_running(uri: str, known: tuple[str, ...] = ()) -> tuple[subprocess.Popen, str]:
    env = {**os.environ, "MLFLOW_TRACKING_URI": uri}
    proc = subprocess.Popen(
        [sys.executable, "-c", SLEEPY_STAGE],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        preexec_fn=default_sigint,
    )
    client = MlflowClient(uri)
    for _ in range(600):  # a hang guard, not a time limit on the code under test
        runs = client.search_runs(
            [client.get_experiment_by_name("reactdiff").experiment_id],
            "tags.stage = 'sleepy' and attributes.status = 'RUNNING'",
        )
        if new := [r.info.run_id for r in runs if r.info.run_id not in known]:
            return proc, new[0]
        assert proc.poll() is None, proc.stdout.read()
        time.sleep(0.2)
    proc.kill()
    pytest.fail("the stage run never started")


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "Ctrl-C"])
def test_a_signalled_stage_run_is_killed(mlflow_store, sig):
    proc, run_id = _start_and_wait_running(mlflow_store)
    proc.send_signal(sig)
    output = proc.communicate(timeout=120)[0]
    assert proc.returncode == 130, output
    assert "interrupted" in output and "Traceback" not in output
    assert MlflowClient(mlflow_store).get_run(run_id).info.status == "KILLED"


def test_a_run_left_running_by_sigkill_is_closed_by_the_next(mlflow_store):
    proc, run_id = _start_and_wait_running(mlflow_store)
    proc.kill()
    proc.wait()
    client = MlflowClient(mlflow_store)
    assert client.get_run(run_id).info.status == "RUNNING"
    proc, next_run = _start_and_wait_running(mlflow_store, (run_id,))  # any stage run closes it
    proc.terminate()
    proc.wait(timeout=120)
    assert client.get_run(run_id).info.status == "KILLED"
    assert client.get_run(next_run).info.status == "KILLED"
