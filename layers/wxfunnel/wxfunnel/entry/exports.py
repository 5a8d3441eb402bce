"""ExportFunction: a background followers export (domain.exports), built into the exports bucket.

The CSV is GET /followers/export's, read page after page (entry.admin.followers.csv_pages) and streamed into the
bucket (store.exports.upload): memory stays one page and one upload part, whatever the selection holds. The status
next to the file says queued → running → done (rows, bytes, file) or failed (reason):
- a redelivered request whose export is already done or failed is not built again;
- one that would outlast the function (about 3 million rows at a 10 ms DynamoDB round trip) ends as failed with
  reason `export_too_large`, not retried: a retry would meet the same limit;
- a selection that no longer exists (its app or channel gone meanwhile, or a malformed one) ends as failed with
  reason `not_found`, not retried;
- any other failure is logged with its exception and retried by SQS a minute later (the status says queued again,
  with the attempt and the error's type); the last attempt (EXPORT_MAX_ATTEMPTS, the queue's maxReceiveCount)
  records failed with reason `error`, and a minute later SQS moves the request to the dead-letter queue
  (ExportDeadLetterAlarm), not after the queue's 90-minute visibility timeout.
An attempt that dies without a word (a timeout, out of memory) leaves `running`: the status route reports it as
failed once it is older than any attempt can run (domain.exports.stalled).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from wxfunnel.config.base import UnknownApp
from wxfunnel.core.observability import logger, metrics
from wxfunnel.core.settings import settings
from wxfunnel.domain.channels import timestamp
from wxfunnel.domain.exports import ExportRequest
from wxfunnel.entry.admin import followers
from wxfunnel.entry.admin.errors import AdminError
from wxfunnel.entry.admin.qrcodes import known_app
from wxfunnel.store import exports

MARGIN_SECONDS = 20.0  # of the function's time, kept to finish the upload and record the status


def _remaining_seconds(context: Any) -> float:
    return float(context.get_remaining_time_in_millis()) / 1000 if context is not None else 900.0


def build(
    request: ExportRequest, deadline: float, attempt: int = 1, retry_soon: Callable[[], None] | None = None
) -> dict[str, Any]:
    """Build one export (unless it is already done or failed) → its status after this attempt."""
    status = exports.read_status(request.app, request.id) or {
        "id": request.id,
        "app": request.app,
        request.selector: request.value,
        "requested_at": timestamp(request.requested_at),
    }
    if status.get("status") in ("done", "failed"):
        logger.info("export already finished", extra={"export": request.id, "status": status["status"]})
        return status
    status = {**status, "attempt": attempt}
    try:
        return _build_file(request, status, deadline)
    except Exception as exc:
        logger.exception("export attempt failed", extra={"export": request.id, "attempt": attempt})
        if attempt >= settings().export_max_attempts:
            _finish(request, status, "failed", reason="error", error=type(exc).__name__)
        else:
            exports.write_status(
                request.app, request.id, {**status, "status": "queued", "error": type(exc).__name__}
            )
        if retry_soon is not None:
            retry_soon()  # the next attempt, or after the last one the dead-letter queue, a minute from now
        raise


def _build_file(request: ExportRequest, status: dict[str, Any], deadline: float) -> dict[str, Any]:
    try:
        selection = followers.select(request.query)
        name = followers.filename(selection, known_app(request.app).time_zone, request.requested_at)
    except (AdminError, UnknownApp) as exc:
        return _finish(request, status, "failed", reason="not_found", detail=str(exc))
    status = {**status, "file": name, "status": "running", "started_at": timestamp(time.time())}
    exports.write_status(request.app, request.id, status)
    counted = [0]

    def chunks() -> Any:
        for chunk, rows in followers.csv_pages(selection, deadline):
            counted[0] += rows
            yield chunk

    try:
        size = exports.upload(request.app, request.id, name, chunks(), followers.CSV_TYPE)
    except followers.OutOfTime:
        return _finish(request, status, "failed", reason="export_too_large", rows=counted[0])
    metrics.add_metric(name="FollowersExported", unit="Count", value=counted[0])
    return _finish(request, status, "done", rows=counted[0], bytes=size)


def _finish(request: ExportRequest, status: dict[str, Any], outcome: str, **details: Any) -> dict[str, Any]:
    final = {**status, **details, "status": outcome, "finished_at": timestamp(time.time())}
    exports.write_status(request.app, request.id, final)
    logger.info(
        "export finished",
        extra={"export": request.id, "app": request.app, "status": outcome, "reason": details.get("reason")},
    )
    return final


def handle(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """A batch of export requests (BatchSize 1 in the template: one export has the function's whole time)."""
    started = time.monotonic()

    def process(record: SQSRecord) -> None:
        request = ExportRequest.from_wire(record.body)
        deadline = started + _remaining_seconds(context) - MARGIN_SECONDS
        attempt = int(record.attributes.approximate_receive_count or 1)
        build(request, deadline, attempt, lambda: exports.retry_soon(record.receipt_handle))

    processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
    return dict(
        process_partial_response(event=event, record_handler=process, processor=processor, context=context)
    )
