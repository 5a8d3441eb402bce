"""Test support shared by every test folder: cold containers, the real handlers, API-Gateway-shaped calls.

Lives in the tools package (not a conftest) so tests in any folder import it by one unambiguous name.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TextIO

from wxfunnel_tools.apigw import proxy_event, response_body, response_headers
from wxfunnel_tools.devapps import DEV_APPS
from wxfunnel_tools.pushes import callback_event, signed_push
from wxfunnel_tools.template import cold_start, function, load_handler

__all__ = [
    "REGION",
    "Aws",
    "Callback",
    "Reply",
    "cold_start",
    "lambda_context",
    "layer_logs_to",
    "table_items",
]

REGION = "us-east-1"


@dataclass
class Aws:
    dynamodb: Any
    sqs: Any
    ssm: Any
    env: dict[str, str]


@dataclass
class Reply:
    status: int
    body: bytes
    headers: dict[str, str]


class Callback:
    """POSTs signed (optionally encrypted) pushes to the real CallbackFunction handler, as API Gateway would."""

    def __init__(self) -> None:

        self.handler = load_handler("CallbackFunction")
        self.verify_handler = load_handler("VerifyFunction")

    def invoke(self, event: dict[str, Any]) -> Reply:
        response = self.handler(event, lambda_context("CallbackFunction"))
        return Reply(response["statusCode"], response_body(response), response_headers(response))

    def push(
        self, app: str, fields: dict[str, Any], *, fmt: str = "xml", mode: str = "plain", **kwargs: Any
    ) -> Reply:
        query, body = signed_push(DEV_APPS[app], fields, fmt=fmt, mode=mode, **kwargs)  # type: ignore[arg-type]
        return self.invoke(callback_event(app, query, body))

    def verify(self, event: dict[str, Any]) -> Reply:
        response = self.verify_handler(event, lambda_context("VerifyFunction"))
        return Reply(response["statusCode"], response_body(response), response_headers(response))


class _Context:
    """A Lambda context whose remaining time counts down from the function's Timeout in template.yaml."""

    def __init__(self, name: str) -> None:
        self.function_name = name
        self.function_version = "$LATEST"
        self.invoked_function_arn = f"arn:aws:lambda:{REGION}:123456789012:function:{name}"
        self.memory_limit_in_mb = 512
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{name}"
        self.log_stream_name = "local"
        self._deadline = time.monotonic() + function(name).timeout

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def lambda_context(name: str) -> Any:
    return _Context(name)


def admin_call(
    handler: Any,
    function_name: str,
    method: str,
    resource: str,
    path: str,
    *,
    body: Any = None,
    params: dict[str, str] | None = None,
    query: dict[str, str] | None = None,
    content_type: str = "application/json",
) -> tuple[int, Any, dict[str, Any]]:
    """An admin route called as API Gateway calls it for a SigV4-signed operator → (status, the JSON answer parsed
    or the body's bytes, the whole response). `body`: a string as it is, anything else as JSON."""
    raw = body if isinstance(body, str) or body is None else json.dumps(body)
    event = proxy_event(
        method,
        resource,
        path,
        path_parameters=params,
        query=query,
        body=raw,
        headers={"Content-Type": content_type},
        iam_user="operator",
    )
    response = handler(event, lambda_context(function_name))
    data = response_body(response)
    if response_headers(response).get("Content-Type", "").startswith("application/json"):
        return response["statusCode"], json.loads(data), response
    return response["statusCode"], data, response


def table_items(aws: Aws, env_name: str) -> list[dict[str, Any]]:
    """Every item of a table (low-level form), to assert exactly what was written."""
    items: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"TableName": aws.env[env_name]}
    while True:
        page = aws.dynamodb.scan(**kwargs)
        items.extend(page["Items"])
        if "LastEvaluatedKey" not in page:
            return items
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


# --- The local WeChat API sandbox ---------------------------------------------------------------------------


@contextmanager
def layer_logs_to(stream: TextIO) -> Iterator[None]:
    """The layer's log lines written to `stream` for the duration. Swapped without StreamHandler.setStream, which
    flushes the old stream: the logger may have been created during an earlier test whose captured stdout pytest
    has closed since (flushing it raises)."""
    from wxfunnel.core.observability import logger

    handlers = [h for h in logger.handlers if isinstance(h, logging.StreamHandler)]
    previous = [handler.stream for handler in handlers]
    for handler in handlers:
        handler.stream = stream
    try:
        yield
    finally:
        for handler, old in zip(handlers, previous, strict=True):
            handler.stream = old
