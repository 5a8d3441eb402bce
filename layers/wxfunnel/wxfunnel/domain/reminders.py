"""Reminders: what a notification sends, whom it selects, and the fan-out messages that carry it to every follower.

A notification sends one template (OA) or subscribe (MP) message to the followers who came through some scenes,
selected by their first, last or any touch. Notify enqueues one `SceneMessage` per scene on the fan-out queue; the
fan-out turns each into one `PageMessage` per audience shard and a page into outbox jobs, re-enqueueing the page
with its cursor while followers remain. Both messages have a versioned wire format; version 1 (what deploys before
this module wrote) named the audience index and its sharded key instead of the touch, and still decodes.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from wxfunnel.domain.jobs import InvalidJob, JobKind, Reminder

Touch = Literal["any", "first", "last"]
TOUCHES: tuple[Touch, ...] = ("any", "first", "last")
WIRE_VERSION = 2
# Version 1 named the audience index; each index serves one touch.
_V1_TOUCH_OF_INDEX: dict[str, Touch] = {
    "ByTouchedScene": "any",
    "ByFirstScene": "first",
    "ByLastScene": "last",
}


@dataclass(frozen=True, slots=True)
class ReminderMessage:
    """The message a notification sends to each follower it selects."""

    template_id: str
    data: Mapping[str, str]
    url: str | None = None
    miniprogram: Mapping[str, str] | None = None
    page: str | None = None

    def for_follower(self, notification_id: str) -> Reminder:
        return Reminder(notification_id, self.template_id, self.data, self.url, self.miniprogram, self.page)

    def to_wire(self) -> str:
        return json.dumps(
            {
                "template_id": self.template_id,
                "data": dict(self.data),
                "url": self.url,
                "miniprogram": dict(self.miniprogram) if self.miniprogram is not None else None,
                "page": self.page,
            },
            ensure_ascii=False,
        )

    @classmethod
    def from_wire(cls, text: str) -> ReminderMessage:
        data = json.loads(text)
        reminder = Reminder.from_wire({"notification_id": "", **data})
        return cls(reminder.template_id, reminder.data, reminder.url, reminder.miniprogram, reminder.page)


@dataclass(frozen=True, slots=True)
class Notification:
    """A reminder as recorded: what it sends to whom, and how far its fan-out and sends have come."""

    id: str
    request_id: str
    fingerprint: str  # of the request, so a repeated request_id with other content is refused
    app: str
    kind: JobKind  # TEMPLATE (Official Account) or SUBSCRIBE_MESSAGE (Mini Program)
    touch: Touch
    scenes: tuple[str, ...]
    message: ReminderMessage
    pages_total: int  # scene × audience shard: each reports once when its last page is done
    created_at: str
    ttl: int
    pages_enqueued: bool = False
    pages_done: int = 0
    audience: int = 0  # followers reached (once each, however many scenes they came through)
    queued: int = 0
    sent: int = 0
    failed: int = 0
    skipped: int = 0
    failed_reasons: Mapping[str, int] = field(default_factory=dict)

    @property
    def status(self) -> str:
        if not self.pages_enqueued or self.pages_done < self.pages_total:
            return "fanning_out"
        if self.sent + self.failed + self.skipped < self.queued:
            return "sending"
        return "done"


@dataclass(frozen=True, slots=True)
class SceneMessage:
    """One scene of a notification, to be expanded into its audience shards' first pages."""

    notification_id: str
    app: str
    position: int  # the scene's place in the notification (page ids derive from it)
    scene: str
    touch: Touch

    def page(self, shard: int) -> PageMessage:
        return PageMessage(
            self.notification_id, self.app, self.scene, self.touch, shard, f"{self.position}.{shard}"
        )


@dataclass(frozen=True, slots=True)
class PageMessage:
    """One page of one audience shard of a scene; `cursor` continues where the previous page of the shard ended."""

    notification_id: str
    app: str
    scene: str
    touch: Touch
    shard: int
    page_id: str  # `<position>.<shard>`: the shard is done when its last page reports
    cursor: Any = None  # opaque to the domain (the store's position in the index), JSON-serialisable

    def next(self, cursor: Any) -> PageMessage:
        return PageMessage(
            self.notification_id, self.app, self.scene, self.touch, self.shard, self.page_id, cursor
        )

    @property
    def identity(self) -> str:
        """This page's own id (the shard and where it starts): its counts are added once per identity."""
        if self.cursor is None:
            return self.page_id
        digest = hashlib.sha256(json.dumps(self.cursor, sort_keys=True).encode("utf-8")).hexdigest()[:16]
        return f"{self.page_id}@{digest}"


FanoutMessage = SceneMessage | PageMessage


def to_wire(message: FanoutMessage) -> str:
    body: dict[str, Any] = {
        "v": WIRE_VERSION,
        "notification_id": message.notification_id,
        "app": message.app,
        "scene": message.scene,
        "touch": message.touch,
    }
    if isinstance(message, SceneMessage):
        body.update(kind="scene", position=message.position)
    else:
        body.update(kind="page", shard=message.shard, page=message.page_id, cursor=message.cursor)
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"))


def _field(data: Mapping[str, Any], key: str, kind: type) -> Any:
    value = data.get(key)
    if not isinstance(value, kind) or isinstance(value, bool):
        raise InvalidJob(f"fan-out message: {key} is missing or malformed")
    return value


def _touch(value: Any) -> Touch:
    if value not in TOUCHES:
        raise InvalidJob("fan-out message: touch must be any, first or last")
    touch: Touch = value
    return touch


def _from_v1(data: Mapping[str, Any]) -> FanoutMessage:
    touch = _touch(_V1_TOUCH_OF_INDEX.get(str(data.get("index"))))
    notification = _field(data, "notification_id", str)
    if data.get("kind") == "scene":
        return SceneMessage(
            notification,
            _field(data, "app", str),
            _field(data, "position", int),
            _field(data, "scene", str),
            touch,
        )
    # A v1 page names its sharded audience key `<app>#<scene>#<shard>` (app names hold no "#").
    app, _, rest = _field(data, "audience_key", str).partition("#")
    scene, _, shard = rest.rpartition("#")
    if not (app and scene and shard.isdigit()):
        raise InvalidJob("fan-out message: malformed audience_key")
    return PageMessage(
        notification, app, scene, touch, int(shard), _field(data, "page", str), data.get("start_key")
    )


def from_wire(body: str) -> FanoutMessage:
    try:
        data = json.loads(body)
    except ValueError:
        raise InvalidJob("fan-out message: not JSON") from None
    if not isinstance(data, dict):
        raise InvalidJob("fan-out message: not an object")
    if data.get("v") == 1:
        return _from_v1(data)
    if data.get("v") != WIRE_VERSION:
        raise InvalidJob("fan-out message of an unknown version")
    notification, app = _field(data, "notification_id", str), _field(data, "app", str)
    scene, touch = _field(data, "scene", str), _touch(data.get("touch"))
    if data.get("kind") == "scene":
        return SceneMessage(notification, app, _field(data, "position", int), scene, touch)
    if data.get("kind") == "page":
        return PageMessage(
            notification,
            app,
            scene,
            touch,
            _field(data, "shard", int),
            _field(data, "page", str),
            data.get("cursor"),
        )
    raise InvalidJob("fan-out message: kind must be scene or page")
