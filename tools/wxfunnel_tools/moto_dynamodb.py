"""moto's DynamoDB made atomic per request, as DynamoDB is: every embedded AWS (the local stack, the tests' and the
benchmarks' in-process moto) runs inside `atomic_dynamodb()`."""

from __future__ import annotations

import contextlib
import functools
import threading
from collections.abc import Callable, Iterator
from typing import Any

_OPERATIONS = (
    "get_item",
    "put_item",
    "update_item",
    "delete_item",
    "batch_get_item",
    "batch_write_item",
    "transact_write_items",
    "transact_get_items",
    "query",
    "scan",
)


class _Serialiser:
    """Patches moto's DynamoDB backend while at least one `atomic_dynamodb()` block is open (they nest)."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        # One operation at a time; re-entrant because moto's operations call one another.
        self._lock = threading.RLock()
        self._depth = 0
        self._originals: dict[str, Callable[..., Any]] = {}

    def _locked(self, method: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(method)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with self._lock:
                return method(*args, **kwargs)

        return wrapper

    def enter(self) -> None:
        from moto.dynamodb.models import DynamoDBBackend

        with self._guard:
            if self._depth == 0:
                self._originals = {
                    name: getattr(DynamoDBBackend, name)
                    for name in _OPERATIONS
                    if hasattr(DynamoDBBackend, name)
                }
                for name, method in self._originals.items():
                    setattr(DynamoDBBackend, name, self._locked(method))
            self._depth += 1

    def leave(self) -> None:
        from moto.dynamodb.models import DynamoDBBackend

        with self._guard:
            self._depth -= 1
            if self._depth == 0:
                for name, method in self._originals.items():
                    setattr(DynamoDBBackend, name, method)
                self._originals = {}


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
