"""Delivery records in DedupeTable: the proof that a push was processed, with the reply it got, and the one write
that records a follow, scan or unfollow together with the follower, their touch, the counters of the channel (and of
its promoter and team) and the promoter's credit.

Item: `id = delivery#<app>#<delivery key>`, `reply` (the rendered plaintext, if any), `processed_at`, and
`expiration` (TTL: longer than WeChat's retries and the replay window). The record is always written under
`attribute_not_exists(id)`, so the first writer wins and every repeat finds the first reply.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from botocore.exceptions import ClientError

from wxfunnel.core.aws import dynamodb
from wxfunnel.core.settings import settings
from wxfunnel.domain.channels import Channel, timestamp
from wxfunnel.domain.followers import Follower
from wxfunnel.domain.promoters import Referrer
from wxfunnel.store import channels, counters, followers, promoters
from wxfunnel.store.base import CONDITION_FAILED, batch_get, cancellation_codes, condition_failed


@dataclass(frozen=True, slots=True)
class Recorded:
    """A delivery already processed, and the reply it got (None: `success`)."""

    reply: bytes | None


@dataclass(frozen=True, slots=True)
class State:
    """What a follow, scan or unfollow needs to decide: its record (if a repeat), the follower, the channel."""

    recorded: Recorded | None
    follower: Follower | None
    channel: Channel | None


class Written(StrEnum):
    WRITTEN = "written"
    DUPLICATE = "duplicate"  # a concurrent delivery of the same push won
    FOLLOWER_CHANGED = (
        "follower_changed"  # the follower's version moved since it was read: read and decide again
    )


@dataclass(frozen=True, slots=True)
class FollowerChange:
    """What a follow, scan or unfollow writes beside its delivery record."""

    app: str
    openid: str
    after: Follower | None  # the follower's new state, or None to leave it untouched
    expected_version: int | None  # the version read (None: no follower was stored)
    touched_scene: str | None  # the QR scene this push came through (the reminder opt-in)
    touched_at: int
    touched_latest: bool  # the push is not older than the follower's stored status (touch_update's `latest`)
    counted: tuple[
        tuple[counters.Kind, str], ...
    ]  # the subjects the change counts for: channel, promoter, team
    day: str
    counts: Mapping[str, int]
    credited: tuple[str, Referrer] | None = (
        None  # the promoter newly credited with this follower, and who they are
    )
    cohort: CohortCounts | None = None  # an unfollow's retention counters, on the day of the follow it ends


@dataclass(frozen=True, slots=True)
class CohortCounts:
    """Retention counters (domain.funnel) of the channel subject and local day a follower followed, moved by their
    unfollow."""

    scene: str
    day: str
    counts: Mapping[str, int]


def _table() -> str:
    return settings().dedupe_table


def _key(delivery: str) -> dict[str, Any]:
    return {"id": {"S": f"delivery#{delivery}"}}


def _recorded(item: Mapping[str, Any]) -> Recorded:
    reply = item.get("reply")
    return Recorded(bytes(reply["B"]) if reply else None)


def _put(delivery: str, reply: bytes | None, now: int) -> dict[str, Any]:
    ttl = now + max(3600, 2 * settings().replay_window_seconds)
    item: dict[str, Any] = {**_key(delivery), "expiration": {"N": str(ttl)}, "processed_at": {"N": str(now)}}
    if reply is not None:
        item["reply"] = {"B": reply}
    return {"TableName": _table(), "Item": item, "ConditionExpression": "attribute_not_exists(id)"}


def find(delivery: str) -> Recorded | None:
    """The record of a delivery (consistent read), before outbound work is enqueued for it."""
    item = dynamodb().get_item(TableName=_table(), Key=_key(delivery), ConsistentRead=True).get("Item")
    return _recorded(item) if item else None


def record(
    delivery: str, reply: bytes | None, now: int, touch: dict[str, Any] | None = None
) -> Recorded | None:
    """Record a delivery (with `touch`, an UpdateItem, in the same write) → None when this call recorded it, else
    the earlier record (a repeat)."""
    if touch is not None:
        put = {**_put(delivery, reply, now), "ReturnValuesOnConditionCheckFailure": "ALL_OLD"}
        try:
            dynamodb().transact_write_items(TransactItems=[{"Put": put}, {"Update": touch}])
        except ClientError as exc:
            codes = cancellation_codes(exc)
            if codes[:1] != [CONDITION_FAILED]:
                raise
            reasons = exc.response.get("CancellationReasons") or [{}]
            old: Mapping[str, Any] | None = reasons[0].get("Item")
            return _recorded(old) if old else Recorded(reply)
        return None
    try:
        dynamodb().put_item(**_put(delivery, reply, now), ReturnValuesOnConditionCheckFailure="ALL_OLD")
    except ClientError as exc:
        if not condition_failed(exc):
            raise
        previous: Mapping[str, Any] | None = exc.response.get("Item")  # type: ignore[assignment]
        return _recorded(previous) if previous else Recorded(reply)
    return None


def read_state(delivery: str, app: str, openid: str, scene: str | None) -> State:
    """One BatchGetItem: the delivery record, the follower (both consistent) and the scene's channel."""
    s = settings()
    request: dict[str, Any] = {
        s.dedupe_table: {"Keys": [_key(delivery)], "ConsistentRead": True},
        s.subscriptions_table: {"Keys": [followers.profile_key(app, openid)], "ConsistentRead": True},
    }
    if scene:
        request[s.channels_table] = {"Keys": [channels.channel_key(app, scene)]}
    found = batch_get(request)
    record_item = next(iter(found.get(s.dedupe_table, [])), None)
    profile = next(iter(found.get(s.subscriptions_table, [])), None)
    channel = next(iter(found.get(s.channels_table, [])), None)
    return State(
        recorded=_recorded(record_item) if record_item else None,
        follower=followers.from_item(profile) if profile else None,
        channel=channels.from_item(channel) if channel else None,
    )


def record_with_follower(delivery: str, reply: bytes | None, now: int, change: FollowerChange) -> Written:
    """One transaction: the delivery record, the follower (version-checked), their touch, the counters of the
    subjects the change counts for (an unfollow's retention counter on the day of the follow with them), and the
    credited promoter's count."""
    items: list[dict[str, Any]] = [{"Put": _put(delivery, reply, now)}]
    if change.after is not None:
        items.append(followers.put_follower(change.after, change.expected_version))
    if change.touched_scene:
        touch = followers.touch_update(
            change.app, change.openid, change.touched_scene, change.touched_at, latest=change.touched_latest
        )
        items.append({"Update": touch})
    cohort = change.cohort
    for kind, subject in change.counted if change.counts else ():
        counts = change.counts
        if cohort is not None and kind == "channel" and (subject, change.day) == (cohort.scene, cohort.day):
            counts, cohort = (
                {**counts, **cohort.counts},
                None,
            )  # one item cannot be written twice in a transaction
        items.append(
            counters.counter_update(change.app, subject, change.day, change.openid, counts, kind=kind)
        )
    if cohort is not None:
        items.append(
            counters.counter_update(change.app, cohort.scene, cohort.day, change.openid, cohort.counts)
        )
    if change.credited is not None:
        promoter, referrer = change.credited
        items.append(promoters.credit(change.app, promoter, referrer, timestamp(now)))
    try:
        dynamodb().transact_write_items(TransactItems=items)
    except ClientError as exc:
        codes = cancellation_codes(exc)
        if codes[:1] == [CONDITION_FAILED]:
            return Written.DUPLICATE
        if codes[1:2] == [CONDITION_FAILED]:
            return Written.FOLLOWER_CHANGED
        raise
    return Written.WRITTEN
