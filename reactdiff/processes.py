"""Which process wrote something, and whether it is still running.

Temporary files and MLflow runs carry their writer's host and pid, so a later run can tell
what a killed process left behind (and clean it up) from what a live one is still writing.
"""

from __future__ import annotations

import os
import re
import signal
import socket

INTERRUPTED = 130  # the shell's exit code for a command stopped by Ctrl-C


def this_host() -> str:
    """This machine's short host name, reduced to ``[A-Za-z0-9_-]`` (safe in file names)."""
    return re.sub(r"[^\w-]", "-", socket.gethostname().split(".")[0]) or "host"


def pid_alive(pid: int) -> bool:
    """Whether a process ``pid`` runs on this machine (someone else's counts as running)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def stop_on_sigterm() -> None:
    """Make SIGTERM (a job scheduler, `kill`) stop this process as Ctrl-C does: a
    KeyboardInterrupt, so runs are marked KILLED and atomic writes abandoned, never half done."""
    signal.signal(signal.SIGTERM, _interrupt)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(signal.Signals(signum).name)
