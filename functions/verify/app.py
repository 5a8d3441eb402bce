"""GET /wechat/{app}: WeChat's callback URL verification (echo `echostr` only for a correct signature)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.utilities.typing import LambdaContext

from wxfunnel.intake import verify_url
from wxfunnel.observability import logger

app = APIGatewayRestResolver()


@app.get("/wechat/<app_name>")
def verify(app_name: str) -> Response[str]:
    result = verify_url(app_name, app.current_event.query_string_parameters or {})
    return Response(
        status_code=result.status, content_type=result.content_type, body=result.body.decode("utf-8")
    )


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
