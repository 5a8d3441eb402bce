"""AWS clients, created lazily and once per container (boto3 honours AWS_ENDPOINT_URL for the local stack)."""

from __future__ import annotations

from functools import cache
from typing import Any

import boto3
from botocore.config import Config

_CONFIG = Config(retries={"mode": "standard", "max_attempts": 3}, connect_timeout=2, read_timeout=5)


@cache
def dynamodb() -> Any:
    return boto3.client("dynamodb", config=_CONFIG)


@cache
def sqs() -> Any:
    return boto3.client("sqs", config=_CONFIG)


@cache
def ssm() -> Any:
    return boto3.client("ssm", config=_CONFIG)


@cache
def s3() -> Any:
    return boto3.client("s3", config=_CONFIG)
