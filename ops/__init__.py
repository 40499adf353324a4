"""The services the flows run on: PostgreSQL, the MLflow and Prefect servers, the workers.

Starting, watching and stopping them is kept apart from ``flows`` (which only orchestrates)
and from the library (which never imports this package): ``supervisor`` runs a process group
with its log and pid file, ``prefect_stack`` a local Prefect server with its pools,
deployments and workers (`make prefect-up`), ``platform`` PostgreSQL with MLflow and Prefect
on it (`make platform-up`).
"""
