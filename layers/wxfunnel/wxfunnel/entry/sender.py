"""The outbox sender: does each job once via the WeChat API, retries what may succeed, dead-letters the rest.

Per SQS record (FIFO, group = app#openid):
- already done (a completion record exists for the job key)  → acknowledged, nothing called again;
- done now                                                     → completion record written, acknowledged;
- transient failure (-1, 45009/45011, network/5xx, token)      → reported failed; the record's visibility is
  stretched to an exponential backoff; at SENDER_MAX_ATTEMPTS receives it goes to the DLQ with its last error;
- permanent failure (45015/45047 without a fallback, 43004 …)  → DLQ with reason/errcode/errmsg/attempts,
  recorded as done, acknowledged (never retried);
- not started because the invocation's time is running out     → failed unprocessed, back within seconds.

Exactly-once effect uses our own completion record (store.completions), not Powertools idempotency: FIFO groups
already serialise a job's deliveries, so an in-progress lock buys nothing, and a plain record can be written in the
same DynamoDB transaction as a reminder's counters, which makes the counts exactly-once. The remaining window (a
crash between WeChat's "ok" and the completion record) is closed for template messages by `client_msg_id`, which
WeChat de-duplicates for 10 minutes.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from aws_lambda_powertools.utilities.batch import SqsFifoPartialProcessor, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from wxfunnel.client import errors
from wxfunnel.core.observability import logger, metrics
from wxfunnel.core.settings import settings
from wxfunnel.domain.jobs import InvalidJob, Job, UnknownJobKind
from wxfunnel.entry.send_jobs import HANDLERS, Retry, Undeliverable
from wxfunnel.store import completions, outbox
from wxfunnel.store.completions import Counted

BACKOFF_BASE_SECONDS = 5
BACKOFF_MAX_SECONDS = 900
DEFERRED_BACKOFF_SECONDS = 1
# What one job takes at worst when WeChat is slow: an image download (3 s connect + 10 s read) and up to four WeChat
# calls (two tokens, the QR on the OA, the send on the MP), each 9 s (a failed 2 s connect to the primary, 2 s
# connect + 5 s read to the backup), and its DynamoDB writes. A record is only started with this much of the
# invocation (Timeout 90 s) left, so a batch of slow calls ends in time instead of being cut off by the timeout,
# which would cost every record of the batch an attempt and keep them invisible for the queue's whole visibility
# timeout; the records not started come back at once (they still lose one receive: SQS counts every receive).
RECORD_BUDGET_MS = 50_000


class CountPending(Exception):
    """The job is done but its reminder's counters could not be written yet: the record is failed so it comes
    back, and its completion record (marked pending) makes that redelivery count instead of sending again."""


class Deferred(Exception):
    """Not started: too little of the invocation's time was left for one more record."""


def _snake(name: str) -> str:
    """`OutsideWindow` → `outside_window` (the DLQ's reason vocabulary)."""
    name = name.replace("WeChat", "Wechat")
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name).lstrip("_")


def _reason(exc: BaseException) -> tuple[str, int | None, str]:
    if isinstance(exc, Undeliverable):
        return exc.reason, exc.errcode, exc.errmsg
    if isinstance(exc, Retry) and exc.__cause__ is not None:
        exc = exc.__cause__
    if isinstance(exc, errors.WeChatError):
        return _snake(type(exc).__name__), exc.errcode, exc.errmsg or str(exc)
    return _snake(type(exc).__name__), None, str(exc)


def _permanent(exc: BaseException) -> bool:
    return isinstance(exc, Undeliverable) or (isinstance(exc, errors.WeChatError) and not exc.retryable)


def _dead_letter(record: SQSRecord, job: Job | None, exc: BaseException, attempts: int) -> str:
    reason, errcode, errmsg = _reason(exc)
    attributes = {
        "reason": reason,
        "errcode": "" if errcode is None else str(errcode),
        "errmsg": errmsg[:512],
        "attempts": str(attempts),
        "kind": job.kind.value if job else "",
        "app": job.app if job else "",
    }
    group = record.attributes.message_group_id or (job.group if job else "unknown")
    outbox.dead_letter(record.body, group, record.attributes.message_deduplication_id, attributes)
    logger.warning(
        "outbox job dead-lettered",
        extra={
            "kind": attributes["kind"],
            "app": attributes["app"],
            "reason": reason,
            "errcode": errcode,
            "attempts": attempts,
        },
    )
    metrics.add_metric(name="JobsDeadLettered", unit="Count", value=1)
    return reason


def _mark_done(job: Job, outcome: str, reason: str | None = None) -> None:
    counted = completions.mark_done(job, outcome, int(time.time()), reason)
    if counted is Counted.GONE:
        logger.warning(
            "job's reminder is no longer stored; not counted", extra={"notification": job.notification}
        )
    elif counted is Counted.PENDING:
        metrics.add_metric(name="JobCountsDeferred", unit="Count", value=1)
        raise CountPending(f"the counters of notification {job.notification} stay contended")


def _give_up(record: SQSRecord, job: Job, exc: BaseException, attempts: int) -> None:
    reason = _dead_letter(record, job, exc, attempts)
    _, errcode, _ = _reason(exc)
    _mark_done(job, "failed", str(errcode) if errcode is not None else reason)


def process_record(record: SQSRecord) -> None:
    attempts = int(record.attributes.approximate_receive_count or 1)
    try:
        job = Job.from_wire(record.body)
    except UnknownJobKind as exc:
        _dead_letter(record, None, Undeliverable("unknown_kind", errmsg=str(exc)), attempts)
        return
    except (InvalidJob, KeyError, TypeError) as exc:
        _dead_letter(record, None, Undeliverable("malformed_job", errmsg=str(exc)), attempts)
        return
    completion = completions.get(job)
    if completion is not None:
        if (
            completion.pending_count is not None
            and completions.finish_count(job, completion) is Counted.PENDING
        ):
            raise CountPending(f"the counters of notification {job.notification} stay contended")
        metrics.add_metric(name="JobsRedelivered", unit="Count", value=1)
        return
    try:
        done = HANDLERS[job.kind](job)
    except Exception as exc:
        if _permanent(exc) or attempts >= settings().sender_max_attempts:
            _give_up(record, job, exc, attempts)
            return
        logger.info(
            "outbox job will be retried",
            extra={"kind": job.kind.value, "app": job.app, "reason": _reason(exc)[0], "attempts": attempts},
        )
        raise
    _mark_done(job, done.outcome)
    metrics.add_metric(name="JobsDone", unit="Count", value=1)


def backoff_seconds(receive_count: int) -> int:
    return min(BACKOFF_MAX_SECONDS, BACKOFF_BASE_SECONDS * 2**receive_count)


def _back_off(event: Mapping[str, Any], failed: set[str], deferred: set[str]) -> None:
    """Failed records (and those skipped behind them in their group) come back after a backoff; records not
    started for lack of time come back at once."""
    outbox.back_off(
        [
            (
                record["receiptHandle"],
                DEFERRED_BACKOFF_SECONDS
                if record["messageId"] in deferred
                else backoff_seconds(int(record["attributes"].get("ApproximateReceiveCount", "1"))),
            )
            for record in event["Records"]
            if record["messageId"] in failed
        ]
    )


def handle(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """One SQS batch from the outbox. FIFO order is kept per user: after a failure, the rest of that user's
    messages in the batch are failed unprocessed (skip_group_on_error), other users' messages go on."""
    deferred: set[str] = set()

    def within_time(record: SQSRecord) -> None:
        remaining = getattr(context, "get_remaining_time_in_millis", None)
        if remaining is not None and remaining() < RECORD_BUDGET_MS:
            deferred.add(record.message_id)
            raise Deferred("too little time left in this invocation")
        process_record(record)

    processor = SqsFifoPartialProcessor(skip_group_on_error=True)
    # Report an all-failed batch like any other, so each record gets its backoff (not the 540 s visibility timeout).
    processor.raise_on_entire_batch_failure = False
    response = dict(
        process_partial_response(
            event=event, record_handler=within_time, processor=processor, context=context
        )
    )
    failures: list[dict[str, str]] = response.get("batchItemFailures") or []  # type: ignore[assignment]
    failed = {item["itemIdentifier"] for item in failures}
    _back_off(event, failed, deferred)
    return response
