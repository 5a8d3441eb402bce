"""Admin API for QR codes and channels (AWS_IAM): create, list, read, image, and per-channel statistics."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.utilities.typing import LambdaContext

from wxfunnel.core.observability import logger, metrics
from wxfunnel.entry.admin import qrcodes, stats
from wxfunnel.entry.admin.http import json_object, json_response, register_error_handlers

app = APIGatewayRestResolver()
register_error_handlers(app)


def _query() -> dict[str, str]:
    return dict(app.current_event.query_string_parameters or {})


@app.post("/qrcodes")
def create_qrcode() -> Response[str]:
    record, created = qrcodes.create(json_object(app))
    return json_response(201 if created else 200, record)


@app.get("/qrcodes")
def list_qrcodes() -> Response[str]:
    return json_response(200, qrcodes.list_channels(_query()))


@app.get("/qrcodes/<app_name>/<scene>")
def get_qrcode(app_name: str, scene: str) -> Response[str]:
    return json_response(200, qrcodes.get(app_name, unquote(scene)))


@app.get("/qrcodes/<app_name>/<scene>/image")
def get_qrcode_image(app_name: str, scene: str) -> Response[bytes]:
    content, content_type = qrcodes.image(app_name, unquote(scene))
    return Response(
        status_code=200,
        content_type=content_type,
        body=content,
        headers={"Cache-Control": "private, max-age=300"},
    )


@app.get("/channels/<app_name>/stats")
def app_stats(app_name: str) -> Response[str]:
    return json_response(200, stats.app_stats(app_name, _query()))


@app.get("/channels/<app_name>/<scene>/stats")
def channel_stats(app_name: str, scene: str) -> Response[str]:
    return json_response(200, stats.channel_stats(app_name, unquote(scene), _query()))


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
