"""The served model under load: N concurrent clients post the same clip for a bounded time to
a server on 127.0.0.1, and the figures of the issue's goal are printed: throughput, latency
percentiles of the answered (200) requests, the share of fast 429s and of errors (anything
else: 5xx, 504s, client timeouts), and the peak memory of the server's process tree against
its idle memory.

    python benchmarks/serve_load.py --model models/reactdiff.pt [--overload 4] [--seconds 60]
    python benchmarks/serve_load.py --port 5001 --pid <the server's pid>

With --model it starts `reactdiff serve` itself (the `serving` group of --params) on a free
port and stops it at the end; --port (and --pid, for memory) measures a running one. Clients:
--clients, or --overload times the requests the server admits (serving.max_concurrent +
serving.max_waiting). A client that gets a 429 waits its Retry-After, as a well-behaved client
does. Linux only (memory from /proc). The goal at 4x overload: every request answered (200 or
a 429 within --fast seconds), no timeouts, peak memory at most 2x idle.
"""

from __future__ import annotations

import argparse
import http.client
import json
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from reactdiff.config import PARAMS_FILE, load_params

HOST = "127.0.0.1"
STREAMS = {"emotion": 25, "3dmm": 58, "mfcc": 26}  # the demo model's speaker streams


@dataclass(frozen=True)
class Outcome:
    status: int  # 0: no answer (timeout, connection error)
    seconds: float


def tree_rss(pid: int) -> int:
    """Resident bytes of ``pid`` and all its descendants, from /proc."""
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        try:
            status = Path(f"/proc/{p}/status").read_text()
            total += int(status.split("VmRSS:")[1].split()[0]) * 1024
            for task in Path(f"/proc/{p}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except (OSError, IndexError):
            continue
    return total


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def start_server(model: str, params_file: Path, log: Path) -> tuple[subprocess.Popen, int]:
    """`reactdiff serve` on a free port, once /ping answers."""
    port = free_port()
    command = [sys.executable, "-m", "reactdiff.cli", "serve", "--model", model]
    command += ["--port", str(port), "--params", str(params_file)]
    proc = subprocess.Popen(command, stdout=log.open("wb"), stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit(f"the server exited ({proc.returncode}); its log: {log}")
        try:
            connection = http.client.HTTPConnection(HOST, port, timeout=2)
            connection.request("GET", "/ping")
            if connection.getresponse().status == 200:
                return proc, port
        except OSError:
            time.sleep(0.5)
    proc.kill()
    sys.exit(f"no /ping after 300 s; the server's log: {log}")


def request_body(frames: int, samples: int) -> bytes:
    rng = np.random.default_rng(0)
    inputs = {s: rng.standard_normal((frames, d)).astype(np.float32) for s, d in STREAMS.items()}
    body = {"inputs": {s: x.tolist() for s, x in inputs.items()}, "params": {"samples": samples}}
    return json.dumps(body).encode()


def client(port: int, body: bytes, until: float, timeout: float, out: list[Outcome]) -> None:
    """Post ``body`` again and again until ``until``; after a 429, wait its Retry-After."""
    while time.monotonic() < until:
        start, status, retry = time.monotonic(), 0, 0.0
        try:
            connection = http.client.HTTPConnection(HOST, port, timeout=timeout)
            connection.request(
                "POST", "/invocations", body=body, headers={"Content-Type": "application/json"}
            )
            response = connection.getresponse()
            response.read()
            status, retry = response.status, float(response.getheader("Retry-After") or 0)
            connection.close()
        except OSError:
            pass
        out.append(Outcome(status, time.monotonic() - start))
        time.sleep(min(retry, max(until - time.monotonic(), 0)))


def run_load(port: int, pid: int | None, clients: int, seconds: float, body: bytes, timeout: float):
    """The outcomes of ``clients`` clients over ``seconds``, the time until the last answer,
    and (idle, peak) RSS of ``pid``'s process tree."""
    idle = tree_rss(pid) if pid else 0
    peak, outcomes = idle, []
    start = time.monotonic()
    until = start + seconds
    threads = [
        threading.Thread(target=client, args=(port, body, until, timeout, outcomes))
        for _ in range(clients)
    ]
    for t in threads:
        t.start()
    while any(t.is_alive() for t in threads):
        if pid:
            peak = max(peak, tree_rss(pid))
        time.sleep(0.2)
    return outcomes, time.monotonic() - start, idle, peak


def report(outcomes: list[Outcome], seconds: float, idle: int, peak: int, fast: float) -> bool:
    """Print the figures; whether the goal holds."""
    ok = [o.seconds for o in outcomes if o.status == 200]
    busy = [o.seconds for o in outcomes if o.status == 429]
    errors = [o for o in outcomes if o.status not in (200, 429)]
    n = len(outcomes)
    print(
        f"requests {n}: 200 {len(ok)}, 429 {len(busy)} ({len(busy) / n:.0%}), errors "
        f"{len(errors)} ({len(errors) / n:.0%}) {sorted({o.status for o in errors})}"
    )
    print(f"throughput {len(ok) / seconds:.3f} answers/s over {seconds:.1f} s")
    if ok:
        p50, p95, p99 = np.percentile(ok, [50, 95, 99])
        print(
            f"latency of 200s: p50 {p50:.2f} s, p95 {p95:.2f} s, p99 {p99:.2f} s, max {max(ok):.2f} s"
        )
    if busy:
        print(
            f"latency of 429s: p50 {np.median(busy) * 1000:.0f} ms, max {max(busy) * 1000:.0f} ms"
        )
    goal = not errors and all(s <= fast for s in busy)
    if idle:
        print(
            f"server memory: idle {idle / 2**20:.0f} MiB, peak {peak / 2**20:.0f} MiB "
            f"({peak / idle:.2f}x)"
        )
        goal = goal and peak <= 2 * idle
    print(
        f"goal (every request a 200 or a 429 within {fast:g} s, memory <= 2x idle): "
        f"{'met' if goal else 'NOT met'}"
    )
    return goal


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    target = ap.add_mutually_exclusive_group(required=True)
    target.add_argument("--model", help="a model file or MLflow model URI: start a server")
    target.add_argument("--port", type=int, help="a server already running on 127.0.0.1")
    ap.add_argument("--pid", type=int, help="with --port: the server's pid, for its memory")
    ap.add_argument("--params", type=Path, default=PARAMS_FILE, help="its serving group")
    ap.add_argument("--clients", type=int, help="concurrent clients [--overload x admitted]")
    ap.add_argument("--overload", type=float, default=4.0)
    ap.add_argument("--seconds", type=float, default=60.0, help="how long clients send")
    ap.add_argument("--frames", type=int, default=750, help="the clip's frames")
    ap.add_argument("--samples", type=int, default=10, help="reactions per request")
    ap.add_argument("--fast", type=float, default=1.0, help="a 429 slower than this fails")
    ap.add_argument("--log", type=Path, default=Path("serve_load.log"), help="--model's log")
    args = ap.parse_args()

    limits = load_params(args.params).serving
    admitted = limits.max_concurrent + limits.max_waiting
    clients = args.clients or max(1, round(args.overload * admitted))
    proc, port, pid = None, args.port, args.pid
    if args.model:
        proc, port = start_server(args.model, args.params, args.log)
        pid = proc.pid
    print(
        f"{clients} clients for {args.seconds:g} s, {args.frames} frames x {args.samples} "
        f"samples; the server admits {admitted} ({limits.max_concurrent} computing), timeout "
        f"{limits.timeout_s:g} s"
    )
    try:
        outcomes, elapsed, idle, peak = run_load(
            port,
            pid,
            clients,
            args.seconds,
            request_body(args.frames, args.samples),
            limits.timeout_s + 30,
        )
    finally:
        if proc is not None:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=30)
    sys.exit(0 if report(outcomes, elapsed, idle, peak, args.fast) else 1)


if __name__ == "__main__":
    if not Path("/proc").is_dir():
        sys.exit("Linux only: the server's memory is read from /proc")
    main()
