"""POST /wechat/{app}: every message and event WeChat pushes, answered within its 5-second deadline.

One route, so the proxy event is read directly: Powertools' REST resolver would add ~50 ms of cold import and keeps
the current event in process-global state.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from wxfunnel.core.observability import logger, metrics
from wxfunnel.entry.intake import HttpResult, Rejected, proxy_response, receive, rejection


def _body(event: dict[str, Any]) -> bytes | None:
    raw = event.get("body") or ""
    if event.get("isBase64Encoded"):
        try:
            return base64.b64decode(raw, validate=True)
        except (binascii.Error, ValueError):
            return None
    return raw.encode("utf-8")


def _handle(event: dict[str, Any]) -> HttpResult:
    app_name = (event.get("pathParameters") or {}).get("app") or ""
    if event.get("httpMethod") != "POST":
        return rejection(Rejected(405, "method not allowed"), app_name)
    body = _body(event)
    if body is None:
        return rejection(Rejected(400, "body is not valid base64"), app_name)
    return receive(app_name, event.get("queryStringParameters") or {}, body)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return proxy_response(_handle(event))
