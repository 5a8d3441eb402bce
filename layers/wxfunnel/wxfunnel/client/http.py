"""HTTP core of the WeChat client: one session per container, timeouts, base-URL failover, errcode decoding.

Failover: the primary base (WECHAT_API_BASE) is tried first, WECHAT_API_BACKUP_BASE only when a connection
to the primary *cannot be made* (refused, DNS failure, connect timeout). A connection dropped after the
request was sent, a read timeout or an HTTP 5xx is not failed over: the request may have been executed (a
message sent twice is worse than a retried job), so it surfaces as WeChatUnavailable for the caller's retry.
After a failed connect the container prefers the backup for PRIMARY_RETRY_AFTER seconds, so that calls do not
each pay the connect timeout again.

Nothing here logs a token or a secret: URLs are logged by path only, and exception texts from requests/urllib3
(which embed the full URL with its query string) are redacted and never chained.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Mapping
from functools import cache
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import ConnectTimeoutError, MaxRetryError, NewConnectionError

from wxfunnel.client.errors import QrTicketNotFound, WeChatError, WeChatUnavailable, from_response
from wxfunnel.core.observability import logger
from wxfunnel.core.settings import settings

TIMEOUTS: tuple[float, float] = (2.0, 5.0)  # (connect, read) seconds
PRIMARY_RETRY_AFTER = 60.0
_SECRET_QUERY = re.compile(r"((?:access_token|secret)=)[^&\s'\"]*", re.IGNORECASE)
_state: dict[str, float] = {"primary_down_until": 0.0}

Files = Mapping[str, tuple[str, bytes, str]]


def _reset_container() -> None:
    _state["primary_down_until"] = 0.0


@cache
def session() -> requests.Session:
    """The container's HTTP session (keep-alive connections to WeChat are reused across invocations)."""
    http = requests.Session()
    adapter = HTTPAdapter(pool_connections=4, pool_maxsize=64, max_retries=0)
    http.mount("http://", adapter)
    http.mount("https://", adapter)
    http.headers["User-Agent"] = "wxfunnel"
    return http


def redact(text: str) -> str:
    """`text` with the values of access_token= and secret= query parameters replaced by ***."""
    return _SECRET_QUERY.sub(r"\1***", text)


def api_bases() -> list[str]:
    """The API bases in the order to try them now."""
    primary, backup = settings().wechat_api_base, settings().wechat_api_backup_base
    if not backup or backup == primary:
        return [primary]
    if time.monotonic() < _state["primary_down_until"]:
        return [backup, primary]
    return [primary, backup]


def _could_not_connect(exc: requests.ConnectionError) -> bool:
    if isinstance(exc, requests.ConnectTimeout):
        return True
    reason: object = exc.args[0] if exc.args else None
    if isinstance(reason, MaxRetryError):
        reason = reason.reason
    return isinstance(reason, NewConnectionError | ConnectTimeoutError)


def send(
    method: str,
    path: str,
    *,
    access_token: str | None = None,
    params: Mapping[str, str] | None = None,
    json_body: Mapping[str, Any] | None = None,
    files: Files | None = None,
) -> requests.Response:
    """One request to the WeChat API at `path`, failing over between bases when no connection can be made."""
    query = dict(params or {})
    if access_token is not None:
        query["access_token"] = access_token
    data: bytes | None = None
    headers: dict[str, str] = {}
    if json_body is not None:
        # WeChat shows \\uXXXX escapes literally in some message types: send real UTF-8.
        data = json.dumps(json_body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        headers["Content-Type"] = "application/json; charset=utf-8"
    primary = settings().wechat_api_base
    bases = api_bases()
    for base in bases:
        try:
            response = session().request(
                method, base + path, params=query, data=data, files=files, headers=headers, timeout=TIMEOUTS
            )
        except requests.ConnectionError as exc:
            if not _could_not_connect(exc):
                logger.warning("WeChat API connection lost", extra={"path": path, "base": base})
                raise WeChatUnavailable(f"{path}: connection to {base} lost before an answer") from None
            logger.warning("WeChat API base unreachable, trying the next", extra={"path": path, "base": base})
            if base == primary:
                _state["primary_down_until"] = time.monotonic() + PRIMARY_RETRY_AFTER
            continue
        except requests.Timeout:
            logger.warning("WeChat API timed out", extra={"path": path, "base": base})
            raise WeChatUnavailable(f"{path}: no answer from {base} within {TIMEOUTS[1]} s") from None
        except requests.RequestException as exc:
            raise WeChatUnavailable(f"{path}: {redact(str(exc))}") from None
        if base == primary:
            _state["primary_down_until"] = 0.0
        return response
    raise WeChatUnavailable(f"{path}: no WeChat API base could be reached ({', '.join(bases)})")


def call(
    method: str,
    path: str,
    *,
    access_token: str | None = None,
    params: Mapping[str, str] | None = None,
    json_body: Mapping[str, Any] | None = None,
    files: Files | None = None,
) -> dict[str, Any]:
    """The decoded JSON answer of a WeChat API call; a non-zero errcode raises its typed WeChatError."""
    response = send(method, path, access_token=access_token, params=params, json_body=json_body, files=files)
    if response.status_code >= 500:
        logger.warning("WeChat API HTTP error", extra={"path": path, "status": response.status_code})
        raise WeChatUnavailable(f"{path}: HTTP {response.status_code}")
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        logger.warning("WeChat API answer is not JSON", extra={"path": path, "status": response.status_code})
        if response.status_code >= 400:
            raise WeChatError(f"{path}: HTTP {response.status_code}")
        raise WeChatUnavailable(f"{path}: HTTP {response.status_code} without a JSON object")
    try:
        errcode = int(body.get("errcode") or 0)
    except (TypeError, ValueError):
        raise WeChatUnavailable(f"{path}: errcode {body.get('errcode')!r} is not a number") from None
    if errcode != 0:
        error = from_response(errcode, str(body.get("errmsg", "")))
        logger.warning(
            "WeChat API error",
            extra={
                "path": path,
                "errcode": errcode,
                "errmsg": error.errmsg,
                "rid": error.rid,
                "error": type(error).__name__,
                "retryable": error.retryable,
            },
        )
        raise error
    return body


def get_image(url: str) -> tuple[bytes, str]:
    """GET an image (showqrcode) from `url` → (bytes, content type); 404 raises QrTicketNotFound."""
    try:
        response = session().get(url, timeout=TIMEOUTS)
    except requests.RequestException as exc:
        logger.warning("WeChat image host failed", extra={"error": type(exc).__name__})
        raise WeChatUnavailable(f"image host: {type(exc).__name__}") from None
    if response.status_code == 404:
        raise QrTicketNotFound("showqrcode does not know this ticket (wrong or expired)")
    if response.status_code >= 500:
        raise WeChatUnavailable(f"image host: HTTP {response.status_code}")
    if response.status_code != 200:
        raise WeChatError(f"image host: HTTP {response.status_code}")
    content_type = response.headers.get("Content-Type", "image/jpeg").split(";")[0].strip().lower()
    if content_type == "image/jpg":  # what WeChat sends; the registered media type is image/jpeg
        content_type = "image/jpeg"
    if not content_type.startswith("image/"):
        raise QrTicketNotFound(f"showqrcode answered {content_type}, not an image")
    return response.content, content_type
