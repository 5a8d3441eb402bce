"""The sender's completion records in DedupeTable: a job done is never done again, and a reminder's job counts once.

Item: `id = job#<job key>`, `outcome`, `kind`, `done_at`, `expiration` (TTL: longer than the outbox keeps a message,
so a late redelivery still finds it). A reminder's job writes its record in the same transaction as the reminder's
counters. That transaction contends with every other job of the reminder (one record): it is retried in place; if
it stays contended the record is written alone, marked with the count still to make (`count_notification`), and the
job is failed, so its redelivery only finishes the count and never sends again.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from wxfunnel.core.aws import dynamodb
from wxfunnel.core.settings import settings
from wxfunnel.domain.jobs import Job
from wxfunnel.store import notifications
from wxfunnel.store.base import CONDITION_FAILED, StillContended, put_new, transact, update_if

DONE_RECORD_DAYS = 14  # longer than the outbox keeps a message (4 days)


@dataclass(frozen=True, slots=True)
class Completion:
    """A job's completion record: its outcome, and a notification count still to add."""

    outcome: str
    pending_count: tuple[str, str | None] | None  # (notification, reason) still to count, if any


class Counted(StrEnum):
    COUNTED = "counted"
    RECORDED_BEFORE = "recorded_before"  # the completion was already there: the count went with it
    GONE = "gone"  # the notification is no longer stored: nothing to count on
    PENDING = "pending"  # the count stays contended: left on the completion record for the redelivery


def _table() -> str:
    return settings().dedupe_table


def _key(job: Job) -> dict[str, Any]:
    return {"id": {"S": f"job#{job.key}"}}


def get(job: Job) -> Completion | None:
    item = dynamodb().get_item(TableName=_table(), Key=_key(job), ConsistentRead=True).get("Item")
    if item is None:
        return None
    pending = None
    if "count_notification" in item:
        reason = item["count_reason"]["S"] if "count_reason" in item else None
        pending = (str(item["count_notification"]["S"]), reason)
    return Completion(str(item["outcome"]["S"]), pending)


def _put(job: Job, outcome: str, now: int, pending: Mapping[str, Any] | None = None) -> dict[str, Any]:
    return {
        "TableName": _table(),
        "Item": {
            **_key(job),
            "expiration": {"N": str(now + DONE_RECORD_DAYS * 86400)},
            "outcome": {"S": outcome},
            "kind": {"S": job.kind.value},
            "done_at": {"N": str(now)},
            **(pending or {}),
        },
        "ConditionExpression": "attribute_not_exists(id)",
    }


def _with_count(first: dict[str, Any], notification: str, outcome: str, reason: str | None) -> Counted | None:
    """`first` and the reminder's counter in one transaction → how it went, or None when it stays contended."""
    try:
        codes = transact([first, {"Update": notifications.outcome_update(notification, outcome, reason)}])
    except StillContended:
        return None
    if codes is None:
        return Counted.COUNTED
    if codes[:1] == [CONDITION_FAILED]:
        return Counted.RECORDED_BEFORE
    return Counted.GONE


def mark_done(job: Job, outcome: str, now: int, reason: str | None = None) -> Counted | None:
    """The completion record (and the reminder's count, when the job has one) → how the count went, if any."""
    notification = job.notification
    if notification is None:
        put_new(_put(job, outcome, now))
        return None
    counted = _with_count({"Put": _put(job, outcome, now)}, notification, outcome, reason)
    if counted is Counted.GONE:
        put_new(_put(job, outcome, now))
    elif counted is None:
        pending = {
            "count_notification": {"S": notification},
            **({"count_reason": {"S": reason}} if reason else {}),
        }
        put_new(_put(job, outcome, now, pending))
        return Counted.PENDING
    return counted


def finish_count(job: Job, completion: Completion) -> Counted:
    """A redelivered job whose count was left pending: count it now, once (the pending mark goes with it)."""
    assert completion.pending_count is not None
    notification, reason = completion.pending_count
    unmark = {
        "TableName": _table(),
        "Key": _key(job),
        "UpdateExpression": "REMOVE count_notification, count_reason",
        "ConditionExpression": "attribute_exists(count_notification)",
    }
    counted = _with_count({"Update": unmark}, notification, completion.outcome, reason)
    if counted is Counted.GONE:
        update_if(unmark)
    return counted or Counted.PENDING
