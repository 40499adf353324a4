"""A local Prefect stack for the deployments: server, work pools, deployments, workers.

`make prefect-up` / `make prefect-down` call this, and so does the deployment test, so the
way the stack is brought up is written once. Run from the repo root (where prefect.yaml is):

    python -m flows.local up [--port 4200] [--workers cpu gpu]
    python -m flows.local down

The server keeps its database, and every process its log and pid file, in ``STATE_DIR``
(`.prefect-local/`), apart from the ~/.prefect database that ephemeral runs use.
"""

from __future__ import annotations

import argparse
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
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from reactdiff.processes import pid_alive

STATE_DIR = Path(".prefect-local")
POOLS = ("cpu", "gpu")
HEALTH_TIMEOUT_S = 90.0


def api_url(port: int) -> str:
    return f"http://127.0.0.1:{port}/api"


def stack_env(port: int, state: Path) -> dict[str, str]:
    """Environment of every stack process: this venv first, the server's URL, no analytics."""
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["PREFECT_HOME"] = str((state / "home").resolve())
    env["PREFECT_API_URL"] = api_url(port)
    env["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
    env["DO_NOT_TRACK"] = "true"
    return env


def _start(
    name: str,
    cmd: list[str],
    state: Path,
    env: dict[str, str],
    *,
    user: str | None = None,
    cwd: Path | None = None,
) -> subprocess.Popen:
    """Start a long-running process in its own session (so `down` can stop its children too),
    logging to ``state/<name>.log`` and recording its pid in ``state/<name>.pid``.

    ``user`` runs it as that user (uid, primary group, no supplementary groups): PostgreSQL
    refuses to run as root (flows.platform). ``cwd`` is its working directory (default: ours)."""
    pid_file = state / f"{name}.pid"
    if pid_file.exists() and pid_alive(int(pid_file.read_text())):
        raise RuntimeError(f"{name} is already running (pid {pid_file.read_text()}); run `down`")
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


def as_user(user: str | None) -> dict[str, Any]:
    """``subprocess`` keyword arguments that run a command as ``user`` (none: as ourselves)."""
    if user is None:
        return {}
    entry = pwd.getpwnam(user)
    return {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}


def _wait_healthy(
    url: str,
    server: subprocess.Popen,
    log: Path,
    what: str = "the Prefect server",
    timeout_s: float = HEALTH_TIMEOUT_S,
) -> None:
    """Poll ``url``/health until it answers 200; fail early when ``server`` exits."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"{what} exited ({server.returncode}); see {log}")
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(1)
    raise RuntimeError(f"{what} at {url} is not healthy after {timeout_s} s")


def _prefect(args: list[str], env: dict[str, str], cwd: Path | None = None) -> None:
    """A one-shot `prefect` command; its output is shown only when it fails."""
    done = subprocess.run(["prefect", *args], env=env, cwd=cwd, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"prefect {' '.join(args)} failed:\n{done.stdout}{done.stderr}")


def up(port: int, workers: list[str], state: Path = STATE_DIR) -> None:
    """Server on 127.0.0.1:``port`` (healthy), pools (one run at a time each), deployments,
    one process worker per pool in ``workers``."""
    state.mkdir(parents=True, exist_ok=True)
    env = stack_env(port, state)
    server = _start(
        "server",
        ["prefect", "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        state,
        env,
    )
    try:
        _wait_healthy(api_url(port), server, state / "server.log")
        deploy(env)
        for pool in workers:
            start_worker(pool, state, env)
    except BaseException:
        down(state)
        raise


def deploy(env: dict[str, str], repo: Path | None = None) -> None:
    """The work pools (one run at a time each) and every deployment of ``repo``'s prefect.yaml
    (default: the working directory's) on the Prefect server of ``env``."""
    for pool in POOLS:
        # concurrency 1: the flows of a pool share one DVC workspace, which DVC locks.
        _prefect(["work-pool", "create", pool, "--type", "process", "--overwrite"], env)
        _prefect(["work-pool", "set-concurrency-limit", pool, "1"], env)
    _prefect(["--no-prompt", "deploy", "--all"], env, cwd=repo)


def start_worker(
    pool: str, state: Path, env: dict[str, str], cwd: Path | None = None
) -> subprocess.Popen:
    """A process worker of ``pool`` (pid and log ``worker-<pool>`` in ``state``)."""
    return _start(
        f"worker-{pool}", ["prefect", "worker", "start", "--pool", pool], state, env, cwd=cwd
    )


def down(state: Path = STATE_DIR) -> list[str]:
    """Stop what `up` started (workers first), each by its recorded pid; returns their names."""
    return stop_recorded(sorted(state.glob("*.pid"), key=lambda p: p.stem == "server"))


def stop_recorded(pid_files: Iterable[Path]) -> list[str]:
    """Stop, in order, the process groups whose leaders' pids the files hold (see ``_start``),
    removing the files; returns the names of those that were running."""
    stopped = []
    for pid_file in pid_files:
        pid = int(pid_file.read_text())
        if pid_alive(pid):
            _stop_group(pid)
            stopped.append(pid_file.stem)
        pid_file.unlink()
    return stopped


KILL_WAIT_S = 10.0  # for the kernel to end a SIGKILLed group


def _stop_group(pid: int, grace_s: float = 15.0) -> None:
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


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def temporary_server(state: Path = STATE_DIR) -> Iterator[str]:
    """A Prefect server for one command (no UI), on a free port; yields its API URL.

    It replaces Prefect's own temporary server, which shares the terminal's process group:
    Ctrl-C killed that server at once, and the interrupted flow then spent minutes retrying
    to report its end to it. This one runs in its own session, so a Ctrl-C reaches only the
    flow and its stage; the flow records how it ended, and the server is stopped last. It
    uses the user's Prefect home (PREFECT_HOME, default ~/.prefect), as the ephemeral mode does.
    """
    state.mkdir(parents=True, exist_ok=True)
    port, log = _free_port(), state / "pipeline-server.log"
    env = stack_env(port, state)
    # the user's Prefect home, not the stack's: the flow runs stay in its history
    if "PREFECT_HOME" in os.environ:
        env["PREFECT_HOME"] = os.environ["PREFECT_HOME"]
    else:
        env.pop("PREFECT_HOME")
    env["PREFECT_UI_ENABLED"] = "false"
    with open(log, "ab") as out:
        server = subprocess.Popen(
            ["prefect", "server", "start", "--host", "127.0.0.1", "--port", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
    try:
        _wait_healthy(api_url(port), server, log)
        yield api_url(port)
    finally:
        _send_pending_logs()
        _stop_group(server.pid, grace_s=10.0)


def _send_pending_logs(timeout_s: float = 10.0) -> None:
    """Send the flow's last log lines (its end state, an interrupt) while the server is up.
    Prefect sends them in the background; left to its exit hook, they went to the stopped
    server, and the command spent a minute retrying before it returned."""
    from prefect.logging.handlers import APILogWorker

    APILogWorker.drain_all(timeout=timeout_s)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m flows.local", description=__doc__.split("\n")[0]
    )
    sub = parser.add_subparsers(dest="command", required=True)
    start = sub.add_parser("up", help="start server, pools, deployments and workers")
    start.add_argument("--port", type=int, default=4200)
    start.add_argument("--workers", nargs="*", choices=POOLS, default=["cpu"])
    sub.add_parser("down", help="stop the workers and the server")
    args = parser.parse_args(argv)
    if args.command == "down":
        print("stopped:", ", ".join(down()) or "nothing was running")
        return 0
    up(args.port, args.workers)
    print(
        f"Prefect UI: http://127.0.0.1:{args.port}  (logs in {STATE_DIR}/)\n"
        f"export PREFECT_API_URL={api_url(args.port)}\n"
        "prefect deployment run 'reactdiff-pipeline/cpu'"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
