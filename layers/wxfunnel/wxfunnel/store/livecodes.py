"""Live codes in ChannelsTable: `pk = livecode#<app>`, `sk = <code>` (domain.livecodes).

The item carries, besides the code's own fields (scene, title, text, state), a snapshot of its channel (`channel`,
the channel's own item as store.channels encodes it, current code included) and of the channel's campaign
(`campaign`), so a visit reads exactly one item. The admin API refreshes the snapshot when the live code is
re-pointed or its channel's campaign changes (`refresh_*`); the landing page writes the channel's new code into it
after a renewal (`store_channel`). A snapshot that lags behind an edit made elsewhere still serves a valid code:
the page only renews when the snapshot's code has too little life left, and the renewal reads the channel itself.
"""

from __future__ import annotations

import base64
import binascii
import builtins
import json
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from wxfunnel.core.aws import dynamodb
from wxfunnel.core.settings import settings
from wxfunnel.domain.campaigns import Campaign
from wxfunnel.domain.channels import Channel
from wxfunnel.domain.livecodes import CODE, LiveCode
from wxfunnel.store import campaigns, channels
from wxfunnel.store.base import put_new, query_all, text, update_if

PAGE_MAX = 100


class InvalidNextToken(ValueError):
    """A list page token that this repository did not issue."""


def livecode_key(app: str, code: str) -> dict[str, Any]:
    return {"pk": {"S": f"livecode#{app}"}, "sk": {"S": code}}


def to_item(live: LiveCode) -> dict[str, Any]:
    item: dict[str, Any] = {
        **livecode_key(live.app, live.code),
        "app": {"S": live.app},
        "scene": {"S": live.scene},
        "state": {"S": live.state},
        "created_at": {"S": live.created_at},
        "updated_at": {"S": live.updated_at},
    }
    for key in ("title", "text"):
        value = getattr(live, key)
        if value:
            item[key] = {"S": value}
    if live.channel is not None:
        item["channel"] = {"M": channels.to_item(live.channel)}
    if live.campaign is not None:
        item["campaign"] = {"M": campaigns.to_item(live.campaign)}
    return item


def from_item(item: Mapping[str, Any]) -> LiveCode:
    channel = item.get("channel")
    campaign = item.get("campaign")
    return LiveCode(
        app=text(item, "app") or str(item["pk"]["S"]).removeprefix("livecode#"),
        code=str(item["sk"]["S"]),
        scene=text(item, "scene") or "",
        title=text(item, "title"),
        text=text(item, "text"),
        state="disabled" if text(item, "state") == "disabled" else "active",
        created_at=text(item, "created_at") or "",
        updated_at=text(item, "updated_at") or "",
        channel=channels.from_item(channel["M"]) if channel else None,
        campaign=campaigns.from_item(campaign["M"]) if campaign else None,
    )


def _table() -> str:
    return settings().channels_table


def visit(app: str, code: str) -> LiveCode | None:
    """What a visit reads: the one item, eventually consistent (half the cost; a re-pointing shows within a
    second)."""
    item = dynamodb().get_item(TableName=_table(), Key=livecode_key(app, code)).get("Item")
    return from_item(item) if item else None


def get(app: str, code: str) -> LiveCode | None:
    item = (
        dynamodb().get_item(TableName=_table(), Key=livecode_key(app, code), ConsistentRead=True).get("Item")
    )
    return from_item(item) if item else None


def create(live: LiveCode) -> bool:
    """Store a new live code → False when the code is taken."""
    return put_new(
        {"TableName": _table(), "Item": to_item(live), "ConditionExpression": "attribute_not_exists(sk)"}
    )


def put(live: LiveCode) -> None:
    dynamodb().put_item(TableName=_table(), Item=to_item(live))


def store_channel(live: LiveCode, channel: Channel) -> None:
    """Write the channel's new code into the snapshot, unless the live code was re-pointed meanwhile."""
    update_if(
        {
            "TableName": _table(),
            "Key": livecode_key(live.app, live.code),
            "UpdateExpression": "SET #channel = :channel",
            "ConditionExpression": "attribute_exists(sk) AND #scene = :scene",
            "ExpressionAttributeNames": {"#channel": "channel", "#scene": "scene"},
            "ExpressionAttributeValues": {
                ":channel": {"M": channels.to_item(channel)},
                ":scene": {"S": channel.scene},
            },
        }
    )


def _all(app: str, condition: str = "", values: Mapping[str, Any] | None = None) -> builtins.list[LiveCode]:
    query: dict[str, Any] = {
        "TableName": _table(),
        "KeyConditionExpression": "pk = :pk",
        "ExpressionAttributeValues": {":pk": {"S": f"livecode#{app}"}, **(values or {})},
    }
    if condition:
        names = {"#scene": "scene", "#campaign": "campaign"}
        query["FilterExpression"] = condition
        query["ExpressionAttributeNames"] = {
            name: value for name, value in names.items() if name in condition
        }
    return [from_item(item) for item in query_all(query)]


def all_of(app: str) -> builtins.list[LiveCode]:
    """Every live code of `app`, in code order."""
    return _all(app)


def pointing_at(app: str, scene: str) -> builtins.list[LiveCode]:
    """The live codes whose channel is `scene` (an admin read: every live code of the app is read)."""
    return _all(app, "#scene = :scene", {":scene": {"S": scene}})


def refresh_pointing_at(app: str, scene: str, now: str) -> int:
    """Refresh the snapshot of every live code pointing at `scene` from its channel as stored now (after the
    channel changed: edited, disabled, retired, reassigned, put in a campaign) → how many."""
    pointing = pointing_at(app, scene)
    if not pointing:
        return 0
    channel = channels.get(app, scene)
    campaign = campaigns.get(app, channel.campaign) if channel and channel.campaign else None
    for live in pointing:
        refresh(live, channel, campaign, now)
    return len(pointing)


def in_campaign(app: str, campaign: str) -> builtins.list[LiveCode]:
    """The live codes whose channel's snapshot belongs to `campaign`."""
    return _all(app, "#campaign.sk = :campaign", {":campaign": {"S": campaign}})


def refresh(live: LiveCode, channel: Channel | None, campaign: Campaign | None, now: str) -> LiveCode:
    """The live code with a new snapshot of its channel and campaign, stored."""
    refreshed = replace(live, channel=channel, campaign=campaign, updated_at=now)
    put(refreshed)
    return refreshed


def list_page(
    app: str, limit: int = 50, next_token: str | None = None
) -> tuple[builtins.list[LiveCode], str | None]:
    """One page of an app's live codes in code order; `next_token` continues where the last page ended."""
    kwargs: dict[str, Any] = {
        "TableName": _table(),
        "KeyConditionExpression": "pk = :pk",
        "ExpressionAttributeValues": {":pk": {"S": f"livecode#{app}"}},
        "Limit": max(1, min(limit, PAGE_MAX)),
    }
    if next_token:
        kwargs["ExclusiveStartKey"] = livecode_key(app, _decode_token(next_token))
    page = dynamodb().query(**kwargs)
    last = page.get("LastEvaluatedKey")
    token = base64.urlsafe_b64encode(json.dumps({"sk": last["sk"]["S"]}).encode()).decode() if last else None
    return [from_item(item) for item in page.get("Items", [])], token


def _decode_token(token: str) -> str:
    try:
        code = json.loads(base64.urlsafe_b64decode(token.encode("ascii")))["sk"]
    except (binascii.Error, UnicodeError, ValueError, KeyError, TypeError):
        raise InvalidNextToken("next_token was not issued by this API") from None
    if not isinstance(code, str) or not CODE.fullmatch(code):
        raise InvalidNextToken("next_token was not issued by this API")
    return code
