"""Promoters in ChannelsTable: `pk = promoter#<app>`, `sk = <promoter id>`, beside the app's channels.

The record holds the promoter's name, openid, team and notes, and `referrals`: the followers credited to them, ever,
added by the callback in the transaction that records the follow (`credit`), so it counts each follower once. A
channel credited to a promoter who has no record yet (a legacy `referrer`) gets one from that first credit, named
after the referrer.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from wxfunnel.core.aws import dynamodb
from wxfunnel.core.settings import settings
from wxfunnel.domain.promoters import Promoter, Referrer
from wxfunnel.store.base import number, put_new, query_all, text, update_if


def _table() -> str:
    return settings().channels_table


def key(app: str, promoter: str) -> dict[str, Any]:
    return {"pk": {"S": f"promoter#{app}"}, "sk": {"S": promoter}}


def to_item(promoter: Promoter) -> dict[str, Any]:
    item: dict[str, Any] = {
        **key(promoter.app, promoter.id),
        "app": {"S": promoter.app},
        "name": {"S": promoter.name},
        "referrals": {"N": str(promoter.referrals)},
        "created_at": {"S": promoter.created_at},
        "updated_at": {"S": promoter.updated_at},
    }
    for field in ("openid", "team", "notes"):
        value = getattr(promoter, field)
        if value:
            item[field] = {"S": value}
    return item


def from_item(item: Mapping[str, Any]) -> Promoter:
    return Promoter(
        app=text(item, "app") or str(item["pk"]["S"]).removeprefix("promoter#"),
        id=str(item["sk"]["S"]),
        name=text(item, "name") or "",
        openid=text(item, "openid"),
        team=text(item, "team"),
        notes=text(item, "notes"),
        referrals=number(item, "referrals") or 0,
        created_at=text(item, "created_at") or "",
        updated_at=text(item, "updated_at") or "",
    )


def get(app: str, promoter: str) -> Promoter | None:
    item = dynamodb().get_item(TableName=_table(), Key=key(app, promoter), ConsistentRead=True).get("Item")
    return from_item(item) if item else None


def create(promoter: Promoter) -> bool:
    """Store a new promoter → False when the id is taken."""
    return put_new(
        {"TableName": _table(), "Item": to_item(promoter), "ConditionExpression": "attribute_not_exists(sk)"}
    )


def save(promoter: Promoter) -> None:
    """Store a promoter's details, keeping the count of followers credited to them (the callback's to keep)."""
    item = to_item(promoter)
    values: dict[str, Any] = {":name": item["name"], ":app": item["app"], ":at": item["updated_at"]}
    sets = ["#name = :name", "app = :app", "updated_at = :at", "created_at = if_not_exists(created_at, :at)"]
    removes = []
    for field in ("openid", "team", "notes"):
        if field in item:
            sets.append(f"{field} = :{field}")
            values[f":{field}"] = item[field]
        else:
            removes.append(field)
    expression = "SET " + ", ".join(sets) + (" REMOVE " + ", ".join(removes) if removes else "")
    dynamodb().update_item(
        TableName=_table(),
        Key=key(promoter.app, promoter.id),
        UpdateExpression=expression,
        ExpressionAttributeNames={"#name": "name"},
        ExpressionAttributeValues=values,
    )


def rename(app: str, promoter: str, name: str, at: str) -> bool:
    """Set an existing promoter's name → False when there is no such promoter."""
    return update_if(
        {
            "TableName": _table(),
            "Key": key(app, promoter),
            "UpdateExpression": "SET #name = :name, updated_at = :at",
            "ConditionExpression": "attribute_exists(sk)",
            "ExpressionAttributeNames": {"#name": "name"},
            "ExpressionAttributeValues": {":name": {"S": name}, ":at": {"S": at}},
        }
    )


def all_of(app: str) -> list[Promoter]:
    return [
        from_item(item)
        for item in query_all(
            {
                "TableName": _table(),
                "KeyConditionExpression": "pk = :pk",
                "ExpressionAttributeValues": {":pk": {"S": f"promoter#{app}"}},
            }
        )
    ]


def credit(app: str, promoter: str, referrer: Referrer, at: str) -> dict[str, Any]:
    """A TransactWriteItems Update counting one more follower credited to `promoter` (creating the record of a
    legacy referrer's promoter on its first credit)."""
    values: dict[str, Any] = {
        ":one": {"N": "1"},
        ":app": {"S": app},
        ":name": {"S": referrer.name},
        ":at": {"S": at},
    }
    sets = "app = :app, #name = if_not_exists(#name, :name), created_at = if_not_exists(created_at, :at)"
    if referrer.openid:
        sets += ", openid = if_not_exists(openid, :openid)"
        values[":openid"] = {"S": referrer.openid}
    return {
        "Update": {
            "TableName": _table(),
            "Key": key(app, promoter),
            "UpdateExpression": f"SET {sets}, updated_at = if_not_exists(updated_at, :at) ADD referrals :one",
            "ExpressionAttributeNames": {"#name": "name"},
            "ExpressionAttributeValues": values,
        }
    }
