"""Runs a template function's handler in-process the way Lambda runs one container: one invocation at a
time, a real-shaped context counting down from the function's Timeout, and that timeout enforced."""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

from wxfunnel_tools.template import FunctionSpec, load_handler

Handler = Callable[[dict[str, Any], Any], Any]

ACCOUNT_ID = "123456789012"
REGION = "us-east-1"
MEMORY_MB = 512

log = logging.getLogger("wxfunnel_tools.local")


class InvocationFailed(Exception):
    """The handler raised, could not be imported, or ran out of time: Lambda reports a function error."""


class FunctionTimedOut(InvocationFailed):
    """The handler was still running when the function's Timeout elapsed."""


class LambdaContext:
    """The attributes and method of Lambda's context object that handlers and Powertools read."""

    def __init__(self, spec: FunctionSpec, memory_mb: int = MEMORY_MB) -> None:
        self.function_name = spec.logical_id
        self.function_version = "$LATEST"
        self.invoked_function_arn = f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{spec.logical_id}"
        self.memory_limit_in_mb = memory_mb
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{spec.logical_id}"
        self.log_stream_name = f"local/[$LATEST]{uuid.uuid4().hex}"
        self.identity = None
        self.client_context = None
        self._deadline = time.monotonic() + spec.timeout

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


class LocalFunction:
    """One function of the template with its handler; `invoke` behaves like a synchronous Lambda invoke."""

    def __init__(self, spec: FunctionSpec, handler: Handler | None = None) -> None:
        self.spec = spec
        self._handler = handler
        # One container per function: Powertools resolvers keep the current event on the module-level app.
        self._container = threading.Lock()

    def _resolve(self) -> Handler:
        if self._handler is None:
            self._handler = load_handler(self.spec.logical_id)
        return self._handler

    def invoke(self, event: dict[str, Any], *, queue_timeout: float | None = None) -> Any:
        """The handler's result; InvocationFailed when it raises or exceeds the function's Timeout.

        `queue_timeout` bounds the wait for the container (a previous invocation still running); None waits.
        """
        outcome: dict[str, Any] = {}
        gate = threading.Lock()  # makes "the worker started" and "the caller gave up" mutually exclusive
        started = threading.Event()
        finished = threading.Event()

        def run() -> None:
            with self._container:
                with gate:
                    if outcome.get("abandoned"):
                        return
                    started.set()
                context = LambdaContext(self.spec)
                try:
                    outcome["result"] = self._resolve()(event, context)
                except BaseException as exc:  # Lambda reports any exception, SystemExit included, as an error
                    outcome["error"] = exc
                finally:
                    finished.set()

        worker = threading.Thread(target=run, name=f"lambda-{self.spec.logical_id}", daemon=True)
        worker.start()
        if not started.wait(queue_timeout):
            with gate:
                if not started.is_set():
                    outcome["abandoned"] = True
                    raise FunctionTimedOut(
                        f"{self.spec.logical_id}: no container free within {queue_timeout} s"
                    )
        return self._outcome(outcome, finished)

    def _outcome(self, outcome: dict[str, Any], finished: threading.Event) -> Any:
        if not finished.wait(self.spec.timeout):
            log.error("%s: Task timed out after %d seconds", self.spec.logical_id, self.spec.timeout)
            raise FunctionTimedOut(
                f"{self.spec.logical_id}: Task timed out after {self.spec.timeout} seconds"
            )
        if "error" in outcome:
            error = outcome["error"]
            log.error("%s raised %s", self.spec.logical_id, type(error).__name__, exc_info=error)
            raise InvocationFailed(f"{self.spec.logical_id}: {type(error).__name__}: {error}") from error
        return outcome.get("result")
