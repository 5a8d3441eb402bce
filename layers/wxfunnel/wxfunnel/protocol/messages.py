"""Typed messages and events: a push's fields (as `documents` parsed them) become frozen values in snake_case.

A registry maps wire types to builders; a type this module does not know becomes `UnknownMessage`/`UnknownEvent`,
never a failure. Scenes are read with `limits.scene_of_event_key`, the same grammar the admin API creates codes by.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from wxfunnel.protocol import limits
from wxfunnel.protocol.documents import MalformedBody

_MAX_FIELD_BYTES = 8 * 1024
_MAX_FIELD_CHARS = _MAX_FIELD_BYTES // 4  # UTF-8 spends at most 4 bytes on a character
_FIELD_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,39}")
# The delivery key is a DynamoDB key (at most 2048 bytes): an identity tail longer than this (a VIEW event's URL
# of up to 1024 bytes, or a hostile EventKey) is replaced by its digest, which identifies the push as well.
_KEY_TAIL_BYTES = 256


@dataclass(frozen=True, slots=True, kw_only=True, repr=False)
class Message:
    """A push from WeChat: what every message and event carries."""

    to_user: str  # the account's original id, gh_…
    openid: str  # FromUserName
    create_time: int
    msg_type: str
    msg_id: str | None = None  # MsgId (or MsgID), opaque: it is a 64-bit integer on the wire
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def __repr__(self) -> str:
        # Logs must never carry message bodies or openids: show what identifies the push, not what was said.
        event = getattr(self, "event", None)
        kind = f"msg_type={self.msg_type!r}" + (f", event={event!r}" if event is not None else "")
        return (
            f"{type(self).__name__}(to_user={self.to_user!r}, {kind}, "
            f"create_time={self.create_time}, msg_id={self.msg_id!r})"
        )


@dataclass(frozen=True, slots=True, kw_only=True, repr=False)
class TextMessage(Message):
    """A text the user sent."""

    content: str


@dataclass(frozen=True, slots=True, kw_only=True, repr=False)
class ImageMessage(Message):
    """An image the user sent."""

    pic_url: str
    media_id: str


@dataclass(frozen=True, slots=True, kw_only=True, repr=False)
class VoiceMessage(Message):
    """A voice message (with WeChat's recognition when the account has it on)."""

    media_id: str
    format: str
    recognition: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True, repr=False)
class VideoMessage(Message):
    """`video` and `shortvideo` (msg_type tells them apart)."""

    media_id: str
    thumb_media_id: str


@dataclass(frozen=True, slots=True, kw_only=True, repr=False)
class LocationMessage(Message):
    """A location the user sent."""

    latitude: float  # Location_X
    longitude: float  # Location_Y
    scale: int
    label: str


@dataclass(frozen=True, slots=True, kw_only=True, repr=False)
class LinkMessage(Message):
    """A link the user sent."""

    title: str
    description: str
    url: str


@dataclass(frozen=True, slots=True, kw_only=True, repr=False)
class MiniProgramPageMessage(Message):
    """A mini-program card the user sent in the Mini Program's customer-service chat."""

    title: str
    appid: str
    page_path: str
    thumb_url: str
    thumb_media_id: str


@dataclass(frozen=True, slots=True, kw_only=True, repr=False)
class UnknownMessage(Message):
    """A message type this module does not know; kept so that a new WeChat type is never fatal."""


@dataclass(frozen=True, slots=True, kw_only=True, repr=False)
class Event(Message):
    """An event (MsgType event)."""

    event: str  # as sent: WeChat mixes cases ("subscribe", "SCAN", "CLICK")
    event_key: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True, repr=False)
class SubscribeEvent(Event):
    """A follow. `scene`: the QR scene (EventKey without its `qrscene_` prefix); None for a plain follow or a key
    that is no scene."""

    scene: str | None = None
    ticket: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True, repr=False)
class UnsubscribeEvent(Event):
    """The user unfollowed; WeChat asks that their data be deleted."""


@dataclass(frozen=True, slots=True, kw_only=True, repr=False)
class ScanEvent(Event):
    """A follower scanned a parametric QR code (SCAN): the scene is its EventKey."""

    scene: str
    ticket: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True, repr=False)
class LocationEvent(Event):
    """The location a follower's client reports (LOCATION)."""

    latitude: float
    longitude: float
    precision: float


@dataclass(frozen=True, slots=True, kw_only=True, repr=False)
class MenuEvent(Event):
    """CLICK, VIEW, view_miniprogram and the scan/picture/location menu events; details stay in `raw`."""

    menu_id: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True, repr=False)
class TemplateSendJobFinishEvent(Event):
    """How a template message went (TEMPLATESENDJOBFINISH)."""

    status: str  # "success", "failed:user block", "failed: system failed"


@dataclass(frozen=True, slots=True)
class SubscribeMsgItem:
    """One template of a subscribe-message event (popup, change or sent)."""

    template_id: str
    status: str | None = None  # SubscribeStatusString: accept / reject (popup, change events)
    msg_id: str | None = None  # sent event
    error_code: str | None = None
    error_status: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True, repr=False)
class SubscribeMsgEvent(Event):
    """subscribe_msg_popup_event, subscribe_msg_change_event, subscribe_msg_sent_event."""

    items: tuple[SubscribeMsgItem, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True, repr=False)
class UserEnterTempSessionEvent(Event):
    """A user entered the Mini Program's customer-service chat."""

    session_from: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True, repr=False)
class UnknownEvent(Event):
    """An event this module does not know; kept, never fatal."""


def delivery_key(message: Message) -> str:
    """WeChat's duplicate-delivery identity (the caller prepends the app name); a few hundred bytes at most."""
    if message.msg_id:
        tail = message.msg_id
    elif isinstance(message, Event):
        tail = f"{message.event}#{message.event_key or ''}"
    else:
        tail = message.msg_type
    encoded = tail.encode("utf-8", "surrogatepass")
    if len(encoded) > _KEY_TAIL_BYTES:
        tail = "sha256:" + hashlib.sha256(encoded).hexdigest()
    return f"{message.openid}#{message.create_time}#{tail}"


# --- reading fields -----------------------------------------------------------------------------------------


def _field_label(name: object) -> str:
    # Unknown field names come from the body: name them only when they look like a wire name.
    return f"'{name}'" if isinstance(name, str) and _FIELD_NAME.fullmatch(name) else "a field"


def _check_size(value: Any, name: object) -> None:
    if isinstance(value, str):
        # 2048 characters can never exceed 8 KiB of UTF-8: encode only the rare long value.
        if len(value) > _MAX_FIELD_CHARS and len(value.encode("utf-8", "surrogatepass")) > _MAX_FIELD_BYTES:
            raise MalformedBody(f"{_field_label(name)} is larger than 8 KiB")
    elif isinstance(value, Mapping):
        _check_sizes(value)
    elif isinstance(value, list):
        for item in value:
            _check_size(item, name)


def _check_sizes(fields: Mapping[str, Any]) -> None:
    for name, value in fields.items():
        if type(value) is not str or len(value) > _MAX_FIELD_CHARS:
            _check_size(value, name)


def _required(doc: Mapping[str, Any], name: str, limit: int) -> str:
    value = doc.get(name)
    if not isinstance(value, str) or not value:
        raise MalformedBody(f"{name} is missing or not a string")
    if len(value) > limit:
        raise MalformedBody(f"{name} is too long")
    return value


def _openid(doc: Mapping[str, Any]) -> str:
    openid = _required(doc, "FromUserName", 64)
    if limits.openid_problem(openid):
        raise MalformedBody("FromUserName is not an openid")
    return openid


def _text(doc: Mapping[str, Any], name: str) -> str:
    value = doc.get(name)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise MalformedBody(f"{name} must be a string")
    return value


def _optional(doc: Mapping[str, Any], name: str) -> str | None:
    return _text(doc, name) or None


def _integer(doc: Mapping[str, Any], name: str) -> int:
    value = doc.get(name)
    if not isinstance(value, str) or not value.isascii() or not value.isdigit() or len(value) > 18:
        raise MalformedBody(f"{name} is not an integer")
    return int(value)


def _number(doc: Mapping[str, Any], name: str) -> float:
    value = doc.get(name)
    if not isinstance(value, str) or len(value) > 32:
        raise MalformedBody(f"{name} is not a number")
    try:
        number = float(value)
    except ValueError:
        raise MalformedBody(f"{name} is not a number") from None
    if not math.isfinite(number):
        raise MalformedBody(f"{name} is not a number")
    return number


def _msg_id(doc: Mapping[str, Any]) -> str | None:
    for name in ("MsgId", "MsgID"):
        value = doc.get(name)
        if value is not None:
            if not isinstance(value, str) or len(value) > 64:
                raise MalformedBody(f"{name} is not a short string")
            return value or None
    return None


# --- the registry of wire types -----------------------------------------------------------------------------

_Builder = Callable[[Mapping[str, Any], dict[str, Any]], Message]
_MESSAGES: dict[str, _Builder] = {}
_EVENTS: dict[str, _Builder] = {}  # keyed by the lower-cased Event name


def _message(*msg_types: str) -> Callable[[_Builder], _Builder]:
    def register(builder: _Builder) -> _Builder:
        _MESSAGES.update(dict.fromkeys(msg_types, builder))
        return builder

    return register


def _event(*events: str) -> Callable[[_Builder], _Builder]:
    def register(builder: _Builder) -> _Builder:
        _EVENTS.update(dict.fromkeys((event.lower() for event in events), builder))
        return builder

    return register


@_message("text")
def _text_message(doc: Mapping[str, Any], head: dict[str, Any]) -> Message:
    return TextMessage(**head, content=_text(doc, "Content"))


@_message("image")
def _image_message(doc: Mapping[str, Any], head: dict[str, Any]) -> Message:
    return ImageMessage(**head, pic_url=_text(doc, "PicUrl"), media_id=_text(doc, "MediaId"))


@_message("voice")
def _voice_message(doc: Mapping[str, Any], head: dict[str, Any]) -> Message:
    return VoiceMessage(
        **head,
        media_id=_text(doc, "MediaId"),
        format=_text(doc, "Format"),
        recognition=_optional(doc, "Recognition"),
    )


@_message("video", "shortvideo")
def _video_message(doc: Mapping[str, Any], head: dict[str, Any]) -> Message:
    return VideoMessage(**head, media_id=_text(doc, "MediaId"), thumb_media_id=_text(doc, "ThumbMediaId"))


@_message("location")
def _location_message(doc: Mapping[str, Any], head: dict[str, Any]) -> Message:
    return LocationMessage(
        **head,
        latitude=_number(doc, "Location_X"),
        longitude=_number(doc, "Location_Y"),
        scale=_integer(doc, "Scale"),
        label=_text(doc, "Label"),
    )


@_message("link")
def _link_message(doc: Mapping[str, Any], head: dict[str, Any]) -> Message:
    return LinkMessage(
        **head, title=_text(doc, "Title"), description=_text(doc, "Description"), url=_text(doc, "Url")
    )


@_message("miniprogrampage")
def _mini_program_page_message(doc: Mapping[str, Any], head: dict[str, Any]) -> Message:
    return MiniProgramPageMessage(
        **head,
        title=_text(doc, "Title"),
        appid=_text(doc, "AppId"),
        page_path=_text(doc, "PagePath"),
        thumb_url=_text(doc, "ThumbUrl"),
        thumb_media_id=_text(doc, "ThumbMediaId"),
    )


@_event("subscribe")
def _subscribe_event(doc: Mapping[str, Any], head: dict[str, Any]) -> Message:
    scene = limits.scene_of_event_key(head["event_key"], subscribe=True)
    return SubscribeEvent(**head, scene=scene, ticket=_optional(doc, "Ticket"))


@_event("unsubscribe")
def _unsubscribe_event(doc: Mapping[str, Any], head: dict[str, Any]) -> Message:
    return UnsubscribeEvent(**head)


@_event("SCAN")
def _scan_event(doc: Mapping[str, Any], head: dict[str, Any]) -> Message:
    scene = limits.scene_of_event_key(head["event_key"], subscribe=False)
    if scene is None:
        return UnknownEvent(**head)  # a scan without a (valid) scene attributes nothing
    return ScanEvent(**head, scene=scene, ticket=_optional(doc, "Ticket"))


@_event("LOCATION")
def _location_event(doc: Mapping[str, Any], head: dict[str, Any]) -> Message:
    return LocationEvent(
        **head,
        latitude=_number(doc, "Latitude"),
        longitude=_number(doc, "Longitude"),
        precision=_number(doc, "Precision"),
    )


# The pushes of the custom menu's buttons: a click button pushes CLICK, a view button VIEW, a mini-program button
# view_miniprogram, and each other key type (limits.MENU_KEY_TYPES) an event of its own name.
@_event("CLICK", "VIEW", "view_miniprogram", *(kind for kind in limits.MENU_KEY_TYPES if kind != "click"))
def _menu_event(doc: Mapping[str, Any], head: dict[str, Any]) -> Message:
    return MenuEvent(**head, menu_id=_optional(doc, "MenuId"))


@_event("TEMPLATESENDJOBFINISH")
def _template_send_job_finish_event(doc: Mapping[str, Any], head: dict[str, Any]) -> Message:
    return TemplateSendJobFinishEvent(**head, status=_text(doc, "Status"))


_SUBSCRIBE_MSG_WRAPPERS = {
    "subscribe_msg_popup_event": "SubscribeMsgPopupEvent",
    "subscribe_msg_change_event": "SubscribeMsgChangeEvent",
    "subscribe_msg_sent_event": "SubscribeMsgSentEvent",
}


def _subscribe_msg_item(entry: object) -> SubscribeMsgItem:
    if not isinstance(entry, Mapping):
        raise MalformedBody("List entries must be objects")
    return SubscribeMsgItem(
        template_id=_required(entry, "TemplateId", 128),
        status=_optional(entry, "SubscribeStatusString"),
        msg_id=_msg_id(entry),
        error_code=_optional(entry, "ErrorCode"),
        error_status=_optional(entry, "ErrorStatus"),
    )


@_event(*_SUBSCRIBE_MSG_WRAPPERS)
def _subscribe_msg_event(doc: Mapping[str, Any], head: dict[str, Any]) -> Message:
    # XML wraps the List in <SubscribeMsgPopupEvent> etc.; the Mini Program's JSON puts it at the top level.
    wrapper = doc.get(_SUBSCRIBE_MSG_WRAPPERS[head["event"].lower()])
    entries = (wrapper if isinstance(wrapper, Mapping) else doc).get("List")
    if entries is None:
        entries = []
    elif isinstance(entries, Mapping):
        entries = [entries]  # a single <List> is not a list to xmltodict
    elif not isinstance(entries, list):
        raise MalformedBody("List must be an object or a list of objects")
    return SubscribeMsgEvent(**head, items=tuple(_subscribe_msg_item(entry) for entry in entries))


@_event("user_enter_tempsession")
def _user_enter_temp_session_event(doc: Mapping[str, Any], head: dict[str, Any]) -> Message:
    return UserEnterTempSessionEvent(**head, session_from=_optional(doc, "SessionFrom"))


def _unknown_message(doc: Mapping[str, Any], head: dict[str, Any]) -> Message:
    return UnknownMessage(**head)


def _unknown_event(doc: Mapping[str, Any], head: dict[str, Any]) -> Message:
    return UnknownEvent(**head)


def parse_message(doc: Mapping[str, Any]) -> Message:
    """The typed message or event of a (decrypted) document; unknown types become Unknown{Message,Event}."""
    _check_sizes(doc)
    head: dict[str, Any] = {
        "to_user": _required(doc, "ToUserName", 128),
        "openid": _openid(doc),
        "create_time": _integer(doc, "CreateTime"),
        "msg_type": _required(doc, "MsgType", 64),
        "msg_id": _msg_id(doc),
        "raw": doc,
    }
    if head["msg_type"].lower() != "event":
        return _MESSAGES.get(head["msg_type"].lower(), _unknown_message)(doc, head)
    head["event"] = _required(doc, "Event", 128)
    head["event_key"] = _optional(doc, "EventKey")
    return _EVENTS.get(head["event"].lower(), _unknown_event)(doc, head)
