"""The embedded DynamoDB (moto inside `atomic_dynamodb()`) applies and answers one request at a time, as DynamoDB does."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import boto3
import moto.dynamodb.responses as moto_responses
import pytest
from moto import mock_aws

from wxfunnel_tools.moto_dynamodb import atomic_dynamodb
from wxfunnel_tools.testing import REGION

TABLE = "atomic-check"


@pytest.fixture
def dynamodb(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.setenv(key, "testing")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws(), atomic_dynamodb():
        client = boto3.client("dynamodb", region_name=REGION)
        client.create_table(
            TableName=TABLE,
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        client.put_item(TableName=TABLE, Item={"pk": {"S": "k"}, "n": {"N": "0"}})
        yield client


def test_a_write_waits_until_a_concurrent_read_has_been_answered(
    dynamodb: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """moto's get_item hands back the stored item and serialises it after the operation: a write that slipped in
    between changed the item mid-iteration (a RuntimeError seen in CI under a wave of 50 threads)."""
    serialising, written = threading.Event(), threading.Event()
    order: list[str] = []
    original = moto_responses.dynamo_to_dict

    def slow_serialisation(obj: Any) -> Any:
        if isinstance(obj, dict) and "Item" in obj and not serialising.is_set():
            serialising.set()
            written.wait(timeout=0.5)  # with the lock held, the write cannot happen meanwhile
            order.append("read answered")
        return original(obj)

    monkeypatch.setattr(moto_responses, "dynamo_to_dict", slow_serialisation)

    def write() -> None:
        serialising.wait(timeout=10)
        dynamodb.update_item(
            TableName=TABLE,
            Key={"pk": {"S": "k"}},
            UpdateExpression="SET extra = :v",
            ExpressionAttributeValues={":v": {"S": "new"}},
        )
        order.append("write applied")
        written.set()

    writer = threading.Thread(target=write)
    writer.start()
    item = dynamodb.get_item(TableName=TABLE, Key={"pk": {"S": "k"}})["Item"]
    writer.join(timeout=10)

    assert order == ["read answered", "write applied"]
    assert item == {"pk": {"S": "k"}, "n": {"N": "0"}}
