"""The worker pool on a pyfunc that sleeps on request: MLflow's answers (and its refusals)
come back from the worker, and a request past its deadline has its worker killed (the
computation stops) and replaced."""

from __future__ import annotations

import json
import time

import pytest

from reactdiff.processes import pid_alive
from reactdiff.serve.workers import WorkerPool
from tests.helpers.sleepy_pyfunc import save_sleepy

pytestmark = pytest.mark.slow  # two worker processes start (each imports torch and MLflow)
JSON = "application/json"


def _body(**params) -> bytes:
    return json.dumps({"inputs": {"x": [[0.0, 1.0]] * 3}, "params": params}).encode()


@pytest.fixture(scope="module")
def pool(tmp_path_factory):
    pool = WorkerPool(str(save_sleepy(tmp_path_factory.mktemp("sleepy") / "model")), 1, 0.5)
    pool.start()
    yield pool
    pool.close()
    assert pool.pids == []


def _in(seconds: float) -> float:
    return time.monotonic() + seconds


def test_a_worker_answers_as_mlflows_server(pool):
    status, body, media = pool.invoke(_body(), JSON, _in(30))
    assert (status, media) == (200, JSON)
    assert json.loads(body)["predictions"]["rows"] == [3]
    status, body, _ = pool.invoke(_body(fail=True), JSON, _in(30))
    assert status == 400 and "params.fail: refused as asked" in json.loads(body)["message"]
    status, body, _ = pool.invoke(b'{"inputs": {"y": [[1.0]]}}', JSON, _in(30))
    assert status == 400 and "Model is missing inputs ['x']" in json.loads(body)["message"]


def test_a_request_past_its_deadline_has_its_computation_killed(pool):
    [worker] = json.loads(pool.invoke(_body(), JSON, _in(30))[1])["predictions"]["pid"]
    start = time.monotonic()
    status, body, _ = pool.invoke(_body(sleep=60.0), JSON, _in(0.5))
    assert status == 504 and time.monotonic() - start < 5
    assert json.loads(body) == {
        "error_code": "DEADLINE_EXCEEDED",
        "message": "serving.timeout_s = 0.5 s: the request ran over it: its computation was "
        "stopped",
    }
    assert not pid_alive(worker)  # killed and reaped, not left sleeping
    status, body, _ = pool.invoke(_body(), JSON, _in(120))  # once the new worker has loaded
    [replacement] = json.loads(body)["predictions"]["pid"]
    assert replacement != worker and pool.pids == [replacement]
