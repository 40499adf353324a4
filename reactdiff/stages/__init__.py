"""The pipeline's stages, one module each: ``run(params, options) -> StageResult``.

This is the one layer that combines the others (data, validation, features, models, training,
evaluation). A stage computes and writes its outputs and says what happened in its
``StageResult``; ``reactdiff.tracking.stage_run`` turns that into an MLflow run and ``cli.py``
into a command. Stage modules never talk to MLflow themselves.
"""
