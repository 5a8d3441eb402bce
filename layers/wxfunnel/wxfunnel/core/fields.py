"""Reading JSON objects field by field: one reader for the app configuration and the admin API's bodies.

Each caller gives the error to raise, `error(path, problem)`: the configuration raises InvalidAppConfig
("rules.keywords[0].pattern: is required"), the admin API a 422 naming the field ("channel.tag: …"). The value
shapes themselves (scene, URL, appid …) come from `wxfunnel.protocol.limits`; this module only walks the document.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

ErrorFactory = Callable[[str, str], Exception]
Check = Callable[[Any], str | None]  # a limits check: the problem, or None


def _encodable(value: str) -> bool:
    """JSON may carry lone surrogates ("\\ud800"): no text WeChat, DynamoDB or a log line can hold."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


class Fields:
    """The fields of one JSON object at `path` ("" for the document itself)."""

    __slots__ = ("_data", "_error", "path")

    def __init__(self, data: Mapping[str, Any], path: str, error: ErrorFactory) -> None:
        self._data = data
        self.path = path
        self._error = error

    @classmethod
    def of(cls, value: Any, path: str, error: ErrorFactory) -> Fields:
        if not isinstance(value, Mapping):
            raise error(path, "must be an object")
        return cls(value, path, error)

    def where(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def fail(self, key: str, problem: str) -> Exception:
        return self._error(self.where(key), problem)

    def get(self, key: str) -> Any:
        return self._data.get(key)

    def __contains__(self, key: str) -> bool:
        return key in self._data

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def only(self, allowed: frozenset[str] | set[str]) -> None:
        """Refuse fields this object does not have (a typo must not be silently ignored)."""
        unknown = sorted(str(key) for key in set(self._data) - set(allowed))
        if unknown:
            raise self.fail(unknown[0], f"is not a known field (allowed: {', '.join(sorted(allowed))})")

    def text(
        self,
        key: str,
        *,
        required: bool = False,
        max_chars: int | None = None,
        max_bytes: int | None = None,
        default: str | None = None,
        blank: bool = True,
        check: Check | None = None,
    ) -> str | None:
        """A string field; None or "" is absent (an error when required, else `default`)."""
        value = self._data.get(key)
        if value is None or value == "":
            if required:
                raise self.fail(key, "is required")
            return default
        if not isinstance(value, str):
            raise self.fail(key, "must be a string")
        if not _encodable(value):
            raise self.fail(key, "must be valid Unicode text (it contains a lone surrogate)")
        if not blank and not value.strip():
            raise self.fail(key, "must not be blank")
        if max_chars is not None and len(value) > max_chars:
            raise self.fail(key, f"must be at most {max_chars} characters (got {len(value)})")
        if max_bytes is not None:
            size = len(value.encode("utf-8"))
            if size > max_bytes:
                raise self.fail(key, f"must be at most {max_bytes} bytes of UTF-8 (got {size})")
        if check is not None:
            problem = check(value)
            if problem:
                raise self.fail(key, problem)
        return value

    def required_text(
        self,
        key: str,
        *,
        max_chars: int | None = None,
        max_bytes: int | None = None,
        blank: bool = True,
        check: Check | None = None,
    ) -> str:
        value = self.text(
            key, required=True, max_chars=max_chars, max_bytes=max_bytes, blank=blank, check=check
        )
        assert value is not None
        return value

    def choice(self, key: str, allowed: Sequence[str], default: str) -> str:
        value = self._data.get(key, default)
        if value is None:
            value = default
        if value not in allowed:
            raise self.fail(key, f"must be one of: {', '.join(allowed)}")
        return str(value)

    def boolean(self, key: str, default: bool) -> bool:
        value = self._data.get(key, default)
        if value is None:
            return default
        if not isinstance(value, bool):
            raise self.fail(key, "must be true or false")
        return value

    def integer(self, key: str, *, default: int | None = None, check: Check | None = None) -> int | None:
        value = self._data.get(key, default)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            problem = check(value) if check is not None else None
            raise self.fail(key, problem or "must be an integer")
        if check is not None:
            problem = check(value)
            if problem:
                raise self.fail(key, problem)
        return value

    def child(self, key: str, *, required: bool = False, what: str = "") -> Fields | None:
        value = self._data.get(key)
        if value is None:
            if required:
                raise self.fail(key, f"is required{f' ({what})' if what else ''}")
            return None
        return Fields.of(value, self.where(key), self._error)

    def children(self, key: str, *, minimum: int = 0, maximum: int | None = None) -> list[Fields]:
        """A list of objects (absent: empty), each read at `key[index]`."""
        value = self._data.get(key)
        if value is None:
            value = []
        if not isinstance(value, list) or not minimum <= len(value) <= (maximum or len(value)):
            bounds = f"{minimum} to {maximum}" if maximum else f"at least {minimum}"
            raise self.fail(
                key, f"must be a list of {bounds} objects" if minimum or maximum else "must be a list"
            )
        return [
            Fields.of(item, f"{self.where(key)}[{index}]", self._error) for index, item in enumerate(value)
        ]
