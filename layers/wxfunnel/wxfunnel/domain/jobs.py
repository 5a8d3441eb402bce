"""Outbound work as typed jobs: one kind per thing the sender does, one payload dataclass per kind, a versioned wire.

The callback (flows) and the fan-out create jobs; the outbox carries them as JSON (`to_wire`); the sender reads
them back (`from_wire`) and dispatches on `kind`. The wire format is versioned (`v`): a job queued before a deploy
must still decode after it, so a new version adds a decoder and never drops one. Version 1 is:

    {"v": 1, "kind": "<JobKind>", "app": "<app>", "openid": "<openid>", "key": "<job key>", "payload": {...}}

with the payloads as each `to_wire` below writes them (None values left out where noted).
A job's `key` is stable across WeChat's and Lambda's retries (derived from the delivery or the reminder), so a
retry can neither enqueue it twice (SQS FIFO de-duplication id) nor send it twice (the sender's completion record).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Literal

from wxfunnel.config.rules import ImageAction, LinkAction, MiniProgramPageAction, TemplateSpec, TextAction
from wxfunnel.protocol import limits

WIRE_VERSION = 1
_GROUP_ID = re.compile(r"[!-~]{1,128}")  # SQS: 1-128 characters, letters, digits and punctuation

SendAs = Literal["link", "image"]


class JobKind(StrEnum):
    CUSTOM_MESSAGE = "custom_message"  # a customer-service message (rule reply, fallback text)
    CARD_QR = "card_qr"  # a mini-program card's context → an OA QR, sent back through the MP
    FOLLOW_QR = "follow_qr"  # a keyword's "follow the OA" reply: the OA's QR for a fixed scene
    TAG = "tag"  # tag a follower with their channel's tag
    ERASE_USER = "erase_user"  # delete what is stored about a follower who left
    TEMPLATE = "template"  # a reminder to an OA follower (template message)
    SUBSCRIBE_MESSAGE = "subscribe_message"  # a reminder to an MP user (subscribe message)
    OWN_CODE = "own_code"  # a follower's own referral code, made (or reused) and sent to them as an image
    NAME_PROMOTER = "name_promoter"  # the name a follower gave themselves, shown to the friends they bring
    REFERRAL_NOTICE = "referral_notice"  # tell a referrer a friend followed through their code


class InvalidJob(ValueError):
    """A queued body that is no job this version can read (malformed, unknown version or kind)."""


def _text(data: Mapping[str, Any], key: str) -> str:
    value = data.get(key)
    if not isinstance(value, str):
        raise InvalidJob(f"{key} must be a string")
    return value


def _optional(data: Mapping[str, Any], key: str) -> str | None:
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidJob(f"{key} must be a string")
    return value or None


def _strings(data: Mapping[str, Any], key: str) -> dict[str, str]:
    value = data.get(key) or {}
    if not isinstance(value, Mapping):
        raise InvalidJob(f"{key} must be an object")
    return {str(k): str(v["value"] if isinstance(v, Mapping) else v) for k, v in value.items()}


def _integer(data: Mapping[str, Any], key: str, default: int) -> int:
    value = data.get(key)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidJob(f"{key} must be an integer")
    return value


# --- what a customer-service message says: the rule's own reply types, placeholders filled -----------------------

MessageSpec = TextAction | LinkAction | ImageAction | MiniProgramPageAction


def message_to_wire(spec: MessageSpec) -> dict[str, Any]:
    match spec:
        case TextAction():
            return {"type": "text", "content": spec.content}
        case LinkAction():
            return {
                "type": "link",
                "title": spec.title,
                "description": spec.description,
                "url": spec.url,
                "thumb_url": spec.thumb_url,
            }
        case ImageAction():
            return {"type": "image", "image_url": spec.image_url}
        case MiniProgramPageAction():
            return {
                "type": "miniprogrampage",
                "title": spec.title,
                "appid": spec.appid,
                "page_path": spec.page_path,
                "thumb_url": spec.thumb_url,
                "thumb_media_id": spec.thumb_media_id,
            }


def message_from_wire(data: Any) -> MessageSpec:
    if not isinstance(data, Mapping):
        raise InvalidJob("message must be an object")
    kind = data.get("type")
    if kind == "text":
        return TextAction(_text(data, "content"))
    if kind == "link":
        return LinkAction(
            _text(data, "title"),
            _optional(data, "description") or "",
            _text(data, "url"),
            _optional(data, "thumb_url") or "",
        )
    if kind == "image":
        return ImageAction(_text(data, "image_url"))
    if kind == "miniprogrampage":
        return MiniProgramPageAction(
            title=_text(data, "title"),
            page_path=_text(data, "page_path"),
            appid=_optional(data, "appid"),
            thumb_url=_optional(data, "thumb_url"),
            thumb_media_id=_optional(data, "thumb_media_id"),
        )
    raise InvalidJob(f"unknown message type {kind!r}")


def template_from_wire(data: Any) -> TemplateSpec | None:
    """A job's window-closed fallback (a rule's template, texts filled): a template message on an OA (opens
    `url`), a subscribe message on an MP (opens `page`)."""
    if not data:
        return None
    if not isinstance(data, Mapping):
        raise InvalidJob("window_closed_template must be an object")
    return TemplateSpec(
        _text(data, "template_id"), _strings(data, "data"), _optional(data, "url"), _optional(data, "page")
    )


def _fallback_wire(fallback: TemplateSpec | None) -> dict[str, Any] | None:
    return fallback.to_wire() if fallback is not None else None


# --- payloads -------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CustomMessage:
    """Send a customer-service message (a template instead when the 48-hour window has closed)."""

    message: MessageSpec
    window_closed_template: TemplateSpec | None = None

    def to_wire(self) -> dict[str, Any]:
        return {
            "message": message_to_wire(self.message),
            "window_closed_template": _fallback_wire(self.window_closed_template),
        }

    @classmethod
    def from_wire(cls, data: Mapping[str, Any]) -> CustomMessage:
        return cls(
            message_from_wire(data.get("message")),
            template_from_wire(data.get("window_closed_template")),
        )


@dataclass(frozen=True, slots=True)
class QrCode:
    """An OA's temporary QR for `scene`, sent as a link or an image (FOLLOW_QR and CARD_QR)."""

    oa: str
    scene: str
    expire_seconds: int
    send_as: SendAs = "link"
    title: str = ""
    description: str = ""
    thumb_url: str | None = None
    opt_in_text: str | None = None  # CARD_QR: the welcome stored on the card's channel record
    window_closed_template: TemplateSpec | None = None

    def to_wire(self) -> dict[str, Any]:
        wire: dict[str, Any] = {
            "oa": self.oa,
            "scene": self.scene,
            "as": self.send_as,
            "title": self.title,
            "description": self.description,
            "thumb_url": self.thumb_url,
            "expire_seconds": self.expire_seconds,
            "window_closed_template": _fallback_wire(self.window_closed_template),
        }
        if self.opt_in_text is not None:
            wire["opt_in_text"] = self.opt_in_text
        return wire

    @classmethod
    def from_wire(cls, data: Mapping[str, Any]) -> QrCode:
        send_as: SendAs = "image" if data.get("as") == "image" else "link"
        if data.get("as") not in (None, "link", "image"):
            raise InvalidJob("as must be link or image")
        return cls(
            oa=_text(data, "oa"),
            scene=_text(data, "scene"),
            expire_seconds=_integer(data, "expire_seconds", 604_800),
            send_as=send_as,
            title=_optional(data, "title") or "",
            description=_optional(data, "description") or "",
            thumb_url=_optional(data, "thumb_url"),
            opt_in_text=_optional(data, "opt_in_text"),
            window_closed_template=template_from_wire(data.get("window_closed_template")),
        )


@dataclass(frozen=True, slots=True)
class Tag:
    """Give the follower a tag (created on first use)."""

    tag: str

    def to_wire(self) -> dict[str, Any]:
        return {"tag": self.tag}

    @classmethod
    def from_wire(cls, data: Mapping[str, Any]) -> Tag:
        return cls(_text(data, "tag"))


@dataclass(frozen=True, slots=True)
class EraseUser:
    """Erase what is stored about a follower who unfollowed (EraseOnUnsubscribe)."""

    at: int  # CreateTime of the unfollow: the stored status must have reached it before anything is erased

    def to_wire(self) -> dict[str, Any]:
        return {"at": self.at}

    @classmethod
    def from_wire(cls, data: Mapping[str, Any]) -> EraseUser:
        return cls(_integer(data, "at", 0))


@dataclass(frozen=True, slots=True)
class Reminder:
    """A reminder's message to one follower (TEMPLATE on an OA, SUBSCRIBE_MESSAGE on an MP)."""

    notification_id: str
    template_id: str
    data: Mapping[str, str]
    url: str | None = None
    miniprogram: Mapping[str, str] | None = None
    page: str | None = None

    def to_wire(self) -> dict[str, Any]:
        wire: dict[str, Any] = {
            "notification_id": self.notification_id,
            "template_id": self.template_id,
            "data": dict(self.data),
            "url": self.url,
            "miniprogram": dict(self.miniprogram) if self.miniprogram is not None else None,
            "page": self.page,
        }
        return {key: value for key, value in wire.items() if value is not None}

    @classmethod
    def from_wire(cls, data: Mapping[str, Any]) -> Reminder:
        miniprogram = data.get("miniprogram")
        if miniprogram is not None and not isinstance(miniprogram, Mapping):
            raise InvalidJob("miniprogram must be an object")
        return cls(
            notification_id=_text(data, "notification_id"),
            template_id=_text(data, "template_id"),
            data=_strings(data, "data"),
            url=_optional(data, "url"),
            miniprogram={str(k): str(v) for k, v in miniprogram.items()} if miniprogram else None,
            page=_optional(data, "page"),
        )


@dataclass(frozen=True, slots=True)
class OwnCode:
    """A follower's own code: the promoter they become and the scene of their code (both from an opaque token)."""

    promoter: str
    scene: str
    expire_seconds: int

    def to_wire(self) -> dict[str, Any]:
        return {"promoter": self.promoter, "scene": self.scene, "expire_seconds": self.expire_seconds}

    @classmethod
    def from_wire(cls, data: Mapping[str, Any]) -> OwnCode:
        return cls(
            _text(data, "promoter"),
            _text(data, "scene"),
            _integer(data, "expire_seconds", limits.QR_EXPIRE_SECONDS_MAX),
        )


@dataclass(frozen=True, slots=True)
class PromoterName:
    """Record the name a follower gives for their own code (`我的名字 …`)."""

    promoter: str
    name: str
    scene: str  # their own code's scene: its channel names them to the friends it brings

    def to_wire(self) -> dict[str, Any]:
        return {"promoter": self.promoter, "name": self.name, "scene": self.scene}

    @classmethod
    def from_wire(cls, data: Mapping[str, Any]) -> PromoterName:
        return cls(_text(data, "promoter"), _text(data, "name"), _text(data, "scene"))


@dataclass(frozen=True, slots=True)
class ReferralNotice:
    """To the referrer (the job's openid): a friend followed through their code. `{count}` is filled when sent (the
    followers credited to them by then); `{name}` with their own name."""

    promoter: str
    text: str

    def to_wire(self) -> dict[str, Any]:
        return {"promoter": self.promoter, "text": self.text}

    @classmethod
    def from_wire(cls, data: Mapping[str, Any]) -> ReferralNotice:
        return cls(_text(data, "promoter"), _text(data, "text"))


Payload = CustomMessage | QrCode | Tag | EraseUser | Reminder | OwnCode | PromoterName | ReferralNotice

_PAYLOADS: dict[JobKind, Callable[[Mapping[str, Any]], Payload]] = {
    JobKind.CUSTOM_MESSAGE: CustomMessage.from_wire,
    JobKind.CARD_QR: QrCode.from_wire,
    JobKind.FOLLOW_QR: QrCode.from_wire,
    JobKind.TAG: Tag.from_wire,
    JobKind.ERASE_USER: EraseUser.from_wire,
    JobKind.TEMPLATE: Reminder.from_wire,
    JobKind.SUBSCRIBE_MESSAGE: Reminder.from_wire,
    JobKind.OWN_CODE: OwnCode.from_wire,
    JobKind.NAME_PROMOTER: PromoterName.from_wire,
    JobKind.REFERRAL_NOTICE: ReferralNotice.from_wire,
}


@dataclass(frozen=True, slots=True)
class Job:
    """One unit of outbound work for one user of one app."""

    kind: JobKind
    app: str
    openid: str
    key: str
    payload: Payload = field(repr=False)

    @property
    def group(self) -> str:
        """The user's FIFO message group: `app#openid`, or its digest when that is no valid group id (too long)."""
        group = f"{self.app}#{self.openid}"
        if _GROUP_ID.fullmatch(group):
            return group
        return hashlib.sha256(group.encode("utf-8", "surrogatepass")).hexdigest()

    @property
    def deduplication_id(self) -> str:
        return hashlib.sha256(self.key.encode("utf-8")).hexdigest()

    @property
    def notification(self) -> str | None:
        """The reminder whose counters this job moves, if any."""
        return self.payload.notification_id if isinstance(self.payload, Reminder) else None

    def to_wire(self) -> str:
        return json.dumps(
            {
                "v": WIRE_VERSION,
                "kind": self.kind.value,
                "app": self.app,
                "openid": self.openid,
                "key": self.key,
                "payload": self.payload.to_wire(),
            },
            ensure_ascii=False,
            separators=(",", ":"),
        )

    @classmethod
    def from_wire(cls, body: str) -> Job:
        try:
            data = json.loads(body)
        except ValueError:
            raise InvalidJob("not JSON") from None
        if not isinstance(data, dict) or data.get("v") != WIRE_VERSION:
            raise InvalidJob("not an outbox job of a known version")
        payload = data.get("payload") or {}
        if not isinstance(payload, dict):
            raise InvalidJob("job payload must be an object")
        try:
            kind = JobKind(str(data.get("kind")))
        except ValueError:
            raise UnknownJobKind(f"no sender for job kind {data.get('kind')!r}") from None
        return cls(
            kind=kind,
            app=_text(data, "app"),
            openid=_text(data, "openid"),
            key=_text(data, "key"),
            payload=_PAYLOADS[kind](payload),
        )


class UnknownJobKind(InvalidJob):
    """A job of a kind this version has no sender for (e.g. queued by a newer deploy, then rolled back)."""
