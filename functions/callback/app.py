"""POST /wechat/{app}: every message and event WeChat pushes, answered within its 5-second deadline."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.utilities.typing import LambdaContext

from wxfunnel.intake import Rejected, receive, rejection
from wxfunnel.observability import logger, metrics

app = APIGatewayRestResolver()


def _body() -> bytes | None:
    event = app.current_event
    raw = event.body or ""
    if event.is_base64_encoded:
        try:
            return base64.b64decode(raw, validate=True)
        except (binascii.Error, ValueError):
            return None
    return raw.encode("utf-8")


@app.post("/wechat/<app_name>")
def callback(app_name: str) -> Response[str]:
    body = _body()
    if body is None:
        result = rejection(Rejected(400, "body is not valid base64"), app_name)
    else:
        result = receive(app_name, app.current_event.query_string_parameters or {}, body)
    return Response(
        status_code=result.status, content_type=result.content_type, body=result.body.decode("utf-8")
    )


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
