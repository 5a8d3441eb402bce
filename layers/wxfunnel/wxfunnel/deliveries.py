"""Exactly-once processing of WeChat deliveries: the dedupe record, the follower state and the counters in one write.

WeChat retries a push it got no answer for within 5 s (up to four deliveries in ~20 s, possibly concurrent).
The delivery record (DedupeTable, TTL) is written in the same conditional write or transaction as the follower's
profile, its touch and the channel counters, so a push changes state once or not at all. A repeat finds the record
and gets the first delivery's reply; a concurrent repeat loses the condition and gets the winner's reply.
Outbound jobs are enqueued before that write (a crash in between is healed by WeChat's retry), so the record must be
read before enqueueing: SQS FIFO forgets a de-duplication id after 5 minutes, and the replay window is longer.
Round trips to DynamoDB: a stateless push (text, menu …) without jobs 1 (a conditional put that also returns the
old record on a repeat), with jobs 2 (a consistent GetItem of the record, then the put); a subscribe/SCAN/
unsubscribe 2 (one BatchGetItem of record, profile and channel, one transaction); a repeat 1.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from botocore.exceptions import ClientError

from wxfunnel import channels, stats, subscriptions
from wxfunnel.aws import dynamodb
from wxfunnel.channels import Channel
from wxfunnel.config import AppConfig
from wxfunnel.dispatch import Context, Decision, decide
from wxfunnel.messages import (
    BodyFormat,
    Message,
    ScanEvent,
    SubscribeEvent,
    UnsubscribeEvent,
    delivery_key,
    render_reply,
)
from wxfunnel.observability import logger
from wxfunnel.outbox import enqueue
from wxfunnel.settings import settings
from wxfunnel.subscriptions import Change, Subscription, Transition

_MAX_ATTEMPTS = 5


@dataclass(frozen=True, slots=True)
class Outcome:
    reply: bytes | None  # the rendered plaintext reply, or None for `success`
    duplicate: bool


class ConcurrentUpdate(RuntimeError):
    """The follower's profile kept changing under us; WeChat's retry will process the push again."""


def _record_id(key: str) -> str:
    return f"delivery#{key}"


def _stored(item: dict[str, Any]) -> Outcome:
    reply = item.get("reply")
    return Outcome(bytes(reply["B"]) if reply else None, duplicate=True)


def _record_put(key: str, reply: bytes | None, now: int) -> dict[str, Any]:
    ttl = now + max(3600, 2 * settings().replay_window_seconds)
    item: dict[str, Any] = {
        "id": {"S": _record_id(key)},
        "expiration": {"N": str(ttl)},
        "processed_at": {"N": str(now)},
    }
    if reply is not None:
        item["reply"] = {"B": reply}
    return {
        "TableName": settings().dedupe_table,
        "Item": item,
        "ConditionExpression": "attribute_not_exists(id)",
    }


def process(app: AppConfig, message: Message, fmt: BodyFormat, now: int) -> Outcome:
    key = f"{app.name}#{delivery_key(message)}"
    if app.is_official_account and isinstance(message, SubscribeEvent | ScanEvent | UnsubscribeEvent):
        return _process_stateful(app, message, fmt, now, key)
    return _process_stateless(app, message, fmt, now, key)


def _render(decision: Decision, message: Message, fmt: BodyFormat, now: int) -> bytes | None:
    if decision.reply is None:
        return None
    return render_reply(
        decision.reply, openid=message.openid, account_id=message.to_user, create_time=now, fmt=fmt
    )


def _process_stateless(app: AppConfig, message: Message, fmt: BodyFormat, now: int, key: str) -> Outcome:
    decision = decide(Context(app=app, message=message, delivery_key=key, now=now))
    reply = _render(decision, message, fmt, now)
    if decision.jobs:
        found = dynamodb().get_item(
            TableName=settings().dedupe_table, Key={"id": {"S": _record_id(key)}}, ConsistentRead=True
        )
        if "Item" in found:  # a repeat, possibly after the queue forgot the jobs' de-duplication ids
            return _stored(found["Item"])
        enqueue(decision.jobs)  # de-duplicated by key: a concurrent repeat enqueues nothing new
    try:
        dynamodb().put_item(**_record_put(key, reply, now), ReturnValuesOnConditionCheckFailure="ALL_OLD")
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
            raise
        old: dict[str, Any] | None = exc.response.get("Item")  # type: ignore[assignment]
        return _stored(old) if old else Outcome(reply, duplicate=True)
    return Outcome(reply, duplicate=False)


def _scene(message: Message) -> str | None:
    if isinstance(message, SubscribeEvent | ScanEvent):
        return message.scene
    return None


def _read(
    app: AppConfig, message: Message, key: str
) -> tuple[dict[str, Any] | None, Subscription | None, Channel | None]:
    s = settings()
    request: dict[str, Any] = {
        s.dedupe_table: {"Keys": [{"id": {"S": _record_id(key)}}], "ConsistentRead": True},
        s.subscriptions_table: {
            "Keys": [subscriptions.profile_key(app.name, message.openid)],
            "ConsistentRead": True,
        },
    }
    scene = _scene(message)
    if scene:
        request[s.channels_table] = {"Keys": [channels.channel_key(app.name, scene)]}
    found: dict[str, list[dict[str, Any]]] = {}
    for _ in range(_MAX_ATTEMPTS):
        response = dynamodb().batch_get_item(RequestItems=request)
        for table, items in response.get("Responses", {}).items():
            found.setdefault(table, []).extend(items)
        request = response.get("UnprocessedKeys") or {}
        if not request:
            break
    else:
        raise ConcurrentUpdate("DynamoDB left keys unprocessed")
    record = next(iter(found.get(s.dedupe_table, [])), None)
    profile = next(iter(found.get(s.subscriptions_table, [])), None)
    channel = next(iter(found.get(s.channels_table, [])), None)
    return (
        record,
        subscriptions.from_item(profile) if profile else None,
        Channel.from_item(channel) if channel else None,
    )


def _transition(app: AppConfig, message: Message, before: Subscription | None) -> Transition:
    if isinstance(message, SubscribeEvent):
        return subscriptions.follow(before, app.name, message.openid, message.scene, message.create_time)
    if isinstance(message, ScanEvent):
        return subscriptions.scan(before, app.name, message.openid, message.scene, message.create_time)
    return subscriptions.unfollow(before, app.name, message.openid, message.create_time)


def _credit_referral(transition: Transition, channel: Channel | None, openid: str) -> Transition:
    """A first follow through a referrer's code credits the referrer once; self-referral never counts."""
    referrer = channel.referrer if channel else None
    if transition.change is not Change.NEW_FOLLOWER or referrer is None or transition.after is None:
        return transition
    if referrer.openid and referrer.openid == openid:
        return transition
    return replace(transition, after=replace(transition.after, referred_by=referrer.openid or referrer.name))


def _process_stateful(app: AppConfig, message: Message, fmt: BodyFormat, now: int, key: str) -> Outcome:
    s = settings()
    for _ in range(_MAX_ATTEMPTS):
        record, before, channel = _read(app, message, key)
        if record is not None:
            return _stored(record)
        transition = _credit_referral(_transition(app, message, before), channel, message.openid)
        decision = decide(
            Context(
                app=app, message=message, delivery_key=key, transition=transition, channel=channel, now=now
            )
        )
        reply = _render(decision, message, fmt, now)
        if decision.jobs:
            enqueue(decision.jobs)
        items: list[dict[str, Any]] = [{"Put": _record_put(key, reply, now)}]
        if transition.after is not None:
            items.append(
                subscriptions.put_profile(
                    s.subscriptions_table, transition.after, before.version if before else None
                )
            )
        if transition.touched_scene:
            items.append(
                subscriptions.touch_update(
                    s.subscriptions_table,
                    app.name,
                    message.openid,
                    transition.touched_scene,
                    message.create_time,
                )
            )
        counts = dict(transition.counts)
        if (
            transition.after is not None
            and transition.after.referred_by
            and (before is None or before.referred_by is None)
        ):
            counts["referrals"] = 1
        if counts and transition.scene:
            items.append(
                stats.counter_update(
                    app.name, transition.scene, stats.day_of(message.create_time), message.openid, counts
                )
            )
        try:
            dynamodb().transact_write_items(TransactItems=items)
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "TransactionCanceledException":
                raise
            reasons = exc.response.get("CancellationReasons") or []
            codes = [reason.get("Code") for reason in reasons]
            if codes and codes[0] == "ConditionalCheckFailed":
                return Outcome(reply, duplicate=True)  # a concurrent delivery of the same push won the race
            if len(codes) > 1 and codes[1] == "ConditionalCheckFailed":
                logger.info("follower changed concurrently, re-reading", extra={"app": app.name})
                continue
            raise
        return Outcome(reply, duplicate=False)
    raise ConcurrentUpdate("the follower's profile changed on every attempt")
