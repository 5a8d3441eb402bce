"""A followers export too large for one API answer, built in the background: what crosses the export queue.

The admin API accepts the request (a selection: one scene, promoter or team of an app, in the same query words as
`GET /followers/export`), records it as queued and sends an `ExportRequest`; ExportFunction builds the CSV into the
exports bucket and records how it went. The wire format is versioned: a request queued before a deploy is still
read after it, and a body this version cannot read is refused (InvalidJob: the record fails into its DLQ).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from wxfunnel.domain.channels import epoch_of
from wxfunnel.domain.jobs import InvalidJob

WIRE_VERSION = 1
BUILD_SECONDS_MAX = 900  # ExportFunction's Timeout (template.yaml; tests/infrastructure keeps them equal)
STALL_GRACE_SECONDS = 60
SELECTORS = ("scene", "promoter", "team")  # what GET /followers and its exports select by, one at a time
EXPORT_ID = re.compile(r"[0-9a-f]{32}")  # uuid4().hex: also a segment of the export's keys in the bucket


@dataclass(frozen=True, slots=True)
class ExportRequest:
    """One background export: its id, the app and the selection (`selector` = scene, promoter or team)."""

    id: str
    app: str
    selector: str
    value: str
    requested_at: int

    @property
    def query(self) -> dict[str, str]:
        """The selection in the words of GET /followers/export (entry.admin.followers.select reads it)."""
        return {"app": self.app, self.selector: self.value}

    def to_wire(self) -> str:
        return json.dumps(
            {
                "v": WIRE_VERSION,
                "id": self.id,
                "app": self.app,
                "selector": self.selector,
                "value": self.value,
                "requested_at": self.requested_at,
            },
            ensure_ascii=False,
            separators=(",", ":"),
        )

    @classmethod
    def from_wire(cls, body: str) -> ExportRequest:
        try:
            data: Any = json.loads(body)
        except (json.JSONDecodeError, RecursionError):
            raise InvalidJob("export request: not JSON") from None
        if not isinstance(data, Mapping) or data.get("v") != WIRE_VERSION:
            raise InvalidJob("export request of an unknown version")
        export_id, app, selector, value = (_string(data, name) for name in ("id", "app", "selector", "value"))
        if not EXPORT_ID.fullmatch(export_id) or selector not in SELECTORS:
            raise InvalidJob("export request: malformed id or selector")
        requested_at = data.get("requested_at")
        if not isinstance(requested_at, int) or isinstance(requested_at, bool):
            raise InvalidJob("export request: requested_at must be an integer")
        return cls(export_id, app, selector, value, requested_at)


def _string(data: Mapping[str, Any], key: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value:
        raise InvalidJob(f"export request: {key} must be a non-empty string")
    return value


def stalled(status: Mapping[str, Any], now: float) -> bool:
    """A `running` status older than any attempt can run: that attempt died without a word (a timeout, out of
    memory), and nothing else will change it."""
    started = status.get("started_at")
    if status.get("status") != "running" or not isinstance(started, str):
        return False
    return now - epoch_of(started) > BUILD_SECONDS_MAX + STALL_GRACE_SECONDS
