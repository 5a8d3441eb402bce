"""Referrals by followers: a follower asks for their own code (a keyword, or a custom-menu CLICK) and may name
themselves; the friends who follow through it are told who recommended them (flows.follow).

Their own code is a temporary QR_STR_SCENE whose scene is the rule's prefix and an opaque token of the follower (never
their openid), made or reused by the sender and sent as an image; asking makes them a promoter. Other CLICK keys
reach the keyword rules as if typed, so a menu button can answer like a keyword.
"""

from __future__ import annotations

from wxfunnel.config.rules import ReferralRule, TextAction
from wxfunnel.domain.jobs import CustomMessage, Job, JobKind, OwnCode, PromoterName
from wxfunnel.domain.promoters import follower_promoter_id, follower_token
from wxfunnel.flows import keywords
from wxfunnel.flows.base import NOTHING, Context, Decision
from wxfunnel.protocol.messages import MenuEvent, TextMessage
from wxfunnel.protocol.replies import TextReply


def own_code_jobs(context: Context, rule: ReferralRule) -> tuple[Job, ...]:
    """The intro text (if any), then the code itself: two jobs in the user's ordered group."""
    appid, openid = context.app.appid, context.message.openid
    code = OwnCode(
        follower_promoter_id(appid, openid),
        rule.scene_prefix + follower_token(appid, openid),
        rule.expire_seconds,
    )
    intro = (
        (context.job(JobKind.CUSTOM_MESSAGE, CustomMessage(TextAction(rule.intro_text)), 0),)
        if rule.intro_text
        else ()
    )
    return (*intro, context.job(JobKind.OWN_CODE, code, 1))


def _named(context: Context, rule: ReferralRule, name: str) -> Decision:
    appid, openid = context.app.appid, context.message.openid
    named = PromoterName(
        follower_promoter_id(appid, openid), name, rule.scene_prefix + follower_token(appid, openid)
    )
    return Decision(
        reply=TextReply(rule.name_reply.replace("{name}", name)),
        jobs=(context.job(JobKind.NAME_PROMOTER, named),),
    )


def oa_text(context: Context) -> Decision:
    """A follower's text: their own code, their name, or else the keyword rules."""
    message = context.message
    assert isinstance(message, TextMessage)
    rule = context.app.rules.referral
    if rule is not None:
        if rule.asks_for_code(message.content):
            return Decision(jobs=own_code_jobs(context, rule))
        name = rule.name_in(message.content)
        if name is not None:
            return _named(context, rule, name)
    return keywords.text_keywords(context)


def oa_menu(context: Context) -> Decision:
    """A custom-menu CLICK: the own-code button, or the keyword rule whose pattern is the button's key."""
    message = context.message
    assert isinstance(message, MenuEvent)
    if message.event.upper() != "CLICK" or not message.event_key:
        return NOTHING
    rule = context.app.rules.referral
    if rule is not None and rule.menu_key == message.event_key:
        return Decision(jobs=own_code_jobs(context, rule))
    found = context.app.rules.keyword_for(message.event_key)
    return keywords.reply(context, *found) if found is not None else NOTHING
