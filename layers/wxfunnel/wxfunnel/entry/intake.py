"""Intake of WeChat's calls to the callback URL: verification (GET) and pushes (POST), checked, de-duplicated, recorded.

Order of a push: size → app → query → replay window → parse → signature (plain) or msg_signature + AES (encrypted)
→ typed message → dispatch → outbox → one DynamoDB write → reply in the request's format and mode.
Hostile input ends in a 4xx `Rejected` before anything is written. Outbound work is enqueued (SQS FIFO,
de-duplicated by the delivery key) *before* the DynamoDB write that marks the delivery done, so a crash in between
is healed by WeChat's retry without sending anything twice; a delivery already marked done enqueues nothing
(entry.delivery reads the record first whenever there is work to enqueue).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from wxfunnel.config.app import AppConfig
from wxfunnel.config.base import InvalidAppConfig, UnknownApp
from wxfunnel.config.loader import load_app
from wxfunnel.core.observability import logger, metrics
from wxfunnel.core.settings import settings
from wxfunnel.entry import delivery
from wxfunnel.protocol import crypto
from wxfunnel.protocol.documents import (
    SUCCESS,
    BodyFormat,
    MalformedBody,
    parse_document,
    read_envelope,
    render_envelope,
)
from wxfunnel.protocol.messages import Message, parse_message


@dataclass(frozen=True, slots=True)
class HttpResult:
    """The HTTP answer to WeChat."""

    status: int
    body: bytes
    content_type: str = "text/plain; charset=utf-8"


def proxy_response(result: HttpResult) -> dict[str, Any]:
    """The API Gateway (REST, proxy integration) response for a result; bodies are UTF-8 text."""
    return {
        "statusCode": result.status,
        "headers": {"Content-Type": result.content_type},
        "body": result.body.decode("utf-8", errors="replace"),
        "isBase64Encoded": False,
    }


class Rejected(Exception):
    """A request refused with a 4xx; `reason` is logged (it never contains secrets or message bodies)."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


_PUBLIC_TEXT = {
    400: "bad request",
    403: "forbidden",
    404: "not found",
    413: "payload too large",
    500: "server misconfigured",
}


def rejection(exc: Rejected, app_name: str) -> HttpResult:
    logger.warning(
        "wechat request rejected", extra={"app": app_name, "status": exc.status, "reason": exc.reason}
    )
    metrics.add_metric(name="RejectedRequests", unit="Count", value=1)
    return HttpResult(exc.status, _PUBLIC_TEXT.get(exc.status, "rejected").encode())


@cache
def _crypto(token: str, appid: str, key: str, previous: str | None) -> crypto.MessageCrypto:
    return crypto.MessageCrypto(token, appid, key, previous)


def message_crypto(app: AppConfig) -> crypto.MessageCrypto | None:
    if not app.encoding_aes_key:
        return None
    return _crypto(app.token, app.appid, app.encoding_aes_key, app.previous_encoding_aes_key)


def _param(query: Mapping[str, str], name: str, limit: int = 128) -> str:
    value = query.get(name)
    if not value:
        raise Rejected(400, f"missing query parameter '{name}'")
    if len(value) > limit:
        raise Rejected(400, f"query parameter '{name}' is too long")
    return value


def _check_timestamp(timestamp: str, now: int) -> None:
    if not (timestamp.isascii() and timestamp.isdigit()) or len(timestamp) > 12:
        raise Rejected(400, "timestamp is not a number")
    if abs(now - int(timestamp)) > settings().replay_window_seconds:
        raise Rejected(403, "timestamp outside the replay window")


# WeChat stamps CreateTime when the user acts and delivers within seconds; a day either way leaves room for
# clock skew and late deliveries. Anything further would poison the follower's status ordering (a far-future
# follow outranks every later push) and the day of the statistics, so no later code sees it.
_CREATE_TIME_SKEW_SECONDS = 86_400


def _check_create_time(create_time: int, now: int) -> None:
    if abs(now - create_time) > _CREATE_TIME_SKEW_SECONDS:
        raise Rejected(400, "CreateTime is more than a day away from now")


def _app(app_name: str) -> AppConfig:
    try:
        return load_app(app_name)
    except UnknownApp:
        raise Rejected(404, "unknown app") from None
    except InvalidAppConfig as exc:
        # The operator's mistake, not the caller's: 500 so WeChat retries once it is fixed; the reason is logged.
        raise Rejected(500, f"invalid app configuration: {exc}") from None


def verify_url(app_name: str, query: Mapping[str, str]) -> HttpResult:
    """GET: WeChat's URL verification. Echo `echostr` only when the signature is right."""
    try:
        signature = _param(query, "signature")
        timestamp = _param(query, "timestamp")
        nonce = _param(query, "nonce")
        echostr = _param(query, "echostr", limit=512)
        app = _app(app_name)
        if not crypto.signature_matches((app.token, timestamp, nonce), signature):
            raise Rejected(403, "signature mismatch")
    except Rejected as exc:
        return rejection(exc, app_name)
    return HttpResult(200, echostr.encode("utf-8"))


@dataclass(frozen=True, slots=True)
class _Opened:
    """A push opened: its typed message, its format, and which key (if any) decrypted it."""

    message: Message
    fmt: BodyFormat
    encrypted: bool
    key_index: int


def _open(app: AppConfig, query: Mapping[str, str], body: bytes, now: int) -> _Opened:
    timestamp = _param(query, "timestamp")
    nonce = _param(query, "nonce")
    _check_timestamp(timestamp, now)
    try:
        fmt, document = parse_document(body)
        envelope = read_envelope(document)
    except MalformedBody as exc:
        raise Rejected(400, f"malformed body: {exc}") from None
    encrypted = query.get("encrypt_type") == "aes" or (envelope is not None and "MsgType" not in document)
    key_index = 0
    if encrypted:
        if envelope is None:
            raise Rejected(400, "encrypted mode without an Encrypt field")
        box = message_crypto(app)
        if box is None:
            raise Rejected(400, "encrypted push but the app has no encoding_aes_key")
        msg_signature = _param(query, "msg_signature")
        try:
            opened = box.verify_and_decrypt(envelope.encrypt, msg_signature, timestamp, nonce)
        except crypto.SignatureMismatch:
            raise Rejected(403, "msg_signature mismatch") from None
        except crypto.AppIdMismatch:
            raise Rejected(403, "decrypted appid does not match the app") from None
        except crypto.CryptoError as exc:
            raise Rejected(400, f"cannot decrypt ({exc.code})") from None
        key_index = opened.key_index
        try:
            inner_fmt, document = parse_document(opened.plaintext)
        except MalformedBody as exc:
            raise Rejected(400, f"malformed decrypted body: {exc}") from None
        if inner_fmt is not fmt:
            raise Rejected(400, "decrypted body is not in the envelope's format")
    else:
        if app.requires_encryption:
            raise Rejected(403, f"plaintext push refused: the app is in {app.message_mode} mode")
        signature = _param(query, "signature")
        if not crypto.signature_matches((app.token, timestamp, nonce), signature):
            raise Rejected(403, "signature mismatch")
    try:
        message = parse_message(document)
    except MalformedBody as exc:
        raise Rejected(400, f"malformed message: {exc}") from None
    _check_create_time(message.create_time, now)
    openid = query.get("openid")
    if openid and openid != message.openid:
        raise Rejected(400, "openid query parameter does not match FromUserName")
    if app.original_id and message.to_user != app.original_id:
        raise Rejected(400, "ToUserName is not this app's original id")
    return _Opened(message, fmt, encrypted, key_index)


def receive(app_name: str, query: Mapping[str, str], body: bytes, now: int | None = None) -> HttpResult:
    """POST: one push from WeChat. Answers its passive reply (or `success`) in the request's format and mode."""
    now = int(time.time()) if now is None else now
    try:
        if len(body) > settings().max_body_bytes:
            raise Rejected(413, "body larger than the limit")
        if not body:
            raise Rejected(400, "empty body")
        app = _app(app_name)
        opened = _open(app, query, body, now)
    except Rejected as exc:
        return rejection(exc, app_name)
    message = opened.message
    outcome = delivery.process(app, message, opened.fmt, now)
    metrics.add_metric(name="DuplicateDeliveries" if outcome.duplicate else "Pushes", unit="Count", value=1)
    logger.info(
        "push processed",
        extra={
            "app": app_name,
            "msg_type": message.msg_type,
            "event": getattr(message, "event", None),
            "duplicate": outcome.duplicate,
            "encrypted": opened.encrypted,
            "reply": outcome.reply is not None,
        },
    )
    if outcome.reply is None:
        return HttpResult(200, SUCCESS)
    content_type = "application/json" if opened.fmt is BodyFormat.JSON else "application/xml"
    if not opened.encrypted:
        return HttpResult(200, outcome.reply, content_type)
    box = message_crypto(app)
    assert box is not None  # an encrypted request was opened with it
    envelope = box.encrypt(outcome.reply, str(now), query["nonce"], key_index=opened.key_index)
    return HttpResult(200, render_envelope(envelope, opened.fmt), content_type)
