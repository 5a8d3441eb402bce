"""WeChat push bodies in, passive replies out: XML/JSON documents → typed messages; replies → bytes.

Wire names (`ToUserName`, `MsgType` …) live only in this module; everything it returns speaks snake_case.
Bodies are hostile until proven otherwise: no DTDs, entities or processing instructions, bounded nesting and
field sizes, UTF-8 only, and every number kept as its decimal text until a field is known to be an integer.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, NoReturn
from xml.parsers import expat

import xmltodict

from wxfunnel.crypto import Envelope
from wxfunnel.rules import SCENE_CHARS, SCENE_MAX

SUCCESS = b"success"

_MAX_DEPTH = 4  # xml > SendPicsInfo > PicList > item > PicMd5Sum is the deepest structure WeChat sends
_MAX_FIELD_BYTES = 8 * 1024
_MAX_FIELD_CHARS = _MAX_FIELD_BYTES // 4  # UTF-8 spends at most 4 bytes on a character
_UTF8_BOM = b"\xef\xbb\xbf"
_DTD_REFUSED = "DTD or entity declarations are not allowed"
# Only an XML declaration and whitespace may precede the root element. Anything else there (DOCTYPE,
# comments, PIs) is refused before expat runs, so entity expansion (billion laughs, XXE) never starts.
# The check covers the prolog, not the whole body: a user's text may hold "<!DOCTYPE" in a CDATA section;
# after the root element starts, expat's own handlers refuse DTDs and PIs.
_PROLOG = re.compile(rb"(?:<\?xml(?:\s[^<>?]*)?\?>)?\s*<xml[\s/>]")
_DECLARATION = re.compile(rb"<\?xml(?:\s[^<>?]*)?\?>\s*")
_FIELD_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,39}")
# An openid (also a Mini Program's) is 28 URL-safe base64 characters today; 64 leaves room without letting a
# hostile FromUserName grow the keys it goes into (profile, touch, delivery, the outbox's message group).
_OPENID = re.compile(r"[A-Za-z0-9_-]{1,64}")
# The delivery key is a DynamoDB key (at most 2048 bytes): an identity tail longer than this (a VIEW event's URL
# of up to 1024 bytes, or a hostile EventKey) is replaced by its digest, which identifies the push as well.
_KEY_TAIL_BYTES = 256


class BodyFormat(StrEnum):
    XML = "xml"
    JSON = "json"


class MalformedBody(ValueError):
    """A body that is not a well-formed WeChat document; the reason names what is wrong, never the content."""


# --- documents ----------------------------------------------------------------------------------------------


def _refuse_dtd(*_args: Any) -> NoReturn:
    raise MalformedBody(_DTD_REFUSED)


def _refuse_processing_instruction(*_args: Any) -> NoReturn:
    raise MalformedBody("processing instructions are not allowed")


class _HardenedExpat:
    """The `expat` module as xmltodict sees it, with every DTD feature and processing instruction refused."""

    @staticmethod
    def ParserCreate(encoding: str | None = None, namespace_separator: str | None = None) -> Any:
        parser = expat.ParserCreate(encoding, namespace_separator)
        parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
        parser.StartDoctypeDeclHandler = _refuse_dtd
        parser.EntityDeclHandler = _refuse_dtd
        parser.ExternalEntityRefHandler = _refuse_dtd
        parser.ProcessingInstructionHandler = _refuse_processing_instruction
        return parser


def _refuse_prolog(body: bytes) -> NoReturn:
    declaration = _DECLARATION.match(body)
    rest = body[declaration.end() :] if declaration else body
    if rest.startswith(b"<!--"):
        raise MalformedBody("comments before the root element are not allowed")
    if rest.startswith(b"<!"):
        raise MalformedBody(_DTD_REFUSED)
    if rest.startswith(b"<?"):
        raise MalformedBody("processing instructions are not allowed")
    raise MalformedBody("the root element must be <xml>")


def _parse_xml(body: bytes) -> dict[str, Any]:
    if _PROLOG.match(body) is None:
        _refuse_prolog(body)
    try:
        # encoding="utf-8" overrides whatever the declaration claims: the body was checked to be UTF-8.
        parsed = xmltodict.parse(
            body, encoding="utf-8", expat=_HardenedExpat, disable_entities=True, xml_attribs=False
        )
    except MalformedBody:
        raise
    except (expat.ExpatError, ValueError):
        raise MalformedBody("not well-formed XML") from None
    root = parsed.get("xml") if isinstance(parsed, dict) else None
    if root is None:
        return {}
    if not isinstance(root, dict):
        raise MalformedBody("the root element must contain fields")
    return root


def _refuse_constant(_name: str) -> NoReturn:
    raise MalformedBody("NaN and Infinity are not allowed")


def _parse_json(text: str) -> dict[str, Any]:
    try:
        # Numbers stay their decimal text: a 64-bit MsgId must never become a float.
        document = json.loads(text, parse_int=str, parse_float=str, parse_constant=_refuse_constant)
    except MalformedBody:
        raise
    except RecursionError:
        raise MalformedBody("document nested too deeply") from None
    except ValueError:
        raise MalformedBody("not well-formed JSON") from None
    if not isinstance(document, dict):
        raise MalformedBody("the top-level JSON value must be an object")
    return document


def _check_text(text: str) -> None:
    # JSON escapes can smuggle lone surrogates, which nothing downstream (logs, DynamoDB) can encode.
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            raise MalformedBody("a string is not valid Unicode") from None


def _normalize_fields(fields: dict[str, Any], depth: int) -> None:
    """Bound the nesting (`fields` sit at `depth`); turn JSON's true/false into the text XML carries."""
    if depth > _MAX_DEPTH and fields:
        raise MalformedBody("document nested too deeply")
    for key, value in fields.items():
        _check_text(key)
        if type(value) is str:  # the common case, kept cheap
            _check_text(value)
        elif value is not None:
            fields[key] = _normalize_value(value, depth)


def _normalize_value(value: Any, depth: int) -> Any:
    if isinstance(value, str):
        _check_text(value)
    elif isinstance(value, bool):
        return "true" if value else "false"
    elif isinstance(value, dict):
        _normalize_fields(value, depth + 1)
    elif isinstance(value, list):
        # A repeated element (WeChat's `List`, `item`): its entries sit at the element's own level, as in XML.
        for index, item in enumerate(value):
            if isinstance(item, list):
                raise MalformedBody("nested arrays are not allowed")
            if item is not None:
                value[index] = _normalize_value(item, depth)
    elif value is not None:
        raise MalformedBody("unexpected value type")
    return value


def parse_document(body: bytes) -> tuple[BodyFormat, dict[str, Any]]:
    """The body's format and its fields under their wire names; values are strings, dicts, lists or None."""
    if body.startswith(_UTF8_BOM):
        body = body[len(_UTF8_BOM) :]
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise MalformedBody("body is not valid UTF-8") from None
    stripped = body.lstrip()
    if stripped.startswith(b"{"):
        fmt, document = BodyFormat.JSON, _parse_json(text)
    elif stripped.startswith(b"<"):
        fmt, document = BodyFormat.XML, _parse_xml(stripped)
    else:
        raise MalformedBody("body is neither XML nor JSON")
    _normalize_fields(document, 1)
    return fmt, document


@dataclass(frozen=True, slots=True)
class EncryptedEnvelope:
    to_user: str | None
    encrypt: str


def read_envelope(doc: Mapping[str, Any]) -> EncryptedEnvelope | None:
    """The `Encrypt` node of a compat- or safe-mode push, or None for a plaintext one."""
    if "Encrypt" not in doc:
        return None
    encrypt = doc["Encrypt"]
    if not isinstance(encrypt, str) or not encrypt:
        raise MalformedBody("Encrypt must be a non-empty string")
    to_user = doc.get("ToUserName")
    if to_user is not None and not isinstance(to_user, str):
        raise MalformedBody("ToUserName must be a string")
    return EncryptedEnvelope(to_user, encrypt)


# --- typed messages -----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True, repr=False)
class Message:
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
    content: str


@dataclass(frozen=True, slots=True, kw_only=True, repr=False)
class ImageMessage(Message):
    pic_url: str
    media_id: str


@dataclass(frozen=True, slots=True, kw_only=True, repr=False)
class VoiceMessage(Message):
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
    latitude: float  # Location_X
    longitude: float  # Location_Y
    scale: int
    label: str


@dataclass(frozen=True, slots=True, kw_only=True, repr=False)
class LinkMessage(Message):
    title: str
    description: str
    url: str


@dataclass(frozen=True, slots=True, kw_only=True, repr=False)
class MiniProgramPageMessage(Message):
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
    event: str  # as sent: WeChat mixes cases ("subscribe", "SCAN", "CLICK")
    event_key: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True, repr=False)
class SubscribeEvent(Event):
    # The QR scene (EventKey without its `qrscene_` prefix); None for a plain follow or a key that is no scene.
    scene: str | None = None
    ticket: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True, repr=False)
class UnsubscribeEvent(Event):
    """The user unfollowed; WeChat asks that their data be deleted."""


@dataclass(frozen=True, slots=True, kw_only=True, repr=False)
class ScanEvent(Event):
    scene: str
    ticket: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True, repr=False)
class LocationEvent(Event):
    latitude: float
    longitude: float
    precision: float


@dataclass(frozen=True, slots=True, kw_only=True, repr=False)
class MenuEvent(Event):
    """CLICK, VIEW, view_miniprogram and the scan/picture/location menu events; details stay in `raw`."""

    menu_id: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True, repr=False)
class TemplateSendJobFinishEvent(Event):
    status: str  # "success", "failed:user block", "failed: system failed"


@dataclass(frozen=True, slots=True)
class SubscribeMsgItem:
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
    if not _OPENID.fullmatch(openid):
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


_QR_SCENE_PREFIX = "qrscene_"


def _scene(value: str | None) -> str | None:
    """`value` when it can be a scene wxfunnel created (it keys channels, touches and stats), else None."""
    if value and len(value) <= SCENE_MAX and SCENE_CHARS.fullmatch(value):
        return value
    return None


@_event("subscribe")
def _subscribe_event(doc: Mapping[str, Any], head: dict[str, Any]) -> Message:
    key = head["event_key"]
    # Only a parametric QR code's key is a scene; other keys (e.g. `last_trade_no_…`) are not.
    # Slice the prefix off the front only: the scene itself may contain "qrscene_".
    scene = key[len(_QR_SCENE_PREFIX) :] if key and key.startswith(_QR_SCENE_PREFIX) else None
    return SubscribeEvent(**head, scene=_scene(scene), ticket=_optional(doc, "Ticket"))


@_event("unsubscribe")
def _unsubscribe_event(doc: Mapping[str, Any], head: dict[str, Any]) -> Message:
    return UnsubscribeEvent(**head)


@_event("SCAN")
def _scan_event(doc: Mapping[str, Any], head: dict[str, Any]) -> Message:
    scene = _scene(head["event_key"])
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


@_event(
    "CLICK",
    "VIEW",
    "view_miniprogram",
    "scancode_push",
    "scancode_waitmsg",
    "pic_sysphoto",
    "pic_photo_or_album",
    "pic_weixin",
    "location_select",
)
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


# --- passive replies ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TextReply:
    content: str


@dataclass(frozen=True, slots=True)
class ImageReply:
    media_id: str


@dataclass(frozen=True, slots=True)
class VoiceReply:
    media_id: str


@dataclass(frozen=True, slots=True)
class VideoReply:
    media_id: str
    title: str | None = None
    description: str | None = None


@dataclass(frozen=True, slots=True)
class MusicReply:
    thumb_media_id: str
    title: str | None = None
    description: str | None = None
    music_url: str | None = None
    hq_music_url: str | None = None


@dataclass(frozen=True, slots=True)
class Article:
    title: str
    description: str = ""
    pic_url: str = ""
    url: str = ""


MAX_ARTICLES = 8  # on events; WeChat shows only one article in a reply to a user's message


@dataclass(frozen=True, slots=True)
class NewsReply:
    articles: tuple[Article, ...]

    def __post_init__(self) -> None:
        if not 1 <= len(self.articles) <= MAX_ARTICLES:
            raise ValueError(f"a news reply carries 1 to {MAX_ARTICLES} articles")


@dataclass(frozen=True, slots=True)
class TransferCustomerService:
    kf_account: str | None = None  # a specific agent, or None for any


Reply = TextReply | ImageReply | VoiceReply | VideoReply | MusicReply | NewsReply | TransferCustomerService

# Characters XML 1.0 forbids even inside CDATA; WeChat answers a reply holding one with "service unavailable".
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _clean(value: str) -> str:
    return _NOT_XML.sub("", value)


def _present(fields: dict[str, str | None]) -> dict[str, str]:
    return {name: _clean(value) for name, value in fields.items() if value is not None}


def _reply_fields(reply: Reply) -> tuple[str, dict[str, Any]]:
    """MsgType and the fields after the header, in wire names and order; strings already cleaned."""
    match reply:
        case TextReply():
            return "text", {"Content": _clean(reply.content)}
        case ImageReply():
            return "image", {"Image": {"MediaId": _clean(reply.media_id)}}
        case VoiceReply():
            return "voice", {"Voice": {"MediaId": _clean(reply.media_id)}}
        case VideoReply():
            video = {"MediaId": reply.media_id, "Title": reply.title, "Description": reply.description}
            return "video", {"Video": _present(video)}
        case MusicReply():
            music = {
                "Title": reply.title,
                "Description": reply.description,
                "MusicUrl": reply.music_url,
                "HQMusicUrl": reply.hq_music_url,
                "ThumbMediaId": reply.thumb_media_id,
            }
            return "music", {"Music": _present(music)}
        case NewsReply():
            articles = [
                _present({"Title": a.title, "Description": a.description, "PicUrl": a.pic_url, "Url": a.url})
                for a in reply.articles
            ]
            return "news", {"ArticleCount": len(articles), "Articles": articles}
        case TransferCustomerService():
            trans = {"TransInfo": {"KfAccount": _clean(reply.kf_account)}} if reply.kf_account else {}
            return "transfer_customer_service", trans
    raise TypeError(f"not a reply: {type(reply).__name__}")


def _cdata(value: str) -> str:
    # "]]>" would end the section early: close it after "]]" and open a new one for ">".
    return "<![CDATA[" + value.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def _xml_element(name: str, value: Any, out: list[str]) -> None:
    if isinstance(value, str):
        out.append(f"<{name}>{_cdata(value)}</{name}>")
    elif isinstance(value, int):
        out.append(f"<{name}>{value}</{name}>")
    else:
        out.append(f"<{name}>")
        if isinstance(value, dict):
            for child, item in value.items():
                _xml_element(child, item, out)
        else:
            for item in value:
                _xml_element("item", item, out)
        out.append(f"</{name}>")


def _xml_document(fields: dict[str, Any]) -> bytes:
    out = ["<xml>"]
    for name, value in fields.items():
        _xml_element(name, value, out)
    out.append("</xml>")
    return "".join(out).encode("utf-8")


def _json_document(fields: dict[str, Any]) -> bytes:
    return json.dumps(fields, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def render_reply(reply: Reply, *, openid: str, account_id: str, create_time: int, fmt: BodyFormat) -> bytes:
    """The plaintext passive reply to `openid` from the account `account_id`, in the push's format.

    A Mini Program only acts on `transfer_customer_service`; JSON renders every type with the XML's PascalCase
    names (lists such as Articles become arrays) so that a reply is never lost to the format.
    """
    msg_type, body = _reply_fields(reply)
    fields: dict[str, Any] = {
        "ToUserName": _clean(openid),
        "FromUserName": _clean(account_id),
        "CreateTime": int(create_time),
        "MsgType": msg_type,
        **body,
    }
    return _json_document(fields) if fmt == BodyFormat.JSON else _xml_document(fields)


def render_envelope(env: Envelope, fmt: BodyFormat) -> bytes:
    """The encrypted reply: Encrypt, MsgSignature, TimeStamp (a number in JSON) and the echoed Nonce."""
    if not (env.timestamp.isascii() and env.timestamp.isdigit()):
        raise ValueError("the envelope's timestamp must be decimal digits")
    if fmt == BodyFormat.JSON:
        fields = {
            "Encrypt": env.encrypt,
            "MsgSignature": env.msg_signature,
            "TimeStamp": int(env.timestamp),
            "Nonce": env.nonce,
        }
        return _json_document(fields)
    return (
        f"<xml><Encrypt>{_cdata(env.encrypt)}</Encrypt><MsgSignature>{_cdata(env.msg_signature)}</MsgSignature>"
        f"<TimeStamp>{env.timestamp}</TimeStamp><Nonce>{_cdata(env.nonce)}</Nonce></xml>"
    ).encode()
