"""Admin API for channels (AWS_IAM): QR codes (create, list, read, image, edit, disable, retire, history), statistics
(channels, the app, promoters, teams), promoters and the followers each channel, promoter or team brought."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import unquote

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.utilities.typing import LambdaContext

from wxfunnel.core.observability import logger, metrics
from wxfunnel.entry.admin import apps, followers, promoters, qrcodes, stats
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


@app.patch("/qrcodes/<app_name>/<scene>")
def update_qrcode(app_name: str, scene: str) -> Response[str]:
    return json_response(200, qrcodes.update(app_name, unquote(scene), json_object(app)))


@app.post("/qrcodes/<app_name>/<scene>/retire")
def retire_qrcode(app_name: str, scene: str) -> Response[str]:
    return json_response(200, qrcodes.retire(app_name, unquote(scene)))


@app.get("/qrcodes/<app_name>/<scene>/history")
def qrcode_history(app_name: str, scene: str) -> Response[str]:
    return json_response(200, qrcodes.history(app_name, unquote(scene)))


@app.get("/channels/<app_name>/stats")
def app_stats(app_name: str) -> Response[str]:
    return json_response(200, stats.app_stats(app_name, _query()))


@app.get("/channels/<app_name>/<scene>/stats")
def channel_stats(app_name: str, scene: str) -> Response[str]:
    return json_response(200, stats.channel_stats(app_name, unquote(scene), _query()))


@app.get("/apps")
def list_apps() -> Response[str]:
    return json_response(200, apps.list_apps())


@app.post("/promoters")
def create_promoter() -> Response[str]:
    return json_response(201, promoters.create(json_object(app)))


@app.get("/promoters")
def list_promoters() -> Response[str]:
    return json_response(200, promoters.list_promoters(_query()))


@app.get("/promoters/<app_name>/ranking")
def promoter_ranking(app_name: str) -> Response[str]:
    return json_response(200, promoters.ranking(app_name, _query()))


@app.get("/promoters/<app_name>/<promoter>")
def get_promoter(app_name: str, promoter: str) -> Response[str]:
    return json_response(200, promoters.get(app_name, promoter))


@app.patch("/promoters/<app_name>/<promoter>")
def update_promoter(app_name: str, promoter: str) -> Response[str]:
    return json_response(200, promoters.update(app_name, promoter, json_object(app)))


@app.get("/promoters/<app_name>/<promoter>/stats")
def promoter_stats(app_name: str, promoter: str) -> Response[str]:
    return json_response(200, promoters.stats_of(app_name, promoter, _query()))


@app.get("/promoters/<app_name>/<promoter>/funnel")
def promoter_funnel(app_name: str, promoter: str) -> Response[str]:
    return json_response(200, promoters.funnel_of(app_name, promoter, _query()))


@app.get("/teams/<app_name>/<team>/stats")
def team_stats(app_name: str, team: str) -> Response[str]:
    return json_response(200, promoters.team_stats(app_name, unquote(team), _query()))


@app.get("/followers")
def list_followers() -> Response[str]:
    return json_response(200, followers.list_followers(_query()))


@app.get("/followers/export")
def export_followers() -> Response[Any]:
    deadline = time.monotonic() + app.lambda_context.get_remaining_time_in_millis() / 1000
    body, details = followers.export(_query(), deadline)
    if body is None:
        return json_response(200, details)
    return Response(
        status_code=200, content_type="text/csv; charset=utf-8", body=body.decode("utf-8"), headers=details
    )


@app.post("/followers/exports")
def start_followers_export() -> Response[str]:
    return json_response(202, followers.start_export(_query()))


@app.get("/followers/exports/<export_id>")
def followers_export_status(export_id: str) -> Response[str]:
    return json_response(200, followers.export_status(export_id, _query()))


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
