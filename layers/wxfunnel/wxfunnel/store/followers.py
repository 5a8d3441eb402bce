"""Followers in SubscriptionsTable: one profile item per app and openid, one touch item per scene they came through.

Keys: `pk = <app>#<openid>`, `sk = profile` or `touch#<scene>`. Reminders select followers through three sparse
indexes on the same table, keyed by a sharded audience key `<app>#<scene>#<shard>` (so a viral scene does not heat
one index partition): ByFirstScene and ByLastScene (profile items, present only while the user follows) and
ByTouchedScene (every touch: the opt-in). The shard comes from a stable hash of the openid.
"""

from __future__ import annotations

import hashlib
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from wxfunnel.core.aws import dynamodb
from wxfunnel.core.settings import settings
from wxfunnel.domain.followers import Follower, Status
from wxfunnel.store.base import (
    BATCH_GET_MAX,
    PARTITION_KEY_MAX_BYTES,
    SORT_KEY_MAX_BYTES,
    batch_get,
    chunks,
    number,
    query_all,
    text,
)

if TYPE_CHECKING:  # the callback writes followers but never selects them: keep reminders out of its import
    from wxfunnel.domain.reminders import Touch

PROFILE = "profile"
AUDIENCE_SHARDS = 8
PAGE_SIZE = 100  # followers per fan-out page
INDEXES: dict[str, tuple[str, str]] = {  # touch → (index name, its key attribute)
    "any": ("ByTouchedScene", "touch_audience"),
    "first": ("ByFirstScene", "first_audience"),
    "last": ("ByLastScene", "last_audience"),
}


def _table() -> str:
    return settings().subscriptions_table


def shard_of(openid: str) -> int:
    return zlib.crc32(openid.encode("utf-8")) % AUDIENCE_SHARDS


def audience_key(app: str, scene: str, shard: int) -> str:
    return f"{app}#{scene}#{shard}"


def profile_key(app: str, openid: str) -> dict[str, Any]:
    return {"pk": {"S": f"{app}#{openid}"}, "sk": {"S": PROFILE}}


def touch_key(app: str, openid: str, scene: str) -> dict[str, Any]:
    return {"pk": {"S": f"{app}#{openid}"}, "sk": {"S": f"touch#{scene}"}}


def from_item(item: Mapping[str, Any]) -> Follower:
    app, openid = item["pk"]["S"].split("#", 1)
    return Follower(
        app=app,
        openid=openid,
        status=Status(item["status"]["S"]),
        status_at=number(item, "status_at") or 0,
        first_scene=text(item, "first_scene"),
        follow_scene=text(item, "follow_scene"),
        last_scene=text(item, "last_scene"),
        first_subscribed_at=number(item, "first_subscribed_at"),
        subscribed_at=number(item, "subscribed_at"),
        unsubscribed_at=number(item, "unsubscribed_at"),
        follow_count=number(item, "follow_count") or 0,
        scan_count=number(item, "scan_count") or 0,
        referred_by=text(item, "referred_by"),
        version=number(item, "version") or 0,
        follow_promoter=text(item, "follow_promoter"),
        follow_team=text(item, "follow_team"),
    )


def to_item(follower: Follower) -> dict[str, Any]:
    item: dict[str, Any] = {
        **profile_key(follower.app, follower.openid),
        "status": {"S": follower.status.value},
        "status_at": {"N": str(follower.status_at)},
        "version": {"N": str(follower.version)},
        "follow_count": {"N": str(follower.follow_count)},
        "scan_count": {"N": str(follower.scan_count)},
        "app": {"S": follower.app},
        "openid": {"S": follower.openid},
    }
    for name in (
        "first_scene",
        "follow_scene",
        "last_scene",
        "referred_by",
        "follow_promoter",
        "follow_team",
    ):
        value = getattr(follower, name)
        if value is not None:
            item[name] = {"S": value}
    for name in ("first_subscribed_at", "subscribed_at", "unsubscribed_at"):
        value = getattr(follower, name)
        if value is not None:
            item[name] = {"N": str(value)}
    # Index entries exist only while the user follows, so reminders reach current followers only.
    if follower.status is Status.SUBSCRIBED:
        shard = shard_of(follower.openid)
        if follower.first_scene:
            item["first_audience"] = {"S": audience_key(follower.app, follower.first_scene, shard)}
        if follower.last_scene:
            item["last_audience"] = {"S": audience_key(follower.app, follower.last_scene, shard)}
    return item


def put_follower(follower: Follower, expected_version: int | None) -> dict[str, Any]:
    """A TransactWriteItems Put of the profile, conditional on the version read (optimistic concurrency)."""
    put: dict[str, Any] = {"TableName": _table(), "Item": to_item(follower)}
    if expected_version is None:
        put["ConditionExpression"] = "attribute_not_exists(pk)"
    else:
        put["ConditionExpression"] = "version = :v"
        put["ExpressionAttributeValues"] = {":v": {"N": str(expected_version)}}
    return {"Put": put}


def touch_update(app: str, openid: str, scene: str, at: int, *, latest: bool = True) -> dict[str, Any]:
    """An UpdateItem recording that the user came through `scene` (the reminder opt-in), counting repeats.

    `latest`: the push is not older than anything stored of the user (domain.followers.is_latest), so `last_at`
    moves to `at`; an out-of-order older push never moves it back (a reassigned scene's list reads it)."""
    last = ":t" if latest else "if_not_exists(last_at, :t)"
    return {
        "TableName": _table(),
        "Key": touch_key(app, openid, scene),
        "UpdateExpression": f"SET scene = :s, app = :a, openid = :o, last_at = {last}, touch_audience = :aud, "
        "first_at = if_not_exists(first_at, :t) ADD touches :one",
        "ExpressionAttributeValues": {
            ":s": {"S": scene},
            ":a": {"S": app},
            ":o": {"S": openid},
            ":t": {"N": str(at)},
            ":aud": {"S": audience_key(app, scene, shard_of(openid))},
            ":one": {"N": "1"},
        },
    }


def menu_view_update(app: str, openid: str, url: str, menu_id: str | None, at: int) -> dict[str, Any]:
    """An UpdateItem recording that the user opened a custom menu's link (`sk = view#<digest of the URL>`)."""
    digest = hashlib.sha256(url.encode("utf-8", "surrogatepass")).hexdigest()[:16]
    values: dict[str, Any] = {
        ":u": {"S": url[:1024]},
        ":a": {"S": app},
        ":o": {"S": openid},
        ":t": {"N": str(at)},
        ":one": {"N": "1"},
    }
    sets = "SET #url = :u, app = :a, openid = :o, last_at = :t, first_at = if_not_exists(first_at, :t)"
    if menu_id:
        sets += ", menu_id = :m"
        values[":m"] = {"S": menu_id[:64]}
    return {
        "TableName": _table(),
        "Key": {"pk": {"S": f"{app}#{openid}"}, "sk": {"S": f"view#{digest}"}},
        "UpdateExpression": f"{sets} ADD #views :one",
        "ExpressionAttributeNames": {"#url": "url", "#views": "views"},
        "ExpressionAttributeValues": values,
    }


def record_touch(app: str, openid: str, scene: str, at: int) -> None:
    """A touch on its own (a Mini Program user's card opt-in, which no follow transaction carries)."""
    dynamodb().update_item(**touch_update(app, openid, scene, at))


def get_follower(app: str, openid: str) -> Follower | None:
    item = (
        dynamodb().get_item(TableName=_table(), Key=profile_key(app, openid), ConsistentRead=True).get("Item")
    )
    return from_item(item) if item else None


def erase(app: str, openid: str) -> None:
    """Delete every item stored about the user (profile and touches)."""
    query = {
        "TableName": _table(),
        "KeyConditionExpression": "pk = :pk",
        "ExpressionAttributeValues": {":pk": {"S": f"{app}#{openid}"}},
        "ProjectionExpression": "pk, sk",
    }
    for item in query_all(query):
        dynamodb().delete_item(TableName=_table(), Key={"pk": item["pk"], "sk": item["sk"]})


@dataclass(frozen=True, slots=True)
class AudiencePage:
    """One page of a scene's audience in one shard."""

    openids: list[str]
    cursor: Any  # where the next page starts, or None when the shard is done


def audience_page(
    app: str, scene: str, touch: Touch, shard: int, cursor: Any = None, *, limit: int = PAGE_SIZE
) -> AudiencePage:
    """One page (≤ `limit`) of the followers of `scene` by `touch` in one audience shard ("any": everyone who
    came through it, following or not; "first"/"last": current followers by their first/last touch)."""
    index, attribute = INDEXES[touch]
    query: dict[str, Any] = {
        "TableName": _table(),
        "IndexName": index,
        "KeyConditionExpression": "#k = :k",
        "ExpressionAttributeNames": {"#k": attribute},
        "ExpressionAttributeValues": {":k": {"S": audience_key(app, scene, shard)}},
        "Limit": limit,
    }
    if cursor:
        query["ExclusiveStartKey"] = cursor
    result = dynamodb().query(**query)
    openids = list(dict.fromkeys(entry["pk"]["S"].split("#", 1)[1] for entry in result["Items"]))
    return AudiencePage(openids, result.get("LastEvaluatedKey"))


def checked_cursor(app: str, scene: str, touch: Touch, shard: int, cursor: object) -> dict[str, Any] | None:
    """`cursor` if it can be a page's cursor of `audience_page(app, scene, touch, shard)` (the LastEvaluatedKey of
    that index query: its key, and the item's pk and sk), else ValueError. For cursors that came back from outside
    (a list's next_token): DynamoDB would refuse another shape (a 500), and a key of another scene would page
    through someone else's audience."""
    if cursor is None:
        return None
    _, attribute = INDEXES[touch]
    if not isinstance(cursor, dict) or set(cursor) != {attribute, "pk", "sk"}:
        raise ValueError("not an audience cursor")
    values = {
        name: value.get("S") if isinstance(value, dict) and set(value) == {"S"} else None
        for name, value in cursor.items()
    }
    pk, sk = values["pk"], values["sk"]
    if values[attribute] != audience_key(app, scene, shard):
        raise ValueError("an audience cursor of another scene or shard")
    if not (isinstance(pk, str) and pk.startswith(f"{app}#") and isinstance(sk, str) and sk):
        raise ValueError("not an audience cursor")
    if len(pk.encode()) > PARTITION_KEY_MAX_BYTES or len(sk.encode()) > SORT_KEY_MAX_BYTES:
        raise ValueError("not an audience cursor")
    return cursor


def last_touches(app: str, scene: str, openids: Iterable[str]) -> dict[str, int]:
    """When each of `openids` last came through `scene` (their touch's `last_at`, a push's CreateTime), for those
    with a touch (BatchGetItem, 100 keys a round)."""
    found: dict[str, int] = {}
    for chunk in chunks(sorted(set(openids)), BATCH_GET_MAX):
        request = {
            "Keys": [touch_key(app, openid, scene) for openid in chunk],
            "ProjectionExpression": "openid, last_at",
        }
        for item in batch_get({_table(): request}).get(_table(), []):
            openid = text(item, "openid")
            if openid is not None:
                found[openid] = number(item, "last_at") or 0
    return found


def get_many(app: str, openids: Iterable[str]) -> dict[str, Follower]:
    """The stored followers among `openids` (BatchGetItem, 100 keys a round), by openid."""
    found: dict[str, Follower] = {}
    for chunk in chunks(sorted(set(openids)), BATCH_GET_MAX):
        items = batch_get({_table(): {"Keys": [profile_key(app, openid) for openid in chunk]}})
        for item in items.get(_table(), []):
            follower = from_item(item)
            found[follower.openid] = follower
    return found
