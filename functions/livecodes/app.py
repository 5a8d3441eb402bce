"""Admin API for live codes, campaigns, funnels, welcome sequences and batches (AWS_IAM)."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.utilities.typing import LambdaContext

from wxfunnel.core.observability import logger, metrics
from wxfunnel.entry.admin import batch, campaigns, livecodes, welcome
from wxfunnel.entry.admin.errors import BadRequest
from wxfunnel.entry.admin.http import json_object, json_response, register_error_handlers

app = APIGatewayRestResolver()
register_error_handlers(app)


def _query() -> dict[str, str]:
    return dict(app.current_event.query_string_parameters or {})


def _base() -> str:
    return livecodes.public_base(app.current_event.raw_event)


def _download(content: bytes, content_type: str, name: str) -> Response[Any]:
    # An SVG is text: as bytes it would be base64 that API Gateway decodes only for a binary Accept type.
    body: bytes | str = content.decode("utf-8") if content_type == "image/svg+xml" else content
    return Response(
        status_code=200,
        content_type=content_type,
        body=body,
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "private, max-age=300",
        },
    )


# --- live codes -----------------------------------------------------------------------------------------------


@app.post("/livecodes")
def create_livecode() -> Response[str]:
    record, created = livecodes.create(json_object(app), _base())
    return json_response(201 if created else 200, record)


@app.get("/livecodes")
def list_livecodes() -> Response[str]:
    return json_response(200, livecodes.list_live(_query(), _base()))


@app.get("/livecodes/<app_name>/<code>")
def get_livecode(app_name: str, code: str) -> Response[str]:
    return json_response(200, livecodes.get(app_name, unquote(code), _base()))


@app.put("/livecodes/<app_name>/<code>")
def update_livecode(app_name: str, code: str) -> Response[str]:
    return json_response(200, livecodes.update(app_name, unquote(code), json_object(app), _base()))


@app.get("/livecodes/<app_name>/<code>/qr")
def livecode_print_file(app_name: str, code: str) -> Response[Any]:
    return _download(*livecodes.print_file(app_name, unquote(code), _query(), _base()))


@app.post("/archives")
def print_archive() -> Response[Any]:
    return _download(livecodes.archive(json_object(app), _base()), "application/zip", "livecodes.zip")


# --- campaigns and funnels ----------------------------------------------------------------------------------------


@app.post("/campaigns")
def create_campaign() -> Response[str]:
    record, created = campaigns.create(json_object(app))
    return json_response(201 if created else 200, record)


@app.get("/campaigns")
def list_campaigns() -> Response[str]:
    return json_response(200, campaigns.list_campaigns(_query()))


@app.get("/campaigns/<app_name>/<campaign>")
def get_campaign(app_name: str, campaign: str) -> Response[str]:
    return json_response(200, campaigns.get(app_name, unquote(campaign)))


@app.put("/campaigns/<app_name>/<campaign>")
def update_campaign(app_name: str, campaign: str) -> Response[str]:
    return json_response(200, campaigns.update(app_name, unquote(campaign), json_object(app)))


@app.get("/campaigns/<app_name>/<campaign>/funnel")
def campaign_funnel(app_name: str, campaign: str) -> Response[str]:
    return json_response(200, campaigns.campaign_funnel(app_name, unquote(campaign), _query()))


@app.get("/channels/<app_name>/<scene>/funnel")
def channel_funnel(app_name: str, scene: str) -> Response[str]:
    return json_response(200, campaigns.channel_funnel(app_name, unquote(scene), _query()))


@app.put("/channels/<app_name>/<scene>/campaign")
def channel_campaign(app_name: str, scene: str) -> Response[str]:
    return json_response(200, campaigns.set_channel_campaign(app_name, unquote(scene), json_object(app)))


# --- welcome sequences and batches --------------------------------------------------------------------------------


@app.get("/channels/<app_name>/<scene>/welcome")
def get_welcome(app_name: str, scene: str) -> Response[str]:
    return json_response(200, welcome.get(app_name, unquote(scene)))


@app.put("/channels/<app_name>/<scene>/welcome")
def put_welcome(app_name: str, scene: str) -> Response[str]:
    return json_response(200, welcome.put(app_name, unquote(scene), json_object(app)))


@app.post("/batches")
def create_batch() -> Response[str]:
    content_type = (app.current_event.headers.get("Content-Type") or "").split(";")[0].strip().lower()
    if content_type == "text/csv":
        try:
            text = app.current_event.decoded_body or ""
        except (UnicodeDecodeError, ValueError):
            raise BadRequest("the CSV is not UTF-8") from None
        request = batch.parse_csv(text, _query())
    else:
        request = batch.parse_json(json_object(app))
    return json_response(200, batch.run(request, _base()))


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
