"""An in-process AWS (moto) shaped like template.yaml with the development apps, set up as a Lambda container."""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from wxfunnel_tools.moto_dynamodb import atomic_dynamodb
from wxfunnel_tools.template import cold_start

REGION = "us-east-1"
FAKE_AWS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
    "POWERTOOLS_LOG_LEVEL": "INFO",
}


@contextlib.contextmanager
def environment(values: dict[str, str]) -> Iterator[None]:
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@contextlib.contextmanager
def quiet_logs() -> Iterator[None]:
    """Logs and EMF metrics still get formatted and written (that cost is real), to /dev/null."""
    from wxfunnel.core.observability import logger

    sink = open(os.devnull, "w")  # noqa: SIM115
    handlers = [h for h in logger.handlers if isinstance(h, logging.StreamHandler)]
    previous = [h.setStream(sink) for h in handlers]
    try:
        with contextlib.redirect_stdout(sink):
            yield
    finally:
        for handler, old in zip(handlers, previous, strict=True):
            if old is not None:
                handler.setStream(old)
        sink.close()


def product_apps() -> dict[str, dict[str, Any]]:
    """The demo apps (devapps.DEMO_RULES) plus what the benchmarks and the resilience suite also exercise: tagging
    followers by channel and a prefix keyword."""
    from wxfunnel_tools.devapps import DEMO_MP, DEMO_OA, demo_apps

    apps = demo_apps()
    apps[DEMO_OA] = {**apps[DEMO_OA], "tag_followers_by_channel": True}
    help_keyword = {
        "match": "prefix",
        "pattern": "help",
        "reply": {"type": "text", "content": "how can we help?"},
    }
    apps[DEMO_MP] = {**apps[DEMO_MP], "keywords": [*apps[DEMO_MP]["keywords"], help_keyword]}
    return apps


@dataclass
class Moto:
    dynamodb: Any
    sqs: Any
    ssm: Any
    env: dict[str, str]


@contextlib.contextmanager
def embedded_aws(
    extra_env: dict[str, str] | None = None, apps: dict[str, dict[str, Any]] | None = None
) -> Iterator[Moto]:
    """moto (in-process, atomic per request) with the template's tables and queues, the dev apps in SSM, env set like
    Lambda's."""
    import boto3
    from moto import mock_aws

    from wxfunnel_tools.devapps import seed_apps
    from wxfunnel_tools.template import provision

    hidden = {key: os.environ.pop(key) for key in ("AWS_ENDPOINT_URL", "AWS_PROFILE") if key in os.environ}
    try:
        with environment(FAKE_AWS), mock_aws(), atomic_dynamodb():
            dynamodb = boto3.client("dynamodb", region_name=REGION)
            sqs = boto3.client("sqs", region_name=REGION)
            ssm = boto3.client("ssm", region_name=REGION)
            env = provision(dynamodb, sqs)
            seed_apps(ssm, env["APPS_PARAMETER_PREFIX"], apps or product_apps())
            with environment({**env, **(extra_env or {})}):
                cold_start()
                try:
                    yield Moto(dynamodb, sqs, ssm, env)
                finally:
                    cold_start()
    finally:
        os.environ.update(hidden)
