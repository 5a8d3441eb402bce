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
