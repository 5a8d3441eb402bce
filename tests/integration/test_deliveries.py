"""wxfunnel.deliveries through the real CallbackFunction: a delivery's jobs are enqueued once, however late it repeats."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator

import pytest

from wxfunnel.core.aws import dynamodb, sqs
from wxfunnel_tools.devapps import DEV_APPS, demo_apps, seed_apps
from wxfunnel_tools.pushes import callback_event, message, signed_push
from wxfunnel_tools.sqs_events import drain
from wxfunnel_tools.testing import cold_start, table_items

MP = "demo-mp"
MP_ID = DEV_APPS[MP]["original_id"]


@pytest.fixture
def calls(aws) -> Iterator[Counter[str]]:
    """The API calls the layer makes, by operation: DynamoDB and SQS."""
    seed_apps(aws.ssm, aws.env["APPS_PARAMETER_PREFIX"], demo_apps())
    cold_start()
    counter: Counter[str] = Counter()

    def count(event_name: str, **_: object) -> None:
        counter[event_name.rsplit(".", 1)[-1]] += 1

    for client, service in ((dynamodb(), "dynamodb"), (sqs(), "sqs")):
        client.meta.events.register(f"before-call.{service}", count)
    yield counter
    for client, service in ((dynamodb(), "dynamodb"), (sqs(), "sqs")):
        client.meta.events.unregister(f"before-call.{service}", count)


def _keyword_push(msg_id: int) -> dict:
    # The demo rules answer "666" in a Mini Program's contact session with a follow-QR job (no passive reply).
    push = message("text", openid="o-mp-user", to_user=MP_ID, msg_id=msg_id, Content="666")
    return callback_event(MP, *signed_push(DEV_APPS[MP], push, fmt="json", mode="safe"))


def test_a_push_with_jobs_reads_its_record_enqueues_and_records_it(aws, callback, calls):
    reply = callback.invoke(_keyword_push(1))
    assert (reply.status, reply.body) == (200, b"success")
    assert dict(calls) == {"GetItem": 1, "SendMessageBatch": 1, "PutItem": 1}
    [job] = drain(aws.sqs, aws.env["OUTBOX_QUEUE_URL"])
    assert json.loads(job["body"])["kind"] == "follow_qr"
    assert len(table_items(aws, "DEDUPE_TABLE")) == 1


def test_a_replay_after_the_queue_forgot_its_deduplication_ids_enqueues_nothing(aws, callback, calls):
    # WeChat's replay window (10 min) outlasts SQS FIFO's de-duplication (5 min). The first delivery's job has been
    # sent and deleted, so nothing on the queue's side stops a second copy: the delivery record must.
    event = _keyword_push(2)
    first = callback.invoke(event)
    assert len(drain(aws.sqs, aws.env["OUTBOX_QUEUE_URL"])) == 1
    calls.clear()
    again = callback.invoke(event)
    assert (again.status, again.body) == (first.status, first.body)
    assert calls["SendMessageBatch"] == calls["SendMessage"] == 0
    assert dict(calls) == {"GetItem": 1}  # one consistent read, nothing written
    assert drain(aws.sqs, aws.env["OUTBOX_QUEUE_URL"]) == []
    assert len(table_items(aws, "DEDUPE_TABLE")) == 1


def test_a_push_without_jobs_still_costs_one_request(aws, callback, calls):
    push = message("text", openid="o-mp-user", to_user=MP_ID, msg_id=3, Content="no keyword")
    reply = callback.invoke(callback_event(MP, *signed_push(DEV_APPS[MP], push, fmt="json")))
    assert reply.status == 200
    assert dict(calls) == {"PutItem": 1}
