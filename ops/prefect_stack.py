"""A local Prefect stack for the deployments: server, work pools, deployments, workers.

`make prefect-up` / `make prefect-down` call this, and so does the deployment test, so the
way the stack is brought up is written once. Run from the repo root (where prefect.yaml is):

    python -m ops.prefect_stack up [--port 4200] [--workers cpu gpu]
    python -m ops.prefect_stack down

The server keeps its database, and every process its log and pid file, in ``STATE_DIR``
(`.prefect-local/`), apart from the ~/.prefect database that ephemeral runs use. Also here:
the temporary server a `python -m flows.pipeline` run reports to (``temporary_server``).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

from ops.supervisor import (
    ServiceError,
    free_port,
    service_env,
    start_service,
    stop_group,
    stop_recorded,
    wait_healthy,
)

STATE_DIR = Path(".prefect-local")
POOLS = ("cpu", "gpu")


def api_url(port: int) -> str:
    return f"http://127.0.0.1:{port}/api"


def stack_env(port: int, state: Path) -> dict[str, str]:
    """Environment of every stack process: this venv first, no telemetry
    (``ops.supervisor.service_env``), the stack's Prefect home and the server's URL."""
    env = service_env()
    env["PREFECT_HOME"] = str((state / "home").resolve())
    env["PREFECT_API_URL"] = api_url(port)
    return env


def _prefect(args: list[str], env: dict[str, str], cwd: Path | None = None) -> None:
    """A one-shot `prefect` command; its output is shown only when it fails."""
    done = subprocess.run(["prefect", *args], env=env, cwd=cwd, capture_output=True, text=True)
    if done.returncode != 0:
        raise ServiceError(f"prefect {' '.join(args)} failed:\n{done.stdout}{done.stderr}")


def up(port: int, workers: list[str], state: Path = STATE_DIR) -> None:
    """Server on 127.0.0.1:``port`` (healthy), pools (one run at a time each), deployments,
    one process worker per pool in ``workers``."""
    state.mkdir(parents=True, exist_ok=True)
    env = stack_env(port, state)
    server = start_service(
        "server",
        ["prefect", "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        state,
        env,
    )
    try:
        wait_healthy(api_url(port), server, state / "server.log", "the Prefect server")
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
    return start_service(
        f"worker-{pool}", ["prefect", "worker", "start", "--pool", pool], state, env, cwd=cwd
    )


def down(state: Path = STATE_DIR) -> list[str]:
    """Stop what `up` started (workers first), each by its recorded pid; returns their names."""
    return stop_recorded(sorted(state.glob("*.pid"), key=lambda p: p.stem == "server"))


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
    port, log = free_port(), state / "pipeline-server.log"
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
        wait_healthy(api_url(port), server, log, "the Prefect server")
        yield api_url(port)
    finally:
        _send_pending_logs()
        stop_group(server.pid, grace_s=10.0)


def _send_pending_logs(timeout_s: float = 10.0) -> None:
    """Send the flow's last log lines (its end state, an interrupt) while the server is up.
    Prefect sends them in the background; left to its exit hook, they went to the stopped
    server, and the command spent a minute retrying before it returned."""
    from prefect.logging.handlers import APILogWorker

    APILogWorker.drain_all(timeout=timeout_s)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m ops.prefect_stack", description=__doc__.split("\n")[0]
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
