"""The one place that turns admin-API errors into HTTP responses (docs/admin-api.md, "Errors").

Every admin function calls `register_error_handlers(app)` on its Powertools resolver; its routes then raise
admin errors (`entry.admin.errors`), configuration or WeChat errors and never shape error responses themselves.
Body: `{"error": {"code", "message", "field"}}`, plus `errcode`, `rid` and `retryable` for WeChat errors.
"""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.event_handler.exceptions import NotFoundError, ServiceError

from wxfunnel.client import errors as wechat
from wxfunnel.config.base import InvalidAppConfig, UnknownApp
from wxfunnel.core.observability import logger
from wxfunnel.entry.admin.errors import AdminError, BadRequest

JSON = "application/json"
_PERMANENT_QUOTA_USED_UP = 45029


def json_response(status: int, body: Any) -> Response[str]:
    return Response(status_code=status, content_type=JSON, body=json.dumps(body, ensure_ascii=False))


def error_response(
    status: int, code: str, message: str, field: str | None = None, **extra: Any
) -> Response[str]:
    return json_response(status, {"error": {"code": code, "message": message, "field": field, **extra}})


def json_object(app: APIGatewayRestResolver) -> dict[str, Any]:
    """The request body as a JSON object, or BadRequest (400) saying why it is not one."""
    try:
        body = app.current_event.json_body
    except json.JSONDecodeError as exc:
        raise BadRequest(
            f"the body is not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})"
        ) from None
    except (UnicodeDecodeError, ValueError):
        raise BadRequest("the body is not UTF-8 JSON") from None
    except RecursionError:
        raise BadRequest("the body is nested too deeply") from None
    if not isinstance(body, dict):
        raise BadRequest("the body must be a JSON object")
    return body


def _wechat_message(exc: wechat.WeChatError) -> str:
    """What an operator can do about a WeChat refusal (errmsg and its rid stay in it, for support)."""
    detail = f"errcode {exc.errcode}: {exc.errmsg}" if exc.errcode is not None else str(exc)
    if isinstance(exc, wechat.IpNotWhitelisted):
        return str(exc)
    if isinstance(exc, wechat.CredentialsInvalid):
        return (
            "WeChat refused this app's appid or secret: check the secret in the app's SSM parameter "
            f"(it changes when someone resets it in the WeChat console). ({detail})"
        )
    if isinstance(exc, wechat.ApiUnauthorized):
        return (
            "The account lacks the permission for this API: parametric QR codes need a verified service "
            f"account. ({detail})"
        )
    if isinstance(exc, wechat.RateLimited):
        return f"A WeChat API quota or rate limit was reached; try again later. ({detail})"
    if isinstance(exc, wechat.SystemBusy | wechat.WeChatUnavailable):
        return f"WeChat did not answer usefully; try again in a moment. ({detail})"
    return f"WeChat refused the request. ({detail})"


def register_error_handlers(app: APIGatewayRestResolver) -> None:
    """Map domain, configuration and WeChat errors (and anything unexpected) to JSON error responses."""

    @app.exception_handler(AdminError)
    def _admin_error(exc: AdminError) -> Response[str]:
        return error_response(exc.status, exc.code, exc.message, exc.field, **exc.details())

    @app.exception_handler(json.JSONDecodeError)
    def _malformed_json(exc: json.JSONDecodeError) -> Response[str]:
        return error_response(400, "bad_request", f"the body is not valid JSON ({exc.msg})")

    @app.exception_handler(UnknownApp)
    def _unknown_app(exc: UnknownApp) -> Response[str]:
        message = f"no app named '{exc}' is configured"
        return error_response(404, "not_found", message, "app", rule="unknown", params={})

    @app.exception_handler(InvalidAppConfig)
    def _invalid_app(exc: InvalidAppConfig) -> Response[str]:
        return error_response(500, "app_misconfigured", f"the app's configuration is unusable: {exc}")

    @app.exception_handler(wechat.WeChatError)
    def _wechat_error(exc: wechat.WeChatError) -> Response[str]:
        if isinstance(exc, wechat.InvalidArgument) and exc.errcode is None:
            return error_response(422, "validation_error", str(exc))  # refused locally, before any call
        logger.warning(
            "WeChat refused an admin request",
            extra={"errcode": exc.errcode, "rid": exc.rid, "error": type(exc).__name__},
        )
        extra: dict[str, Any] = {"errcode": exc.errcode, "rid": exc.rid, "retryable": exc.retryable}
        if exc.errcode == _PERMANENT_QUOTA_USED_UP:
            message = f"WeChat says this account's permanent QR codes are used up. ({exc.errmsg})"
            return error_response(409, "conflict", message, **extra)
        return error_response(502, "wechat_error", _wechat_message(exc), **extra)

    @app.exception_handler(NotFoundError)
    def _no_route(_: NotFoundError) -> Response[str]:
        return error_response(404, "not_found", "no such route")

    @app.exception_handler(ServiceError)
    def _service_error(exc: ServiceError) -> Response[str]:
        code = "bad_request" if exc.status_code < 500 else "error"
        return error_response(exc.status_code, code, str(exc.msg))

    @app.exception_handler(Exception)
    def _unexpected(exc: Exception) -> Response[str]:
        logger.exception("admin request failed unexpectedly", extra={"error": type(exc).__name__})
        return error_response(500, "internal_error", "internal error; see the function's logs")
