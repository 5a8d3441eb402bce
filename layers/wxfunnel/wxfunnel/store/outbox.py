"""The outbox: outbound jobs on SQS FIFO (one ordered group per user, de-duplicated by job key), its dead-letter
queue with the reason attached, and the retry backoff of failed records.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import Any

from botocore.exceptions import ClientError

from wxfunnel.core.aws import sqs
from wxfunnel.core.observability import logger
from wxfunnel.core.settings import settings
from wxfunnel.domain.jobs import Job
from wxfunnel.store.base import NotEnqueued, chunks, send_batches

__all__ = ["NotEnqueued", "back_off", "dead_letter", "enqueue"]


def enqueue(jobs: Sequence[Job]) -> None:
    """Send jobs to the outbox in batches of ten; raises NotEnqueued if any could not be enqueued."""
    send_batches(
        settings().outbox_queue_url,
        [
            {
                "MessageBody": job.to_wire(),
                "MessageGroupId": job.group,
                "MessageDeduplicationId": job.deduplication_id,
                "MessageAttributes": {"kind": {"DataType": "String", "StringValue": job.kind.value}},
            }
            for job in jobs
        ],
    )


def dead_letter(body: str, group: str, deduplication_id: str | None, attributes: Mapping[str, str]) -> None:
    """Move an outbox message to its dead-letter queue with why (`reason`, `errcode`, `errmsg`, `attempts` …)."""
    sqs().send_message(
        QueueUrl=settings().outbox_dlq_url,
        MessageBody=body,
        MessageGroupId=group,
        MessageDeduplicationId=deduplication_id or hashlib.sha256(body.encode()).hexdigest(),
        MessageAttributes={
            name: {"DataType": "Number" if name == "attempts" else "String", "StringValue": value or "-"}
            for name, value in attributes.items()
        },
    )


def back_off(receipts: Sequence[tuple[str, int]]) -> None:
    """Make these received outbox messages visible again after their backoff: (receipt handle, seconds)."""
    entries: list[dict[str, Any]] = [
        {"Id": str(index), "ReceiptHandle": receipt, "VisibilityTimeout": seconds}
        for index, (receipt, seconds) in enumerate(receipts)
    ]
    for chunk in chunks(entries):
        try:
            sqs().change_message_visibility_batch(QueueUrl=settings().outbox_queue_url, Entries=list(chunk))
        except ClientError:
            logger.warning("could not set the retry backoff; the queue's visibility timeout applies")
