"""Customer-service messages wxfunnel sends: frozen values that validate themselves and render the wire JSON.

A Mini Program sends only text, image, link and miniprogrampage; an Official Account sends text, image, news
(one article) and miniprogrampage, but not link. Sources:
https://developers.weixin.qq.com/miniprogram/dev/OpenApiDoc/kf-mgnt/kf-message/sendCustomMessage.html
https://developers.weixin.qq.com/doc/offiaccount/Message_Management/Service_Center_messages.html
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from wxfunnel.client.errors import InvalidArgument
from wxfunnel.config.base import AccountKind
from wxfunnel.protocol import limits


def _required(value: str, name: str) -> None:
    if not isinstance(value, str) or not value.strip():
        raise InvalidArgument(f"{name} must be a non-empty string")


def _url(value: str, name: str) -> None:
    problem = limits.url_problem(value)
    if problem:
        raise InvalidArgument(f"{name} {problem}")


@dataclass(frozen=True, slots=True)
class TextMessage:
    """A customer-service text message."""

    content: str
    msgtype: ClassVar[str] = "text"

    def validate(self) -> None:
        _required(self.content, "text.content")
        problem = limits.utf8_bytes_problem(self.content, limits.CUSTOM_TEXT_MAX_BYTES)
        if problem:
            raise InvalidArgument(f"text.content {problem}")

    def body(self) -> dict[str, Any]:
        return {"content": self.content}


@dataclass(frozen=True, slots=True)
class ImageMessage:
    """A customer-service image message (an uploaded media_id)."""

    media_id: str
    msgtype: ClassVar[str] = "image"

    def validate(self) -> None:
        _required(self.media_id, "image.media_id")

    def body(self) -> dict[str, Any]:
        return {"media_id": self.media_id}


@dataclass(frozen=True, slots=True)
class LinkMessage:
    """A link card (Mini Program customer service only)."""

    title: str
    description: str
    url: str
    thumb_url: str
    msgtype: ClassVar[str] = "link"

    def validate(self) -> None:
        _required(self.title, "link.title")
        _url(self.url, "link.url")
        if self.thumb_url:
            _url(self.thumb_url, "link.thumb_url")

    def body(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "description": self.description,
            "url": self.url,
            "thumb_url": self.thumb_url,
        }


@dataclass(frozen=True, slots=True)
class MiniProgramPageMessage:
    """A customer-service mini-program card."""

    title: str
    appid: str
    pagepath: str
    thumb_media_id: str
    msgtype: ClassVar[str] = "miniprogrampage"

    def validate(self) -> None:
        _required(self.title, "miniprogrampage.title")
        problem = limits.appid_problem(self.appid)
        if problem:
            raise InvalidArgument(f"miniprogrampage.appid {problem}")
        _required(self.pagepath, "miniprogrampage.pagepath")
        _required(self.thumb_media_id, "miniprogrampage.thumb_media_id")

    def body(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "appid": self.appid,
            "pagepath": self.pagepath,
            "thumb_media_id": self.thumb_media_id,
        }


@dataclass(frozen=True, slots=True)
class NewsMessage:
    """One article card that opens `url` (Official Account only; WeChat allows one article)."""

    title: str
    description: str
    url: str
    picurl: str = ""
    msgtype: ClassVar[str] = "news"

    def validate(self) -> None:
        _required(self.title, "news.title")
        _url(self.url, "news.url")
        if self.picurl:
            _url(self.picurl, "news.picurl")

    def body(self) -> dict[str, Any]:
        return {
            "articles": [
                {"title": self.title, "description": self.description, "url": self.url, "picurl": self.picurl}
            ]
        }


CustomMessage = TextMessage | ImageMessage | LinkMessage | MiniProgramPageMessage | NewsMessage

ALLOWED_TYPES: dict[AccountKind, frozenset[str]] = {
    AccountKind.MINI_PROGRAM: frozenset({"text", "image", "link", "miniprogrampage"}),
    AccountKind.OFFICIAL_ACCOUNT: frozenset({"text", "image", "news", "miniprogrampage"}),
}


def custom_payload(kind: AccountKind, openid: str, message: CustomMessage) -> dict[str, Any]:
    """The `message/custom/send` body for `message` to `openid`, refused if `kind` cannot send that type."""
    if message.msgtype not in ALLOWED_TYPES[kind]:
        allowed = ", ".join(sorted(ALLOWED_TYPES[kind]))
        raise InvalidArgument(
            f"msgtype '{message.msgtype}' cannot be sent by a {kind.value} (only: {allowed})"
        )
    message.validate()
    return {"touser": openid, "msgtype": message.msgtype, message.msgtype: message.body()}
