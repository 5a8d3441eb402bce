"""DynamoDB round trips per push: the cost model of the intake, counted on the real client."""

from __future__ import annotations

import time
from collections import Counter

import pytest

from wxfunnel.core.aws import dynamodb
from wxfunnel_tools.devapps import DEV_APPS
from wxfunnel_tools.pushes import callback_event, message, signed_push

OA_ID = DEV_APPS["demo-oa"]["original_id"]


@pytest.fixture
def calls(aws):
    counter: Counter[str] = Counter()

    def count(event_name: str, **_: object) -> None:
        counter[event_name.rsplit(".", 1)[-1]] += 1

    dynamodb().meta.events.register("before-call.dynamodb", count)
    yield counter
    dynamodb().meta.events.unregister("before-call.dynamodb", count)


def _send(callback, fields, *, mode="plain"):
    query, body = signed_push(DEV_APPS["demo-oa"], fields, mode=mode)
    return callback.invoke(callback_event("demo-oa", query, body))


def test_a_stateless_push_costs_one_write_and_its_repeat_one(callback, calls):
    push = message("text", openid="o-rt", to_user=OA_ID, msg_id=5, Content="no rule")
    _send(callback, push)
    assert sum(calls.values()) == 1, calls
    calls.clear()
    _send(callback, push)
    assert sum(calls.values()) == 1, calls


def test_a_follow_costs_one_read_and_one_transaction_and_its_repeat_one_read(callback, calls):
    push = message(
        "event",
        openid="o-rt",
        to_user=OA_ID,
        create_time=int(time.time()),
        Event="subscribe",
        EventKey="qrscene_rt",
        Ticket="t",
    )
    _send(callback, push, mode="safe")
    assert dict(calls) == {"BatchGetItem": 1, "TransactWriteItems": 1}
    calls.clear()
    _send(callback, push, mode="safe")
    assert dict(calls) == {"BatchGetItem": 1}
