"""The product's flows: what each push causes (a passive reply and/or outbox jobs), from the app's rules.

Pure functions registered with `@flow`: a Context in, a Decision out; no AWS, no WeChat. The intake records
the follower's state and enqueues the jobs; the sender performs them (customer-service sends, QRs, tagging).
Official Accounts answer passively (XML); Mini Programs can only answer passively with a transfer to customer
service, so everything else they say goes through the outbox as customer-service messages.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from wxfunnel.config import AccountKind
from wxfunnel.dispatch import NOTHING, Context, Decision, flow
from wxfunnel.messages import Article as NewsArticle
from wxfunnel.messages import (
    ImageMessage,
    MiniProgramPageMessage,
    NewsReply,
    ScanEvent,
    SubscribeEvent,
    TextMessage,
    TextReply,
    TransferCustomerService,
    UnsubscribeEvent,
    UserEnterTempSessionEvent,
)
from wxfunnel.outbox import Job
from wxfunnel.rules import (
    Action,
    CardRule,
    FollowQrAction,
    ImageAction,
    KeywordRule,
    LinkAction,
    MiniProgramPageAction,
    NewsAction,
    Rules,
    SceneSource,
    TemplateSpec,
    TextAction,
    fill,
    rules_for,
)
from wxfunnel.settings import settings
from wxfunnel.subscriptions import Change

OA = AccountKind.OFFICIAL_ACCOUNT
MP = AccountKind.MINI_PROGRAM

# Job kinds (the sender's vocabulary).
CUSTOM_MESSAGE = "custom_message"
CARD_QR = "card_qr"
FOLLOW_QR = "follow_qr"
TAG = "tag"
ERASE_USER = "erase_user"


def _join(*parts: str | None) -> str:
    return "\n\n".join(part for part in parts if part)


def _template(spec: TemplateSpec | None, match: re.Match[str] | None = None) -> dict[str, Any] | None:
    """The window-closed fallback of a job, its texts filled from the rule's regex groups like the reply's."""
    if spec is None:
        return None
    payload = spec.to_payload()
    payload["data"] = {
        key: fill(value["value"] if isinstance(value, Mapping) else value, match)
        for key, value in spec.data.items()
    }
    payload["url"] = fill(spec.url, match, url=True) if spec.url else spec.url
    payload["page"] = fill(spec.page, match, url=True) if spec.page else spec.page
    return payload


# --- Official Account: follows, scans, unfollows ------------------------------------------------------


def _greeting(context: Context, rules: Rules, *, new_follow: bool) -> str | None:
    """What a follow or scan through the scene says: channel welcome, card opt-in, referral, welcome."""
    channel = context.channel
    scene = getattr(context.message, "scene", None)
    if channel is None:
        if scene:  # a parametric QR without a channel record (deleted, or created outside wxfunnel)
            return (rules.channel_welcome_default or rules.welcome) if new_follow else None
        return rules.welcome if new_follow else None
    if channel.kind == "card":
        # The reminder opt-in: the touch the intake records for this scene is what reminders select on.
        return _join(rules.welcome if new_follow else None, channel.welcome_message or rules.card_opt_in_text)
    welcome = (
        channel.welcome_message or rules.channel_welcome_default or (rules.welcome if new_follow else None)
    )
    referral = None
    referrer = channel.referrer
    if (
        new_follow
        and referrer is not None
        and rules.referral_text
        and referrer.openid != context.message.openid
    ):
        referral = rules.referral_text.replace("{referrer}", referrer.name)
    return _join(welcome, referral) or None


def _tag_jobs(context: Context, rules: Rules) -> tuple[Job, ...]:
    channel = context.channel
    if channel is None or not channel.tag or not rules.tag_followers_by_channel:
        return ()
    message = context.message
    return (context.job(TAG, context.app.name, message.openid, {"tag": channel.tag}),)


@flow(OA, SubscribeEvent)
def oa_follow(context: Context) -> Decision:
    transition = context.transition
    if transition is not None and transition.after is None:
        return NOTHING  # a stale (out-of-order) follow changes nothing and says nothing
    rules = rules_for(context.app)
    text = _greeting(context, rules, new_follow=True)
    return Decision(reply=TextReply(text) if text else None, jobs=_tag_jobs(context, rules))


@flow(OA, ScanEvent)
def oa_scan(context: Context) -> Decision:
    rules = rules_for(context.app)
    text = _greeting(context, rules, new_follow=False)
    return Decision(reply=TextReply(text) if text else None, jobs=_tag_jobs(context, rules))


@flow(OA, UnsubscribeEvent)
def oa_unfollow(context: Context) -> Decision:
    """No reply can reach someone who left; WeChat asks that their data be deleted, which is an option."""
    transition = context.transition
    if not settings().erase_on_unsubscribe or (
        transition is not None and transition.change is not Change.UNFOLLOW
    ):
        return NOTHING
    message = context.message
    return Decision(
        jobs=(context.job(ERASE_USER, context.app.name, message.openid, {"at": message.create_time}),)
    )


# --- keyword replies ----------------------------------------------------------------------------------


def _fallback(context: Context, rules: Rules) -> Decision:
    fallback = rules.fallback
    if fallback.kind == "transfer_customer_service":
        return Decision(reply=TransferCustomerService(fallback.kf_account))
    if fallback.kind == "text" and fallback.text:
        if context.app.kind is OA:
            return Decision(reply=TextReply(fallback.text))
        return Decision(jobs=(_custom(context, TextAction(fallback.text), None, None),))
    return NOTHING


def _outbound(action: Action, match: re.Match[str] | None) -> dict[str, Any]:
    """A customer-service message in the job's (JSON) form; the sender turns it into the client's type."""
    if isinstance(action, TextAction):
        return {"type": "text", "content": fill(action.content, match)}
    if isinstance(action, LinkAction):
        return {
            "type": "link",
            "title": fill(action.title, match),
            "description": fill(action.description, match),
            "url": fill(action.url, match, url=True),
            "thumb_url": action.thumb_url,
        }
    if isinstance(action, ImageAction):
        return {"type": "image", "image_url": fill(action.image_url, match, url=True)}
    if isinstance(action, MiniProgramPageAction):
        return {
            "type": "miniprogrampage",
            "title": fill(action.title, match),
            "appid": action.appid,
            "page_path": fill(action.page_path, match, url=True),
            "thumb_url": action.thumb_url,
            "thumb_media_id": action.thumb_media_id,
        }
    raise TypeError(f"{type(action).__name__} is not a customer-service message")


def _custom(
    context: Context, action: Action, match: re.Match[str] | None, template: TemplateSpec | None
) -> Job:
    payload: dict[str, object] = {
        "message": _outbound(action, match),
        "window_closed_template": _template(template, match),
    }
    return context.job(CUSTOM_MESSAGE, context.app.name, context.message.openid, payload)


def _follow_qr(context: Context, action: FollowQrAction, template: TemplateSpec | None) -> Job:
    payload: dict[str, object] = {
        "oa": action.oa,
        "scene": action.scene,
        "as": action.send_as,
        "title": action.title,
        "description": action.description,
        "thumb_url": action.thumb_url,
        "expire_seconds": action.expire_seconds,
        "window_closed_template": _template(template),
    }
    return context.job(FOLLOW_QR, context.app.name, context.message.openid, payload)


def _keyword(context: Context, rule: KeywordRule, match: re.Match[str] | None) -> Decision:
    action = rule.reply
    if isinstance(action, FollowQrAction):
        return Decision(jobs=(_follow_qr(context, action, rule.window_closed_template),))
    if context.app.kind is OA:
        if isinstance(action, TextAction):
            return Decision(reply=TextReply(fill(action.content, match)))
        if isinstance(action, NewsAction):
            articles = tuple(
                NewsArticle(
                    title=fill(a.title, match),
                    description=fill(a.description, match),
                    url=fill(a.url, match, url=True),
                    pic_url=a.pic_url,
                )
                for a in action.articles[:1]  # one article when replying to a user's message
            )
            return Decision(reply=NewsReply(articles))
    # Images need an upload (an API call), and MPs cannot answer passively: the outbox sends it.
    return Decision(jobs=(_custom(context, action, match, rule.window_closed_template),))


@flow(OA, TextMessage)
@flow(MP, TextMessage)
def text_keywords(context: Context) -> Decision:
    message = context.message
    assert isinstance(message, TextMessage)
    rules = rules_for(context.app)
    found = rules.keyword_for(message.content)
    if found is None:
        return _fallback(context, rules)
    return _keyword(context, *found)


@flow(OA, ImageMessage)
@flow(MP, ImageMessage)
def other_messages(context: Context) -> Decision:
    """Messages no rule can answer go to the fallback (typically a human agent)."""
    return _fallback(context, rules_for(context.app))


# --- Mini Program: the card that becomes a reminder opt-in --------------------------------------------


def card_job(context: Context, card: CardRule, scene: str) -> Job:
    payload: dict[str, object] = {
        "oa": card.oa,
        "scene": scene,
        "as": card.send_as,
        "title": card.title,
        "description": card.description,
        "thumb_url": card.thumb_url,
        "expire_seconds": card.expire_seconds,
        "opt_in_text": card.opt_in_text,
        "window_closed_template": _template(card.window_closed_template),
    }
    return context.job(CARD_QR, context.app.name, context.message.openid, payload)


def _card(context: Context, source: SceneSource, value: str) -> Job | None:
    card = rules_for(context.app).card
    if card is None:
        return None
    scene = card.scene_for(source, value)
    return card_job(context, card, scene) if scene is not None else None


@flow(MP, MiniProgramPageMessage)
def mp_card(context: Context) -> Decision:
    message = context.message
    assert isinstance(message, MiniProgramPageMessage)
    job = _card(context, "page_query", message.page_path or "")
    if job is None:
        return _fallback(context, rules_for(context.app))
    return Decision(jobs=(job,))


@flow(MP, UserEnterTempSessionEvent)
def mp_session(context: Context) -> Decision:
    """Entering the contact session from a button whose `session-from` has a context sends the QR."""
    message = context.message
    assert isinstance(message, UserEnterTempSessionEvent)
    job = _card(context, "session_from", message.session_from or "")
    return Decision(jobs=(job,)) if job is not None else NOTHING
