"""Prefect flows that chain the DVC stages; deployments are declared in prefect.yaml.

Flows only orchestrate: every stage's logic stays in `reactdiff` and runs as `dvc repro`, and
the servers and workers they run on are started by `ops`.
"""

from reactdiff.telemetry import disable_telemetry

disable_telemetry()  # before Prefect is imported: it reads its settings once
