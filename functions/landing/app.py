"""GET /l/{app}/{code}: the public landing page of a live code (HTML for WeChat's browser, no AWS auth).

One route, so the proxy event is read directly (see functions/callback/app.py for why); the page renders without
the WeChat client, which loads only on the visit that renews a code.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from wxfunnel.core.observability import logger, metrics
from wxfunnel.entry.landing import handle


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return handle(event)
