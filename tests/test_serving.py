"""The registered ReactDiff is an MLflow pyfunc that `mlflow models serve` serves: speaker
feature streams in, N reactions in the challenge format out, bad requests answered 400."""

from __future__ import annotations

import json
import math
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import mlflow
import numpy as np
import pytest
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from reactdiff.data.columns import AU_SLICE, EXPR_SLICE, VA_SLICE
from reactdiff.data.formats.react2024 import ReactLayout
from reactdiff.features.store import FeatureStore
from reactdiff.generation import Generation
from reactdiff.models import load_model
from reactdiff.serving import (
    MAX_SAMPLES,
    ReactionPyfunc,
    input_example,
    request_params,
    signature,
    speaker_streams,
)
from reactdiff.tracking import (
    MODEL_FILE_TAG,
    generation_config,
    log_registered_model,
    registered_model_file,
)
from tests.helpers.toy_family import register_toy_family

EXPERIMENT = "serving-test"
DIMS = {"emotion": 25, "3dmm": 58, "mfcc": 26}


# ------------------------------------------------------------------ request checks, no model
def _streams(frames: int = 60, **changes) -> dict[str, object]:
    out: dict[str, object] = {s: np.zeros((frames, d), np.float32) for s, d in DIMS.items()}
    out.update(changes)
    return out


def _nan_at(frame: int) -> np.ndarray:
    x = np.zeros((60, 26))
    x[frame, 3] = math.nan
    return x


@pytest.mark.parametrize(
    ("model_input", "message"),
    [
        ([[0.0] * 26], "expected one array per speaker stream ['emotion', '3dmm', 'mfcc']"),
        ({"emotion": np.zeros((60, 25))}, "missing streams ['3dmm', 'mfcc']"),
        (
            {**_streams(), "mfc": _streams()["mfcc"]},
            "unknown streams ['mfc']: this model reads ['emotion', '3dmm', 'mfcc']",
        ),
        (_streams(mfcc=np.zeros((60, 20))), "stream 'mfcc' has shape (60, 20), expected (T, 26)"),
        (_streams(mfcc=np.zeros(26)), "stream 'mfcc' has shape (26,), expected (T, 26)"),
        (_streams(mfcc=[["a"] * 26] * 60), "stream 'mfcc' is not an array of numbers"),
        (_streams(mfcc=[[0.0] * 26, [0.0]]), "stream 'mfcc' is not an array of numbers"),
        (_streams(0), "stream 'emotion' has no frames"),
        (_streams(mfcc=_nan_at(7)), "'mfcc' has 1 value(s) that are NaN or infinite"),
        (_streams(mfcc=np.full((60, 26), np.inf)), "the first in frame 0"),
        (_streams(mfcc=np.full((60, 26), 1e39)), "NaN or infinite (as float32)"),  # overflows
        (_streams(mfcc=np.zeros((59, 26))), "got emotion 60, 3dmm 60, mfcc 59"),
    ],
)
def test_a_bad_request_is_an_invalid_parameter_naming_the_problem(model_input, message):
    with pytest.raises(MlflowException) as err:
        speaker_streams(model_input, DIMS)
    assert err.value.error_code == "INVALID_PARAMETER_VALUE"  # the server's 400
    assert err.value.get_http_status_code() == 400
    assert message in err.value.message


def test_good_streams_become_float_tensors():
    x = speaker_streams(_streams(mfcc=np.ones((60, 26), np.float64)), DIMS)
    assert list(x) == list(DIMS) and x["mfcc"].dtype.is_floating_point
    assert {s: tuple(v.shape) for s, v in x.items()} == {s: (60, d) for s, d in DIMS.items()}


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"samples": 0}, f"params.samples must be in [1, {MAX_SAMPLES}], got 0"),
        ({"samples": MAX_SAMPLES + 1}, f"got {MAX_SAMPLES + 1}"),
        ({"samples": True}, "params.samples must be an integer"),
        ({"seed": -1}, "params.seed must be in [0, 2**63), got -1"),
        ({"seed": 1.5}, "params.seed must be an integer or null"),
        ({"online": "yes"}, "params.online must be true or false"),
    ],
)
def test_bad_params_are_invalid_parameters(params, message):
    with pytest.raises(MlflowException, match="params") as err:
        request_params(params)
    assert err.value.error_code == "INVALID_PARAMETER_VALUE" and message in err.value.message


def test_params_default_to_the_signature_defaults():
    r = request_params(None)
    assert (r.samples, r.seed, r.online) == (10, None, False)
    assert request_params({"samples": 3, "seed": 5, "online": True}).seed == 5


def test_any_family_serves_through_the_protocol(monkeypatch, tmp_path):
    """The pyfunc knows no model class: a second family gets its signature, example and
    reactions from ``ReactionModel`` alone, and a model that cannot stream refuses online."""
    toy = register_toy_family(monkeypatch)(DIMS)
    assert {s.name: s.shape for s in signature(toy).inputs.inputs} == {
        s: (-1, d) for s, d in DIMS.items()
    }
    example, _ = input_example(toy, 6)
    assert {s: x.shape for s, x in example.items()} == {s: (6, d) for s, d in DIMS.items()}
    served = ReactionPyfunc()
    served.model, served.config = toy, Generation(steps=2)
    out = served.predict(None, _streams(9), params={"samples": 3, "seed": 1})
    assert out["emotion"].shape == (3, 9, 25) and out["3dmm"].shape == (3, 9, 58)
    monkeypatch.setattr(type(toy), "can_stream", False)
    with pytest.raises(MlflowException, match="this toy-mirror model cannot generate online"):
        served.predict(None, _streams(9), params={"online": True})


# ------------------------------------------------------------------ the registered model
@pytest.fixture
def store(mlflow_store, tmp_path) -> str:
    """This test's store, with an experiment whose artifacts stay in tmp_path."""
    mlflow.set_tracking_uri(mlflow_store)
    client = MlflowClient()
    location = (tmp_path / "mlflow" / "artifacts" / EXPERIMENT).as_uri()
    client.create_experiment(EXPERIMENT, artifact_location=location)
    mlflow.set_experiment(EXPERIMENT)
    return mlflow_store


@pytest.fixture(scope="module")
def clip(tiny_reactdiff, tiny_store_master, tiny_drop_master) -> dict[str, np.ndarray]:
    """The feature streams of a test clip of the tiny drop, as the features stage wrote them."""
    rel = ReactLayout(tiny_drop_master).clips("test")[0]
    fs = FeatureStore(tiny_store_master)
    return {s: np.array(fs.open("test", rel, s)) for s in DIMS}


def _register(tiny_reactdiff, alias: str | None = "champion") -> tuple[Path, str]:
    params, folder, _ = tiny_reactdiff
    model_file = folder / "reactdiff.pt"
    with mlflow.start_run():
        version = log_registered_model(
            load_model(model_file),
            "reactdiff",
            "reactdiff",
            model_file,
            [],
            generation=generation_config(params),
        )
    if alias:
        MlflowClient().set_registered_model_alias("reactdiff", alias, version)
    return model_file, version


def _check_reactions(emotion: np.ndarray, face: np.ndarray, samples: int, frames: int) -> None:
    """N reactions of T frames, each frame a valid REACT emotion vector and 3DMM row."""
    assert emotion.shape == (samples, frames, 25) and face.shape == (samples, frames, 58)
    assert np.isfinite(emotion).all() and np.isfinite(face).all()
    assert set(np.unique(emotion[..., AU_SLICE])) <= {0.0, 1.0}
    assert np.abs(emotion[..., VA_SLICE]).max() <= 1.0
    assert emotion[..., EXPR_SLICE].min() >= 0.0
    np.testing.assert_allclose(emotion[..., EXPR_SLICE].sum(-1), 1.0, atol=1e-4)
    assert not np.allclose(emotion[0], emotion[-1])  # different reactions, not one copied


def test_the_registered_model_is_a_pyfunc_with_a_tensor_signature(
    tiny_reactdiff, clip, store, tmp_path
):
    params = tiny_reactdiff[0]
    model_file, version = _register(tiny_reactdiff)
    uri = "models:/reactdiff@champion"
    info = mlflow.models.get_model_info(uri)
    assert set(info.flavors) == {"python_function"}  # no pickled torch module in the version
    sig = info.signature
    assert {s.name: (s.type, s.shape) for s in sig.inputs.inputs} == {
        s: (np.dtype("float32"), (-1, d)) for s, d in DIMS.items()
    }
    assert {s.name: s.shape for s in sig.outputs.inputs} == {
        "emotion": (-1, -1, 25),
        "3dmm": (-1, -1, 58),
    }
    assert {p.name: p.default for p in sig.params.params} == {
        "samples": 10,
        "seed": None,
        "online": False,
    }
    config = info.flavors["python_function"]["config"]["generation"]
    assert Generation(**config) == params.generation() and config["chunk_frames"] == 750

    # the input example is the serving request format, of the model's real widths
    local = Path(mlflow.artifacts.download_artifacts(uri, dst_path=str(tmp_path / "m")))
    example = json.loads((local / "serving_input_example.json").read_text())
    assert {s: np.array(v).shape[1] for s, v in example["inputs"].items()} == DIMS
    assert example["params"]["samples"] >= 1

    # `reactdiff generate --model models:/...` still finds the model file of the version
    tag = MlflowClient().get_model_version("reactdiff", version).tags[MODEL_FILE_TAG]
    assert tag == "reactdiff/reactdiff.pt"
    found = registered_model_file(uri, params, tmp_path / "dl")
    assert found.read_bytes() == model_file.read_bytes()

    served = mlflow.pyfunc.load_model(uri)
    frames = 75  # not a whole number of windows: padded, then cut
    request = {s: v[:frames] for s, v in clip.items()}
    out = served.predict(request, params={"samples": 2, "seed": 4})
    _check_reactions(out["emotion"], out["3dmm"], 2, frames)
    again = served.predict(request, params={"samples": 2, "seed": 4})
    np.testing.assert_array_equal(out["3dmm"], again["3dmm"])  # a seed fixes the draw
    online = served.predict(request, params={"samples": 2, "online": True})
    _check_reactions(online["emotion"], online["3dmm"], 2, frames)
    with pytest.raises(MlflowException, match=r"Shape of input \(75, 20\)"):
        served.predict({**request, "mfcc": request["mfcc"][:, :20]})  # the schema's check


def test_a_stage_registers_reactdiff_with_the_sampling_params(tiny_reactdiff, store):
    """stage_run hands the run's params to the logged pyfunc; the MMT stays pytorch."""
    import torch

    from reactdiff.stages.result import RegisteredModel, StageOptions, StageResult
    from reactdiff.tracking import stage_run

    params, folder, _ = tiny_reactdiff
    params = params.model_copy(
        update={
            "tracking": params.tracking.model_copy(update={"experiment": EXPERIMENT}),
            "sampling": params.sampling.model_copy(update={"steps": 3, "eta": 0.5}),
        }
    )
    mmt_file = folder / "linear.pt"
    torch.save(torch.nn.Linear(2, 1).state_dict(), mmt_file)

    def stage(_params, _options) -> StageResult:
        return StageResult(
            summary="ok",
            model=RegisteredModel(
                load=lambda: load_model(folder / "reactdiff.pt"),
                artifact_path="reactdiff",
                registered_name="reactdiff",
                model_file=folder / "reactdiff.pt",
            ),
        )

    def mmt_stage(_params, _options) -> StageResult:
        model = RegisteredModel(lambda: torch.nn.Linear(2, 1), "mmt", "reactdiff-mmt", mmt_file)
        return StageResult(summary="ok", model=model)

    assert stage_run("fake_ddim", stage, params, StageOptions()).notes == [
        "registered reactdiff v1"
    ]
    stage_run("fake_mmt", mmt_stage, params, StageOptions())
    info = mlflow.models.get_model_info("models:/reactdiff/1")
    generation = info.flavors["python_function"]["config"]["generation"]
    assert generation["steps"] == 3 and generation["eta"] == 0.5
    assert "pytorch" in mlflow.models.get_model_info("models:/reactdiff-mmt/1").flavors


# ------------------------------------------------------------------ the real server
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _post(port: int, body: bytes) -> tuple[int, dict]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/invocations",
        data=body,
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def _group_alive(pgid: int) -> list[str]:
    """The live (not zombie) processes of process group ``pgid``, from /proc."""
    alive = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            alive.append(stat.parent.name)
    return alive


def _stop(proc: subprocess.Popen) -> None:
    """SIGTERM to the server's process group (the CLI and its uvicorn), SIGKILL if it lingers."""
    pgid = proc.pid  # start_new_session: the group is the CLI's pid
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(pgid, sig)
        except ProcessLookupError:
            break
        deadline = time.monotonic() + 15
        while _group_alive(pgid) and time.monotonic() < deadline:
            time.sleep(0.2)
        if not _group_alive(pgid):
            break
    proc.wait(timeout=15)


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc").is_dir(), reason="checks the process group in /proc")
def test_mlflow_models_serve_answers_reactions_and_rejects_bad_requests(
    tiny_reactdiff, clip, store, tmp_path
):
    _register(tiny_reactdiff)
    port = _free_port()
    bin_dir = Path(sys.executable).parent
    env = {
        **os.environ,
        "MLFLOW_TRACKING_URI": store,
        "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",  # its uvicorn
    }
    command = [str(bin_dir / "mlflow"), "models", "serve", "-m", "models:/reactdiff@champion"]
    command += ["--host", "127.0.0.1", "--port", str(port), "--env-manager", "local"]
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            command,
            env=env,
            cwd=tmp_path,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, stopped whole
        )
    try:
        deadline = time.monotonic() + 120
        while True:
            assert proc.poll() is None, f"the server exited:\n{log.read_text()}"
            assert time.monotonic() < deadline, f"no /ping after 120 s:\n{log.read_text()}"
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/ping", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                time.sleep(0.5)

        frames = len(clip["mfcc"])
        inputs = {s: v.tolist() for s, v in clip.items()}
        good = {"inputs": inputs, "params": {"samples": 3, "seed": 0}}
        status, body = _post(port, json.dumps(good).encode())
        assert status == 200, body
        p = body["predictions"]
        _check_reactions(np.array(p["emotion"]), np.array(p["3dmm"]), 3, frames)

        def bad(**changes) -> bytes:
            params = changes.pop("params", good["params"])
            return json.dumps({"inputs": {**inputs, **changes}, "params": params}).encode()

        without_mfcc = {s: v for s, v in inputs.items() if s != "mfcc"}
        nan_mfcc = [row[:] for row in inputs["mfcc"]]
        nan_mfcc[5][0] = math.nan  # json.dumps writes NaN, which the server's parser reads
        cases = {
            "missing stream": (
                json.dumps({"inputs": without_mfcc}).encode(),
                "Model is missing inputs ['mfcc']",
            ),
            "misspelt stream": (
                json.dumps({"inputs": {**without_mfcc, "mfc": inputs["mfcc"]}}).encode(),
                "Note that there were extra inputs: ['mfc']",
            ),
            "wrong width": (
                bad(mfcc=[row[:20] for row in inputs["mfcc"]]),
                f"Shape of input ({frames}, 20) does not match expected shape (-1, 26)",
            ),
            "other lengths": (
                bad(mfcc=inputs["mfcc"][:100]),
                f"got emotion {frames}, 3dmm {frames}, mfcc 100",
            ),
            "NaN": (bad(mfcc=nan_mfcc), "stream 'mfcc' has 1 value(s) that are NaN"),
            "not numbers": (
                bad(mfcc=[["x"] * 26] * frames),
                "could not convert string to float: 'x'",
            ),
            "bad param": (bad(params={"samples": 0}), "params.samples must be in [1, 100]"),
            "mistyped param": (
                bad(params={"samples": "two"}),
                "Failed to validate type and shape for 'samples'",
            ),
            "not JSON": (b"{inputs", "Ensure that input is a valid JSON formatted string"),
        }
        for case, (request, message) in cases.items():
            status, body = _post(port, request)
            assert 400 <= status < 500, (case, status, body)
            assert message in body["message"], (case, body["message"][-500:])
    finally:
        _stop(proc)
    assert _group_alive(proc.pid) == []
