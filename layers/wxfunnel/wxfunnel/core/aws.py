"""AWS clients, created lazily and once per container (boto3 honours AWS_ENDPOINT_URL for the local stack)."""

from __future__ import annotations

import threading
from functools import cache
from typing import Any

import boto3
from botocore.config import Config

_CONFIG = Config(retries={"mode": "standard", "max_attempts": 3}, connect_timeout=2, read_timeout=5)
# boto3's default session is not thread-safe: threads of one container (a batch's rows, concurrent renewals) that
# ask for their first client at once create it one after the other. A client, once made, is thread-safe.
_CREATING = threading.Lock()


def _client(service: str) -> Any:
    with _CREATING:
        return boto3.client(service, config=_CONFIG)  # type: ignore[call-overload]


@cache
def dynamodb() -> Any:
    return _client("dynamodb")


@cache
def sqs() -> Any:
    return _client("sqs")


@cache
def ssm() -> Any:
    return _client("ssm")


@cache
def s3() -> Any:
    return _client("s3")
