"""Channels in ChannelsTable: the record of each scene, and the app's permanent-code counter.

A channel item is keyed `pk = channel#<app>`, `sk = <scene>` (integer scenes as decimal text, since WeChat
pushes both kinds as the same EventKey text). The same table holds, per app, the permanent-code counter
(`pk = quota#<app>`, `sk = permanent`) and the sharded statistics (store.counters).

Permanent codes are limited (100,000 per account, and WeChat never gives them back), so one is *reserved*
before WeChat is asked for it: a transaction adds 1 to the counter under `count < cap` and puts the channel
without a ticket (pending). When WeChat answers, the channel is completed; when it refuses, it is released.
"""

from __future__ import annotations

import base64
import binascii
import builtins
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from wxfunnel.core.aws import dynamodb
from wxfunnel.core.settings import settings
from wxfunnel.domain.channels import GENERATION_MARK, Channel, scene_of_subject, timestamp
from wxfunnel.domain.jobs import MessageSpec, message_from_wire, message_to_wire
from wxfunnel.domain.promoters import Referrer
from wxfunnel.protocol import limits
from wxfunnel.store.base import (
    CONDITION_FAILED,
    cancellation_codes,
    number,
    put_new,
    query_all,
    text,
    update_if,
)

PAGE_MAX = 100


def to_item(channel: Channel) -> dict[str, Any]:
    item: dict[str, Any] = {
        **channel_key(channel.app, channel.scene),
        "app": {"S": channel.app},
        "scene": {"S": channel.scene},
        "scene_type": {"S": channel.scene_type},
        "permanent": {"BOOL": channel.permanent},
        "kind": {"S": channel.kind},
        "ticket": {"S": channel.ticket},
        "url": {"S": channel.url},
        "image_url": {"S": channel.image_url},
        "name": {"S": channel.name},
        "created_at": {"S": channel.created_at},
        "updated_at": {"S": channel.updated_at},
    }
    for key in ("expire_seconds", "expires_at"):
        count = getattr(channel, key)
        if count is not None:
            item[key] = {"N": str(count)}
    for key in ("welcome_message", "tag", "notes"):
        value = getattr(channel, key)
        if value:
            item[key] = {"S": value}
    if channel.referrer is not None:
        referrer: dict[str, Any] = {"name": {"S": channel.referrer.name}}
        if channel.referrer.openid:
            referrer["openid"] = {"S": channel.referrer.openid}
        item["referrer"] = {"M": referrer}
    # Promoters and the lifecycle (absent on channels stored before them: no promoter, active, generation 0).
    for key in ("promoter", "team"):
        value = getattr(channel, key)
        if value:
            item[key] = {"S": value}
    if channel.state != "active":
        item["state"] = {"S": channel.state}
    if channel.generation:
        item["generation"] = {"N": str(channel.generation)}
    # Campaigns and welcome sequences: absent on channels stored before them (no campaign, no sequence).
    if channel.campaign:
        item["campaign"] = {"S": channel.campaign}
    if channel.welcome_sequence:
        wire = [message_to_wire(message) for message in channel.welcome_sequence]
        item["welcome_sequence"] = {"S": json.dumps(wire, ensure_ascii=False, separators=(",", ":"))}
    return item


def _welcome_sequence(item: Mapping[str, Any]) -> tuple[MessageSpec, ...]:
    encoded = text(item, "welcome_sequence")
    return tuple(message_from_wire(message) for message in json.loads(encoded)) if encoded else ()


def from_item(item: Mapping[str, Any]) -> Channel:
    """A channel from a low-level DynamoDB item (GetItem, Query, BatchGetItem)."""
    referrer = None
    if "referrer" in item:
        fields = item["referrer"]["M"]
        referrer = Referrer(
            name=str(fields["name"]["S"]),
            openid=str(fields["openid"]["S"]) if "openid" in fields else None,
        )
    scene_type = text(item, "scene_type")
    kind = text(item, "kind")
    state = text(item, "state")
    return Channel(
        app=text(item, "app") or str(item["pk"]["S"]).partition("#")[2],
        scene=str(item["sk"]["S"]),
        scene_type="int" if scene_type == "int" else "str",
        permanent=bool(item.get("permanent", {}).get("BOOL", False)),
        kind="card" if kind == "card" else "referral" if kind == "referral" else "channel",
        ticket=text(item, "ticket") or "",
        url=text(item, "url") or "",
        image_url=text(item, "image_url") or "",
        expire_seconds=number(item, "expire_seconds"),
        expires_at=number(item, "expires_at"),
        name=text(item, "name") or "",
        welcome_message=text(item, "welcome_message"),
        tag=text(item, "tag"),
        referrer=referrer,
        notes=text(item, "notes"),
        created_at=text(item, "created_at") or "",
        updated_at=text(item, "updated_at") or "",
        promoter=text(item, "promoter"),
        team=text(item, "team"),
        state="disabled" if state == "disabled" else "retired" if state == "retired" else "active",
        generation=number(item, "generation") or 0,
        campaign=text(item, "campaign"),
        welcome_sequence=_welcome_sequence(item),
    )


def channel_key(app: str, scene: str) -> dict[str, Any]:
    """The DynamoDB key of a channel (for GetItem and BatchGetItem)."""
    return {"pk": {"S": f"channel#{app}"}, "sk": {"S": scene}}


def quota_key(app: str) -> dict[str, Any]:
    return {"pk": {"S": f"quota#{app}"}, "sk": {"S": "permanent"}}


class QuotaExhausted(Exception):
    """The app's permanent codes are all used (the counter reached the cap)."""


class ChannelExists(Exception):
    """Another request stored the channel first (the reservation lost a race)."""


class InvalidNextToken(ValueError):
    """A list page token that this repository did not issue."""


@dataclass(frozen=True, slots=True)
class ChannelPage:
    """A page of an app's channels, and the token of the next page."""

    items: builtins.list[Channel]
    next_token: str | None


def _encode_token(key: Mapping[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps({"sk": key["sk"]["S"]}).encode("utf-8")).decode("ascii")


def _decode_token(app: str, token: str) -> dict[str, Any]:
    try:
        document = json.loads(base64.urlsafe_b64decode(token.encode("ascii")))
        scene = document["sk"]
    except (binascii.Error, UnicodeError, ValueError, KeyError, TypeError):
        raise InvalidNextToken("next_token was not issued by this API") from None
    if not limits.is_scene_key(scene):
        raise InvalidNextToken("next_token was not issued by this API")
    return channel_key(app, scene)


def _table() -> str:
    return settings().channels_table


def get(app: str, scene: str) -> Channel | None:
    item = (
        dynamodb().get_item(TableName=_table(), Key=channel_key(app, scene), ConsistentRead=True).get("Item")
    )
    return from_item(item) if item else None


def put(channel: Channel) -> None:
    dynamodb().put_item(TableName=_table(), Item=to_item(channel))


def list_page(app: str, limit: int = 50, next_token: str | None = None) -> ChannelPage:
    """One page of an app's channels in scene order; `next_token` continues where the last page ended."""
    kwargs: dict[str, Any] = {
        "TableName": _table(),
        "KeyConditionExpression": "pk = :pk",
        "ExpressionAttributeValues": {":pk": {"S": f"channel#{app}"}},
        "Limit": max(1, min(limit, PAGE_MAX)),
    }
    if next_token:
        kwargs["ExclusiveStartKey"] = _decode_token(app, next_token)
    page = dynamodb().query(**kwargs)
    items = [from_item(item) for item in page.get("Items", [])]
    last = page.get("LastEvaluatedKey")
    return ChannelPage(items, _encode_token(last) if last else None)


def with_prefix(app: str, prefix: str) -> builtins.list[Channel]:
    """Every channel of `app` whose scene starts with `prefix` ("" for all), all pages read."""
    values: dict[str, Any] = {":pk": {"S": f"channel#{app}"}}
    condition = "pk = :pk"
    if prefix:
        condition += " AND begins_with(sk, :prefix)"
        values[":prefix"] = {"S": prefix}
    query = {"TableName": _table(), "KeyConditionExpression": condition, "ExpressionAttributeValues": values}
    return [from_item(item) for item in query_all(query)]


# --- permanent codes ------------------------------------------------------------------------------------------


def reserve_permanent(channel: Channel, cap: int, *, replacing: Channel | None = None) -> None:
    """Count one permanent code (under `cap`) and store `channel` (pending, no ticket) in one transaction.

    `replacing` is the temporary channel the new code supersedes (it must be unchanged since it was read);
    without it the scene must have no channel. Raises QuotaExhausted or ChannelExists.
    """
    put_item: dict[str, Any] = {"TableName": _table(), "Item": to_item(channel)}
    if replacing is None:
        put_item["ConditionExpression"] = "attribute_not_exists(sk)"
    else:
        put_item["ConditionExpression"] = "updated_at = :seen AND permanent = :false"
        put_item["ExpressionAttributeValues"] = {
            ":seen": {"S": replacing.updated_at},
            ":false": {"BOOL": False},
        }
    count = {
        "TableName": _table(),
        "Key": quota_key(channel.app),
        "UpdateExpression": "ADD #count :one SET app = :app",
        "ConditionExpression": "attribute_not_exists(#count) OR #count < :cap",
        "ExpressionAttributeNames": {"#count": "count"},
        "ExpressionAttributeValues": {
            ":one": {"N": "1"},
            ":cap": {"N": str(cap)},
            ":app": {"S": channel.app},
        },
    }
    try:
        dynamodb().transact_write_items(TransactItems=[{"Update": count}, {"Put": put_item}])
    except ClientError as exc:
        codes = cancellation_codes(exc)
        if codes and codes[0] == "ConditionalCheckFailed":
            raise QuotaExhausted(channel.app) from None
        if len(codes) > 1 and codes[1] == "ConditionalCheckFailed":
            raise ChannelExists(channel.scene) from None
        raise


def release_permanent(reserved: Channel, restore: Channel | None = None) -> None:
    """Undo `reserve_permanent` after WeChat refused: give the count back, drop or restore the record."""
    if restore is not None:
        record: dict[str, Any] = {"Put": {"TableName": _table(), "Item": to_item(restore)}}
    else:
        record = {"Delete": {"TableName": _table(), "Key": channel_key(reserved.app, reserved.scene)}}
    record[next(iter(record))].update(
        {"ConditionExpression": "ticket = :empty", "ExpressionAttributeValues": {":empty": {"S": ""}}}
    )
    count = {
        "TableName": _table(),
        "Key": quota_key(reserved.app),
        "UpdateExpression": "ADD #count :minus_one",
        "ExpressionAttributeNames": {"#count": "count"},
        "ExpressionAttributeValues": {":minus_one": {"N": "-1"}},
    }
    dynamodb().transact_write_items(TransactItems=[{"Update": count}, record])


def permanent_count(app: str) -> int:
    item = dynamodb().get_item(TableName=_table(), Key=quota_key(app), ConsistentRead=True).get("Item")
    return number(item, "count") or 0 if item else 0


# --- past channels (a retired scene given to a new channel) ----------------------------------------------------


def _past_key(app: str, scene: str, generation: int) -> dict[str, Any]:
    """`pk = pastchannel#<app>`, `sk = <scene><GENERATION_MARK><generation>` (the first generation's 0 too, so one
    `begins_with` finds all of a scene's past channels and no other scene's)."""
    return {"pk": {"S": f"pastchannel#{app}"}, "sk": {"S": f"{scene}{GENERATION_MARK}{generation}"}}


def reassign(retired: Channel, current: Channel, *, retired_at: float) -> None:
    """Keep the retired channel as a past channel and put its scene's next generation, in one transaction; raises
    ChannelExists when the scene changed since it was read."""
    past = {**to_item(retired), **_past_key(retired.app, retired.scene, retired.generation)}
    past["retired_at"] = {"S": timestamp(retired_at)}
    past["scene"] = {"S": retired.scene}
    items = [
        {"Put": {"TableName": _table(), "Item": past, "ConditionExpression": "attribute_not_exists(sk)"}},
        {
            "Put": {
                "TableName": _table(),
                "Item": to_item(current),
                "ConditionExpression": "updated_at = :seen",
                "ExpressionAttributeValues": {":seen": {"S": retired.updated_at}},
            }
        },
    ]
    try:
        dynamodb().transact_write_items(TransactItems=items)
    except ClientError as exc:
        if CONDITION_FAILED in cancellation_codes(exc):
            raise ChannelExists(retired.scene) from None
        raise


def past(app: str, scene: str) -> builtins.list[tuple[Channel, str | None]]:
    """The channels `scene` had before its current one, newest first, with when each was retired."""
    query = {
        "TableName": _table(),
        "KeyConditionExpression": "pk = :pk AND begins_with(sk, :scene)",
        "ExpressionAttributeValues": {
            ":pk": {"S": f"pastchannel#{app}"},
            ":scene": {"S": f"{scene}{GENERATION_MARK}"},
        },
    }
    found = []
    for item in query_all(query):
        if scene_of_subject(str(item["sk"]["S"]))[0] != scene:
            continue
        channel = from_item({**item, "sk": {"S": text(item, "scene") or scene}})
        found.append((channel, text(item, "retired_at")))
    found.sort(key=lambda entry: -entry[0].generation)
    return found


# --- one renewal of a temporary code at a time (entry.channel_codes) ------------------------------------------

# What a new code changes on a channel record; nothing else is written with it, so an operator's edit of the
# channel made meanwhile is kept.
CODE_ATTRIBUTES = ("ticket", "url", "image_url", "expire_seconds", "expires_at", "updated_at")


def create(channel: Channel) -> bool:
    """Store a new channel → False when the scene already has one (another request stored it first)."""
    return put_new(
        {"TableName": _table(), "Item": to_item(channel), "ConditionExpression": "attribute_not_exists(sk)"}
    )


def claim_renewal(channel: Channel, now: float, lease_seconds: int, holder: str) -> bool:
    """Take the renewal lease of a channel's code → False when its code changed since it was read (another request
    renewed it already: every code has its own ticket) or another request holds an unexpired lease."""
    return update_if(
        {
            "TableName": _table(),
            "Key": channel_key(channel.app, channel.scene),
            "UpdateExpression": "SET renewal_until = :until, renewal_by = :holder",
            "ConditionExpression": (
                "ticket = :seen AND (attribute_not_exists(renewal_until) OR renewal_until < :now)"
            ),
            "ExpressionAttributeValues": {
                ":until": {"N": str(int(now) + lease_seconds)},
                ":holder": {"S": holder},
                ":seen": {"S": channel.ticket},
                ":now": {"N": str(int(now))},
            },
        }
    )


def _update_attributes(channel: Channel, attributes: tuple[str, ...], also: str = "") -> bool:
    """Write only `attributes` of the channel's item (SET, or REMOVE when the channel has no value); `also` is a
    further REMOVE clause. False when the channel no longer exists (it stays deleted)."""
    item = to_item(channel)
    names = {f"#a{index}": name for index, name in enumerate(attributes)}
    values = {f":a{index}": item[name] for index, name in enumerate(attributes) if name in item}
    sets = [f"#a{index} = :a{index}" for index, name in enumerate(attributes) if name in item]
    removes = [f"#a{index}" for index, name in enumerate(attributes) if name not in item]
    if also:
        removes.append(also)
    expression = "SET " + ", ".join(sets) + (" REMOVE " + ", ".join(removes) if removes else "")
    return update_if(
        {
            "TableName": _table(),
            "Key": channel_key(channel.app, channel.scene),
            "UpdateExpression": expression,
            "ConditionExpression": "attribute_exists(sk)",
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
        }
    )


def store_code(channel: Channel) -> None:
    """Write the channel's new code (its code attributes only) and release the renewal lease. A channel deleted
    meanwhile stays deleted."""
    _update_attributes(channel, CODE_ATTRIBUTES, also="renewal_until, renewal_by")


def release_renewal(channel: Channel, holder: str) -> None:
    """Give the lease back after WeChat refused (only if this holder still has it)."""
    update_if(
        {
            "TableName": _table(),
            "Key": channel_key(channel.app, channel.scene),
            "UpdateExpression": "REMOVE renewal_until, renewal_by",
            "ConditionExpression": "renewal_by = :holder",
            "ExpressionAttributeValues": {":holder": {"S": holder}},
        }
    )


# --- campaigns and welcome sequences (targeted updates: a code renewed meanwhile is kept) ----------------------


def set_campaign(app: str, scene: str, campaign: str | None, updated_at: str) -> bool:
    """Put the scene's channel in `campaign` (None: in none) → False when the scene has no channel."""
    update: dict[str, Any] = {
        "TableName": _table(),
        "Key": channel_key(app, scene),
        "ConditionExpression": "attribute_exists(sk)",
        "ExpressionAttributeValues": {":updated": {"S": updated_at}},
    }
    if campaign:
        update["UpdateExpression"] = "SET campaign = :campaign, updated_at = :updated"
        update["ExpressionAttributeValues"][":campaign"] = {"S": campaign}
    else:
        update["UpdateExpression"] = "SET updated_at = :updated REMOVE campaign"
    return update_if(update)


def set_welcome(channel: Channel) -> bool:
    """Store the channel's welcome (its first text) and welcome sequence → False when it no longer exists."""
    return _update_attributes(channel, ("welcome_message", "welcome_sequence", "updated_at"))


# What an operator (the admin API, a batch row) or a follower naming themselves says about a channel.
INFO_ATTRIBUTES = (
    "name",
    "welcome_message",
    "tag",
    "notes",
    "promoter",
    "team",
    "referrer",
    "campaign",
    "welcome_sequence",
    "updated_at",
)


def update_info(channel: Channel, *, state: bool = False) -> bool:
    """Store what is said about the channel (INFO_ATTRIBUTES, and its state with `state`), its code left as it is:
    a code renewed since the channel was read, and a renewal's lease, are kept → False when it no longer exists."""
    return _update_attributes(channel, INFO_ATTRIBUTES + (("state",) if state else ()))


def update_state(channel: Channel) -> bool:
    """Store the channel's state (active, disabled, retired) alone → False when it no longer exists."""
    return _update_attributes(channel, ("state", "updated_at"))
