"""Keyword replies: a user's text matched against the app's keyword rules (exact, prefix, regex, in order).

An Official Account answers texts and news passively; images need an upload and Mini Programs cannot answer
passively, so those replies go through the outbox as customer-service messages. A regex rule's groups fill the
reply's `{1}`/`{name}` placeholders (URL-quoted inside URLs); a follow_qr reply sends an OA's follow-QR.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace

from wxfunnel.config.base import AccountKind
from wxfunnel.config.rules import (
    Action,
    FollowQrAction,
    ImageAction,
    KeywordRule,
    LinkAction,
    MiniProgramPageAction,
    NewsAction,
    TemplateSpec,
    TextAction,
    fill,
)
from wxfunnel.domain.jobs import CustomMessage, JobKind, MessageSpec, QrCode
from wxfunnel.flows.base import Context, Decision
from wxfunnel.flows.handoff import fallback
from wxfunnel.protocol.messages import TextMessage
from wxfunnel.protocol.replies import Article, NewsReply, TextReply


def template_fallback(spec: TemplateSpec | None, match: re.Match[str] | None = None) -> TemplateSpec | None:
    """A rule's window-closed template, its texts filled from the rule's regex groups like the reply's."""
    if spec is None:
        return None
    return TemplateSpec(
        template_id=spec.template_id,
        data={
            key: fill(value["value"] if isinstance(value, Mapping) else value, match)
            for key, value in spec.data.items()
        },
        url=fill(spec.url, match, url=True) if spec.url else spec.url,
        page=fill(spec.page, match, url=True) if spec.page else spec.page,
    )


def outbound(action: Action, match: re.Match[str] | None) -> MessageSpec:
    """A rule's reply as a customer-service message, placeholders filled."""
    if isinstance(action, TextAction):
        return TextAction(fill(action.content, match))
    if isinstance(action, LinkAction):
        return replace(
            action,
            title=fill(action.title, match),
            description=fill(action.description, match),
            url=fill(action.url, match, url=True),
        )
    if isinstance(action, ImageAction):
        return ImageAction(fill(action.image_url, match, url=True))
    if isinstance(action, MiniProgramPageAction):
        return replace(
            action, title=fill(action.title, match), page_path=fill(action.page_path, match, url=True)
        )
    raise TypeError(f"{type(action).__name__} is not a customer-service message")


def follow_qr(action: FollowQrAction, template: TemplateSpec | None) -> QrCode:
    return QrCode(
        oa=action.oa,
        scene=action.scene,
        expire_seconds=action.expire_seconds,
        send_as=action.send_as,
        title=action.title,
        description=action.description,
        thumb_url=action.thumb_url,
        window_closed_template=template_fallback(template),
    )


def reply(context: Context, rule: KeywordRule, match: re.Match[str] | None) -> Decision:
    """What a keyword rule answers (placeholders filled from `match`)."""
    action = rule.reply
    if isinstance(action, FollowQrAction):
        return Decision(
            jobs=(context.job(JobKind.FOLLOW_QR, follow_qr(action, rule.window_closed_template)),)
        )
    if context.app.kind is AccountKind.OFFICIAL_ACCOUNT:
        if isinstance(action, TextAction):
            return Decision(reply=TextReply(fill(action.content, match)))
        if isinstance(action, NewsAction):
            articles = tuple(
                Article(
                    title=fill(a.title, match),
                    description=fill(a.description, match),
                    url=fill(a.url, match, url=True),
                    pic_url=a.pic_url,
                )
                for a in action.articles[:1]  # one article when replying to a user's message
            )
            return Decision(reply=NewsReply(articles))
    message = CustomMessage(outbound(action, match), template_fallback(rule.window_closed_template, match))
    return Decision(jobs=(context.job(JobKind.CUSTOM_MESSAGE, message),))


def text_keywords(context: Context) -> Decision:
    message = context.message
    assert isinstance(message, TextMessage)
    found = context.app.rules.keyword_for(message.content)
    if found is None:
        return fallback(context)
    return reply(context, *found)
