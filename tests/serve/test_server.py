"""`reactdiff serve` as a client and an operator meet it: MLflow's routes and answers, each
limit and each request MLflow 3.17 answered with a 500 now a short 4xx over real HTTP, the
timeout that kills the work, and SIGTERM under load. A pyfunc that sleeps on request stands in
for the model, except in the last test, which serves the tiny ReactDiff."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import mlflow
import numpy as np
import pytest
import yaml

from reactdiff.processes import pid_alive
from tests.helpers.params import raw_params
from tests.helpers.sleepy_pyfunc import save_sleepy

pytestmark = [
    pytest.mark.slow,  # servers start (their workers import torch and MLflow)
    pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads the process tree in /proc"),
]
LIMITS = {
    "max_frames": 100,
    "max_body_bytes": 100_000,
    "timeout_s": 3.0,
    "max_concurrent": 1,
    "max_waiting": 1,
}
GOOD = json.dumps({"inputs": {"x": [[0.0, 1.0]] * 3}}).encode()


def _start(model: Path | str, tmp: Path, **limits) -> tuple[subprocess.Popen, int, Path]:
    """`reactdiff serve` of ``model`` with LIMITS (and ``limits``), in a process group of its own, once /ping
    answers: (process, port, log)."""
    params = tmp / "params.yaml"
    params.write_text(yaml.safe_dump(raw_params({"serving": {**LIMITS, **limits}})))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    log = tmp / "serve.log"
    command = [sys.executable, "-m", "reactdiff.cli", "serve", "--model", str(model)]
    command += ["--port", str(port), "--params", str(params)]
    with log.open("wb") as out:
        proc = subprocess.Popen(
            command, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    deadline = time.monotonic() + 180
    while True:
        assert proc.poll() is None, f"the server exited:\n{log.read_text()}"
        assert time.monotonic() < deadline, f"no /ping after 180 s:\n{log.read_text()}"
        try:
            if _request(port, "GET", "/ping")[0] == 200:
                return proc, port, log
        except OSError:
            time.sleep(0.5)


def _request(port: int, method: str, path: str, body: bytes | None = None, headers=None):
    """(status, body bytes, seconds) over a fresh connection; no header is added."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    start = time.monotonic()
    connection.request(method, path, body=body, headers=headers or {})
    response = connection.getresponse()
    return response.status, response.read(), time.monotonic() - start


def _post(port: int, body: bytes, **headers) -> tuple[int, dict, float]:
    status, answer, seconds = _request(
        port, "POST", "/invocations", body, {"Content-Type": "application/json", **headers}
    )
    return status, json.loads(answer), seconds


def _answer(port: int) -> dict:
    """GOOD's answer, once a worker is free (504 while a replaced one loads)."""
    deadline = time.monotonic() + 120
    while (reply := _post(port, GOOD))[0] != 200:
        assert reply[0] == 504 and time.monotonic() < deadline, reply
        time.sleep(1)
    return reply[1]


def _group(pgid: int) -> list[int]:
    """The live (not zombie) processes of process group ``pgid``."""
    alive = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            alive.append(int(stat.parent.name))
    return alive


def _stop(proc: subprocess.Popen) -> float:
    """SIGTERM to the server; the seconds until its whole process group is gone (SIGKILL
    after 30 s, so that a failing test leaves nothing running)."""
    start = time.monotonic()
    os.killpg(proc.pid, signal.SIGTERM)
    while _group(proc.pid) and time.monotonic() - start < 30:
        time.sleep(0.05)
    took = time.monotonic() - start
    if _group(proc.pid):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    return took


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("serve")
    proc, port, log = _start(save_sleepy(tmp / "model"), tmp)
    yield port
    _stop(proc)
    assert "Traceback" not in log.read_text()


def test_mlflows_routes_answer_as_mlflow_does(server):
    assert _request(server, "GET", "/ping")[:2] == (200, b"\n")
    assert _request(server, "GET", "/health")[:2] == (200, b"\n")
    assert _request(server, "GET", "/version")[:2] == (200, mlflow.__version__.encode())
    status, answer, _ = _post(server, GOOD)
    assert status == 200 and answer["predictions"]["rows"] == [3]
    status, answer, _ = _post(
        server, json.dumps({"inputs": {"x": [[0.0, 1.0]]}, "params": {"fail": True}}).encode()
    )
    assert (status, answer["error_code"]) == (400, "INVALID_PARAMETER_VALUE")
    assert answer["message"] == "params.fail: refused as asked"  # not MLflow's echo of the input


@pytest.mark.parametrize(
    ("body", "headers", "status", "message"),
    [
        (GOOD, {}, 415, "no Content-Type"),  # MLflow 3.17: AttributeError, 500
        (b"[" * 100_000 + b"]" * 100_000, None, 413, "over serving.max_body_bytes = 100000"),
        (b"[" * 40_000 + b"]" * 40_000, None, 400, "nested too deep"),  # RecursionError, 500
        (b'{"inputs": ' + b"9" * 5000 + b"}", None, 400, "(4300 digits)"),  # ValueError, 500
        (b'{"inputs": {"x": [[0.0, 1.0], ' + b"[1.5, 2.5], " * 5000, None, 400, "Expecting"),
        (json.dumps({"inputs": {"x": [[0.0, 1.0]] * 101}}).encode(), None, 413, "max_frames = 100"),
    ],
)
def test_bad_requests_get_a_short_4xx_at_once(server, body, headers, status, message):
    send = {"Content-Type": "application/json"} if headers is None else headers
    got, answer, seconds = _request(server, "POST", "/invocations", body, send)
    assert got == status and seconds < 1
    error = json.loads(answer)
    assert message in error["message"] and len(error["message"]) < 200


def test_a_full_server_answers_429_at_once(server):
    slow = json.dumps({"inputs": {"x": [[0.0, 1.0]]}, "params": {"sleep": 1.0}}).encode()
    threads = [threading.Thread(target=_post, args=(server, slow)) for _ in range(2)]
    for t in threads:
        t.start()
    time.sleep(0.5)  # one computing, one waiting
    status, answer, seconds = _post(server, GOOD)
    for t in threads:
        t.join()
    assert (status, answer["error_code"]) == (429, "REQUEST_LIMIT_EXCEEDED") and seconds < 1


def test_a_request_over_the_timeout_gets_504_and_its_computation_is_killed(server):
    [worker] = _answer(server)["predictions"]["pid"]
    sleepy = json.dumps({"inputs": {"x": [[0.0, 1.0]]}, "params": {"sleep": 60.0}}).encode()
    status, answer, seconds = _post(server, sleepy)
    assert status == 504 and "serving.timeout_s = 3 s: the request ran over it" in answer["message"]
    assert seconds < 5 and not pid_alive(worker)
    assert _answer(server)["predictions"]["pid"] != [worker]


def test_sigterm_under_load_stops_the_server_within_5_s(tmp_path):
    proc, port, log = _start(save_sleepy(tmp_path / "model"), tmp_path)
    sleepy = json.dumps({"inputs": {"x": [[0.0, 1.0]]}, "params": {"sleep": 60.0}}).encode()
    answers = []
    threads = [
        threading.Thread(target=lambda: answers.append(_post(port, sleepy)[0])) for _ in range(3)
    ]
    for t in threads:
        t.start()
    time.sleep(1.0)  # one computing, one waiting, one refused
    assert _stop(proc) < 5, log.read_text()
    for t in threads:
        t.join(timeout=10)
    assert sorted(answers) == [429, 503, 503], answers  # none left hanging


def test_the_tiny_reactdiff_serves_reactions(tiny_reactdiff, tiny_store_master, tmp_path):
    """A model file (saved as the project's pyfunc) through the same server."""
    proc, port, _ = _start(tiny_reactdiff[1] / "reactdiff.pt", tmp_path, timeout_s=120.0)
    try:
        frames = 30
        dims = {"emotion": 25, "3dmm": 58, "mfcc": 26}
        inputs = {s: np.zeros((frames, d)).tolist() for s, d in dims.items()}
        status, answer, _ = _post(
            port, json.dumps({"inputs": inputs, "params": {"samples": 2}}).encode()
        )
    finally:
        _stop(proc)
    assert status == 200, answer
    emotion, face = (np.array(answer["predictions"][k]) for k in ("emotion", "3dmm"))
    assert emotion.shape == (2, frames, 25) and face.shape == (2, frames, 58)
    assert np.isfinite(emotion).all() and np.isfinite(face).all()
