"""Reminders in NotificationsTable: the notification record, the per-follower claims and the per-page counts.

- `pk = notification#<id>`: the record (created once under `attribute_not_exists`, so it is also the request's
  idempotency record) with its counters: audience/queued (fan-out), sent/failed/skipped and failed_reasons (sender),
  pages_done (a string set: each shard's last page adds its id once).
- `pk = notification#<id>#to#<openid>`: the claim that a follower was reached, naming the page that reached them,
  so a follower selected through several scenes is queued and counted once.
- `pk = notification#<id>#page#<page identity>`: a page's counts were added. Written in the same transaction as the
  counters, so a page counts once however often it is redelivered; a redelivered page recounts the claims it made
  itself (the claim names it), so a count that kept conflicting is finished later, never lost.
Every job of a reminder updates the one record, so writes to it contend: they are retried in place (store.base).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from botocore.exceptions import ClientError

from wxfunnel.core.aws import dynamodb
from wxfunnel.core.settings import settings
from wxfunnel.domain import reminders
from wxfunnel.domain.jobs import JobKind
from wxfunnel.domain.reminders import TOUCHES, Notification, PageMessage, ReminderMessage
from wxfunnel.store.base import condition_failed, number, put_new, send_batches, transact


def _table() -> str:
    return settings().notifications_table


def key(notification: str) -> dict[str, Any]:
    return {"pk": {"S": f"notification#{notification}"}}


def to_item(record: Notification) -> dict[str, Any]:
    return {
        **key(record.id),
        "id": {"S": record.id},
        "request_id": {"S": record.request_id},
        "fingerprint": {"S": record.fingerprint},
        "app": {"S": record.app},
        "kind": {"S": record.kind.value},
        "touch": {"S": record.touch},
        "scenes": {"L": [{"S": scene} for scene in record.scenes]},
        "message": {"S": record.message.to_wire()},
        "pages_total": {"N": str(record.pages_total)},
        "pages_enqueued": {"BOOL": record.pages_enqueued},
        "failed_reasons": {"M": {}},
        "created_at": {"S": record.created_at},
        "ttl": {"N": str(record.ttl)},
        **{name: {"N": "0"} for name in ("audience", "queued", "sent", "failed", "skipped")},
    }


def from_item(item: Mapping[str, Any]) -> Notification:
    touch = item["touch"]["S"]
    return Notification(
        id=item["id"]["S"],
        request_id=item["request_id"]["S"],
        fingerprint=item["fingerprint"]["S"],
        app=item["app"]["S"],
        kind=JobKind(item["kind"]["S"]),
        touch=touch if touch in TOUCHES else "any",
        scenes=tuple(scene["S"] for scene in item["scenes"]["L"]),
        message=ReminderMessage.from_wire(item["message"]["S"]),
        pages_total=number(item, "pages_total") or 0,
        created_at=item["created_at"]["S"],
        ttl=number(item, "ttl") or 0,
        pages_enqueued=bool(item["pages_enqueued"]["BOOL"]),
        pages_done=len(item.get("pages_done", {}).get("SS", ())),
        audience=number(item, "audience") or 0,
        queued=number(item, "queued") or 0,
        sent=number(item, "sent") or 0,
        failed=number(item, "failed") or 0,
        skipped=number(item, "skipped") or 0,
        failed_reasons={k: int(v["N"]) for k, v in item.get("failed_reasons", {}).get("M", {}).items()},
    )


def get(notification: str) -> Notification | None:
    item = dynamodb().get_item(TableName=_table(), Key=key(notification), ConsistentRead=True).get("Item")
    return from_item(item) if item else None


def create(record: Notification) -> bool:
    """Store a new notification → False when one with its id exists (a repeated request)."""
    return put_new(
        {"TableName": _table(), "Item": to_item(record), "ConditionExpression": "attribute_not_exists(pk)"}
    )


def mark_pages_enqueued(notification: str) -> None:
    dynamodb().update_item(
        TableName=_table(),
        Key=key(notification),
        UpdateExpression="SET pages_enqueued = :t",
        ExpressionAttributeValues={":t": {"BOOL": True}},
    )


def outcome_update(notification: str, outcome: str, reason: str | None) -> dict[str, Any]:
    """The counter update for one job's final outcome (part of the sender's completion transaction)."""
    counter = {"sent": "sent", "skipped": "skipped"}.get(outcome, "failed")
    update: dict[str, Any] = {
        "TableName": _table(),
        "Key": key(notification),
        "ExpressionAttributeNames": {"#c": counter},
        "ExpressionAttributeValues": {":one": {"N": "1"}},
        "UpdateExpression": "ADD #c :one",
        "ConditionExpression": "attribute_exists(pk)",
    }
    if counter == "failed":
        update["UpdateExpression"] = (
            "ADD #c :one SET failed_reasons.#r = if_not_exists(failed_reasons.#r, :zero) + :one"
        )
        update["ExpressionAttributeNames"]["#r"] = reason or "unknown"
        update["ExpressionAttributeValues"][":zero"] = {"N": "0"}
    return update


# --- the fan-out ----------------------------------------------------------------------------------------------


def enqueue_fanout(messages: Sequence[reminders.FanoutMessage]) -> None:
    """Scene and page messages of a reminder's fan-out (standard queue: a repeat is made harmless by the claims
    and page records below)."""
    send_batches(settings().fanout_queue_url, [{"MessageBody": reminders.to_wire(m)} for m in messages])


def claim(page: PageMessage, openid: str, ttl: int) -> bool:
    """True when this page reaches the follower for the notification: first, or claimed by this very page before."""
    try:
        dynamodb().put_item(
            TableName=_table(),
            Item={
                "pk": {"S": f"notification#{page.notification_id}#to#{openid}"},
                "page": {"S": page.identity},
                "ttl": {"N": str(ttl)},
            },
            ConditionExpression="attribute_not_exists(pk)",
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )
    except ClientError as exc:
        if not condition_failed(exc):
            raise
        old: Mapping[str, Any] = exc.response.get("Item") or {}  # type: ignore[assignment]
        return old.get("page", {}).get("S") == page.identity
    return True


def count_page(page: PageMessage, reached: int, *, last: bool, ttl: int) -> bool:
    """Add a page's reached followers (and, for a shard's last page, its completion) once → False if counted before.

    Raises store.base.StillContended while the record stays locked by senders: the page is retried later.
    """
    additions: list[str] = []
    values: dict[str, Any] = {}
    if reached:
        additions.append("audience :n, queued :n")
        values[":n"] = {"N": str(reached)}
    if last:
        additions.append("pages_done :p")  # a set: the shard reports once
        values[":p"] = {"SS": [page.page_id]}
    marker = {
        "Put": {
            "TableName": _table(),
            "Item": {
                "pk": {"S": f"notification#{page.notification_id}#page#{page.identity}"},
                "ttl": {"N": str(ttl)},
            },
            "ConditionExpression": "attribute_not_exists(pk)",
        }
    }
    items: list[dict[str, Any]] = [marker]
    if additions:
        items.append(
            {
                "Update": {
                    "TableName": _table(),
                    "Key": key(page.notification_id),
                    "UpdateExpression": "ADD " + ", ".join(additions),
                    "ExpressionAttributeValues": values,
                }
            }
        )
    return transact(items) is None
