"""A trained model as an MLflow pyfunc: what `mlflow models serve -m models:/reactdiff@champion`
runs, for a model of any family (``reactdiff.models.family.ReactionModel``).

MLflow logs this file as the model's *code* (MLflow's "models from code"): a registered version
holds a copy of it and the model file, which ``load_context`` reads with ``load_model``
(tensors only; nothing of the version is unpickled). ``reactdiff.tracking`` logs it with
``signature`` and ``input_example``; this module imports nothing above ``reactdiff.models``
and, besides ``reactdiff.tracking`` and its server ``reactdiff.serve``, is the only one that
imports MLflow.

The signature is tensor-based, one named input per feature stream of the model, so the scoring
server parses and checks a request before ``predict`` sees it::

    {"inputs": {"mfcc": [[26 floats] x T], "emotion": [[25] x T], "3dmm": [[58] x T]},
     "params": {"samples": 10, "seed": 0, "online": false}}

and answers N reactions of T frames in the challenge format (``OUTPUTS``)::

    {"predictions": {"emotion": [N x T x 25], "3dmm": [N x T x 58]}}

A bad request (a missing stream, a wrong width, streams of different lengths, NaN or inf, a
value that is not a number, a bad param) is an ``MlflowException`` with
``INVALID_PARAMETER_VALUE``, which the server answers with 400 and the message.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mlflow
import numpy as np
import torch
from mlflow.exceptions import MlflowException
from mlflow.models import ModelSignature
from mlflow.protos.databricks_pb2 import INVALID_PARAMETER_VALUE
from mlflow.pyfunc import PythonModel, PythonModelContext
from mlflow.types import ParamSchema, ParamSpec, Schema, TensorSpec

from reactdiff.devices import resolve_device
from reactdiff.generation import Generation
from reactdiff.models import load_model
from reactdiff.models.family import ReactionModel

MODEL_ARTIFACT = "reactdiff"  # the model file's key in the logged model's artifacts
OUTPUTS = ("emotion", "3dmm")  # the prediction's arrays: (N, T, emotion_dim), (N, T, face_dim)
MAX_SAMPLES = 100  # reactions per request: a bound on the work one request can ask for
EXAMPLE_SAMPLES = 2  # the input example's: logging runs it once to check it serves
PARAMS = ParamSchema(
    [
        ParamSpec("samples", "long", 10),  # reactions to generate (1..MAX_SAMPLES)
        ParamSpec("seed", "long", None),  # None: a fresh random draw per request
        ParamSpec("online", "boolean", False),  # frame t sees speaker frames <= t + delay only
    ]
)


def bad_request(message: str) -> MlflowException:
    """The error the scoring server turns into a 400 carrying ``message``."""
    return MlflowException(message, error_code=INVALID_PARAMETER_VALUE)


def generation_settings(config: dict[str, Any] | None) -> Generation:
    """How the served model samples: the logged model_config's ``generation`` group (the
    pipeline logs params.yaml's, so that the server generates as ``reactdiff generate`` does;
    an empty group samples with ``Generation``'s defaults, a clip in one piece)."""
    try:
        return Generation.from_dict((config or {}).get("generation"))
    except ValueError as err:
        raise ValueError(f"{err} in the model_config") from None


def signature(model: ReactionModel) -> ModelSignature:
    """One float32 (T, d) tensor per speaker stream in; N reactions (N, T, d) per output."""
    streams = model.speaker_streams.items()
    inputs = [TensorSpec(np.dtype(np.float32), (-1, d), s) for s, d in streams]
    widths = dict(zip(OUTPUTS, (model.emotion_dim, model.face_dim), strict=True))
    outputs = [TensorSpec(np.dtype(np.float32), (-1, -1, d), name) for name, d in widths.items()]
    return ModelSignature(Schema(inputs), Schema(outputs), params=PARAMS)


def input_example(
    model: ReactionModel, frames: int | None = None
) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """A request of the model's real shapes: ``frames`` (default: the model's shortest whole
    clip) of its neutral speaker, and the params for a quick run. MLflow stores it with the
    model and serves it once when the model is logged, so a model that cannot serve fails to
    log."""
    speaker = model.neutral_speaker(frames)
    example = {s: x.numpy().astype(np.float32) for s, x in speaker.items()}
    return example, {"samples": EXAMPLE_SAMPLES, "seed": 0, "online": False}


def save_pyfunc(model_file: Path, path: Path, generation: dict[str, Any]) -> None:
    """The model file as this pyfunc in the local directory ``path``, as ``reactdiff.tracking``
    logs it but unregistered and without an input example (whose check would load the model
    here too): what ``reactdiff serve --model <file>`` serves."""
    with warnings.catch_warnings():  # MLflow's advice to give an input example: not here
        warnings.filterwarnings("ignore", ".*An input example was not provided")
        mlflow.pyfunc.save_model(
            path=str(path),
            python_model=__file__,
            artifacts={MODEL_ARTIFACT: str(model_file)},
            model_config={"generation": generation},
            pip_requirements=["reactdiff"],
            signature=signature(load_model(model_file)),
        )


def speaker_streams(model_input: Any, dims: dict[str, int]) -> dict[str, torch.Tensor]:
    """The request's streams as (T, d) float tensors, or a ``bad_request`` naming the problem.

    The scoring server already enforces the signature (names, widths, numbers); this repeats
    it for callers of ``predict`` without one, and adds what a signature cannot say: equal
    lengths, at least one frame, finite values.
    """
    if not isinstance(model_input, dict):
        raise bad_request(
            f"expected one array per speaker stream {list(dims)} (a JSON object under "
            f'"inputs"), got {type(model_input).__name__}'
        )
    missing = [s for s in dims if s not in model_input]
    unknown = sorted(str(s) for s in model_input if s not in dims)
    if missing or unknown:
        parts = [f"missing streams {missing}"] if missing else []
        parts += [f"unknown streams {unknown}"] if unknown else []
        raise bad_request(f"{'; '.join(parts)}: this model reads {list(dims)}")
    out, lengths = {}, {}
    for name, width in dims.items():
        try:
            with np.errstate(over="ignore"):  # a value beyond float32 becomes inf, refused below
                x = np.asarray(model_input[name], dtype=np.float32)
        except (TypeError, ValueError) as err:
            raise bad_request(f"stream {name!r} is not an array of numbers: {err}") from None
        if x.ndim != 2 or x.shape[1] != width:
            raise bad_request(
                f"stream {name!r} has shape {x.shape}, expected (T, {width}): T frames of "
                f"{width} values"
            )
        if x.shape[0] == 0:
            raise bad_request(f"stream {name!r} has no frames")
        bad = ~np.isfinite(x)
        if bad.any():
            frame = int(np.argwhere(bad)[0][0])
            raise bad_request(
                f"stream {name!r} has {int(bad.sum())} value(s) that are NaN or infinite (as "
                f"float32), the first in frame {frame}"
            )
        out[name], lengths[name] = torch.from_numpy(x), x.shape[0]
    if len(set(lengths.values())) > 1:
        sizes = ", ".join(f"{s} {t}" for s, t in lengths.items())
        raise bad_request(f"the streams must have the same number of frames, got {sizes}")
    return out


@dataclass(frozen=True)
class Request:
    """A request's params, checked (``request_params``)."""

    samples: int
    seed: int | None
    online: bool


def request_params(params: dict[str, Any] | None) -> Request:
    """The request's params (typed by the server from ``PARAMS``), range-checked."""
    p = {spec.name: spec.default for spec in PARAMS.params} | dict(params or {})
    samples, seed, online = p["samples"], p["seed"], p["online"]
    if isinstance(samples, bool) or not isinstance(samples, int):
        raise bad_request(f"params.samples must be an integer, got {samples!r}")
    if not 1 <= samples <= MAX_SAMPLES:
        raise bad_request(f"params.samples must be in [1, {MAX_SAMPLES}], got {samples}")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        raise bad_request(f"params.seed must be an integer or null, got {seed!r}")
    if seed is not None and not 0 <= seed < 2**63:
        raise bad_request(f"params.seed must be in [0, 2**63), got {seed}")
    if not isinstance(online, bool):
        raise bad_request(f"params.online must be true or false, got {online!r}")
    return Request(samples, seed, online)


class ReactionPyfunc(PythonModel):
    """Speaker feature streams in, listener reactions out (``OUTPUTS``)."""

    model: ReactionModel
    config: Generation
    # MLflow's switch (its ChatModel's) to not derive a signature from predict's annotations,
    # and not to warn, at every load, that there are none: the signature is the tensor one
    # logged with the model, which the server enforces.
    _skip_type_hint_validation = True

    def load_context(self, context: PythonModelContext) -> None:
        """The logged model file, on a GPU when there is one."""
        if MODEL_ARTIFACT not in context.artifacts:
            raise MlflowException(
                f"the logged model has no {MODEL_ARTIFACT!r} artifact (its model file); it has "
                f"{sorted(context.artifacts)}"
            )
        self.config = generation_settings(context.model_config)
        device = resolve_device("auto")
        self.model = load_model(context.artifacts[MODEL_ARTIFACT]).to(device).eval()
        chunk, unit = self.config.chunk_frames, self.model.frame_unit
        if chunk is not None and (chunk <= 0 or chunk % unit):
            raise MlflowException(
                f"generation.chunk_frames {chunk} is not a positive multiple of the model's "
                f"{unit} frames"
            )

    # model_input (a dict of arrays) is not annotated: MLflow would take the annotation for a
    # type-hint signature, which a dict of arrays cannot be.
    def predict(
        self, context: PythonModelContext, model_input, params: dict[str, Any] | None = None
    ) -> dict[str, np.ndarray]:
        """N reactions to the speaker streams: emotion (N, T, 25) and 3DMM (N, T, 58)."""
        speaker = speaker_streams(model_input, self.model.speaker_streams)
        request = request_params(params)
        if request.online and not self.model.can_stream:
            raise bad_request(
                f"params.online: this {self.model.family} model cannot generate online"
            )
        face, emotion = self.model.generate_clip(
            speaker,
            request.samples,
            self.config.chunk_frames,
            online=request.online,
            seed=request.seed,
            **self.config.sampling(),
        )
        arrays = (emotion.cpu().numpy(), face.cpu().numpy())
        return dict(zip(OUTPUTS, arrays, strict=True))


# Run as a model's code, this hands MLflow the model; imported, it only sets MLflow's slot for
# the last model-from-code, which nothing else in reactdiff uses.
mlflow.models.set_model(ReactionPyfunc())
