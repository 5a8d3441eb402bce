"""Reminders: a template (OA) or subscribe (MP) message to every follower who came through some scenes.

POST validates the request, records the notification and starts the fan-out: one scene message per scene on the
fan-out queue (entry.fanout turns each into one page per audience shard, then outbox jobs), so the request itself
sends at most MAX_SCENES / 10 SQS batches. The record is the idempotency record: its id is derived from app +
request_id and it is written with a conditional put, so a repeated request finds it and sends nothing twice (one
write, no separate idempotency item; GET reads the same record). Scenes are checked with the same grammar the QR
codes are created by (protocol.limits), so any channel can be reminded.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, cast

from wxfunnel.config.base import AccountKind, InvalidAppConfig, UnknownApp
from wxfunnel.config.loader import load_app
from wxfunnel.core.fields import Fields
from wxfunnel.core.observability import logger
from wxfunnel.domain.channels import timestamp
from wxfunnel.domain.jobs import JobKind
from wxfunnel.domain.reminders import TOUCHES, Notification, ReminderMessage, SceneMessage, Touch
from wxfunnel.entry.admin.errors import Conflict, NotFound, ValidationFailed, invalid
from wxfunnel.protocol import limits
from wxfunnel.store import channels, followers, notifications

MAX_SCENES = 1000
RECORD_DAYS = 90
REQUEST_ID = re.compile(r"[A-Za-z0-9_.:=-]{1,128}")
_FIELDS = frozenset(
    {
        "request_id",
        "app",
        "scenes",
        "scene_prefix",
        "touch",
        "template_id",
        "data",
        "url",
        "miniprogram",
        "page",
    }
)
_NAMESPACE = uuid.UUID("5b0c7f55-3c1e-4c4b-9d8e-7f0e8a1b2c3d")


@dataclass(frozen=True, slots=True)
class NotificationRequest:
    """The body of POST /notifications (docs/admin-api.md, "Reminders"), validated."""

    request_id: str
    app: str
    scenes: list[str] | None
    scene_prefix: str | None
    touch: Touch
    template_id: str
    data: dict[str, str | dict[str, str]]
    url: str | None
    miniprogram: dict[str, str] | None
    page: str | None

    def message(self) -> ReminderMessage:
        data = {k: v["value"] if isinstance(v, dict) else v for k, v in self.data.items()}
        return ReminderMessage(self.template_id, data, self.url, self.miniprogram, self.page)

    def fingerprint(self) -> str:
        """The request's content, so a request_id reused for other content is refused (stable across versions)."""
        canonical = json.dumps(
            {
                "request_id": self.request_id,
                "app": self.app,
                "scenes": self.scenes,
                "scene_prefix": self.scene_prefix,
                "touch": self.touch,
                "template_id": self.template_id,
                "data": self.data,
                "url": self.url,
                "miniprogram": self.miniprogram,
                "page": self.page,
            },
            sort_keys=True,
            ensure_ascii=False,
        )
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _scenes(body: Fields) -> list[str] | None:
    value = body.get("scenes")
    if value is None:
        return None
    if not isinstance(value, list) or not 1 <= len(value) <= MAX_SCENES:
        raise invalid("scenes", f"must be a list of 1 to {MAX_SCENES} scenes")
    for scene in value:
        if not isinstance(scene, str):
            raise invalid(
                "scenes", "must be a list of scenes (strings; an integer scene as its decimal text)"
            )
        problem = limits.scene_str_problem(scene)
        if problem:
            raise invalid("scenes", f"{scene[:70]!r} {problem} ({limits.SCENE_RULE})", problem=problem)
    return list(dict.fromkeys(value))


def _data(body: Fields) -> dict[str, str | dict[str, str]]:
    value = body.get("data")
    if not isinstance(value, Mapping) or not 1 <= len(value) <= limits.TEMPLATE_ENTRIES_MAX:
        raise invalid("data", f"must be an object of 1 to {limits.TEMPLATE_ENTRIES_MAX} keyword values")
    entries = Fields(value, "data", invalid)
    data: dict[str, str | dict[str, str]] = {}
    for key, item in value.items():
        problem = limits.template_key_problem(key)
        if problem:
            raise invalid("data", f"{problem} (got {str(key)[:40]!r})", problem=problem)
        if isinstance(item, Mapping):
            if set(item) != {"value"}:
                raise invalid(
                    "data", f'{key} must be a string or {{"value": "..."}}', problem="must be a string"
                )
            text = Fields(item, f"data.{key}", invalid).required_text("value")
            data[key] = {"value": text}
        else:
            text = entries.required_text(key)
            data[key] = text
        if len(text) > limits.TEMPLATE_VALUE_MAX:
            problem = f"must be at most {limits.TEMPLATE_VALUE_MAX} characters (got {len(text)})"
            raise invalid("data", f"{key} {problem}", problem=problem)
    return data


def _miniprogram(body: Fields) -> dict[str, str] | None:
    data = body.child("miniprogram")
    if data is None:
        return None
    data.only({"appid", "pagepath"})
    appid = data.required_text("appid", check=limits.appid_problem)
    return {"appid": appid, "pagepath": data.text("pagepath", max_chars=512) or ""}


def parse_request(body: Any) -> NotificationRequest:
    fields = Fields.of(body, "", invalid) if isinstance(body, Mapping) else None
    if fields is None:
        raise ValidationFailed("the body must be a JSON object")
    fields.only(_FIELDS)
    request_id = fields.required_text("request_id")
    if not REQUEST_ID.fullmatch(request_id):
        raise invalid("request_id", "must be 1-128 characters of A-Z a-z 0-9 _ . : = -", rule="request_id")
    app = fields.required_text("app", max_chars=64)
    scenes = _scenes(fields)
    scene_prefix = fields.text("scene_prefix", check=limits.scene_prefix_problem)
    if (scenes is None) == (scene_prefix is None):
        raise ValidationFailed("give either scenes or scene_prefix (exactly one)")
    touch = cast("Touch", fields.choice("touch", TOUCHES, "any"))
    template_id = fields.required_text("template_id", max_chars=limits.TEMPLATE_ID_MAX, blank=False)
    data = _data(fields)
    url = fields.text("url", check=limits.url_problem)
    miniprogram = _miniprogram(fields)
    page = fields.text("page", check=limits.page_path_problem)
    return NotificationRequest(
        request_id,
        app,
        scenes,
        scene_prefix,
        touch,
        template_id,
        data,
        url,
        miniprogram,
        page,
    )


def notification_id(app: str, request_id: str) -> str:
    return str(uuid.uuid5(_NAMESPACE, f"{app}\n{request_id}"))


def _check_kind(request: NotificationRequest, kind: AccountKind) -> None:
    if kind is AccountKind.OFFICIAL_ACCOUNT and request.page is not None:
        raise invalid(
            "page",
            "only for Mini Program subscribe messages (use url or miniprogram)",
            rule="account_field",
            params={"kind": kind.value},
        )
    if kind is AccountKind.MINI_PROGRAM:
        if request.touch != "any":
            # Mini Program users have no follow, hence no first/last scene: only their card opt-ins.
            raise invalid(
                "touch",
                "a Mini Program reminder selects on opt-ins (touch any)",
                problem="must be one of: any",
            )
        for name in ("url", "miniprogram"):
            if getattr(request, name) is not None:
                raise invalid(
                    name,
                    "only for Official Account template messages (use page)",
                    rule="account_field",
                    params={"kind": kind.value},
                )


def _resolve_scenes(request: NotificationRequest, kind: AccountKind) -> list[str]:
    if request.scenes is not None:
        return request.scenes
    assert request.scene_prefix is not None
    channel_app = request.app
    if kind is AccountKind.MINI_PROGRAM:
        card = load_app(request.app).rules.card  # an MP's card scenes live on its card OA's channels
        if card is None:
            raise invalid("scene_prefix", "this Mini Program has no card rule", rule="no_card_rule")
        channel_app = card.oa
    scenes = [channel.scene for channel in channels.with_prefix(channel_app, request.scene_prefix)]
    if not scenes:
        raise invalid("scene_prefix", "no channel scene starts with it", rule="no_match")
    if len(scenes) > MAX_SCENES:
        raise invalid(
            "scene_prefix",
            f"matches more than {MAX_SCENES} scenes",
            rule="too_many_scenes",
            params={"max": MAX_SCENES},
        )
    return scenes


def create(body: Any, now: int | None = None) -> tuple[dict[str, Any], bool]:
    """Validate and record a reminder and start its fan-out → (view, created); a repeat returns the first."""
    request = parse_request(body)
    try:
        kind = load_app(request.app).kind
    except (UnknownApp, InvalidAppConfig):
        raise invalid("app", f"no app named '{request.app}' is configured") from None
    _check_kind(request, kind)
    now = int(time.time()) if now is None else now
    ident = notification_id(request.app, request.request_id)
    fingerprint = request.fingerprint()
    existing = notifications.get(ident)
    if existing is not None:
        return _repeat(existing, fingerprint), False
    scenes = _resolve_scenes(request, kind)
    record = Notification(
        id=ident,
        request_id=request.request_id,
        fingerprint=fingerprint,
        app=request.app,
        kind=JobKind.TEMPLATE if kind is AccountKind.OFFICIAL_ACCOUNT else JobKind.SUBSCRIBE_MESSAGE,
        touch=request.touch,
        scenes=tuple(scenes),
        message=request.message(),
        pages_total=len(scenes) * followers.AUDIENCE_SHARDS,
        created_at=timestamp(now),
        ttl=now + RECORD_DAYS * 86400,
    )
    if not notifications.create(record):
        stored = notifications.get(ident)  # a concurrent repeat won
        assert stored is not None
        return _repeat(stored, fingerprint), False
    _start_fanout(record)
    logger.info("reminder accepted", extra={"notification": ident, "app": request.app, "scenes": len(scenes)})
    return view(notifications.get(ident) or record), True


def _repeat(existing: Notification, fingerprint: str) -> dict[str, Any]:
    if existing.fingerprint != fingerprint:
        raise Conflict("request_id: already used for a different notification")
    if not existing.pages_enqueued:
        # The first request stopped between its record and its pages: finish it (still one send each).
        _start_fanout(existing)
        existing = notifications.get(existing.id) or existing
    return view(existing)


def _start_fanout(record: Notification) -> None:
    notifications.enqueue_fanout(
        [
            SceneMessage(record.id, record.app, position, scene, record.touch)
            for position, scene in enumerate(record.scenes)
        ]
    )
    notifications.mark_pages_enqueued(record.id)


def get(notification: str) -> dict[str, Any]:
    """GET /notifications/{id}."""
    record = notifications.get(notification) if notification and len(notification) <= 64 else None
    if record is None:
        raise NotFound(f"notification {notification} does not exist")
    return view(record)


def view(record: Notification) -> dict[str, Any]:
    return {
        "id": record.id,
        "request_id": record.request_id,
        "app": record.app,
        "status": record.status,
        "touch": record.touch,
        "scenes": len(record.scenes),
        "audience": record.audience,
        "queued": record.queued,
        "sent": record.sent,
        "failed": record.failed,
        "skipped": record.skipped,
        "failed_reasons": dict(record.failed_reasons),
        "created_at": record.created_at,
    }
