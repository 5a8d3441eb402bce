"""What every storage module shares: conditional writes, transaction cancellation reasons, contended retries, batches.

DynamoDB answers a lost condition with ConditionalCheckFailedException (single writes) or TransactionCanceled with a
reason per item (transactions); a transaction touching a hot item can be cancelled by another one
(TransactionConflict) or throttled, which botocore does not retry. These helpers say each of those once.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from botocore.exceptions import ClientError

from wxfunnel.core.aws import dynamodb, sqs

# DynamoDB's own limits on a key attribute's value (UTF-8 bytes).
PARTITION_KEY_MAX_BYTES = 2048
SORT_KEY_MAX_BYTES = 1024

CONDITION_FAILED = "ConditionalCheckFailed"
CONTENDED = frozenset({"TransactionConflict", "ThrottlingError", "ProvisionedThroughputExceeded"})
BATCH = 10  # SQS batch sends, and the share of DynamoDB reads per round that is plenty for our sizes
BATCH_GET_MAX = 100
CONTENDED_ATTEMPTS = 4  # a contended write, retried in place
_BACKOFF_SECONDS = 0.05  # full jitter over 0.1, 0.2, 0.4 s


class StillContended(RuntimeError):
    """A write kept conflicting with other transactions on the same item after every attempt."""


class Unprocessed(RuntimeError):
    """DynamoDB left keys unprocessed in every round of a batch read."""


def condition_failed(exc: ClientError) -> bool:
    return exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"


def cancellation_codes(exc: ClientError) -> list[str | None]:
    """The per-item reasons of a cancelled TransactWriteItems ("None" for an item that was fine); any other
    error is raised again."""
    if exc.response.get("Error", {}).get("Code") != "TransactionCanceledException":
        raise exc
    return [reason.get("Code") for reason in exc.response.get("CancellationReasons") or []]


def put_new(put: dict[str, Any]) -> bool:
    """A PutItem under `attribute_not_exists` (given in `put`): True if written, False if the item existed."""
    try:
        dynamodb().put_item(**put)
    except ClientError as exc:
        if condition_failed(exc):
            return False
        raise
    return True


def update_if(update: dict[str, Any]) -> bool:
    """An UpdateItem with a condition: True if applied, False if the condition did not hold."""
    try:
        dynamodb().update_item(**update)
    except ClientError as exc:
        if condition_failed(exc):
            return False
        raise
    return True


def transact(items: Sequence[Mapping[str, Any]]) -> list[str | None] | None:
    """TransactWriteItems, retried in place while it only contends with other writes (with jitter).

    → None when written; the cancellation codes when a condition failed; raises StillContended when it kept
    conflicting, and any other error as it is.
    """
    for attempt in range(CONTENDED_ATTEMPTS):
        if attempt:
            time.sleep(random.uniform(0, _BACKOFF_SECONDS * 2**attempt))  # noqa: S311 (jitter, not crypto)
        try:
            dynamodb().transact_write_items(TransactItems=list(items))
        except ClientError as exc:
            codes = cancellation_codes(exc)
            if CONDITION_FAILED in codes:
                return codes
            if not CONTENDED.intersection(c for c in codes if c):
                raise
            continue
        return None
    raise StillContended("the transaction kept conflicting with other writes")


def batch_get(request: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """BatchGetItem until every key is read (unprocessed keys asked again) → items per table."""
    found: dict[str, list[dict[str, Any]]] = {}
    for _ in range(5):
        response = dynamodb().batch_get_item(RequestItems=request)
        for table, items in response.get("Responses", {}).items():
            found.setdefault(table, []).extend(items)
        request = response.get("UnprocessedKeys") or {}
        if not request:
            return found
    raise Unprocessed("DynamoDB left keys unprocessed")


def query_all(query: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every item of a Query, page after page."""
    kwargs = dict(query)
    while True:
        page = dynamodb().query(**kwargs)
        yield from page.get("Items", [])
        if "LastEvaluatedKey" not in page:
            return
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def chunks(items: Sequence[Any], size: int = BATCH) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class NotEnqueued(RuntimeError):
    """SQS refused some messages; the caller must fail so the work is retried, never silently dropped."""


def send_batches(queue_url: str, entries: Sequence[dict[str, Any]]) -> None:
    """SendMessageBatch in batches of ten (ids assigned here); raises NotEnqueued if any entry failed."""
    for chunk in chunks(entries):
        response = sqs().send_message_batch(
            QueueUrl=queue_url, Entries=[{"Id": str(index), **entry} for index, entry in enumerate(chunk)]
        )
        failed = response.get("Failed") or []
        if failed:
            codes = ", ".join(sorted({str(entry.get("Code")) for entry in failed}))
            raise NotEnqueued(f"{len(failed)} of {len(chunk)} messages were not enqueued ({codes})")


def number(item: Mapping[str, Any], name: str) -> int | None:
    value = item.get(name)
    return int(value["N"]) if value else None


def text(item: Mapping[str, Any], name: str) -> str | None:
    value = item.get(name)
    return str(value["S"]) if value else None
