"""Builds API Gateway REST (proxy integration) events, as API Gateway hands them to Lambda."""

from __future__ import annotations

import base64
import time
import uuid
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl


def proxy_event(
    method: str,
    resource: str,
    path: str,
    *,
    path_parameters: Mapping[str, str] | None = None,
    query: Mapping[str, str] | str | None = None,
    body: bytes | str | None = None,
    headers: Mapping[str, str] | None = None,
    stage: str = "v1",
    iam_user: str | None = None,
) -> dict[str, Any]:
    """One `AWS::Serverless::Api` proxy event; binary bodies are base64-encoded as API Gateway does."""
    if isinstance(query, str):
        query_map: dict[str, str] | None = dict(parse_qsl(query, keep_blank_values=True)) or None
    else:
        query_map = dict(query) if query else None
    is_base64 = False
    body_text: str | None
    if body is None:
        body_text = None
    elif isinstance(body, bytes):
        try:
            body_text = body.decode("utf-8")
        except UnicodeDecodeError:
            body_text = base64.b64encode(body).decode("ascii")
            is_base64 = True
    else:
        body_text = body
    all_headers = {"Host": "localhost", "User-Agent": "Mozilla/4.0", **(headers or {})}
    now = time.time()
    return {
        "resource": resource,
        "path": path,
        "httpMethod": method.upper(),
        "headers": all_headers,
        "multiValueHeaders": {k: [v] for k, v in all_headers.items()},
        "queryStringParameters": query_map,
        "multiValueQueryStringParameters": {k: [v] for k, v in query_map.items()} if query_map else None,
        "pathParameters": dict(path_parameters) if path_parameters else None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": resource,
            "httpMethod": method.upper(),
            "path": f"/{stage}{path}",
            "stage": stage,
            "requestId": str(uuid.uuid4()),
            "requestTimeEpoch": int(now * 1000),
            "accountId": "123456789012",
            "apiId": "local",
            "protocol": "HTTP/1.1",
            "identity": {
                "sourceIp": "127.0.0.1",
                "userAgent": all_headers["User-Agent"],
                "userArn": f"arn:aws:iam::123456789012:user/{iam_user}" if iam_user else None,
                "caller": iam_user,
                "accessKey": "AKIALOCAL" if iam_user else None,
            },
        },
        "body": body_text,
        "isBase64Encoded": is_base64,
    }


def response_headers(response: Mapping[str, Any]) -> dict[str, str]:
    """The headers of a Lambda proxy response (the last of each multi-value header, then the single ones)."""
    headers = {k: v[-1] for k, v in (response.get("multiValueHeaders") or {}).items() if v}
    headers.update(response.get("headers") or {})
    return headers


def response_body(response: Mapping[str, Any]) -> bytes:
    """The bytes of a Lambda proxy response body."""
    body = response.get("body") or ""
    if response.get("isBase64Encoded"):
        return base64.b64decode(body)
    return body.encode("utf-8") if isinstance(body, str) else bytes(body)
