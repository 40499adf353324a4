"""ops.supervisor: a service runs in its own process group with its log and pid file; `down`
stops the recorded groups, children included, and a second start of a running one is refused."""

from __future__ import annotations

import os
import sys
import time

import pytest

from ops.supervisor import (
    ServiceError,
    free_port,
    port_free,
    recorded_pid,
    service_env,
    start_service,
    stop_recorded,
    wait_healthy,
)
from reactdiff.errors import ReactdiffError
from reactdiff.processes import pid_alive
from reactdiff.telemetry import NO_TELEMETRY

# a service with a child: stopping the group must stop both
SERVICE = [
    sys.executable,
    "-c",
    "import subprocess, sys, time; print('up', flush=True);"
    "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)']); time.sleep(60)",
]


def _group_gone(pid: int) -> bool:
    try:
        os.killpg(pid, 0)
    except ProcessLookupError:
        return True
    return False


def test_a_service_is_started_recorded_and_stopped_with_its_children(tmp_path):
    proc = start_service("svc", SERVICE, tmp_path, service_env())
    try:
        assert recorded_pid(tmp_path, "svc") == proc.pid and pid_alive(proc.pid)
        assert os.getpgid(proc.pid) == proc.pid  # its own group
        with pytest.raises(ServiceError, match="svc is already running"):
            start_service("svc", SERVICE, tmp_path, service_env())
        deadline = time.monotonic() + 30
        while "up" not in (tmp_path / "svc.log").read_text() and time.monotonic() < deadline:
            time.sleep(0.1)  # its output goes to its log
    finally:
        stopped = stop_recorded([tmp_path / "svc.pid"])
    assert stopped == ["svc"] and _group_gone(proc.pid)
    assert recorded_pid(tmp_path, "svc") is None
    assert (tmp_path / "svc.log").read_text() == "up\n"
    assert stop_recorded([]) == []


def test_a_server_that_exits_is_not_waited_for(tmp_path):
    proc = start_service("dead", [sys.executable, "-c", "pass"], tmp_path, service_env())
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(ServiceError, match=r"the test server exited \(0\)"):
        wait_healthy(url, proc, tmp_path / "dead.log", "the test server", timeout_s=30)
    assert issubclass(ServiceError, ReactdiffError) and issubclass(ServiceError, RuntimeError)


def test_services_get_this_venv_and_no_telemetry(monkeypatch):
    for name in NO_TELEMETRY:
        monkeypatch.delenv(name, raising=False)
    env = service_env()
    assert env["PATH"].startswith(os.path.dirname(sys.executable))
    assert {k: env[k] for k in NO_TELEMETRY} == NO_TELEMETRY


def test_a_free_port_is_free():
    assert port_free(free_port())
