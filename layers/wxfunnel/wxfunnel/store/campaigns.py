"""Campaigns in ChannelsTable: `pk = campaign#<app>`, `sk = <campaign id>` (domain.campaigns)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from wxfunnel.core.aws import dynamodb
from wxfunnel.core.settings import settings
from wxfunnel.domain.campaigns import Campaign
from wxfunnel.store.base import put_new, query_all, text


def campaign_key(app: str, campaign: str) -> dict[str, Any]:
    return {"pk": {"S": f"campaign#{app}"}, "sk": {"S": campaign}}


def to_item(campaign: Campaign) -> dict[str, Any]:
    item: dict[str, Any] = {
        **campaign_key(campaign.app, campaign.id),
        "app": {"S": campaign.app},
        "name": {"S": campaign.name},
        "start": {"S": campaign.start},
        "end": {"S": campaign.end},
        "created_at": {"S": campaign.created_at},
        "updated_at": {"S": campaign.updated_at},
    }
    if campaign.ended_scene:
        item["ended_scene"] = {"S": campaign.ended_scene}
    return item


def from_item(item: Mapping[str, Any]) -> Campaign:
    return Campaign(
        app=text(item, "app") or str(item["pk"]["S"]).removeprefix("campaign#"),
        id=str(item["sk"]["S"]),
        name=text(item, "name") or "",
        start=text(item, "start") or "",
        end=text(item, "end") or "",
        ended_scene=text(item, "ended_scene"),
        created_at=text(item, "created_at") or "",
        updated_at=text(item, "updated_at") or "",
    )


def _table() -> str:
    return settings().channels_table


def get(app: str, campaign: str) -> Campaign | None:
    item = (
        dynamodb()
        .get_item(TableName=_table(), Key=campaign_key(app, campaign), ConsistentRead=True)
        .get("Item")
    )
    return from_item(item) if item else None


def create(campaign: Campaign) -> bool:
    """Store a new campaign → False when the app already has one of that id."""
    return put_new(
        {"TableName": _table(), "Item": to_item(campaign), "ConditionExpression": "attribute_not_exists(sk)"}
    )


def put(campaign: Campaign) -> None:
    dynamodb().put_item(TableName=_table(), Item=to_item(campaign))


def list_all(app: str) -> list[Campaign]:
    """Every campaign of `app`, in id order."""
    query = {
        "TableName": _table(),
        "KeyConditionExpression": "pk = :pk",
        "ExpressionAttributeValues": {":pk": {"S": f"campaign#{app}"}},
    }
    return [from_item(item) for item in query_all(query)]
