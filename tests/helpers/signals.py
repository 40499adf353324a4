"""Subprocesses that Ctrl-C reaches, however pytest itself was started."""

from __future__ import annotations

import signal


def default_sigint() -> None:
    """A ``preexec_fn``: SIGINT back to its default in the child. A shell starts background
    jobs (`make test &`) with SIGINT ignored, children inherit that, and Python then never
    raises KeyboardInterrupt; tests of Ctrl-C would wrongly fail."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
