"""The guard in front of MLflow's scoring app: a request to ``/invocations`` gets its 4xx
before MLflow reads or parses it when it breaks a limit (params.yaml's ``serving`` group) or
is not JSON that MLflow can parse without failing.

In order, each answered at once with MLflow's error format (``{"error_code", "message"}``):
a missing or non-JSON Content-Type (415: MLflow 3.17 answers a missing one with a 500, and CSV
or Parquet would bypass the clip limit), a Content-Length over ``max_body_bytes`` (413, nothing
read), more requests than ``max_concurrent`` + ``max_waiting`` in the server (429), a body that
grows past ``max_body_bytes`` as it streams in (413, cut there), a body that is not JSON (400,
the parser's short reason, never the body: MLflow 3.17 echoes an unclosed body whole and
answers JSON nested 100000 deep or an integer of 5000 digits with a 500), an array longer than
``max_frames`` (413: the clip's frames; every MLflow request format holds the frames in its
longest array), and a request not admitted to a worker by ``timeout_s`` after it arrived (504).

An admitted request is answered by ``invoke`` (the worker pool: MLflow's own ``invocations``
in a worker process, killed at the request's deadline), off the event loop, so that the loop
keeps answering 429s and ``/ping`` while requests compute. MLflow's error answers are
shortened on the way back: its "Failed to predict data '<the parsed input>'" prefix goes, its
stack traces go to the server's log. Other routes go to MLflow's app unchanged.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from reactdiff.config import ServingParams
from reactdiff.errors import ReactdiffError

Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[MutableMapping[str, Any], Receive, Send], Awaitable[None]]
# (body, Content-Type, deadline as time.monotonic()) -> (status, body, media type); blocking
Invoke = Callable[[bytes, str, float], tuple[int, bytes, str]]

ROUTE = "/invocations"
JSON_TYPE = "application/json"
_ECHO_START, _ECHO_END = "Failed to predict data '", "\nError: "  # MLflow's echo of the input

log = logging.getLogger(__name__)


class Refusal(ReactdiffError):
    """A request answered by the guard: its HTTP status, MLflow error code and message."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


class _ClientGone(ReactdiffError):
    """The client closed the connection before its body arrived: nobody to answer."""


class Guard:
    """ASGI app: ``/invocations`` bounded and answered by ``invoke``, the rest by ``app``."""

    def __init__(self, app: ASGIApp, limits: ServingParams, invoke: Invoke) -> None:
        self.app, self.limits, self.invoke = app, limits, invoke
        self.admitted = 0  # requests past the 429 check and not yet answered
        self._slots: asyncio.Semaphore | None = None  # made in the server's event loop

    async def __call__(self, scope: MutableMapping[str, Any], receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != ROUTE or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        try:
            self._check_headers(headers)
        except Refusal as refusal:
            await answer(send, refusal)
            return
        self.admitted += 1
        try:
            await self._admitted(headers[b"content-type"].decode("latin-1"), receive, send)
        finally:
            self.admitted -= 1

    def _check_headers(self, headers: dict[bytes, bytes]) -> None:
        """Content-Type, Content-Length and room in the server: all before a byte is read."""
        kind = headers.get(b"content-type", b"").split(b";")[0].strip().decode("latin-1")
        if kind.lower() != JSON_TYPE:
            said = f"Content-Type {kind!r}" if kind else "no Content-Type"
            raise Refusal(415, "BAD_REQUEST", f"{said}: send the request as {JSON_TYPE}")
        length = headers.get(b"content-length")
        limit = self.limits.max_body_bytes
        if length is not None and length.isdigit() and int(length) > limit:
            raise Refusal(
                413,
                "BAD_REQUEST",
                f"the body has {int(length)} bytes, over serving.max_body_bytes = {limit}",
            )
        if self.admitted >= self.limits.max_concurrent + self.limits.max_waiting:
            raise Refusal(
                429,
                "REQUEST_LIMIT_EXCEEDED",
                f"the server is full ({self.limits.max_concurrent} computing, serving."
                f"max_concurrent, and {self.limits.max_waiting} waiting, serving.max_waiting): "
                "retry later",
            )

    async def _admitted(self, content_type: str, receive: Receive, send: Send) -> None:
        """Read and check the body, wait for a slot, then ``invoke`` in a thread."""
        deadline = time.monotonic() + self.limits.timeout_s
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.limits.max_concurrent)
        try:
            async with asyncio.timeout(self.limits.timeout_s):
                body = await read_body(receive, self.limits.max_body_bytes)
                await asyncio.to_thread(check_json, body, self.limits.max_frames)
                await self._slots.acquire()
        except _ClientGone:
            return
        except Refusal as refusal:
            await answer(send, refusal)
            return
        except TimeoutError:
            message = (
                f"no worker took the request within serving.timeout_s = "
                f"{self.limits.timeout_s:g} s of its arrival"
            )
            await answer(send, Refusal(504, "DEADLINE_EXCEEDED", message))
            return
        try:
            status, out, media = await asyncio.to_thread(self.invoke, body, content_type, deadline)
        finally:
            self._slots.release()
        await _send(send, status, shorten(out) if status >= 400 else out, media)


async def read_body(receive: Receive, limit: int) -> bytes:
    """The request's body, or a 413 as soon as more than ``limit`` bytes have arrived."""
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise _ClientGone()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise Refusal(
                413, "BAD_REQUEST", f"the body is over serving.max_body_bytes = {limit} bytes"
            )
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def check_json(body: bytes, max_frames: int) -> None:
    """A 400 naming why ``body`` is not JSON, or a 413 when an array is over ``max_frames``."""
    try:
        tree = json.loads(body)
    except RecursionError:
        raise Refusal(400, "BAD_REQUEST", "the body is not valid JSON: nested too deep") from None
    except json.JSONDecodeError as err:
        raise Refusal(
            400,
            "BAD_REQUEST",
            f"the body is not valid JSON: {err.msg} at line {err.lineno} column {err.colno}",
        ) from None
    except ValueError as err:  # an integer too long to convert, bytes in no Unicode encoding
        reason = str(err).split(";")[0][:200]
        raise Refusal(400, "BAD_REQUEST", f"the body is not valid JSON: {reason}") from None
    longest = longest_array(tree)
    if longest > max_frames:
        raise Refusal(
            413,
            "BAD_REQUEST",
            f"an array of {longest} items: a clip may have at most serving.max_frames = "
            f"{max_frames} frames",
        )


def longest_array(tree: Any) -> int:
    """The most items of any array or object in a parsed JSON document (no recursion)."""
    longest, stack = 0, [tree] if isinstance(tree, (list, dict)) else []
    while stack:
        node = stack.pop()
        items = node.values() if isinstance(node, dict) else node
        longest = max(longest, len(node))
        stack.extend(x for x in items if isinstance(x, (list, dict)))
    return longest


async def answer(send: Send, refusal: Refusal) -> None:
    """``refusal`` as MLflow answers an error: JSON with its error code and message."""
    body = json.dumps({"error_code": refusal.code, "message": refusal.message}).encode()
    await _send(send, refusal.status, body, JSON_TYPE)


async def _send(send: Send, status: int, body: bytes, media: str) -> None:
    headers = [(b"content-type", media.encode()), (b"content-length", b"%d" % len(body))]
    if status == 429:
        headers.append((b"retry-after", b"1"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def shorten(body: bytes) -> bytes:
    """An MLflow error answer without the input it echoes and its stack trace (logged)."""
    try:
        error = json.loads(body)
    except ValueError:
        return body
    if not isinstance(error, dict) or not isinstance(error.get("message"), str):
        return body
    message = error["message"]
    if message.startswith(_ECHO_START) and _ECHO_END in message:
        error["message"] = message.split(_ECHO_END, 1)[1]
    if trace := error.pop("stack_trace", None):
        log.warning("the model's error (%s): %s", error["message"], trace)
    return json.dumps(error).encode()
