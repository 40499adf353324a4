"""Running one DVC stage as a subprocess: the command, its streamed output, its failure.

Kept free of Prefect so the retry policy and the command line can be tested on their own.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from reactdiff.errors import ReactdiffError
from reactdiff.tracking import PARENT_RUN_ENV

# What a second attempt can fix, as DVC or the stage print it: another dvc process held the
# workspace lock, or SQLite (the MLflow store) was busy.
TRANSIENT_MARKERS = ("Unable to acquire lock", "database is locked")
ERROR_TAIL_LINES = 20
_STAGE_EXIT = re.compile(r"failed to run: .*, exited with (-?\d+)")


def select_stages(available: list[str], requested: list[str] | None) -> list[str]:
    """``requested`` (all when None) in pipeline order; an unknown name is an error."""
    if requested is None:
        return list(available)
    if not requested:
        raise ValueError("no stage selected; leave stages out to run them all")
    if unknown := sorted(set(requested) - set(available)):
        raise ValueError(f"unknown stage(s) {unknown}; dvc.yaml has {available}")
    return [s for s in available if s in requested]


def dvc_command(stage: str, overrides: Mapping[str, Any], pull: bool = False) -> list[str]:
    """`dvc repro -s <stage>`, or `dvc exp run -S k=v ... -s <stage>` when params are overridden.

    Every stage of an overridden run repeats the same -S values (DVC applies them to params.yaml
    in the workspace, so repeating is a no-op) and records its own experiment. ``pull`` adds
    `--pull`: a run-cache entry of the same inputs found in the DVC remote is restored, with
    its outputs, instead of running the command.
    """
    tail = ["--pull", "-s", stage] if pull else ["-s", stage]
    if not overrides:
        return ["dvc", "repro", *tail]
    sets = [f"{key}={_param_value(value)}" for key, value in overrides.items()]
    return ["dvc", "exp", "run", *(arg for s in sets for arg in ("-S", s)), *tail]


@dataclass(frozen=True)
class Remote:
    name: str
    url: str  # absolute when it is a path


def default_remote(repo: Path) -> Remote | None:
    """``repo``'s default DVC remote (`make remote` sets one), None when unset."""
    from dvc.repo import Repo

    with Repo(str(repo)) as dvc:
        name = dvc.config["core"].get("remote")
        return Remote(name, dvc.config["remote"][name]["url"]) if name else None


def _param_value(value: Any) -> str:
    """DVC parses a -S value as YAML: strings pass as typed, anything else as JSON (YAML too)."""
    return value if isinstance(value, str) else json.dumps(value)


def stage_env(parent_run_id: str | None, tracking_uri: str | None = None) -> dict[str, str]:
    """The environment of a stage: this interpreter's scripts first (so `reactdiff` resolves to
    this venv even when it is not activated), unbuffered output, the MLflow parent run."""
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONUNBUFFERED"] = "1"
    env.pop(PARENT_RUN_ENV, None)
    if parent_run_id:
        env[PARENT_RUN_ENV] = parent_run_id
    if tracking_uri:
        env["MLFLOW_TRACKING_URI"] = tracking_uri
    return env


@dataclass
class StageOutput:
    """What a finished dvc process left: its exit code, stdout, and the tail of stderr."""

    returncode: int
    stdout: list[str] = field(default_factory=list)
    stderr_tail: deque[str] = field(default_factory=lambda: deque(maxlen=ERROR_TAIL_LINES))

    @property
    def stage_exit(self) -> int | None:
        """The stage command's own exit code, as DVC reports it (None: DVC itself failed)."""
        for line in reversed(self.stderr_tail):
            if match := _STAGE_EXIT.search(line):
                return int(match.group(1))
        return None

    @property
    def status(self) -> str:
        """'ran', or why DVC did not run the command (then the stage logged no MLflow run)."""
        for line in self.stdout:
            if "didn't change, skipping" in line:
                return "up to date"
            if "is cached - skipping run" in line:
                return "restored from the run cache"
        return "ran"


class StageFailed(ReactdiffError, RuntimeError):
    """A stage's dvc process failed; the message ends with the last lines of its stderr."""

    def __init__(self, stage: str, output: StageOutput) -> None:
        self.stage = stage
        self.output = output
        code = output.stage_exit if output.stage_exit is not None else output.returncode
        who = "the stage command" if output.stage_exit is not None else "dvc"
        tail = "\n".join(output.stderr_tail)
        super().__init__(f"stage {stage!r} failed ({who} exited with {code}):\n{tail}")

    @property
    def transient(self) -> bool:
        return is_transient(self.output)


def is_transient(output: StageOutput) -> bool:
    """Whether running the stage again can succeed.

    Yes when dvc or the stage command was killed by a signal (the OOM killer, a preempted
    machine: a negative code, or 128 + signal through a shell; dvc's own failures exit 255) or
    the output names a busy lock or database. No for
    everything else: exit 1 is bad data (a failed validation) or a bug, exit 2 a user error
    (bad params or input file), and a dvc error (bad dvc.yaml, missing dependency) is just as
    deterministic: each would fail the same way again.
    """
    stage_exit = output.stage_exit
    if output.returncode < 0 or (stage_exit is not None and (stage_exit < 0 or stage_exit >= 128)):
        return True
    return any(m in line for line in output.stderr_tail for m in TRANSIENT_MARKERS)


def run_streaming(
    cmd: list[str], cwd: Path, env: Mapping[str, str], log: Callable[[str], None]
) -> StageOutput:
    """Run ``cmd``, passing each stdout and stderr line to ``log`` as it comes.

    Progress bars redraw a line with carriage returns; only the last redraw is kept. The
    process runs in its own session: if this thread is interrupted (Ctrl-C, SIGTERM, a
    cancelled flow run), it gets a Ctrl-C of its own (so the stage marks its MLflow run
    KILLED), then SIGKILL if it is still there after ``STOP_GRACE_S``; never orphaned.
    """
    lines: queue.Queue[tuple[str, str | None]] = queue.Queue()

    def pump(name: str, stream: IO[bytes]) -> None:
        for raw in stream:
            lines.put((name, raw.decode(errors="replace").rstrip("\r\n").rsplit("\r", 1)[-1]))
        lines.put((name, None))

    proc = subprocess.Popen(
        cmd,
        cwd=cwd,
        env=dict(env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    output = StageOutput(returncode=0)
    try:
        for name, stream in (("stdout", proc.stdout), ("stderr", proc.stderr)):
            threading.Thread(target=pump, args=(name, stream), daemon=True).start()
        open_streams = 2
        while open_streams:
            name, line = lines.get()
            if line is None:
                open_streams -= 1
            elif line.strip():
                log(line)
                (output.stdout if name == "stdout" else output.stderr_tail).append(line)
        output.returncode = proc.wait()
    finally:
        if proc.poll() is None:
            _stop(proc)
    return output


STOP_GRACE_S = 15.0  # for an interrupted stage to close its MLflow run and temp files


def _stop(proc: subprocess.Popen) -> None:
    """SIGINT the process group of ``proc``, then SIGKILL it after ``STOP_GRACE_S``."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(timeout=STOP_GRACE_S)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
