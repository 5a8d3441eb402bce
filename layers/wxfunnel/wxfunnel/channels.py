"""Channels: what each parametric QR scene of an Official Account means, and their form in ChannelsTable.

A channel item is keyed `pk = channel#<app>`, `sk = <scene>` (integer scenes as decimal text, since WeChat
pushes both kinds as the same EventKey text). The same table holds, per app, the permanent-code counter
(`pk = quota#<app>`, `sk = permanent`) and the sharded statistics (see stats.py).

Permanent codes are limited (100,000 per account, and WeChat never gives them back), so one is *reserved*
before WeChat is asked for it: a transaction adds 1 to the counter under `count < cap` and puts the channel
without a ticket (pending). When WeChat answers, the channel is completed; when it refuses, it is released.
"""

from __future__ import annotations

import base64
import binascii
import builtins
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from botocore.exceptions import ClientError

from wxfunnel.aws import dynamodb
from wxfunnel.rules import SCENE_MAX
from wxfunnel.settings import settings

SceneType = Literal["int", "str"]
ChannelKind = Literal["channel", "card"]
PAGE_MAX = 100
TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def timestamp(epoch: float) -> str:
    """A record's time as stored and shown (`created_at`, `updated_at`, `expires_at`): ISO 8601, UTC, seconds."""
    return datetime.fromtimestamp(epoch, UTC).strftime(TIMESTAMP_FORMAT)


@dataclass(frozen=True, slots=True)
class Referrer:
    """Who recommended followers of a channel (a name shown to them, and the referrer's openid when known)."""

    name: str
    openid: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Channel:
    app: str
    scene: str
    scene_type: SceneType
    permanent: bool
    kind: ChannelKind
    ticket: str  # "" while a permanent code is reserved but not yet created
    url: str
    image_url: str
    expire_seconds: int | None
    expires_at: int | None  # epoch seconds; None for a permanent code
    name: str
    welcome_message: str | None = None
    tag: str | None = None
    referrer: Referrer | None = None
    notes: str | None = None
    created_at: str
    updated_at: str

    @property
    def scene_value(self) -> int | str:
        """The scene as WeChat's `qrcode/create` wants it (scene_id or scene_str)."""
        return int(self.scene) if self.scene_type == "int" else self.scene

    @property
    def pending(self) -> bool:
        return not self.ticket

    def expired(self, now: float) -> bool:
        return self.expires_at is not None and now >= self.expires_at

    def remaining_share(self, now: float) -> float:
        """The share of a temporary code's life still ahead (1.0 for a permanent one)."""
        if self.expires_at is None or not self.expire_seconds:
            return 1.0
        return max(0.0, (self.expires_at - now) / self.expire_seconds)

    def to_item(self) -> dict[str, Any]:
        item: dict[str, Any] = {
            **channel_key(self.app, self.scene),
            "app": {"S": self.app},
            "scene": {"S": self.scene},
            "scene_type": {"S": self.scene_type},
            "permanent": {"BOOL": self.permanent},
            "kind": {"S": self.kind},
            "ticket": {"S": self.ticket},
            "url": {"S": self.url},
            "image_url": {"S": self.image_url},
            "name": {"S": self.name},
            "created_at": {"S": self.created_at},
            "updated_at": {"S": self.updated_at},
        }
        for key in ("expire_seconds", "expires_at"):
            number = getattr(self, key)
            if number is not None:
                item[key] = {"N": str(number)}
        for key in ("welcome_message", "tag", "notes"):
            text = getattr(self, key)
            if text:
                item[key] = {"S": text}
        if self.referrer is not None:
            referrer: dict[str, Any] = {"name": {"S": self.referrer.name}}
            if self.referrer.openid:
                referrer["openid"] = {"S": self.referrer.openid}
            item["referrer"] = {"M": referrer}
        return item

    @classmethod
    def from_item(cls, item: Mapping[str, Any]) -> Channel:
        """A channel from a low-level DynamoDB item (GetItem, Query, BatchGetItem)."""

        def text(key: str) -> str | None:
            value = item.get(key)
            return str(value["S"]) if value else None

        def number(key: str) -> int | None:
            value = item.get(key)
            return int(value["N"]) if value else None

        referrer = None
        if "referrer" in item:
            fields = item["referrer"]["M"]
            referrer = Referrer(
                name=str(fields["name"]["S"]),
                openid=str(fields["openid"]["S"]) if "openid" in fields else None,
            )
        scene_type = text("scene_type")
        kind = text("kind")
        return cls(
            app=text("app") or str(item["pk"]["S"]).removeprefix("channel#"),
            scene=str(item["sk"]["S"]),
            scene_type="int" if scene_type == "int" else "str",
            permanent=bool(item.get("permanent", {}).get("BOOL", False)),
            kind="card" if kind == "card" else "channel",
            ticket=text("ticket") or "",
            url=text("url") or "",
            image_url=text("image_url") or "",
            expire_seconds=number("expire_seconds"),
            expires_at=number("expires_at"),
            name=text("name") or "",
            welcome_message=text("welcome_message"),
            tag=text("tag"),
            referrer=referrer,
            notes=text("notes"),
            created_at=text("created_at") or "",
            updated_at=text("updated_at") or "",
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
    if not isinstance(scene, str) or not is_scene_key(scene):
        raise InvalidNextToken("next_token was not issued by this API")
    return channel_key(app, scene)


def is_scene_key(scene: str) -> bool:
    """Whether a channel could be stored under `scene` (a longer or unencodable one is no key DynamoDB takes)."""
    if not 1 <= len(scene) <= SCENE_MAX:
        return False
    try:
        scene.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def cancellation_codes(exc: ClientError) -> list[str | None]:
    """The per-item reasons of a cancelled TransactWriteItems ("None" for an item that was fine); any other
    error is raised again."""
    if exc.response.get("Error", {}).get("Code") != "TransactionCanceledException":
        raise exc
    return [reason.get("Code") for reason in exc.response.get("CancellationReasons") or []]


class ChannelRepository:
    """Channel records and the permanent-code counter; the only code that touches their items."""

    def __init__(self, table: str | None = None, client: Any = None) -> None:
        self.table = table or settings().channels_table
        self.client = client or dynamodb()

    def get(self, app: str, scene: str) -> Channel | None:
        item = self.client.get_item(
            TableName=self.table, Key=channel_key(app, scene), ConsistentRead=True
        ).get("Item")
        return Channel.from_item(item) if item else None

    def put(self, channel: Channel) -> None:
        self.client.put_item(TableName=self.table, Item=channel.to_item())

    def list(self, app: str, limit: int = 50, next_token: str | None = None) -> ChannelPage:
        """One page of an app's channels in scene order; `next_token` continues where the last page ended."""
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": {":pk": {"S": f"channel#{app}"}},
            "Limit": max(1, min(limit, PAGE_MAX)),
        }
        if next_token:
            kwargs["ExclusiveStartKey"] = _decode_token(app, next_token)
        page = self.client.query(**kwargs)
        items = [Channel.from_item(item) for item in page.get("Items", [])]
        last = page.get("LastEvaluatedKey")
        return ChannelPage(items, _encode_token(last) if last else None)

    def list_prefix(self, app: str, prefix: str) -> builtins.list[Channel]:
        """Every channel of `app` whose scene starts with `prefix` ("" for all), all pages read."""
        return list(self._query_prefix(app, prefix))

    def _query_prefix(self, app: str, prefix: str) -> Iterator[Channel]:
        values: dict[str, Any] = {":pk": {"S": f"channel#{app}"}}
        condition = "pk = :pk"
        if prefix:
            condition += " AND begins_with(sk, :prefix)"
            values[":prefix"] = {"S": prefix}
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "KeyConditionExpression": condition,
            "ExpressionAttributeValues": values,
        }
        while True:
            page = self.client.query(**kwargs)
            for item in page.get("Items", []):
                yield Channel.from_item(item)
            if "LastEvaluatedKey" not in page:
                return
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    # --- permanent codes ------------------------------------------------------------------------------------

    def reserve_permanent(self, channel: Channel, cap: int, *, replacing: Channel | None = None) -> None:
        """Count one permanent code (under `cap`) and store `channel` (pending, no ticket) in one transaction.

        `replacing` is the temporary channel the new code supersedes (it must be unchanged since it was read);
        without it the scene must have no channel. Raises QuotaExhausted or ChannelExists.
        """
        put: dict[str, Any] = {"TableName": self.table, "Item": channel.to_item()}
        if replacing is None:
            put["ConditionExpression"] = "attribute_not_exists(sk)"
        else:
            put["ConditionExpression"] = "updated_at = :seen AND permanent = :false"
            put["ExpressionAttributeValues"] = {
                ":seen": {"S": replacing.updated_at},
                ":false": {"BOOL": False},
            }
        try:
            self.client.transact_write_items(
                TransactItems=[
                    {
                        "Update": {
                            "TableName": self.table,
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
                    },
                    {"Put": put},
                ]
            )
        except ClientError as exc:
            codes = cancellation_codes(exc)
            if codes and codes[0] == "ConditionalCheckFailed":
                raise QuotaExhausted(channel.app) from None
            if len(codes) > 1 and codes[1] == "ConditionalCheckFailed":
                raise ChannelExists(channel.scene) from None
            raise

    def release_permanent(self, reserved: Channel, restore: Channel | None = None) -> None:
        """Undo `reserve_permanent` after WeChat refused: give the count back, drop or restore the record."""
        if restore is not None:
            record: dict[str, Any] = {"Put": {"TableName": self.table, "Item": restore.to_item()}}
        else:
            record = {"Delete": {"TableName": self.table, "Key": channel_key(reserved.app, reserved.scene)}}
        record[next(iter(record))].update(
            {
                "ConditionExpression": "ticket = :empty",
                "ExpressionAttributeValues": {":empty": {"S": ""}},
            }
        )
        self.client.transact_write_items(
            TransactItems=[
                {
                    "Update": {
                        "TableName": self.table,
                        "Key": quota_key(reserved.app),
                        "UpdateExpression": "ADD #count :minus_one",
                        "ExpressionAttributeNames": {"#count": "count"},
                        "ExpressionAttributeValues": {":minus_one": {"N": "-1"}},
                    }
                },
                record,
            ]
        )

    def permanent_count(self, app: str) -> int:
        item = self.client.get_item(TableName=self.table, Key=quota_key(app), ConsistentRead=True).get("Item")
        return int(item["count"]["N"]) if item and "count" in item else 0
