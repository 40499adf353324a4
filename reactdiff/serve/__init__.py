"""The project's model server: MLflow's own scoring app (``/invocations``, ``/ping``,
``/health``, ``/version``, MLflow's request and response format) behind a guard that bounds
what a request may ask for and how many run (params.yaml's ``serving`` group).

``guard`` (plain ASGI) refuses oversized, malformed and excess requests before MLflow parses
them; ``workers`` runs the model in worker processes, so a request over its timeout has its
computation killed, not merely answered; ``server`` puts them together under uvicorn.
"""
