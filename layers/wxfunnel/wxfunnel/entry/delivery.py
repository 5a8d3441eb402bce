"""Exactly-once processing of a WeChat delivery: decide, enqueue the outbound work, record, all at most once.

WeChat retries a push it got no answer for within 5 s (up to four deliveries in ~20 s, possibly concurrent).
The delivery record is written in the same conditional write or transaction as the follower, their touch and the
channel's counters (store.deliveries), so a push changes state once or not at all. A repeat finds the record and
gets the first delivery's reply; a concurrent repeat loses the condition and gets the winner's reply.
Outbound jobs are enqueued before that write (a crash in between is healed by WeChat's retry; the outbox
de-duplicates by job key), so the record must be read before enqueueing: SQS FIFO forgets a de-duplication id
after 5 minutes, and the replay window is longer.
Round trips to DynamoDB: a stateless push (text, menu …) without jobs 1 (a conditional put that also returns the
old record on a repeat), with jobs 2 (a consistent GetItem of the record, then the put); a subscribe/SCAN/
unsubscribe 2 (one BatchGetItem of record, follower and channel, one transaction); a repeat 1. An unfollow's
retention counters (the cohort of the day the follower followed, domain.funnel) are one more item of that same
transaction, never another request.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from wxfunnel.config.app import AppConfig
from wxfunnel.core.observability import logger
from wxfunnel.core.settings import settings
from wxfunnel.domain import followers, funnel, stats
from wxfunnel.domain.channels import Channel
from wxfunnel.domain.followers import Follower, Transition, follow, scan, unfollow
from wxfunnel.flows import Context, Decision, decide
from wxfunnel.protocol.documents import BodyFormat
from wxfunnel.protocol.messages import (
    MenuEvent,
    Message,
    ScanEvent,
    SubscribeEvent,
    UnsubscribeEvent,
    delivery_key,
)
from wxfunnel.protocol.replies import render_reply
from wxfunnel.store import deliveries, outbox
from wxfunnel.store import followers as followers_store
from wxfunnel.store.counters import Kind
from wxfunnel.store.deliveries import CohortCounts, FollowerChange, Written

_MAX_ATTEMPTS = 5


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a delivery came to: the reply to render (None: `success`), and whether it was a duplicate."""

    reply: bytes | None  # the rendered plaintext reply, or None for `success`
    duplicate: bool


class ConcurrentUpdate(RuntimeError):
    """The follower kept changing under us; WeChat's retry will process the push again."""


def process(app: AppConfig, message: Message, fmt: BodyFormat, now: int) -> Outcome:
    key = f"{app.name}#{delivery_key(message)}"
    if app.is_official_account and isinstance(message, SubscribeEvent | ScanEvent | UnsubscribeEvent):
        return _process_follower_event(app, message, fmt, now, key)
    return _process_message(app, message, fmt, now, key)


def _context(
    app: AppConfig,
    message: Message,
    key: str,
    now: int,
    *,
    transition: Transition | None = None,
    channel: Channel | None = None,
) -> Context:
    return Context(
        app=app,
        message=message,
        delivery_key=key,
        transition=transition,
        channel=channel,
        now=now,
        erase_on_unsubscribe=settings().erase_on_unsubscribe,
    )


def _render(decision: Decision, message: Message, fmt: BodyFormat, now: int) -> bytes | None:
    if decision.reply is None:
        return None
    return render_reply(
        decision.reply, openid=message.openid, account_id=message.to_user, create_time=now, fmt=fmt
    )


def _process_message(app: AppConfig, message: Message, fmt: BodyFormat, now: int, key: str) -> Outcome:
    decision = decide(_context(app, message, key, now))
    reply = _render(decision, message, fmt, now)
    if decision.jobs:
        recorded = deliveries.find(key)
        if recorded is not None:  # a repeat, possibly after the queue forgot the jobs' de-duplication ids
            return Outcome(recorded.reply, duplicate=True)
        outbox.enqueue(decision.jobs)  # de-duplicated by key: a concurrent repeat enqueues nothing new
    earlier = deliveries.record(key, reply, now, touch=_menu_view(app, message))
    if earlier is not None:
        return Outcome(earlier.reply, duplicate=True)
    return Outcome(reply, duplicate=False)


def _menu_view(app: AppConfig, message: Message) -> dict[str, Any] | None:
    """A custom menu link an OA follower opened (VIEW) is recorded as a touch, in the delivery's own write."""
    if not (app.is_official_account and isinstance(message, MenuEvent) and message.event.upper() == "VIEW"):
        return None
    if not message.event_key:
        return None
    return followers_store.menu_view_update(
        app.name, message.openid, message.event_key, message.menu_id, message.create_time
    )


def _transition(app: AppConfig, message: Message, before: Follower | None) -> Transition:
    if isinstance(message, SubscribeEvent):
        return follow(before, app.name, message.openid, message.scene, message.create_time)
    if isinstance(message, ScanEvent):
        return scan(before, app.name, message.openid, message.scene, message.create_time)
    return unfollow(before, app.name, message.openid, message.create_time)


def _cohort(app: AppConfig, before: Follower | None, transition: Transition, at: int) -> CohortCounts | None:
    """An unfollow's retention counters (domain.funnel), on the channel subject and local day of the follow it ends
    (store.deliveries merges them into the unfollow's own channel counter when that is the same item)."""
    cohort = funnel.unfollow_cohort(before, transition, at)
    if cohort is None:
        return None
    return CohortCounts(cohort.scene, stats.day_of(cohort.followed_at, app.time_zone), cohort.counts)


def _process_follower_event(app: AppConfig, message: Message, fmt: BodyFormat, now: int, key: str) -> Outcome:
    scene = message.scene if isinstance(message, SubscribeEvent | ScanEvent) else None
    for _ in range(_MAX_ATTEMPTS):
        state = deliveries.read_state(key, app.name, message.openid, scene)
        if state.recorded is not None:
            return Outcome(state.recorded.reply, duplicate=True)
        before, channel = state.follower, state.channel
        transition = followers.attribute(_transition(app, message, before), before, channel)
        transition = followers.credit_referral(transition, channel, message.openid)
        decision = decide(_context(app, message, key, now, transition=transition, channel=channel))
        reply = _render(decision, message, fmt, now)
        if decision.jobs:
            outbox.enqueue(decision.jobs)
        counts = dict(transition.counts)
        if transition.credited is not None:
            counts["referrals"] = 1
        counted: list[tuple[Kind, str]] = [("channel", transition.scene)] if transition.scene else []
        if transition.promoter:
            counted.append(("promoter", transition.promoter))
        if transition.team:
            counted.append(("team", transition.team))
        day = stats.day_of(message.create_time, app.time_zone)
        cohort = _cohort(app, before, transition, message.create_time)
        change = FollowerChange(
            app=app.name,
            openid=message.openid,
            after=transition.after,
            expected_version=before.version if before else None,
            touched_scene=transition.touched_scene,
            touched_at=message.create_time,
            touched_latest=followers.is_latest(before, message.create_time),
            counted=tuple(counted),
            day=day,
            counts=counts,
            credited=transition.credited,
            cohort=cohort,
        )
        written = deliveries.record_with_follower(key, reply, now, change)
        if written is Written.DUPLICATE:
            return Outcome(reply, duplicate=True)  # a concurrent delivery of the same push won the race
        if written is Written.WRITTEN:
            return Outcome(reply, duplicate=False)
        logger.info("follower changed concurrently, re-reading", extra={"app": app.name})
    raise ConcurrentUpdate("the follower changed on every attempt")
