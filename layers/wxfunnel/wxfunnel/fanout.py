"""The reminder fan-out: one page of a scene's followers (one audience shard, ≤ 100) → one outbox job each.

Notify enqueues one scene message per scene; this function expands it into the first page of each audience
shard (reminders.shard_pages), so the admin request stays small however many shards a scene has. A page
message names the notification, the GSI (touch any/first/last) and the sharded audience key `app#scene#shard`;
a page with more followers re-enqueues its continuation (ExclusiveStartKey). A redelivered scene message
enqueues its pages again, which the claims below make harmless. Every follower
is claimed once per notification with a conditional put (`notification#<id>#to#<openid>`) after their job is
enqueued, so a follower reached through several scenes, or a redelivered page, is queued and counted once; the
job key `notification#<id>#<openid>` makes the sender send it once even if it was enqueued twice.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Mapping
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from botocore.exceptions import ClientError

from wxfunnel import outbox
from wxfunnel.aws import dynamodb, sqs
from wxfunnel.observability import metrics
from wxfunnel.outbox import Job
from wxfunnel.reminders import INDEX_KEYS, message_of, notification_key, shard_pages
from wxfunnel.settings import settings

PAGE_SIZE = 100
COUNT_ATTEMPTS = 4
COUNT_BACKOFF_SECONDS = 0.05


class UnknownNotification(LookupError):
    """A page names a notification that is not stored: the page fails (SQS retries it, then its DLQ)."""


def _claim(notification: str, openid: str, ttl: int) -> bool:
    """True the first time this follower is reached for this notification."""
    try:
        dynamodb().put_item(
            TableName=settings().notifications_table,
            Item={"pk": {"S": f"notification#{notification}#to#{openid}"}, "ttl": {"N": str(ttl)}},
            ConditionExpression="attribute_not_exists(pk)",
        )
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
            return False
        raise
    return True


def _expand(scene: Mapping[str, Any]) -> None:
    """A scene message → the first page of each of its audience shards (one SQS batch)."""
    pages = shard_pages(scene)
    response = sqs().send_message_batch(
        QueueUrl=settings().fanout_queue_url,
        Entries=[{"Id": str(i), "MessageBody": body} for i, body in enumerate(pages)],
    )
    if response.get("Failed"):
        raise RuntimeError(f"{len(response['Failed'])} of {len(pages)} fan-out pages were not enqueued")


def _add_counts(notification: str, expression: str, values: dict[str, Any]) -> None:
    """ADD to the notification's counters, retried in place while a sender's transaction holds the item
    (TransactionConflictException, which botocore does not retry): every job of a reminder updates it."""
    for attempt in range(COUNT_ATTEMPTS):
        try:
            dynamodb().update_item(
                TableName=settings().notifications_table,
                Key=notification_key(notification),
                UpdateExpression=expression,
                ExpressionAttributeValues=values,
            )
        except ClientError as exc:
            if (
                exc.response["Error"]["Code"] != "TransactionConflictException"
                or attempt + 1 == COUNT_ATTEMPTS
            ):
                raise
            time.sleep(random.uniform(0, COUNT_BACKOFF_SECONDS * 2**attempt))  # noqa: S311 (jitter)
            continue
        return


def process_page(record: SQSRecord) -> None:
    page = json.loads(record.body)
    if page.get("kind") == "scene":
        _expand(page)
        return
    notification = str(page["notification_id"])
    # Strongly consistent: notify wrote the item just before it enqueued the scene this page comes from.
    item = (
        dynamodb()
        .get_item(
            TableName=settings().notifications_table, Key=notification_key(notification), ConsistentRead=True
        )
        .get("Item")
    )
    if item is None:
        raise UnknownNotification(f"fan-out page of notification {notification}, which is not stored")
    app, kind = item["app"]["S"], item["kind"]["S"]
    message = message_of(item)
    index = str(page["index"])
    query: dict[str, Any] = {
        "TableName": settings().subscriptions_table,
        "IndexName": index,
        "KeyConditionExpression": "#k = :k",
        "ExpressionAttributeNames": {"#k": INDEX_KEYS[index]},
        "ExpressionAttributeValues": {":k": {"S": str(page["audience_key"])}},
        "Limit": PAGE_SIZE,
    }
    if page.get("start_key"):
        query["ExclusiveStartKey"] = page["start_key"]
    result = dynamodb().query(**query)
    openids = list(dict.fromkeys(entry["pk"]["S"].split("#", 1)[1] for entry in result["Items"]))
    payload = {"notification_id": notification, **{k: v for k, v in message.items() if v is not None}}
    jobs = [
        Job(kind=kind, app=app, openid=openid, key=f"notification#{notification}#{openid}", payload=payload)
        for openid in openids
    ]
    outbox.enqueue(jobs)
    ttl = int(item["ttl"]["N"])
    claimed = sum(_claim(notification, openid, ttl) for openid in openids)
    additions: list[str] = []
    values: dict[str, Any] = {}
    if claimed:
        additions.append("audience :n, queued :n")
        values[":n"] = {"N": str(claimed)}
    if "LastEvaluatedKey" in result:
        sqs().send_message(
            QueueUrl=settings().fanout_queue_url,
            MessageBody=json.dumps({**page, "start_key": result["LastEvaluatedKey"]}),
        )
    else:
        additions.append("pages_done :p")  # a set: a redelivered last page adds nothing
        values[":p"] = {"SS": [str(page["page"])]}
    if additions:
        _add_counts(notification, "ADD " + ", ".join(additions), values)
    metrics.add_metric(name="ReminderJobsQueued", unit="Count", value=claimed)


def handle(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """A batch of page messages; a failed page is retried alone (partial batch response)."""
    processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
    return dict(
        process_partial_response(
            event=event, record_handler=process_page, processor=processor, context=context
        )
    )
