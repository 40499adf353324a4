"""The served model in worker processes, so that a request over its timeout has its
computation stopped, not merely answered.

A thread cannot be stopped and the models' sampling loops have no cancellation point, so each
of ``serving.max_concurrent`` workers is a process holding the pyfunc model (loaded once) that
answers a request body with MLflow's own ``scoring_server.invocations``: MLflow parses it,
checks it against the signature, predicts and writes the answer, all in the worker, so the
server process only moves bytes. At the request's deadline the worker is killed (SIGKILL: its
memory goes with it) and a new one started in the background. A stopping server kills its
workers at once, so SIGTERM ends even a long computation.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import queue
import threading
import time
import traceback
from multiprocessing.connection import Connection

import mlflow
from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import DEADLINE_EXCEEDED, INTERNAL_ERROR, TEMPORARILY_UNAVAILABLE
from mlflow.pyfunc import scoring_server

from reactdiff.errors import ReactdiffError

POLL_S = 0.2  # how often a waiting request looks whether the server stops (bounds SIGTERM's delay)
JSON_TYPE = "application/json"
Answer = tuple[int, bytes, str]  # status, body, media type

log = logging.getLogger(__name__)


class WorkerStartError(ReactdiffError):
    """A worker process exited before its model was loaded (its traceback is in the log)."""


def error_answer(message: str, code: int) -> Answer:
    """An error as MLflow's scoring server answers it (``code``: MLflow's error code)."""
    err = MlflowException(message, error_code=code)
    return err.get_http_status_code(), err.serialize_as_json().encode(), JSON_TYPE


def _work(conn: Connection, model_dir: str, threads: int) -> None:
    """A worker process: load the pyfunc, then answer ``(body, content type)`` until EOF."""
    import torch

    # the workers share the machine's cores; OMP_NUM_THREADS, where set lower, still holds
    torch.set_num_threads(min(threads, torch.get_num_threads()))
    model = mlflow.pyfunc.load_model(model_dir)
    schema = model.metadata.get_input_schema()
    conn.send("ready")
    while True:
        try:
            body, content_type = conn.recv()
        except EOFError:
            return
        conn.send(_invoke(model, schema, body, content_type))


def _invoke(model, schema, body: bytes, content_type: str) -> Answer:
    """What MLflow's ``/invocations`` answers (its errors as its app turns them into JSON)."""
    try:
        result = scoring_server.invocations(body, content_type, model, schema)
    except MlflowException as err:
        return err.get_http_status_code(), err.serialize_as_json().encode(), JSON_TYPE
    except Exception:
        trace = traceback.format_exc()
        log.error("the model failed on a request:\n%s", trace)
        return error_answer(f"the model failed: {trace.strip().splitlines()[-1]}", INTERNAL_ERROR)
    return result.status, result.response.encode(), result.mimetype


class Worker:
    """One worker process and the server's end of its pipe."""

    def __init__(self, model_dir: str, threads: int) -> None:
        ctx = multiprocessing.get_context("spawn")  # no fork of a process with torch's threads
        self.conn, child = ctx.Pipe()
        self.process = ctx.Process(
            target=_work, args=(child, model_dir, threads), name="reactdiff-serve-worker"
        )
        self.process.daemon = True
        self.process.start()
        child.close()

    def wait_ready(self, stopping: threading.Event) -> None:
        """Until the model is loaded; a ``WorkerStartError`` if the process exits first."""
        while not stopping.is_set():
            try:
                if self.conn.poll(POLL_S):
                    self.conn.recv()
                    return
            except (EOFError, OSError):
                break
        self.kill()
        raise WorkerStartError(
            f"a model worker exited while loading the model (exit code {self.process.exitcode})"
            if not stopping.is_set()
            else "the server stopped while a model worker was loading"
        )

    def kill(self) -> None:
        if self.process.is_alive():
            self.process.kill()
        self.process.join(timeout=POLL_S * 5)
        self.conn.close()


class WorkerPool:
    """``size`` workers of the model in ``model_dir``; a request takes a free one and has
    until its deadline (at most ``timeout_s``, the figure its 504 names)."""

    def __init__(self, model_dir: str, size: int, timeout_s: float) -> None:
        self.model_dir, self.size, self.timeout_s = model_dir, size, timeout_s
        self.threads = max(1, (os.cpu_count() or 1) // size)
        self._free: queue.SimpleQueue[Worker] = queue.SimpleQueue()
        self._workers: set[Worker] = set()
        self._lock = threading.Lock()
        self.stopping = threading.Event()

    def start(self) -> None:
        """Start every worker and wait until all have loaded the model (in parallel)."""
        started = [self._new_worker() for _ in range(self.size)]
        for worker in started:
            worker.wait_ready(self.stopping)
            self._free.put(worker)

    def _new_worker(self) -> Worker:
        worker = Worker(self.model_dir, self.threads)
        with self._lock:
            self._workers.add(worker)
        return worker

    def _replace(self, worker: Worker) -> None:
        """Kill ``worker`` and load a new one in the background."""
        worker.kill()
        with self._lock:
            self._workers.discard(worker)
        if not self.stopping.is_set():
            threading.Thread(target=self._start_one, name="serve-worker-start", daemon=True).start()

    def _start_one(self) -> None:
        worker = self._new_worker()
        try:
            worker.wait_ready(self.stopping)
        except WorkerStartError as err:
            log.error("%s: the server now has one worker fewer", err)
            with self._lock:
                self._workers.discard(worker)
            return
        self._free.put(worker)

    def invoke(self, body: bytes, content_type: str, deadline: float) -> Answer:
        """MLflow's answer to the request from a free worker; 504 when ``deadline``
        (time.monotonic()) passes first (the worker is killed), 503 when the server stops or
        the worker dies."""
        worker = self._take(deadline)
        if worker is None and self.stopping.is_set():
            return error_answer("the server is stopping", TEMPORARILY_UNAVAILABLE)
        if worker is None:
            return self._late("no model worker was free")
        try:
            worker.conn.send((body, content_type))
            while not worker.conn.poll(min(POLL_S, max(deadline - time.monotonic(), 0.0))):
                if self.stopping.is_set():
                    return error_answer("the server is stopping", TEMPORARILY_UNAVAILABLE)
                if time.monotonic() >= deadline:
                    self._replace(worker)
                    return self._late("the request ran over it: its computation was stopped")
            answer = worker.conn.recv()
        except (EOFError, OSError):
            self._replace(worker)
            why = "" if self.stopping.is_set() else f" (exit code {worker.process.exitcode})"
            return error_answer(f"the model worker stopped{why}", TEMPORARILY_UNAVAILABLE)
        self._free.put(worker)
        return answer

    def _late(self, what: str) -> Answer:
        return error_answer(f"serving.timeout_s = {self.timeout_s:g} s: {what}", DEADLINE_EXCEEDED)

    def _take(self, deadline: float) -> Worker | None:
        """A free worker (one may be restarting after a timeout), or None at ``deadline``
        or when the server stops."""
        while not self.stopping.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            try:
                return self._free.get(timeout=min(POLL_S, left))
            except queue.Empty:
                continue
        return None

    def close(self) -> None:
        """Stop: kill every worker, computing or not (a request in flight gets a 503)."""
        self.stopping.set()
        with self._lock:
            workers, self._workers = list(self._workers), set()
        for worker in workers:
            worker.process.kill()
        for worker in workers:
            worker.process.join(timeout=POLL_S * 5)

    @property
    def pids(self) -> list[int]:
        with self._lock:
            return [w.process.pid for w in self._workers if w.process.pid is not None]
