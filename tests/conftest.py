"""Shared fixtures: an embedded AWS (moto) provisioned from template.yaml, the development apps, cold containers."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from wxfunnel_tools.bench.environment import atomic_dynamodb
from wxfunnel_tools.devapps import seed_apps
from wxfunnel_tools.template import provision
from wxfunnel_tools.testing import REGION, Aws, Callback, cold_start


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--large", action="store_true", default=False, help="run the resilience suite at its large setting"
    )


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
    # DynamoDB applies each request atomically; moto does not under threads: serialise it like the real service.
    with mock_aws(), atomic_dynamodb():
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


@pytest.fixture
def callback(aws: Aws) -> Callback:
    return Callback()


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

    from wxfunnel_tools.testing import layer_logs_to

    stream = io.StringIO()
    with layer_logs_to(stream):
        yield stream.getvalue
