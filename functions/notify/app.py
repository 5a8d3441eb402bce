"""Admin API for reminders: POST /notifications starts a fan-out; GET /notifications/{id} reports on it."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.utilities.typing import LambdaContext

from wxfunnel.core.observability import logger, metrics
from wxfunnel.entry.admin import notifications
from wxfunnel.entry.admin.http import json_object, json_response, register_error_handlers

app = APIGatewayRestResolver()
register_error_handlers(app)


@app.post("/notifications")
def create_notification() -> Response[str]:
    view, created = notifications.create(json_object(app))
    return json_response(202, {**view, "reused": not created})


@app.get("/notifications/<notification_id>")
def get_notification(notification_id: str) -> Response[str]:
    return json_response(200, notifications.get(notification_id))


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
