"""Exports in the stack's ExportsBucket: a file too large for one API answer, fetched through a short-lived link.

Objects live under `exports/<app>/<id>/` and expire with the bucket's lifecycle rule (a day, unfinished multipart
uploads too); a link is a presigned GET valid for EXPORT_LINK_SECONDS, so nobody without it (and nobody after it)
can read them. A background export (domain.exports) keeps its state next to its file, in `status.json`: queued
when the admin API accepted it, running, then done (with its file) or failed (with a reason an operator can act
on), each write replacing the last. Its request crosses ExportQueue.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from botocore.exceptions import ClientError

from wxfunnel.core.aws import s3, sqs
from wxfunnel.core.observability import logger
from wxfunnel.core.settings import settings
from wxfunnel.domain.exports import ExportRequest

EXPORT_LINK_SECONDS = 900
# S3 takes a multipart upload's parts from 5 MiB (all but the last); a part is held in memory until it is sent.
PART_BYTES = 8 * 1024 * 1024
_STATUS = "status.json"


def _key(app: str, export_id: str, name: str) -> str:
    return f"exports/{app}/{export_id}/{name}"


def link(app: str, export_id: str, filename: str, disposition: str) -> str:
    """A presigned GET of an export's file, valid for EXPORT_LINK_SECONDS, answered with `disposition` as its
    Content-Disposition (a browser saves it under its name instead of showing it)."""
    url: str = s3().generate_presigned_url(
        "get_object",
        Params={
            "Bucket": settings().exports_bucket,
            "Key": _key(app, export_id, filename),
            "ResponseContentDisposition": disposition,
        },
        ExpiresIn=EXPORT_LINK_SECONDS,
    )
    return url


def put(app: str, filename: str, body: bytes, content_type: str, disposition: str) -> str:
    """Store an export → a presigned link to download it (for EXPORT_LINK_SECONDS)."""
    export_id = uuid.uuid4().hex
    s3().put_object(
        Bucket=settings().exports_bucket,
        Key=_key(app, export_id, filename),
        Body=body,
        ContentType=content_type,
    )
    return link(app, export_id, filename, disposition)


def upload(app: str, export_id: str, filename: str, chunks: Iterable[bytes], content_type: str) -> int:
    """Stream `chunks` into the export's file (a multipart upload once it outgrows one part) → its size in bytes.

    A failure aborts the upload, so no half file is ever readable under the export's key."""
    bucket, key = settings().exports_bucket, _key(app, export_id, filename)
    buffer = bytearray()
    parts: list[dict[str, Any]] = []
    upload_id: str | None = None
    size = 0
    try:
        for chunk in chunks:
            buffer += chunk
            size += len(chunk)
            if len(buffer) >= PART_BYTES:
                if upload_id is None:
                    started = s3().create_multipart_upload(Bucket=bucket, Key=key, ContentType=content_type)
                    upload_id = started["UploadId"]
                parts.append(_part(bucket, key, upload_id, len(parts) + 1, bytes(buffer)))
                buffer.clear()
        if upload_id is None:
            s3().put_object(Bucket=bucket, Key=key, Body=bytes(buffer), ContentType=content_type)
            return size
        if buffer:
            parts.append(_part(bucket, key, upload_id, len(parts) + 1, bytes(buffer)))
        s3().complete_multipart_upload(
            Bucket=bucket, Key=key, UploadId=upload_id, MultipartUpload={"Parts": parts}
        )
    except BaseException:
        if upload_id is not None:
            s3().abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id)
        raise
    return size


def _part(bucket: str, key: str, upload_id: str, number: int, body: bytes) -> dict[str, Any]:
    answer = s3().upload_part(Bucket=bucket, Key=key, UploadId=upload_id, PartNumber=number, Body=body)
    return {"PartNumber": number, "ETag": answer["ETag"]}


def write_status(app: str, export_id: str, status: Mapping[str, Any]) -> None:
    """Record where a background export stands (replacing what was recorded)."""
    s3().put_object(
        Bucket=settings().exports_bucket,
        Key=_key(app, export_id, _STATUS),
        Body=json.dumps(dict(status), ensure_ascii=False).encode("utf-8"),
        ContentType="application/json",
    )


def read_status(app: str, export_id: str) -> dict[str, Any] | None:
    """Where a background export stands; None when no such export is recorded (or it has expired)."""
    try:
        answer = s3().get_object(Bucket=settings().exports_bucket, Key=_key(app, export_id, _STATUS))
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
            return None
        raise
    status: dict[str, Any] = json.loads(answer["Body"].read())
    return status


def enqueue(request: ExportRequest) -> None:
    """Send a background export to ExportFunction."""
    sqs().send_message(QueueUrl=settings().export_queue_url, MessageBody=request.to_wire())


RETRY_SECONDS = (
    60  # a failed attempt comes back this soon, not after the queue's 90-minute visibility timeout
)


def retry_soon(receipt_handle: str) -> None:
    """Hand a failed export request back to ExportFunction in RETRY_SECONDS (best effort: if SQS refuses, the
    queue's visibility timeout applies)."""
    try:
        sqs().change_message_visibility(
            QueueUrl=settings().export_queue_url,
            ReceiptHandle=receipt_handle,
            VisibilityTimeout=RETRY_SECONDS,
        )
    except ClientError:
        logger.warning("could not bring the export's retry forward; the queue's visibility timeout applies")
