"""Reminder fan-out consumer: each SQS record is one page of a scene's followers to turn into outbox jobs."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from wxfunnel.core.observability import logger, metrics
from wxfunnel.entry.fanout import handle


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return handle(event, context)
