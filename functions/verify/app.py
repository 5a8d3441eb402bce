"""GET /wechat/{app}: WeChat's callback URL verification (echo `echostr` only for a correct signature).

One route, so the proxy event is read directly (see functions/callback/app.py for why).
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from wxfunnel.core.observability import logger, metrics
from wxfunnel.entry.intake import Rejected, proxy_response, rejection, verify_url


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    app_name = (event.get("pathParameters") or {}).get("app") or ""
    if event.get("httpMethod") != "GET":
        return proxy_response(rejection(Rejected(405, "method not allowed"), app_name))
    return proxy_response(verify_url(app_name, event.get("queryStringParameters") or {}))
