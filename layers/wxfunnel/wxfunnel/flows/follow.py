"""Follows, scans and unfollows of an Official Account: greet per channel, tell who recommended, tag, or erase.

The greeting of a follow or scan through a scene: the channel's welcome (or the app's default for channels), the
card opt-in text for a mini-program card's scene, and on a follow (first or returning, as WeChat's own follow
auto-reply; never on a scan) the referral text naming the referrer and the app's welcome. A disabled or retired
channel greets like a scene without a channel and tags nobody (its followers are still attributed and counted). A
stale (out-of-order) follow says nothing; a retried delivery gets the first delivery's reply (the callback). After
the passive welcome, a greeting channel's welcome sequence (if it has one) follows on a follow as customer-service
messages in order. A referrer may be told that a friend followed through their code (the referral rule's
notify_referrer).
"""

from __future__ import annotations

from wxfunnel.config.rules import DEFAULT_REFERRER_NAME, Rules
from wxfunnel.domain.followers import Change
from wxfunnel.domain.jobs import CustomMessage, EraseUser, Job, JobKind, ReferralNotice, Tag
from wxfunnel.flows.base import NOTHING, Context, Decision
from wxfunnel.protocol.messages import ScanEvent, SubscribeEvent
from wxfunnel.protocol.replies import TextReply


def _join(*parts: str | None) -> str:
    return "\n\n".join(part for part in parts if part)


def greeting(context: Context, rules: Rules, *, new_follow: bool) -> str | None:
    """What a follow or scan through the scene says: channel welcome, card opt-in, referral, welcome."""
    channel = context.channel if context.channel is not None and context.channel.greets else None
    message = context.message
    scene = message.scene if isinstance(message, SubscribeEvent | ScanEvent) else None
    if channel is None:
        if scene:  # a parametric QR without a channel record (deleted, or created outside wxfunnel)
            return (rules.channel_welcome_default or rules.welcome) if new_follow else None
        return rules.welcome if new_follow else None
    if channel.kind == "card":
        # The reminder opt-in: the touch the callback records for this scene is what reminders select on.
        return _join(rules.welcome if new_follow else None, channel.welcome_message or rules.card_opt_in_text)
    welcome = (
        channel.welcome_message or rules.channel_welcome_default or (rules.welcome if new_follow else None)
    )
    referral = None
    referrer = channel.referrer
    if new_follow and referrer is not None and rules.referral_text and referrer.openid != message.openid:
        name = referrer.name or (rules.referral.default_name if rules.referral else DEFAULT_REFERRER_NAME)
        referral = rules.referral_text.replace("{referrer}", name)
    return _join(welcome, referral) or None


def _tag_jobs(context: Context, rules: Rules) -> tuple[Job, ...]:
    channel = context.channel
    if channel is None or not channel.greets or not channel.tag or not rules.tag_followers_by_channel:
        return ()
    return (context.job(JobKind.TAG, Tag(channel.tag)),)


def _referral_notice(context: Context, rules: Rules) -> tuple[Job, ...]:
    """A friend was credited to a referrer who follows the account: tell them, if the rules say so."""
    notice = rules.referral.notify_referrer if rules.referral else None
    credited = context.transition.credited if context.transition is not None else None
    if not notice or credited is None:
        return ()
    promoter, referrer = credited
    if not referrer.openid:
        return ()  # a referrer known by name only (a shop's code) has no chat to be told in
    return (context.job(JobKind.REFERRAL_NOTICE, ReferralNotice(promoter, notice), openid=referrer.openid),)


def _welcome_jobs(context: Context) -> tuple[Job, ...]:
    """The channel's welcome sequence after its passive welcome: a customer-service message job each, keyed by its
    position (WeChat's retries enqueue none twice) in the user's FIFO group (they arrive in order)."""
    channel = context.channel
    if channel is None or channel.kind != "channel" or not channel.greets or not channel.welcome_sequence:
        return ()
    return tuple(
        context.job(JobKind.CUSTOM_MESSAGE, CustomMessage(message), index)
        for index, message in enumerate(channel.welcome_sequence)
    )


def oa_follow(context: Context) -> Decision:
    transition = context.transition
    if transition is not None and transition.after is None:
        return NOTHING  # a stale (out-of-order) follow changes nothing and says nothing
    rules = context.app.rules
    text = greeting(context, rules, new_follow=True)
    jobs = _welcome_jobs(context) + _tag_jobs(context, rules) + _referral_notice(context, rules)
    return Decision(reply=TextReply(text) if text else None, jobs=jobs)


def oa_scan(context: Context) -> Decision:
    rules = context.app.rules
    text = greeting(context, rules, new_follow=False)
    jobs = _welcome_jobs(context) + _tag_jobs(context, rules)
    return Decision(reply=TextReply(text) if text else None, jobs=jobs)


def oa_unfollow(context: Context) -> Decision:
    """No reply can reach someone who left; WeChat asks that their data be deleted, which is an option."""
    transition = context.transition
    if not context.erase_on_unsubscribe or (
        transition is not None and transition.change is not Change.UNFOLLOW
    ):
        return NOTHING
    return Decision(jobs=(context.job(JobKind.ERASE_USER, EraseUser(context.message.create_time)),))
