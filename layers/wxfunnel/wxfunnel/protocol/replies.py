"""Passive replies: what the callback answers WeChat in the HTTP response, as typed values rendered to XML or JSON.

An Official Account shows text, image, voice, video, music and news replies and honours `transfer_customer_service`;
a Mini Program acts only on the transfer. `news` carries 1 to 8 articles (one when replying to a user's message).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from wxfunnel.protocol.documents import BodyFormat, clean_text, json_document, xml_document
from wxfunnel.protocol.limits import NEWS_ARTICLES_MAX


@dataclass(frozen=True, slots=True)
class TextReply:
    """A passive text reply."""

    content: str


@dataclass(frozen=True, slots=True)
class ImageReply:
    """A passive image reply (an uploaded media_id)."""

    media_id: str


@dataclass(frozen=True, slots=True)
class VoiceReply:
    """A passive voice reply (an uploaded media_id)."""

    media_id: str


@dataclass(frozen=True, slots=True)
class VideoReply:
    """A passive video reply (an uploaded media_id)."""

    media_id: str
    title: str | None = None
    description: str | None = None


@dataclass(frozen=True, slots=True)
class MusicReply:
    """A passive music reply."""

    thumb_media_id: str
    title: str | None = None
    description: str | None = None
    music_url: str | None = None
    hq_music_url: str | None = None


@dataclass(frozen=True, slots=True)
class Article:
    """One article of a passive news reply."""

    title: str
    description: str = ""
    pic_url: str = ""
    url: str = ""


@dataclass(frozen=True, slots=True)
class NewsReply:
    """A passive news reply: 1 to NEWS_ARTICLES_MAX articles."""

    articles: tuple[Article, ...]

    def __post_init__(self) -> None:
        if not 1 <= len(self.articles) <= NEWS_ARTICLES_MAX:
            raise ValueError(f"a news reply carries 1 to {NEWS_ARTICLES_MAX} articles")


@dataclass(frozen=True, slots=True)
class TransferCustomerService:
    """Hand the conversation to customer service (transfer_customer_service)."""

    kf_account: str | None = None  # a specific agent, or None for any


Reply = TextReply | ImageReply | VoiceReply | VideoReply | MusicReply | NewsReply | TransferCustomerService


def _present(fields: dict[str, str | None]) -> dict[str, str]:
    return {name: clean_text(value) for name, value in fields.items() if value is not None}


def _reply_fields(reply: Reply) -> tuple[str, dict[str, Any]]:
    """MsgType and the fields after the header, in wire names and order; strings already cleaned."""
    match reply:
        case TextReply():
            return "text", {"Content": clean_text(reply.content)}
        case ImageReply():
            return "image", {"Image": {"MediaId": clean_text(reply.media_id)}}
        case VoiceReply():
            return "voice", {"Voice": {"MediaId": clean_text(reply.media_id)}}
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
            trans = {"TransInfo": {"KfAccount": clean_text(reply.kf_account)}} if reply.kf_account else {}
            return "transfer_customer_service", trans
    raise TypeError(f"not a reply: {type(reply).__name__}")


def render_reply(reply: Reply, *, openid: str, account_id: str, create_time: int, fmt: BodyFormat) -> bytes:
    """The plaintext passive reply to `openid` from the account `account_id`, in the push's format.

    A Mini Program only acts on `transfer_customer_service`; JSON renders every type with the XML's PascalCase
    names (lists such as Articles become arrays) so that a reply is never lost to the format.
    """
    msg_type, body = _reply_fields(reply)
    fields: dict[str, Any] = {
        "ToUserName": clean_text(openid),
        "FromUserName": clean_text(account_id),
        "CreateTime": int(create_time),
        "MsgType": msg_type,
        **body,
    }
    return json_document(fields) if fmt == BodyFormat.JSON else xml_document(fields)
