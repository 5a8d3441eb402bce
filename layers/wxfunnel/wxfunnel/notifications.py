"""Reminders: a template (OA) or subscribe (MP) message to every follower who came through some scenes.

POST creates the notification record and starts the fan-out: one scene message per scene on the fan-out
queue (reminders.py, fanout.py: each becomes one page per audience shard, then outbox jobs), so the request
itself sends at most MAX_SCENES / 10 SQS batches. The record is the idempotency
record: its id is derived from app + request_id and it is written with a conditional put, so a repeated
request finds it and sends nothing twice (one write, no separate idempotency item; GET reads the same item).
Counters:
audience/queued (fan-out, once per follower), sent/failed/skipped and failed_reasons (sender, once per job).
"""

from __future__ import annotations

import hashlib
import json
import re
import time
import uuid
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from botocore.exceptions import ClientError
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from wxfunnel.aws import dynamodb, sqs
from wxfunnel.channels import ChannelRepository, timestamp
from wxfunnel.config import AccountKind, InvalidAppConfig, UnknownApp, load_app
from wxfunnel.errors import Conflict, NotFound, ValidationFailed
from wxfunnel.observability import logger
from wxfunnel.reminders import notification_key, pages_total, scene_message
from wxfunnel.rules import SCENE_CHARS, SCENE_MAX, rules_for
from wxfunnel.settings import settings

MAX_SCENES = 1000
# WeChat's template data are short keyword fields (thing1, time2, character_string3 …): bounded here so a
# request can never outgrow the notification item (400 KB) or an outbox job.
DATA_ENTRIES_MAX = 20
DATA_KEY = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,31}$")
DATA_VALUE_MAX = 1024
RECORD_DAYS = 90
_NAMESPACE = uuid.UUID("5b0c7f55-3c1e-4c4b-9d8e-7f0e8a1b2c3d")


class MiniProgramLink(BaseModel):
    model_config = ConfigDict(extra="forbid")
    appid: str = Field(pattern=r"^wx[0-9a-f]{16}$")
    pagepath: str = Field(default="", max_length=512)


class NotificationRequest(BaseModel):
    """The body of POST /notifications (docs/admin-api.md, "Reminders")."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    request_id: str = Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.:=-]+$")
    app: str = Field(min_length=1, max_length=64)
    scenes: list[str] | None = Field(default=None, min_length=1, max_length=MAX_SCENES)
    scene_prefix: str | None = Field(default=None, min_length=1, max_length=SCENE_MAX)
    touch: Literal["any", "first", "last"] = "any"
    template_id: str = Field(min_length=1, max_length=128)
    data: dict[str, str | dict[str, str]] = Field(min_length=1, max_length=DATA_ENTRIES_MAX)
    url: str | None = Field(default=None, pattern=r"^https?://\S+$", max_length=1024)
    miniprogram: MiniProgramLink | None = None
    page: str | None = Field(default=None, min_length=1, max_length=512)

    @field_validator("scenes")
    @classmethod
    def _scenes(cls, value: list[str] | None) -> list[str] | None:
        for scene in value or ():
            if not 1 <= len(scene) <= SCENE_MAX or not SCENE_CHARS.fullmatch(scene):
                raise ValueError(f"scene {scene!r} must be 1-{SCENE_MAX} characters of A-Z a-z 0-9 _ = & . -")
        return list(dict.fromkeys(value)) if value else value

    @field_validator("data")
    @classmethod
    def _data(cls, value: dict[str, str | dict[str, str]]) -> dict[str, str | dict[str, str]]:
        for key, item in value.items():
            if not DATA_KEY.fullmatch(key):
                raise ValueError(
                    f"keys must be 1-32 characters of A-Z a-z 0-9 _, starting with a letter (got {key[:40]!r})"
                )
            if isinstance(item, dict) and set(item) != {"value"}:
                raise ValueError(f'{key} must be a string or {{"value": "..."}}')
            text = item["value"] if isinstance(item, dict) else item
            if len(text) > DATA_VALUE_MAX:
                raise ValueError(f"{key} must be at most {DATA_VALUE_MAX} characters (got {len(text)})")
        return value

    @model_validator(mode="after")
    def _one_selector(self) -> NotificationRequest:
        if (self.scenes is None) == (self.scene_prefix is None):
            raise ValueError("give either scenes or scene_prefix (exactly one)")
        return self

    def template_data(self) -> dict[str, str]:
        return {k: v["value"] if isinstance(v, dict) else v for k, v in self.data.items()}


def _field(body: Any, loc: Sequence[int | str]) -> str | None:
    """The input path an error is about: pydantic's `loc` followed through the body, without the labels it adds
    past the input (a union member such as `constrained-str`, `[key]`); a missing field ends the path."""
    parts: list[str] = []
    node = body
    for position, part in enumerate(loc):
        if isinstance(node, Mapping) and isinstance(part, str):
            if part not in node:
                if position == len(loc) - 1:
                    parts.append(part)
                break
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            node = node[part]
        else:
            break
        parts.append(str(part))
    return ".".join(parts) or None


def _validation_failed(exc: ValidationError, body: Any) -> ValidationFailed:
    first = exc.errors()[0]
    field = _field(body, first["loc"])
    message = first["msg"].removeprefix("Value error, ")
    return ValidationFailed(f"{field}: {message}" if field else message, field=field)


def notification_id(app: str, request_id: str) -> str:
    return str(uuid.uuid5(_NAMESPACE, f"{app}\n{request_id}"))


def _resolve_scenes(request: NotificationRequest, kind: AccountKind) -> list[str]:
    if request.scenes is not None:
        return request.scenes
    assert request.scene_prefix is not None
    channel_app = request.app
    if kind is AccountKind.MINI_PROGRAM:
        card = rules_for(load_app(request.app)).card  # an MP's card scenes live on its card OA's channels
        if card is None:
            raise ValidationFailed("scene_prefix: this Mini Program has no card rule", field="scene_prefix")
        channel_app = card.oa
    scenes = [channel.scene for channel in ChannelRepository().list_prefix(channel_app, request.scene_prefix)]
    if not scenes:
        raise ValidationFailed("scene_prefix: no channel scene starts with it", field="scene_prefix")
    if len(scenes) > MAX_SCENES:
        raise ValidationFailed(f"scene_prefix: matches more than {MAX_SCENES} scenes", field="scene_prefix")
    return scenes


def _check_kind(request: NotificationRequest, kind: AccountKind) -> None:
    if kind is AccountKind.OFFICIAL_ACCOUNT and request.page is not None:
        raise ValidationFailed(
            "page: only for Mini Program subscribe messages (use url or miniprogram)", field="page"
        )
    if kind is AccountKind.MINI_PROGRAM:
        if request.touch != "any":
            # Mini Program users have no follow, hence no first/last scene: only their card opt-ins.
            raise ValidationFailed(
                "touch: a Mini Program reminder selects on opt-ins (touch any)", field="touch"
            )
        for name in ("url", "miniprogram"):
            if getattr(request, name) is not None:
                raise ValidationFailed(
                    f"{name}: only for Official Account template messages (use page)", field=name
                )


def _fingerprint(request: NotificationRequest) -> str:
    canonical = json.dumps(request.model_dump(mode="json"), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def create(body: Any, now: int | None = None) -> tuple[dict[str, Any], bool]:
    """Validate and record a reminder and start its fan-out → (view, created); a repeat returns the first."""
    try:
        request = NotificationRequest.model_validate(body)
    except ValidationError as exc:
        raise _validation_failed(exc, body) from None
    try:
        kind = load_app(request.app).kind
    except (UnknownApp, InvalidAppConfig):
        raise ValidationFailed("app: not a configured app", field="app") from None
    _check_kind(request, kind)
    now = int(time.time()) if now is None else now
    ident = notification_id(request.app, request.request_id)
    fingerprint = _fingerprint(request)
    existing = _get(ident)
    if existing is not None:
        return _repeat(existing, fingerprint), False
    scenes = _resolve_scenes(request, kind)
    item: dict[str, Any] = {
        **notification_key(ident),
        "id": {"S": ident},
        "request_id": {"S": request.request_id},
        "fingerprint": {"S": fingerprint},
        "app": {"S": request.app},
        "kind": {"S": "template" if kind is AccountKind.OFFICIAL_ACCOUNT else "subscribe_message"},
        "touch": {"S": request.touch},
        "scenes": {"L": [{"S": scene} for scene in scenes]},
        "message": {"S": json.dumps(_message(request), ensure_ascii=False)},
        "pages_total": {"N": str(pages_total(len(scenes)))},
        "pages_enqueued": {"BOOL": False},
        "failed_reasons": {"M": {}},
        "created_at": {"S": timestamp(now)},
        "ttl": {"N": str(now + RECORD_DAYS * 86400)},
        **{name: {"N": "0"} for name in ("audience", "queued", "sent", "failed", "skipped")},
    }
    try:
        dynamodb().put_item(
            TableName=settings().notifications_table,
            Item=item,
            ConditionExpression="attribute_not_exists(pk)",
        )
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
            raise
        stored = _get(ident)  # a concurrent repeat won
        assert stored is not None
        return _repeat(stored, fingerprint), False
    _start_fanout(ident, request.app, scenes, request.touch)
    logger.info("reminder accepted", extra={"notification": ident, "app": request.app, "scenes": len(scenes)})
    return view(_get(ident) or item), True


def _message(request: NotificationRequest) -> dict[str, Any]:
    return {
        "template_id": request.template_id,
        "data": request.template_data(),
        "url": request.url,
        "miniprogram": request.miniprogram.model_dump() if request.miniprogram else None,
        "page": request.page,
    }


def _repeat(existing: dict[str, Any], fingerprint: str) -> dict[str, Any]:
    if existing["fingerprint"]["S"] != fingerprint:
        raise Conflict("request_id: already used for a different notification")
    if not existing["pages_enqueued"]["BOOL"]:
        # The first request stopped between its record and its pages: finish it (still one send each).
        scenes = [scene["S"] for scene in existing["scenes"]["L"]]
        _start_fanout(existing["id"]["S"], existing["app"]["S"], scenes, existing["touch"]["S"])
        existing = _get(existing["id"]["S"]) or existing
    return view(existing)


def _start_fanout(notification: str, app: str, scenes: Sequence[str], touch: str) -> None:
    bodies = [
        scene_message(notification, app, position=i, scene=scene, touch=touch)
        for i, scene in enumerate(scenes)
    ]
    for start in range(0, len(bodies), 10):
        response = sqs().send_message_batch(
            QueueUrl=settings().fanout_queue_url,
            Entries=[
                {"Id": str(i), "MessageBody": body} for i, body in enumerate(bodies[start : start + 10])
            ],
        )
        if response.get("Failed"):
            raise RuntimeError(f"{len(response['Failed'])} fan-out scenes were not enqueued")
    dynamodb().update_item(
        TableName=settings().notifications_table,
        Key=notification_key(notification),
        UpdateExpression="SET pages_enqueued = :t",
        ExpressionAttributeValues={":t": {"BOOL": True}},
    )


def _get(notification: str) -> dict[str, Any] | None:
    item: dict[str, Any] | None = (
        dynamodb()
        .get_item(
            TableName=settings().notifications_table, Key=notification_key(notification), ConsistentRead=True
        )
        .get("Item")
    )
    return item


def get(notification: str) -> dict[str, Any]:
    """GET /notifications/{id}."""
    item = _get(notification) if notification and len(notification) <= 64 else None
    if item is None:
        raise NotFound(f"notification {notification} does not exist")
    return view(item)


def _n(item: Mapping[str, Any], name: str) -> int:
    value = item.get(name)
    return int(value["N"]) if value else 0


def status(item: Mapping[str, Any]) -> str:
    pages_done = len(item.get("pages_done", {}).get("SS", ()))
    if not item["pages_enqueued"]["BOOL"] or pages_done < _n(item, "pages_total"):
        return "fanning_out"
    if _n(item, "sent") + _n(item, "failed") + _n(item, "skipped") < _n(item, "queued"):
        return "sending"
    return "done"


def view(item: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "id": item["id"]["S"],
        "request_id": item["request_id"]["S"],
        "app": item["app"]["S"],
        "status": status(item),
        "touch": item["touch"]["S"],
        "scenes": len(item["scenes"]["L"]),
        **{name: _n(item, name) for name in ("audience", "queued", "sent", "failed", "skipped")},
        "failed_reasons": {k: int(v["N"]) for k, v in item.get("failed_reasons", {}).get("M", {}).items()},
        "created_at": item["created_at"]["S"],
    }
