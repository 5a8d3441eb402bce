"""The reminder fan-out: one page of a scene's followers (one audience shard, ≤ 100) → one outbox job each.

A page message names the notification, the GSI (touch any/first/last) and the sharded audience key
`app#scene#shard`; a page with more followers re-enqueues its continuation (ExclusiveStartKey). Every follower
is claimed once per notification with a conditional put (`notification#<id>#to#<openid>`) after their job is
enqueued, so a follower reached through several scenes, or a redelivered page, is queued and counted once; the
job key `notification#<id>#<openid>` makes the sender send it once even if it was enqueued twice.
"""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from botocore.exceptions import ClientError

from wxfunnel import notifications, outbox
from wxfunnel.aws import dynamodb, sqs
from wxfunnel.observability import logger, metrics
from wxfunnel.outbox import Job
from wxfunnel.settings import settings

PAGE_SIZE = 100


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


def process_page(record: SQSRecord) -> None:
    page = json.loads(record.body)
    notification = str(page["notification_id"])
    item = (
        dynamodb()
        .get_item(TableName=settings().notifications_table, Key={"pk": {"S": f"notification#{notification}"}})
        .get("Item")
    )
    if item is None:
        logger.warning(
            "fan-out page of an unknown notification dropped", extra={"notification": notification}
        )
        return
    app, kind = item["app"]["S"], item["kind"]["S"]
    message = notifications.message_of(item)
    index = str(page["index"])
    query: dict[str, Any] = {
        "TableName": settings().subscriptions_table,
        "IndexName": index,
        "KeyConditionExpression": "#k = :k",
        "ExpressionAttributeNames": {"#k": notifications.INDEX_KEYS[index]},
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
        dynamodb().update_item(
            TableName=settings().notifications_table,
            Key={"pk": {"S": f"notification#{notification}"}},
            UpdateExpression="ADD " + ", ".join(additions),
            ExpressionAttributeValues=values,
        )
    metrics.add_metric(name="ReminderJobsQueued", unit="Count", value=claimed)


def handle(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """A batch of page messages; a failed page is retried alone (partial batch response)."""
    processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
    return dict(
        process_partial_response(
            event=event, record_handler=process_page, processor=processor, context=context
        )
    )
