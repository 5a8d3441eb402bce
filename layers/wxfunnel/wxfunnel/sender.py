"""The outbox sender: does each job once via the WeChat API, retries what may succeed, dead-letters the rest.

Per SQS record (FIFO, group = app#openid):
- already done (a completion record exists for the job key)  → acknowledged, nothing called again;
- done now                                                     → completion record written, acknowledged;
- transient failure (-1, 45009/45011, network/5xx, token)      → reported failed; the record's visibility is
  stretched to an exponential backoff; at SENDER_MAX_ATTEMPTS receives it goes to the DLQ with its last error;
- permanent failure (45015/45047 without a fallback, 43004 …)  → DLQ with reason/errcode/errmsg/attempts,
  recorded as done, acknowledged (never retried).

Exactly-once effect uses our own completion record (DedupeTable `job#<key>`), not Powertools idempotency:
FIFO groups already serialise a job's deliveries, so an in-progress lock buys nothing, and a plain record can
be written in the same DynamoDB transaction as a reminder's counters, which makes the counts exactly-once.
Every job of a reminder updates the same notification item, so that transaction can be cancelled by another
one (TransactionConflict) or throttled: it is retried in place a few times; if it still fails, the completion
record is written alone with the count marked pending and the record is failed, so its redelivery only
finishes the count (it finds the completion record, so it never sends again). The remaining window (a crash
between WeChat's "ok" and the completion record) is closed for template messages by `client_msg_id`, which
WeChat de-duplicates for 10 minutes.

A WeChat error a handler lets through is retried when `retryable`, else dead-lettered at once (process_record);
handlers catch one only where it changes what is sent (the window-closed template fallback).
"""

from __future__ import annotations

import hashlib
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

import requests
from aws_lambda_powertools.utilities.batch import SqsFifoPartialProcessor, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from botocore.exceptions import ClientError

from wxfunnel import client as wechat
from wxfunnel import subscriptions
from wxfunnel.aws import dynamodb, sqs
from wxfunnel.channels import Channel, ChannelRepository, cancellation_codes, timestamp
from wxfunnel.client import errors
from wxfunnel.config import AccountKind, load_app
from wxfunnel.observability import logger, metrics
from wxfunnel.outbox import Job
from wxfunnel.reminders import record_outcome
from wxfunnel.settings import settings

DONE_RECORD_DAYS = 14  # longer than the outbox keeps a message (4 days), so a late redelivery still finds it
BACKOFF_BASE_SECONDS = 5
BACKOFF_MAX_SECONDS = 900
QR_REUSE_MARGIN_SECONDS = 3600  # reuse a card's QR only if it stays valid at least this long
IMAGE_MAX_BYTES = 2 * 1024 * 1024
_IMAGE_TIMEOUTS = (3.05, 10)
COUNT_ATTEMPTS = 4  # the completion transaction, in place, before the count is left pending
COUNT_BACKOFF_SECONDS = 0.05  # full jitter over 0.1, 0.2, 0.4 s
_CONTENDED = frozenset({"TransactionConflict", "ThrottlingError", "ProvisionedThroughputExceeded"})


class Retry(Exception):
    """The job may succeed later (the cause is kept for the DLQ when attempts run out)."""


class CountPending(Exception):
    """The job is done but its reminder's counters could not be written yet: the record is failed so it comes
    back, and its completion record (marked pending) makes that redelivery count instead of sending again."""


class Undeliverable(Exception):
    """Retrying cannot help: the job goes to the DLQ with this reason."""

    def __init__(self, reason: str, errcode: int | None = None, errmsg: str = "") -> None:
        super().__init__(f"{reason}: {errmsg}" if errmsg else reason)
        self.reason = reason
        self.errcode = errcode
        self.errmsg = errmsg


@dataclass(frozen=True, slots=True)
class Done:
    outcome: str  # sent | skipped | template_fallback | reused …
    notification: str | None = None  # the reminder whose counters this job moves


Handler = Callable[[Job], Done]


# --- helpers ----------------------------------------------------------------------------------------------


def _reason(exc: BaseException) -> tuple[str, int | None, str]:
    if isinstance(exc, Undeliverable):
        return exc.reason, exc.errcode, exc.errmsg
    if isinstance(exc, Retry) and exc.__cause__ is not None:
        exc = exc.__cause__
    if isinstance(exc, errors.WeChatError):
        name = type(exc).__name__
        return _snake(name), exc.errcode, exc.errmsg or str(exc)
    return _snake(type(exc).__name__), None, str(exc)


def _snake(name: str) -> str:
    """`OutsideWindow` → `outside_window` (the DLQ's reason vocabulary)."""
    name = name.replace("WeChat", "Wechat")
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name).lstrip("_")


def _permanent(exc: BaseException) -> bool:
    return isinstance(exc, Undeliverable) or (isinstance(exc, errors.WeChatError) and not exc.retryable)


def _fetch_image(url: str) -> bytes:
    """Download a rule's image (jpg/png ≤ 2 MB) to upload it as temporary media."""
    try:
        response = requests.get(url, timeout=_IMAGE_TIMEOUTS)
    except requests.RequestException as exc:
        raise Retry(f"image download failed ({type(exc).__name__})") from None
    if response.status_code >= 500:
        raise Retry(f"image host answered HTTP {response.status_code}")
    if response.status_code != 200 or not response.content:
        raise Undeliverable("image_unavailable", errmsg=f"image host answered HTTP {response.status_code}")
    if len(response.content) > IMAGE_MAX_BYTES:
        raise Undeliverable("image_too_large", errmsg=f"{len(response.content)} bytes (WeChat allows 2 MB)")
    return response.content


def _upload(client: wechat.WeChatClient, url: str) -> str:
    name = url.rsplit("/", 1)[-1].split("?", 1)[0] or "image.jpg"
    return client.upload_image(_fetch_image(url), name if "." in name else f"{name}.jpg")


def _outbound(client: wechat.WeChatClient, spec: Mapping[str, Any]) -> wechat.CustomMessage:
    """A job's message spec (flows._outbound) as the client's outbound message; media uploaded on the way."""
    kind = spec.get("type")
    if kind == "text":
        return wechat.TextMessage(str(spec["content"]))
    if kind == "link":
        return wechat.LinkMessage(
            str(spec["title"]),
            str(spec.get("description") or ""),
            str(spec["url"]),
            str(spec.get("thumb_url") or ""),
        )
    if kind == "image":
        return wechat.ImageMessage(_upload(client, str(spec["image_url"])))
    if kind == "miniprogrampage":
        thumb = spec.get("thumb_media_id") or _upload(client, str(spec["thumb_url"]))
        return wechat.MiniProgramPageMessage(
            str(spec["title"]), str(spec.get("appid") or client.app.appid), str(spec["page_path"]), str(thumb)
        )
    raise Undeliverable("invalid_job", errmsg=f"unknown message type {kind!r}")


def _client_msg_id(job: Job) -> str:
    return hashlib.sha256(job.key.encode("utf-8")).hexdigest()[:32]


def _template_fallback(job: Job, template: Mapping[str, Any], client: wechat.WeChatClient) -> Done:
    """45015/45047: send the rule's template instead: a template message on an OA, a subscribe message on an MP
    (delivered only while the user has a grant left for that template, else 43101, which is permanent)."""
    template_id, data = str(template["template_id"]), _data(template.get("data") or {})
    if client.app.kind is AccountKind.MINI_PROGRAM:
        client.send_subscribe_message(job.openid, template_id, data, page=template.get("page") or None)
        return Done("subscribe_fallback")
    client.send_template(
        job.openid, template_id, data, url=template.get("url") or None, client_msg_id=_client_msg_id(job)
    )
    return Done("template_fallback")


def _data(data: Mapping[str, Any]) -> dict[str, str]:
    return {str(k): str(v["value"] if isinstance(v, Mapping) else v) for k, v in data.items()}


def _send(
    job: Job, recipient_app: str, message: Callable[[wechat.WeChatClient], wechat.CustomMessage]
) -> Done:
    client = wechat.client_for(recipient_app)
    try:
        client.send_custom(job.openid, message(client))
    except (errors.OutsideWindow, errors.UserQuotaExhausted):
        template = job.payload.get("window_closed_template")
        if not template:
            raise
        return _template_fallback(job, template, client)
    return Done("sent")


# --- job kinds --------------------------------------------------------------------------------------------


def custom_message(job: Job) -> Done:
    spec = job.payload.get("message")
    if not isinstance(spec, Mapping):
        raise Undeliverable("invalid_job", errmsg="custom_message without a message")
    return _send(job, job.app, lambda client: _outbound(client, spec))


def _now() -> int:
    return int(time.time())


def _usable(channel: Channel, now: int) -> bool:
    if channel.pending:
        return False
    if channel.expires_at is None:
        return True  # permanent
    return channel.expires_at - now > QR_REUSE_MARGIN_SECONDS


def _qr_channel(job: Job, *, card: bool) -> Channel:
    """The OA channel record for the job's scene with a usable QR: reused, refreshed or created (OA token)."""
    payload = job.payload
    oa, scene = str(payload["oa"]), str(payload["scene"])
    repository = ChannelRepository()
    existing = repository.get(oa, scene)
    now = _now()
    if existing is not None and _usable(existing, now):
        return existing
    if existing is not None and existing.permanent:
        raise Retry("the operator's permanent code for this scene is still being created")
    expire_seconds = int(payload.get("expire_seconds") or 604_800)
    qr = wechat.client_for(oa).create_qrcode(
        existing.scene_value if existing else scene, permanent=False, expire_seconds=expire_seconds
    )
    if existing is not None:  # an expired code: keep the operator's name, welcome, tag and referrer
        channel = replace(
            existing,
            ticket=qr.ticket,
            url=qr.url,
            image_url=qr.image_url,
            expire_seconds=expire_seconds,
            expires_at=now + expire_seconds,
            updated_at=timestamp(now),
        )
    else:
        channel = Channel(
            app=oa,
            scene=scene,
            scene_type="str",
            permanent=False,
            kind="card" if card else "channel",
            ticket=qr.ticket,
            url=qr.url,
            image_url=qr.image_url,
            expire_seconds=expire_seconds,
            expires_at=now + expire_seconds,
            name=f"{'card' if card else 'follow'} {scene}",
            welcome_message=payload.get("opt_in_text") if card else None,
            notes=f"created by wxfunnel for {job.app}",
            created_at=timestamp(now),
            updated_at=timestamp(now),
        )
    repository.put(channel)
    return channel


def _qr_message(job: Job, channel: Channel) -> Callable[[wechat.WeChatClient], wechat.CustomMessage]:
    payload = job.payload
    oa = str(payload["oa"])

    def build(mp: wechat.WeChatClient) -> wechat.CustomMessage:
        if payload.get("as") == "image":
            content, _ = wechat.client_for(oa).fetch_qrcode_image(channel.ticket)
            return wechat.ImageMessage(mp.upload_image(content, "qrcode.jpg"))
        return wechat.LinkMessage(
            str(payload.get("title") or "关注公众号"),
            str(payload.get("description") or ""),
            channel.image_url,
            str(payload.get("thumb_url") or channel.image_url),
        )

    return build


def card_qr(job: Job) -> Done:
    """A card's context → a temporary QR_STR_SCENE on the OA (OA token), sent back by the MP (MP token)."""
    channel = _qr_channel(job, card=True)
    if not load_app(job.app).is_official_account:
        # The MP user's own opt-in, so an MP reminder (subscribe message) can select them by scene too.
        touch = subscriptions.touch_update(
            settings().subscriptions_table, job.app, job.openid, str(job.payload["scene"]), _now()
        )
        dynamodb().update_item(**touch["Update"])
    return _send(job, job.app, _qr_message(job, channel))


def follow_qr(job: Job) -> Done:
    """A keyword's "follow the OA" reply: the OA's QR for a fixed scene (the channel's code while live)."""
    return _send(job, job.app, _qr_message(job, _qr_channel(job, card=False)))


def tag(job: Job) -> Done:
    client = wechat.client_for(job.app)
    client.tag_users(client.tag_id(str(job.payload["tag"])), [job.openid])
    return Done("sent")


def _profile(app: str, openid: str) -> subscriptions.Subscription | None:
    item = (
        dynamodb()
        .get_item(
            TableName=settings().subscriptions_table,
            Key=subscriptions.profile_key(app, openid),
            ConsistentRead=True,
        )
        .get("Item")
    )
    return subscriptions.from_item(item) if item else None


def erase_user(job: Job) -> Done:
    """Delete what wxfunnel stores about a follower who left (profile, opt-ins) once the unfollow is in."""
    at = int(job.payload.get("at") or 0)
    profile = _profile(job.app, job.openid)
    if profile is None or profile.status_at < at:
        raise Retry("the unfollow is not stored yet")  # the callback enqueues before its transaction commits
    if profile.status is subscriptions.Status.SUBSCRIBED:
        return Done("skipped")  # they followed again since
    table = settings().subscriptions_table
    pk = f"{job.app}#{job.openid}"
    query: dict[str, Any] = {
        "TableName": table,
        "KeyConditionExpression": "pk = :pk",
        "ExpressionAttributeValues": {":pk": {"S": pk}},
        "ProjectionExpression": "pk, sk",
    }
    while True:
        page = dynamodb().query(**query)
        for item in page["Items"]:
            dynamodb().delete_item(TableName=table, Key={"pk": item["pk"], "sk": item["sk"]})
        if "LastEvaluatedKey" not in page:
            return Done("sent")
        query["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def template(job: Job) -> Done:
    """A reminder to an OA follower (template message), skipped if they no longer follow."""
    notification = str(job.payload["notification_id"])
    profile = _profile(job.app, job.openid)
    if profile is None or profile.status is not subscriptions.Status.SUBSCRIBED:
        return Done("skipped", notification)
    payload = job.payload
    wechat.client_for(job.app).send_template(
        job.openid,
        str(payload["template_id"]),
        _data(payload.get("data") or {}),
        url=payload.get("url"),
        miniprogram=payload.get("miniprogram"),
        client_msg_id=_client_msg_id(job),
    )
    return Done("sent", notification)


def subscribe_message(job: Job) -> Done:
    """A reminder to an MP user (subscribe message; 43101 when they have no subscription quota left)."""
    notification = str(job.payload["notification_id"])
    payload = job.payload
    wechat.client_for(job.app).send_subscribe_message(
        job.openid, str(payload["template_id"]), _data(payload.get("data") or {}), page=payload.get("page")
    )
    return Done("sent", notification)


HANDLERS: dict[str, Handler] = {
    "custom_message": custom_message,
    "card_qr": card_qr,
    "follow_qr": follow_qr,
    "tag": tag,
    "erase_user": erase_user,
    "template": template,
    "subscribe_message": subscribe_message,
}


# --- completion records -----------------------------------------------------------------------------------


def _done_key(job: Job) -> dict[str, Any]:
    return {"id": {"S": f"job#{job.key}"}}


def _completion(job: Job) -> dict[str, Any] | None:
    item: dict[str, Any] | None = (
        dynamodb()
        .get_item(TableName=settings().dedupe_table, Key=_done_key(job), ConsistentRead=True)
        .get("Item")
    )
    return item


def _count(first: dict[str, Any], notification: str, outcome: str, reason: str | None) -> str:
    """Write `first` (the completion record's Put or Update) and the reminder's counter update in one
    transaction, retried in place while it contends with other jobs' transactions on the notification item.

    → "counted"; "recorded" (the completion was already there: the count went with it); "gone" (no
    notification left to count on: `first` is not written); "contended" (still cancelled after the attempts).
    """
    items = [first, {"Update": record_outcome(notification, outcome, reason)}]
    for attempt in range(COUNT_ATTEMPTS):
        if attempt:
            time.sleep(random.uniform(0, COUNT_BACKOFF_SECONDS * 2**attempt))  # noqa: S311 (jitter)
        try:
            dynamodb().transact_write_items(TransactItems=items)
        except ClientError as exc:
            codes = cancellation_codes(exc)
            if codes[:1] == ["ConditionalCheckFailed"]:
                return "recorded"
            if codes[1:2] == ["ConditionalCheckFailed"]:
                return "gone"
            if not _CONTENDED.intersection(codes):
                raise
            continue
        return "counted"
    return "contended"


def _put_completion(put: dict[str, Any]) -> None:
    try:
        dynamodb().put_item(**put)
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
            raise


def _mark_done(job: Job, outcome: str, notification: str | None, reason: str | None = None) -> None:
    """The completion record, with the reminder's counters in the same transaction (counted exactly once)."""
    now = _now()
    put: dict[str, Any] = {
        "TableName": settings().dedupe_table,
        "Item": {
            **_done_key(job),
            "expiration": {"N": str(now + DONE_RECORD_DAYS * 86400)},
            "outcome": {"S": outcome},
            "kind": {"S": job.kind},
            "done_at": {"N": str(now)},
        },
        "ConditionExpression": "attribute_not_exists(id)",
    }
    if notification is None:
        _put_completion(put)
        return
    result = _count({"Put": put}, notification, outcome, reason)
    if result == "gone":
        logger.warning(
            "job's reminder is no longer stored; not counted", extra={"notification": notification}
        )
        _put_completion(put)
    elif result == "contended":
        pending = {
            "count_notification": {"S": notification},
            **({"count_reason": {"S": reason}} if reason else {}),
        }
        _put_completion({**put, "Item": {**put["Item"], **pending}})
        metrics.add_metric(name="JobCountsDeferred", unit="Count", value=1)
        raise CountPending(f"the counters of notification {notification} stay contended")


def _finish_count(job: Job, completion: Mapping[str, Any]) -> None:
    """A redelivered job whose count was left pending: count it now, once (the pending mark goes with it)."""
    notification = str(completion["count_notification"]["S"])
    reason = str(completion["count_reason"]["S"]) if "count_reason" in completion else None
    unmark = {
        "TableName": settings().dedupe_table,
        "Key": _done_key(job),
        "UpdateExpression": "REMOVE count_notification, count_reason",
        "ConditionExpression": "attribute_exists(count_notification)",
    }
    result = _count({"Update": unmark}, notification, str(completion["outcome"]["S"]), reason)
    if result == "gone":
        try:
            dynamodb().update_item(**unmark)
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
    elif result == "contended":
        raise CountPending(f"the counters of notification {notification} stay contended")


def _dead_letter(record: SQSRecord, job: Job | None, exc: BaseException, attempts: int) -> str:
    reason, errcode, errmsg = _reason(exc)
    attributes = {
        "reason": reason,
        "errcode": "" if errcode is None else str(errcode),
        "errmsg": errmsg[:512],
        "attempts": str(attempts),
        "kind": job.kind if job else "",
        "app": job.app if job else "",
    }
    group = record.attributes.message_group_id or (job.group if job else "unknown")
    dedup = record.attributes.message_deduplication_id or hashlib.sha256(record.body.encode()).hexdigest()
    sqs().send_message(
        QueueUrl=settings().outbox_dlq_url,
        MessageBody=record.body,
        MessageGroupId=group,
        MessageDeduplicationId=dedup,
        MessageAttributes={
            name: {"DataType": "Number" if name == "attempts" else "String", "StringValue": value or "-"}
            for name, value in attributes.items()
        },
    )
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


def _give_up(record: SQSRecord, job: Job, exc: BaseException, attempts: int) -> None:
    reason = _dead_letter(record, job, exc, attempts)
    notification = (
        job.payload.get("notification_id") if job.kind in {"template", "subscribe_message"} else None
    )
    _, errcode, _ = _reason(exc)
    _mark_done(
        job,
        "failed",
        str(notification) if notification else None,
        str(errcode) if errcode is not None else reason,
    )


# --- the batch --------------------------------------------------------------------------------------------


def process_record(record: SQSRecord) -> None:
    attempts = int(record.attributes.approximate_receive_count or 1)
    try:
        job = Job.from_body(record.body)
    except (ValueError, KeyError, TypeError) as exc:
        _dead_letter(record, None, Undeliverable("malformed_job", errmsg=str(exc)), attempts)
        return
    completion = _completion(job)
    if completion is not None:
        if "count_notification" in completion:
            _finish_count(job, completion)
        metrics.add_metric(name="JobsRedelivered", unit="Count", value=1)
        return
    handler = HANDLERS.get(job.kind)
    try:
        if handler is None:
            raise Undeliverable("unknown_kind", errmsg=f"no sender for job kind {job.kind!r}")
        done = handler(job)
    except Exception as exc:
        if _permanent(exc) or attempts >= settings().sender_max_attempts:
            _give_up(record, job, exc, attempts)
            return
        logger.info(
            "outbox job will be retried",
            extra={"kind": job.kind, "app": job.app, "reason": _reason(exc)[0], "attempts": attempts},
        )
        raise
    _mark_done(job, done.outcome, done.notification)
    metrics.add_metric(name="JobsDone", unit="Count", value=1)


def backoff_seconds(receive_count: int) -> int:
    return min(BACKOFF_MAX_SECONDS, BACKOFF_BASE_SECONDS * 2**receive_count)


def _back_off(event: Mapping[str, Any], response: Mapping[str, Any]) -> None:
    """Failed records (and those skipped behind them in their group) come back after a backoff."""
    failed = {item["itemIdentifier"] for item in response.get("batchItemFailures") or []}
    entries = [
        {
            "Id": str(index),
            "ReceiptHandle": record["receiptHandle"],
            "VisibilityTimeout": backoff_seconds(
                int(record["attributes"].get("ApproximateReceiveCount", "1"))
            ),
        }
        for index, record in enumerate(event["Records"])
        if record["messageId"] in failed
    ]
    for start in range(0, len(entries), 10):
        try:
            sqs().change_message_visibility_batch(
                QueueUrl=settings().outbox_queue_url, Entries=entries[start : start + 10]
            )
        except ClientError:
            logger.warning("could not set the retry backoff; the queue's visibility timeout applies")


def handle(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """One SQS batch from the outbox. FIFO order is kept per user: after a failure, the rest of that user's
    messages in the batch are failed unprocessed (skip_group_on_error), other users' messages go on."""
    processor = SqsFifoPartialProcessor(skip_group_on_error=True)
    # Report an all-failed batch like any other, so each record gets its backoff (not the 180 s timeout).
    processor.raise_on_entire_batch_failure = False
    response = dict(
        process_partial_response(
            event=event, record_handler=process_record, processor=processor, context=context
        )
    )
    _back_off(event, response)
    return response
