"""The access-token item the WeChat client's lease shares through TokensTable (injected into client.tokens).

Item `pk = token#<appid>`: the token (`token`, `expires_at`, `refresh_at`, `fetched_at`, `source`) and, while a
container refreshes it, the lease (`lease_holder`, `lease_until`). Every change is conditional: the lease is
taken only while free and while the stored token is the one the taker saw (compare-and-swap), and only the lease
holder may store a token or give the lease back. The rules of the lease itself live in client.tokens.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from wxfunnel.core.aws import dynamodb
from wxfunnel.core.settings import settings
from wxfunnel.store.base import update_if

TTL_AFTER_EXPIRY = 86400  # keep the item a day after expiry (DynamoDB TTL deletes it later)


@dataclass(frozen=True, slots=True)
class TokenRecord:
    """The token stored in the shared item."""

    value: str = field(repr=False)
    expires_at: float
    refresh_at: float


def _key(appid: str) -> dict[str, Any]:
    return {"pk": {"S": f"token#{appid}"}}


class TokenTable:
    """TokensTable as the token lease uses it."""

    def read(self, appid: str) -> tuple[TokenRecord | None, float | None]:
        """The stored token (if any) and when the current lease ends (None: no lease)."""
        item: dict[str, Any] = (
            dynamodb()
            .get_item(TableName=settings().tokens_table, Key=_key(appid), ConsistentRead=True)
            .get("Item")
            or {}
        )
        lease_until = float(item["lease_until"]["N"]) if "lease_until" in item else None
        if "token" not in item:
            return None, lease_until
        record = TokenRecord(
            item["token"]["S"], float(item["expires_at"]["N"]), float(item["refresh_at"]["N"])
        )
        return record, lease_until

    def acquire(self, appid: str, holder: str, expected: str | None, now: float, until: float) -> bool:
        """Take the lease if it is free and the stored token is still `expected` (None: no token stored)."""
        still = "#token = :expected" if expected is not None else "attribute_not_exists(#token)"
        values: dict[str, Any] = {
            ":me": {"S": holder},
            ":now": {"N": repr(now)},
            ":until": {"N": repr(until)},
            ":t": {"N": str(int(now) + TTL_AFTER_EXPIRY)},
        }
        if expected is not None:
            values[":expected"] = {"S": expected}
        return update_if(
            {
                "TableName": settings().tokens_table,
                "Key": _key(appid),
                "UpdateExpression": "SET lease_holder = :me, lease_until = :until, #ttl = if_not_exists(#ttl, :t)",
                "ConditionExpression": f"(attribute_not_exists(lease_until) OR lease_until <= :now) AND {still}",
                "ExpressionAttributeNames": {"#token": "token", "#ttl": "ttl"},
                "ExpressionAttributeValues": values,
            }
        )

    def store(
        self,
        appid: str,
        holder: str,
        *,
        value: str,
        expires_at: float,
        refresh_at: float,
        fetched_at: float,
        source: str,
    ) -> bool:
        """Store a new token and end the lease → False when the lease was lost to someone else meanwhile."""
        return update_if(
            {
                "TableName": settings().tokens_table,
                "Key": _key(appid),
                "UpdateExpression": (
                    "SET #token = :token, expires_at = :exp, refresh_at = :ref, fetched_at = :now,"
                    " #source = :source, #ttl = :ttl REMOVE lease_holder, lease_until"
                ),
                "ConditionExpression": "lease_holder = :me",
                "ExpressionAttributeNames": {"#token": "token", "#ttl": "ttl", "#source": "source"},
                "ExpressionAttributeValues": {
                    ":token": {"S": value},
                    ":exp": {"N": repr(expires_at)},
                    ":ref": {"N": repr(refresh_at)},
                    ":now": {"N": repr(fetched_at)},
                    ":source": {"S": source},
                    ":ttl": {"N": str(int(expires_at) + TTL_AFTER_EXPIRY)},
                    ":me": {"S": holder},
                },
            }
        )

    def release(self, appid: str, holder: str) -> None:
        """Give the lease back (a refresh failed), if it is still ours."""
        update_if(
            {
                "TableName": settings().tokens_table,
                "Key": _key(appid),
                "UpdateExpression": "REMOVE lease_holder, lease_until",
                "ConditionExpression": "lease_holder = :me",
                "ExpressionAttributeValues": {":me": {"S": holder}},
            }
        )
