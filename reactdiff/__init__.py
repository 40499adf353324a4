"""ReactDiff: generate multiple appropriate listener facial reactions."""

from reactdiff.telemetry import disable_telemetry

__version__ = "0.1.0"

# here, before any module of the package imports MLflow, GX or DVC (they read it at import)
disable_telemetry()
