"""The switches that turn off the usage reports of the tools we run, written once.

MLflow, Prefect, Great Expectations and DVC each report usage over the network unless told
not to; there is no network here, and nobody asked to be tracked. Importing ``reactdiff``
sets them (before any of those tools is imported: some read them once, at import), ``ops``
passes them to every service it starts, and the Makefile exports them to the tools it runs
directly (`mlflow ui`, `mlflow models serve`, `dvc`) from this file, run as a script:

    python reactdiff/telemetry.py   # NAME=value lines

(a script, not ``-m``: it needs nothing but the standard library, so it runs before
`make setup` has made the venv.)
"""

from __future__ import annotations

import os
from collections.abc import MutableMapping

NO_TELEMETRY: dict[str, str] = {
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "GX_ANALYTICS_ENABLED": "false",
    "DVC_NO_ANALYTICS": "1",
    "DO_NOT_TRACK": "true",  # the cross-tool convention (consoledonottrack.com)
}


def disable_telemetry(env: MutableMapping[str, str] = os.environ) -> None:
    """Turn every switch off in ``env`` where it is not set: a value the user set is kept."""
    for name, value in NO_TELEMETRY.items():
        env.setdefault(name, value)


def assignments() -> str:
    """The switches as ``NAME=value`` lines (what the Makefile exports)."""
    return "\n".join(f"{name}={value}" for name, value in NO_TELEMETRY.items())


if __name__ == "__main__":
    print(assignments())
