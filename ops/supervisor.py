"""Long-running processes of our own: each in its own session (so stopping it stops its
children too), logging to ``<state>/<name>.log``, its pid recorded in ``<state>/<name>.pid``.

The servers and workers of ``ops.prefect_stack`` and ``ops.platform`` are started, waited
for and stopped through these functions, so a pid file always names a group leader and
`down` can stop what an earlier `up` (another process) started.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from reactdiff.errors import ReactdiffError
from reactdiff.processes import pid_alive
from reactdiff.telemetry import disable_telemetry

HEALTH_TIMEOUT_S = 90.0
STOP_GRACE_S = 15.0  # for a server to shut down on SIGTERM
KILL_WAIT_S = 10.0  # for the kernel to end a SIGKILLed group


class ServiceError(ReactdiffError, RuntimeError):
    """A service could not be started, or did not become healthy; the message says why."""


def service_env() -> dict[str, str]:
    """The environment of a service: ours, with this venv's scripts first on PATH (the
    `prefect` and `mlflow` commands of this install) and no telemetry."""
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    disable_telemetry(env)
    return env


def as_user(user: str | None) -> dict[str, Any]:
    """``subprocess`` keyword arguments that run a command as ``user`` (none: as ourselves):
    its uid and primary group, no supplementary groups."""
    if user is None:
        return {}
    entry = pwd.getpwnam(user)
    return {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}


def start_service(
    name: str,
    cmd: list[str],
    state: Path,
    env: dict[str, str],
    *,
    user: str | None = None,
    cwd: Path | None = None,
) -> subprocess.Popen:
    """Start ``cmd`` in its own session, logging to ``state/<name>.log`` (appended) and
    recording its pid in ``state/<name>.pid``; refuses when that pid still runs.

    ``user`` runs it as that user (PostgreSQL refuses to run as root); ``cwd`` is its working
    directory (default: ours)."""
    pid_file = state / f"{name}.pid"
    if pid_file.exists() and pid_alive(int(pid_file.read_text())):
        raise ServiceError(f"{name} is already running (pid {pid_file.read_text()}); run `down`")
    with open(state / f"{name}.log", "ab") as log:
        proc = subprocess.Popen(
            cmd,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
            cwd=cwd,
            **as_user(user),
        )
    pid_file.write_text(str(proc.pid))
    return proc


def process_running(pid: int) -> bool:
    """Whether ``pid`` runs: ``pid_alive``, except that a child of ours that has ended (a
    service this process started, then killed) is reaped here and counts as ended, not as the
    zombie it was until now."""
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)
    return pid_alive(pid)


def recorded_pid(state: Path, name: str) -> int | None:
    """The pid ``start_service`` recorded for ``name`` in ``state``, None without one."""
    pid_file = state / f"{name}.pid"
    return int(pid_file.read_text()) if pid_file.exists() else None


def wait_healthy(
    url: str,
    server: subprocess.Popen,
    log: Path,
    what: str,
    timeout_s: float = HEALTH_TIMEOUT_S,
) -> None:
    """Poll ``url``/health until it answers 200; fail early when ``server`` exits (``log``
    is named in the message)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise ServiceError(f"{what} exited ({server.returncode}); see {log}")
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(1)
    raise ServiceError(f"{what} at {url} is not healthy after {timeout_s} s")


def stop_recorded(pid_files: Iterable[Path]) -> list[str]:
    """Stop, in order, the process groups whose leaders' pids the files hold (see
    ``start_service``), removing the files; returns the names of those that were running."""
    stopped = []
    for pid_file in pid_files:
        pid = int(pid_file.read_text())
        if pid_alive(pid):
            stop_group(pid)
            stopped.append(pid_file.stem)
        pid_file.unlink()
    return stopped


def stop_group(pid: int, grace_s: float = STOP_GRACE_S) -> None:
    """SIGTERM the process group ``pid`` leads (it was started in its own session), then
    SIGKILL it if it is still there after ``grace_s``; returns once the group is gone (or
    ``KILL_WAIT_S`` after the SIGKILL)."""
    try:
        os.killpg(pid, signal.SIGTERM)
        if not _group_ended(pid, grace_s):
            os.killpg(pid, signal.SIGKILL)
            _group_ended(pid, KILL_WAIT_S)
    except ProcessLookupError:
        return


def _group_ended(pid: int, timeout_s: float) -> bool:
    """Wait up to ``timeout_s`` for the process group ``pid`` to have no process left (a
    leader that is our child is reaped: a zombie still counts as a member)."""
    deadline = time.monotonic() + timeout_s
    while True:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)  # reap it when it is our child (the test's case)
        try:
            os.killpg(pid, 0)
        except ProcessLookupError:
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.2)


def free_port() -> int:
    """A port nothing listens on at 127.0.0.1 now (the kernel's pick)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_free(port: int) -> bool:
    """Whether nothing listens on 127.0.0.1:``port`` (SO_REUSEADDR: TIME_WAIT does not count)."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True
