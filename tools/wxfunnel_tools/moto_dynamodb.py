"""moto's DynamoDB made atomic per request, as DynamoDB is: every embedded AWS (the local stack, the tests' and the
benchmarks' in-process moto) runs inside `atomic_dynamodb()`."""

from __future__ import annotations

import contextlib
import functools
import threading
from collections.abc import Callable, Iterator
from typing import Any


class _Serialiser:
    """Patches moto's DynamoDB request handler while at least one `atomic_dynamodb()` block is open (they nest).

    The lock covers the whole request: parsing, the backend's operation and the serialisation of its answer. Locking
    only the backend's operations is not enough: moto's get_item returns the stored item itself and serialises it
    after the operation returned, so a concurrent update_item changed it mid-iteration ("dictionary changed size
    during iteration", seen once in CI under a wave of 50 threads)."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        # One request at a time; re-entrant because moto's operations call one another.
        self._lock = threading.RLock()
        self._depth = 0
        self._original: Callable[..., Any] | None = None

    def _locked(self, method: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(method)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with self._lock:
                return method(*args, **kwargs)

        return wrapper

    def enter(self) -> None:
        from moto.dynamodb.responses import DynamoHandler

        with self._guard:
            if self._depth == 0:
                self._original = DynamoHandler.call_action
                DynamoHandler.call_action = self._locked(self._original)  # type: ignore[method-assign]
            self._depth += 1

    def leave(self) -> None:
        from moto.dynamodb.responses import DynamoHandler

        with self._guard:
            self._depth -= 1
            if self._depth == 0 and self._original is not None:
                DynamoHandler.call_action = self._original  # type: ignore[method-assign]
                self._original = None


_SERIALISER = _Serialiser()


@contextlib.contextmanager
def atomic_dynamodb() -> Iterator[None]:
    """Serialise moto's DynamoDB operations: DynamoDB applies each request atomically, moto (threaded server or
    concurrent in-process callers) does not, and its transactions crash on a table changed under them."""
    _SERIALISER.enter()
    try:
        yield
    finally:
        _SERIALISER.leave()
