"""Drives SQS-triggered handlers as Lambda's event source mapping does: receive, build the event, settle.

Tests and the local poller receive from the (moto) queue, hand the Lambda-shaped event to the real handler,
then `settle` deletes the records the handler reported done and leaves its `batchItemFailures` in flight, so
they come back after their visibility timeout with a higher ApproximateReceiveCount, exactly as in AWS.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from typing import Any

REGION = "us-east-1"


def _arn(queue_url: str) -> str:
    account, name = queue_url.rstrip("/").split("/")[-2:]
    return f"arn:aws:sqs:{REGION}:{account}:{name}"


def _attribute(value: Mapping[str, Any]) -> dict[str, Any]:
    """A receive_message MessageAttribute in the Lambda event's camel-case shape."""
    shaped: dict[str, Any] = {"dataType": value["DataType"], "stringListValues": [], "binaryListValues": []}
    if "StringValue" in value:
        shaped["stringValue"] = value["StringValue"]
    if "BinaryValue" in value:
        shaped["binaryValue"] = value["BinaryValue"]
    return shaped


def to_record(message: Mapping[str, Any], queue_url: str) -> dict[str, Any]:
    """One received SQS message as a Lambda SQS event record."""
    body = message["Body"]
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": body,
        "attributes": dict(message.get("Attributes") or {}),
        "messageAttributes": {k: _attribute(v) for k, v in (message.get("MessageAttributes") or {}).items()},
        "md5OfBody": message.get("MD5OfBody") or hashlib.md5(body.encode("utf-8")).hexdigest(),
        "eventSource": "aws:sqs",
        "eventSourceARN": _arn(queue_url),
        "awsRegion": REGION,
    }


def receive_event(sqs: Any, queue_url: str, max_messages: int = 10) -> dict[str, Any] | None:
    """Up to `max_messages` visible messages as one Lambda SQS event, or None when nothing is visible."""
    response = sqs.receive_message(
        QueueUrl=queue_url,
        MaxNumberOfMessages=max_messages,
        AttributeNames=["All"],
        MessageAttributeNames=["All"],
        WaitTimeSeconds=0,
    )
    messages = response.get("Messages") or []
    if not messages:
        return None
    return {"Records": [to_record(message, queue_url) for message in messages]}


def settle(
    sqs: Any, queue_url: str, event: Mapping[str, Any], response: Mapping[str, Any] | None
) -> list[str]:
    """Delete the records the handler did not report failed; return the failed ids (left in flight)."""
    failed = {item["itemIdentifier"] for item in (response or {}).get("batchItemFailures") or []}
    done = [record for record in event["Records"] if record["messageId"] not in failed]
    for start in range(0, len(done), 10):
        chunk = done[start : start + 10]
        sqs.delete_message_batch(
            QueueUrl=queue_url,
            Entries=[
                {"Id": str(i), "ReceiptHandle": record["receiptHandle"]} for i, record in enumerate(chunk)
            ],
        )
    return sorted(failed)


def make_visible(sqs: Any, queue_url: str, event: Mapping[str, Any], failed: list[str]) -> None:
    """Make failed records visible again now (tests use it instead of waiting for the backoff to pass)."""
    for record in event["Records"]:
        if record["messageId"] in failed:
            sqs.change_message_visibility(
                QueueUrl=queue_url, ReceiptHandle=record["receiptHandle"], VisibilityTimeout=0
            )


def drain(sqs: Any, queue_url: str) -> list[dict[str, Any]]:
    """Receive and delete every visible message (e.g. a dead-letter queue's); returns them as records."""
    records: list[dict[str, Any]] = []
    while (event := receive_event(sqs, queue_url)) is not None:
        records.extend(event["Records"])
        settle(sqs, queue_url, event, None)
    return records


def pump(
    sqs: Any,
    queue_url: str,
    handler: Callable[[dict[str, Any], Any], Any],
    context: Any,
    *,
    max_messages: int = 10,
    rounds: int = 100,
) -> list[str]:
    """Feed visible messages to `handler` until none is visible (failures stay in flight); their ids."""
    failed: list[str] = []
    for _ in range(rounds):
        event = receive_event(sqs, queue_url, max_messages)
        if event is None:
            return failed
        failed.extend(settle(sqs, queue_url, event, handler(event, context)))
    raise RuntimeError(f"{queue_url} still had visible messages after {rounds} rounds")
