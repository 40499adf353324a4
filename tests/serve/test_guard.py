"""The guard in front of MLflow's app, with stand-ins for the app and the workers: each limit
answers at once with MLflow's error format, before the body is read where the limit allows,
and the workers never see a refused request."""

from __future__ import annotations

import asyncio
import json
import threading
import time

import pytest

from reactdiff.config import ServingParams
from reactdiff.serve.guard import Guard, longest_array, shorten

LIMITS = ServingParams(
    max_frames=100, max_body_bytes=10_000, timeout_s=5.0, max_concurrent=1, max_waiting=1
)
JSON = [(b"content-type", b"application/json")]


class Workers:
    """Stands in for the pool: answers 200 with the body's size and the time left; waits on
    ``gate`` first (in the guard's thread)."""

    def __init__(self) -> None:
        self.calls = 0
        self.gate = threading.Event()
        self.gate.set()

    def __call__(self, body: bytes, content_type: str, deadline: float):
        self.calls += 1
        self.gate.wait(timeout=10)
        answer = {"got": len(body), "type": content_type, "left": deadline - time.monotonic()}
        return 200, json.dumps(answer).encode(), "application/json"


async def app(scope, receive, send) -> None:
    """MLflow's app for the other routes: 200 "other"."""
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b'"other"'})


async def _call(guard: Guard, chunks: list[bytes], headers=JSON, path="/invocations"):
    """(status, decoded JSON body, how many chunks the guard read) of one request."""
    scope = {"type": "http", "method": "POST", "path": path, "headers": headers}
    read, sent = [], []

    async def receive():
        i = len(read)
        read.append(i)
        if i >= len(chunks):
            return {"type": "http.disconnect"}
        return {"type": "http.request", "body": chunks[i], "more_body": i < len(chunks) - 1}

    async def send(message):
        sent.append(message)

    await guard(scope, receive, send)
    status = sent[0]["status"]
    return status, json.loads(b"".join(m.get("body", b"") for m in sent[1:])), len(read)


def _run(guard: Guard, chunks: list[bytes], **kw):
    return asyncio.run(_call(guard, chunks, **kw))


def test_a_good_request_reaches_the_workers_with_its_body_and_deadline():
    workers = Workers()
    headers = [(b"content-type", b"application/json; charset=utf-8")]
    status, body, _ = _run(
        Guard(app, LIMITS, workers), [b'{"inputs": ', b"[[1, 2]]}"], headers=headers
    )
    assert status == 200 and body["got"] == len(b'{"inputs": [[1, 2]]}')
    assert body["type"] == "application/json; charset=utf-8"  # as sent: MLflow checks it
    assert 4 < body["left"] <= 5 and workers.calls == 1


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        ([], "no Content-Type: send the request as application/json"),
        ([(b"content-type", b"text/csv")], "Content-Type 'text/csv'"),
    ],
)
def test_only_json_is_taken(headers, message):
    workers = Workers()
    status, body, read = _run(Guard(app, LIMITS, workers), [b"{}"], headers=headers)
    assert (status, body["error_code"], read, workers.calls) == (415, "BAD_REQUEST", 0, 0)
    assert message in body["message"]


def test_a_content_length_over_the_limit_is_refused_before_reading():
    headers = [*JSON, (b"content-length", b"10001")]
    status, body, read = _run(Guard(app, LIMITS, Workers()), [b"x" * 10_001], headers=headers)
    assert (status, read) == (413, 0)
    assert body["message"] == "the body has 10001 bytes, over serving.max_body_bytes = 10000"


def test_a_streamed_body_is_cut_where_it_passes_the_limit():
    chunks = [b"x" * 4000] * 10
    status, body, read = _run(Guard(app, LIMITS, Workers()), chunks)
    assert (status, read) == (413, 3)  # 12000 bytes seen, 28000 never read
    assert "over serving.max_body_bytes = 10000" in body["message"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"[" * 5000 + b"]" * 5000, "nested too deep"),  # MLflow 3.17: RecursionError, 500
        (b'{"inputs": ' + b"7" * 5000 + b"}", "Exceeds the limit (4300 digits)"),  # 500
        (b'{"inputs": [' + b"12345," * 1000, "Expecting value at line 1 column 6013"),  # echoed
        (b"\xff\xfe\xfa", "can't decode"),
    ],
)
def test_malformed_json_is_a_short_400(body, message):
    limits = LIMITS.model_copy(update={"max_body_bytes": 20_000})
    workers = Workers()
    status, answer, _ = _run(Guard(app, limits, workers), [body])
    assert (status, answer["error_code"], workers.calls) == (400, "BAD_REQUEST", 0)
    assert message in answer["message"] and len(answer["message"]) < 200


def test_a_clip_over_max_frames_is_refused_before_the_workers():
    workers = Workers()
    clip = json.dumps({"inputs": {"x": [[0.0, 1.0]] * 101}}).encode()
    status, body, _ = _run(Guard(app, LIMITS, workers), [clip])
    assert (status, workers.calls) == (413, 0)
    assert body["message"] == (
        "an array of 101 items: a clip may have at most serving.max_frames = 100 frames"
    )


def test_longest_array_looks_everywhere():
    assert longest_array({"a": [1, {"b": [0] * 7}], "c": "xyz"}) == 7
    assert longest_array(5) == 0


def test_more_requests_than_admitted_get_a_fast_429_and_waiting_ones_time_out():
    async def scenario():
        workers = Workers()
        workers = Workers()
        workers.gate.clear()
        guard = Guard(app, LIMITS.model_copy(update={"timeout_s": 0.5}), workers)
        first = asyncio.create_task(_call(guard, [b"{}"]))
        waiting = asyncio.create_task(_call(guard, [b"{}"]))
        await asyncio.sleep(0.05)
        over = await _call(guard, [b"{}"])  # 1 computing + 1 waiting: full
        late = await waiting  # its worker never freed within timeout_s
        workers.gate.set()
        return over, late, await first, workers.calls, guard.admitted

    over, late, first, calls, admitted = asyncio.run(scenario())
    assert over[0] == 429 and over[1]["error_code"] == "REQUEST_LIMIT_EXCEEDED"
    assert "1 computing, serving.max_concurrent, and 1 waiting" in over[1]["message"]
    assert late[0] == 504 and "within serving.timeout_s = 0.5 s" in late[1]["message"]
    assert first[0] == 200 and calls == 1 and admitted == 0


def test_other_routes_go_to_mlflows_app():
    workers = Workers()
    answer = _run(Guard(app, LIMITS, workers), [b"x" * 20_000], headers=[], path="/ping")
    assert (answer[:2], workers.calls) == ((200, "other"), 0)


def test_mlflow_errors_lose_the_echoed_input_and_the_stack_trace():
    error = {
        "error_code": "INVALID_PARAMETER_VALUE",
        "message": "Failed to predict data '{'x': array([[1., 2.]])}'. \nError: stream 'x' bad",
        "stack_trace": "Traceback ...",
    }
    assert json.loads(shorten(json.dumps(error).encode())) == {
        "error_code": "INVALID_PARAMETER_VALUE",
        "message": "stream 'x' bad",
    }
    assert shorten(b"not json") == b"not json"
