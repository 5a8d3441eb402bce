"""Follower state per account and openid: what a subscribe, SCAN or unsubscribe push does to it, and its DynamoDB form.

One profile item per app+openid holds the status and the first/last scene; one touch item per scene a follower came
through records the opt-in (reminders select on it). Index keys are sharded so a viral scene does not heat one
index partition. The transition is computed purely here; the intake writes it with a version condition.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

AUDIENCE_SHARDS = 8
DIRECT = "(direct)"  # the scene of follows that did not come through a parametric QR code


class Status(StrEnum):
    SUBSCRIBED = "subscribed"
    UNSUBSCRIBED = "unsubscribed"


class Change(StrEnum):
    NEW_FOLLOWER = "new_follower"  # first follow ever known to wxfunnel
    RETURNING_FOLLOWER = "returning_follower"  # follows again after an unfollow
    SCAN = "scan"  # an existing follower scanned a code
    UNFOLLOW = "unfollow"
    NONE = "none"  # a repeat or a stale (out-of-order) push: nothing changes


@dataclass(frozen=True, slots=True)
class Subscription:
    app: str
    openid: str
    status: Status
    status_at: int  # CreateTime of the push that set the status (orders out-of-order deliveries)
    first_scene: str | None = None  # first touch: the scene of the first follow
    follow_scene: str | None = (
        None  # the scene of the current (latest) follow; unfollows are counted against it
    )
    last_scene: str | None = None  # last touch: the latest follow or scan scene
    first_subscribed_at: int | None = None
    subscribed_at: int | None = None
    unsubscribed_at: int | None = None
    follow_count: int = 0
    scan_count: int = 0
    referred_by: str | None = None
    version: int = 0


@dataclass(frozen=True, slots=True)
class Transition:
    change: Change
    after: Subscription | None  # None: the push leaves the profile untouched
    scene: str | None  # the scene the change counts against (stats), DIRECT for plain follows
    touched_scene: str | None  # a QR scene this push touched (opt-in record)

    @property
    def counts(self) -> dict[str, int]:
        return {
            Change.NEW_FOLLOWER: {"new_followers": 1},
            Change.RETURNING_FOLLOWER: {"returning_followers": 1},
            Change.SCAN: {"scans": 1},
            Change.UNFOLLOW: {"unfollows": 1},
        }.get(self.change, {})


def shard_of(openid: str, shards: int) -> int:
    return zlib.crc32(openid.encode("utf-8")) % shards


def audience_key(app: str, scene: str, openid: str) -> str:
    return f"{app}#{scene}#{shard_of(openid, AUDIENCE_SHARDS)}"


def follow(before: Subscription | None, app: str, openid: str, scene: str | None, at: int) -> Transition:
    """A `subscribe` push (scene None for a plain follow)."""
    counted = scene or DIRECT
    if before is not None and at < before.status_at:
        return Transition(Change.NONE, None, None, scene)
    if before is not None and before.status is Status.SUBSCRIBED:
        # Already following (a repeat, or an unfollow we never saw): refresh the touch, count nothing.
        after = replace(
            before, status_at=at, last_scene=scene or before.last_scene, version=before.version + 1
        )
        return Transition(Change.NONE, after, None, scene)
    if before is None or before.first_subscribed_at is None:
        base = before or Subscription(app=app, openid=openid, status=Status.UNSUBSCRIBED, status_at=at)
        after = replace(
            base,
            status=Status.SUBSCRIBED,
            status_at=at,
            first_scene=counted,
            follow_scene=counted,
            last_scene=scene or base.last_scene,
            first_subscribed_at=at,
            subscribed_at=at,
            follow_count=base.follow_count + 1,
            version=base.version + 1,
        )
        return Transition(Change.NEW_FOLLOWER, after, counted, scene)
    after = replace(
        before,
        status=Status.SUBSCRIBED,
        status_at=at,
        follow_scene=counted,
        last_scene=scene or before.last_scene,
        subscribed_at=at,
        follow_count=before.follow_count + 1,
        version=before.version + 1,
    )
    return Transition(Change.RETURNING_FOLLOWER, after, counted, scene)


def scan(before: Subscription | None, app: str, openid: str, scene: str, at: int) -> Transition:
    """A `SCAN` push: only followers get it, so it also proves the user follows."""
    if before is None:
        after = Subscription(
            app=app,
            openid=openid,
            status=Status.SUBSCRIBED,
            status_at=at,
            last_scene=scene,
            scan_count=1,
            version=1,
        )
        return Transition(Change.SCAN, after, scene, scene)
    status, status_at = before.status, before.status_at
    if at >= before.status_at:
        # A scan proves the user follows at `at`: a later-delivered but older unfollow must not overturn that.
        status, status_at = Status.SUBSCRIBED, at
    after = replace(
        before,
        status=status,
        status_at=status_at,
        last_scene=scene,
        scan_count=before.scan_count + 1,
        version=before.version + 1,
    )
    return Transition(Change.SCAN, after, scene, scene)


def unfollow(before: Subscription | None, app: str, openid: str, at: int) -> Transition:
    if before is None:
        after = Subscription(
            app=app, openid=openid, status=Status.UNSUBSCRIBED, status_at=at, unsubscribed_at=at, version=1
        )
        return Transition(Change.NONE, after, None, None)
    if at < before.status_at or before.status is Status.UNSUBSCRIBED:
        if at >= before.status_at:
            return Transition(
                Change.NONE, replace(before, status_at=at, version=before.version + 1), None, None
            )
        return Transition(Change.NONE, None, None, None)
    after = replace(
        before, status=Status.UNSUBSCRIBED, status_at=at, unsubscribed_at=at, version=before.version + 1
    )
    return Transition(Change.UNFOLLOW, after, before.follow_scene or DIRECT, None)


# --- DynamoDB form (low-level attribute values) -------------------------------------------------------------------

PROFILE = "profile"


def profile_key(app: str, openid: str) -> dict[str, Any]:
    return {"pk": {"S": f"{app}#{openid}"}, "sk": {"S": PROFILE}}


def touch_key(app: str, openid: str, scene: str) -> dict[str, Any]:
    return {"pk": {"S": f"{app}#{openid}"}, "sk": {"S": f"touch#{scene}"}}


def _num(item: dict[str, Any], name: str) -> int | None:
    value = item.get(name)
    return int(value["N"]) if value else None


def _str(item: dict[str, Any], name: str) -> str | None:
    value = item.get(name)
    return value["S"] if value else None


def from_item(item: dict[str, Any]) -> Subscription:
    app, openid = item["pk"]["S"].split("#", 1)
    return Subscription(
        app=app,
        openid=openid,
        status=Status(item["status"]["S"]),
        status_at=_num(item, "status_at") or 0,
        first_scene=_str(item, "first_scene"),
        follow_scene=_str(item, "follow_scene"),
        last_scene=_str(item, "last_scene"),
        first_subscribed_at=_num(item, "first_subscribed_at"),
        subscribed_at=_num(item, "subscribed_at"),
        unsubscribed_at=_num(item, "unsubscribed_at"),
        follow_count=_num(item, "follow_count") or 0,
        scan_count=_num(item, "scan_count") or 0,
        referred_by=_str(item, "referred_by"),
        version=_num(item, "version") or 0,
    )


def to_item(sub: Subscription) -> dict[str, Any]:
    item: dict[str, Any] = {
        **profile_key(sub.app, sub.openid),
        "status": {"S": sub.status.value},
        "status_at": {"N": str(sub.status_at)},
        "version": {"N": str(sub.version)},
        "follow_count": {"N": str(sub.follow_count)},
        "scan_count": {"N": str(sub.scan_count)},
        "app": {"S": sub.app},
        "openid": {"S": sub.openid},
    }
    for name in ("first_scene", "follow_scene", "last_scene", "referred_by"):
        value = getattr(sub, name)
        if value is not None:
            item[name] = {"S": value}
    for name in ("first_subscribed_at", "subscribed_at", "unsubscribed_at"):
        value = getattr(sub, name)
        if value is not None:
            item[name] = {"N": str(value)}
    # Index entries exist only while the user follows, so reminders reach current followers only.
    if sub.status is Status.SUBSCRIBED:
        if sub.first_scene:
            item["first_audience"] = {"S": audience_key(sub.app, sub.first_scene, sub.openid)}
        if sub.last_scene:
            item["last_audience"] = {"S": audience_key(sub.app, sub.last_scene, sub.openid)}
    return item


def put_profile(table: str, sub: Subscription, expected_version: int | None) -> dict[str, Any]:
    """A TransactWriteItems Put of the profile, conditional on the version read (optimistic concurrency)."""
    put: dict[str, Any] = {"TableName": table, "Item": to_item(sub)}
    if expected_version is None:
        put["ConditionExpression"] = "attribute_not_exists(pk)"
    else:
        put["ConditionExpression"] = "version = :v"
        put["ExpressionAttributeValues"] = {":v": {"N": str(expected_version)}}
    return {"Put": put}


def touch_update(table: str, app: str, openid: str, scene: str, at: int) -> dict[str, Any]:
    """Record that the user came through `scene` (the reminder opt-in), counting repeats."""
    return {
        "Update": {
            "TableName": table,
            "Key": touch_key(app, openid, scene),
            "UpdateExpression": "SET scene = :s, app = :a, openid = :o, last_at = :t, touch_audience = :aud, "
            "first_at = if_not_exists(first_at, :t) ADD touches :one",
            "ExpressionAttributeValues": {
                ":s": {"S": scene},
                ":a": {"S": app},
                ":o": {"S": openid},
                ":t": {"N": str(at)},
                ":aud": {"S": audience_key(app, scene, openid)},
                ":one": {"N": "1"},
            },
        }
    }
