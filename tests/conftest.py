"""Shared fixtures: an embedded AWS (moto) provisioned from template.yaml, the development apps, cold containers."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from moto import mock_aws
from wxfunnel_tools.devapps import seed_apps
from wxfunnel_tools.template import provision

REGION = "us-east-1"


def cold_start() -> None:
    """Forget every per-container cache of the layer, as a new Lambda container would start without them."""
    for name, module in list(sys.modules.items()):
        if not (name == "wxfunnel" or name.startswith("wxfunnel.")):
            continue
        for value in list(vars(module).values()):
            clear = getattr(value, "cache_clear", None)
            if callable(clear):
                clear()
        reset = getattr(module, "_reset_container", None)
        if callable(reset):
            reset()


@dataclass
class Aws:
    dynamodb: Any
    sqs: Any
    ssm: Any
    env: dict[str, str]


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Aws]:
    """moto with the template's tables and queues and the development apps in SSM; environment set like Lambda's."""
    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        "POWERTOOLS_METRICS_NAMESPACE": "wxfunnel",
        "POWERTOOLS_DEV": "false",
    }.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    with mock_aws():
        dynamodb = boto3.client("dynamodb", region_name=REGION)
        sqs = boto3.client("sqs", region_name=REGION)
        ssm = boto3.client("ssm", region_name=REGION)
        env = provision(dynamodb, sqs)
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        seed_apps(ssm, env["APPS_PARAMETER_PREFIX"])
        cold_start()
        yield Aws(dynamodb=dynamodb, sqs=sqs, ssm=ssm, env=env)
    cold_start()


# --- WeChat pushes through the real callback handler -----------------------------------------------------------


@dataclass
class Reply:
    status: int
    body: bytes
    headers: dict[str, str]


class Callback:
    """POSTs signed (optionally encrypted) pushes to the real CallbackFunction handler, as API Gateway would."""

    def __init__(self) -> None:
        from wxfunnel_tools.template import load_handler

        self.handler = load_handler("CallbackFunction")
        self.verify_handler = load_handler("VerifyFunction")

    def invoke(self, event: dict[str, Any]) -> Reply:
        from wxfunnel_tools.apigw import response_body

        response = self.handler(event, lambda_context("CallbackFunction"))
        return Reply(response["statusCode"], response_body(response), _headers(response))

    def push(
        self, app: str, fields: dict[str, Any], *, fmt: str = "xml", mode: str = "plain", **kwargs: Any
    ) -> Reply:
        from wxfunnel_tools.devapps import DEV_APPS
        from wxfunnel_tools.pushes import callback_event, signed_push

        query, body = signed_push(DEV_APPS[app], fields, fmt=fmt, mode=mode, **kwargs)  # type: ignore[arg-type]
        return self.invoke(callback_event(app, query, body))

    def verify(self, event: dict[str, Any]) -> Reply:
        from wxfunnel_tools.apigw import response_body

        response = self.verify_handler(event, lambda_context("VerifyFunction"))
        return Reply(response["statusCode"], response_body(response), _headers(response))


def _headers(response: dict[str, Any]) -> dict[str, str]:
    headers = {k: v[-1] for k, v in (response.get("multiValueHeaders") or {}).items() if v}
    headers.update(response.get("headers") or {})
    return headers


class _Context:
    def __init__(self, name: str) -> None:
        import uuid

        self.function_name = name
        self.function_version = "$LATEST"
        self.invoked_function_arn = f"arn:aws:lambda:{REGION}:123456789012:function:{name}"
        self.memory_limit_in_mb = 512
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{name}"
        self.log_stream_name = "local"

    def get_remaining_time_in_millis(self) -> int:
        return 5000


def lambda_context(name: str) -> Any:
    return _Context(name)


@pytest.fixture
def callback(aws: Aws) -> Callback:
    return Callback()


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


@pytest.fixture
def wechat(aws: Aws, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A running WeChat sandbox (wxfunnel_tools.sandbox.Sandbox) with the development apps registered; the
    layer's WECHAT_API_BASE, WECHAT_API_BACKUP_BASE and WECHAT_MP_BASE point at it, in a cold container."""
    from wxfunnel_tools.sandbox import Sandbox

    sandbox = Sandbox.start()
    sandbox.register_dev_apps()
    monkeypatch.setenv("WECHAT_API_BASE", sandbox.api_base)
    monkeypatch.setenv("WECHAT_API_BACKUP_BASE", sandbox.api_base)
    monkeypatch.setenv("WECHAT_MP_BASE", sandbox.mp_base)
    cold_start()
    yield sandbox
    sandbox.stop()
    cold_start()


@pytest.fixture
def logs() -> Iterator[Any]:
    """The structured log lines the functions write (JSON, as CloudWatch would receive them)."""
    import io
    import logging

    from wxfunnel.observability import logger

    stream = io.StringIO()
    handlers = [h for h in logger.handlers if isinstance(h, logging.StreamHandler)]
    previous = [h.setStream(stream) for h in handlers]
    yield stream.getvalue
    for handler, old in zip(handlers, previous, strict=True):
        if old is not None:
            handler.setStream(old)
