"""A pyfunc that sleeps on request, for the server's tests: MLflow's "model from code" file
(``save_sleepy`` saves it), whose ``predict`` sleeps ``params.sleep`` seconds and answers the
worker's pid and the row count of its input ``x``; a ``params.fail`` is refused as the real
model refuses a bad request (an MlflowException, 400)."""

from __future__ import annotations

import os
import time
import warnings
from pathlib import Path

import mlflow
import numpy as np
from mlflow.exceptions import MlflowException
from mlflow.models import ModelSignature
from mlflow.pyfunc import PythonModel
from mlflow.types import ParamSchema, ParamSpec, Schema, TensorSpec


class Sleepy(PythonModel):
    _skip_type_hint_validation = True

    def predict(self, context, model_input, params=None):
        params = params or {}
        if params.get("fail"):
            raise MlflowException.invalid_parameter_value("params.fail: refused as asked")
        time.sleep(params.get("sleep", 0.0))
        return {"pid": np.array([os.getpid()]), "rows": np.array([len(model_input["x"])])}


def save_sleepy(path: Path) -> Path:
    """The sleepy pyfunc saved in ``path`` (an MLflow model directory)."""
    signature = ModelSignature(
        Schema([TensorSpec(np.dtype(np.float32), (-1, 2), "x")]),
        params=ParamSchema(
            [ParamSpec("sleep", "double", 0.0), ParamSpec("fail", "boolean", False)]
        ),
    )
    with warnings.catch_warnings():  # MLflow's advice to give an input example
        warnings.filterwarnings("ignore", ".*An input example was not provided")
        mlflow.pyfunc.save_model(
            path=str(path), python_model=__file__, signature=signature, pip_requirements=[]
        )
    return path


mlflow.models.set_model(Sleepy())
