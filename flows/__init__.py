"""Prefect flows that chain the DVC stages; deployments are declared in prefect.yaml.

Flows only orchestrate: every stage's logic stays in `reactdiff` and runs as `dvc repro`.
"""

import os

# Set before Prefect is imported: its settings are read once. No network, no tracking.
for _var, _value in {
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "DO_NOT_TRACK": "true",
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "GX_ANALYTICS_ENABLED": "false",
    "DVC_NO_ANALYTICS": "1",
}.items():
    os.environ.setdefault(_var, _value)
