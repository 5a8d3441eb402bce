"""FanoutFunction: scene messages become shard pages, pages become outbox jobs; nothing is dropped silently."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from wxfunnel import subscriptions
from wxfunnel.reminders import scene_message
from wxfunnel.subscriptions import AUDIENCE_SHARDS, Status, Subscription
from wxfunnel_tools.apigw import proxy_event
from wxfunnel_tools.sqs_events import pump, receive_event
from wxfunnel_tools.template import load_handler
from wxfunnel_tools.testing import lambda_context

OA = "demo-oa"
SCENES = ["live.live_id=10&user_id=1", "live.live_id=10&user_id=2"]
AT = 1_760_000_000


def opt_in(aws, openid: str, scene: str) -> None:
    """A follower as the callback records them: a profile and their opt-in to `scene`."""
    table = aws.env["SUBSCRIPTIONS_TABLE"]
    profile = Subscription(
        app=OA, openid=openid, status=Status.SUBSCRIBED, status_at=AT, first_scene=scene, version=1
    )
    aws.dynamodb.put_item(TableName=table, Item=subscriptions.to_item(profile))
    aws.dynamodb.update_item(**subscriptions.touch_update(table, OA, openid, scene, AT)["Update"])


def request(scenes: list[str]) -> dict:
    return {
        "request_id": "live-10",
        "app": OA,
        "scenes": scenes,
        "template_id": "TPL_LIVE",
        "data": {"thing1": "Live 10 starts now"},
    }


class Fanout:
    def __init__(self, aws) -> None:
        self.aws = aws
        self.handler = load_handler("FanoutFunction")
        self.queue = aws.env["FANOUT_QUEUE_URL"]

    def invoke(self, event: dict) -> dict:
        return self.handler(event, lambda_context("FanoutFunction"))

    def pump(self) -> list[str]:
        return pump(self.aws.sqs, self.queue, self.handler, lambda_context("FanoutFunction"))

    def notify(self, body: dict) -> dict:
        event = proxy_event(
            "POST",
            "/notifications",
            "/notifications",
            body=json.dumps(body),
            headers={"Content-Type": "application/json"},
            iam_user="operator",
        )
        response = load_handler("NotifyFunction")(event, lambda_context("NotifyFunction"))
        assert response["statusCode"] == 202, response
        created: dict = json.loads(response["body"])
        return created

    def notification(self, notification: str) -> dict:
        return self.aws.dynamodb.get_item(
            TableName=self.aws.env["NOTIFICATIONS_TABLE"], Key={"pk": {"S": f"notification#{notification}"}}
        )["Item"]


@pytest.fixture
def fanout(aws) -> Fanout:
    return Fanout(aws)


def test_a_scene_message_becomes_one_page_per_audience_shard(fanout, aws):
    aws.sqs.send_message(
        QueueUrl=fanout.queue,
        MessageBody=scene_message("n-1", OA, position=3, scene="spring", touch="first"),
    )
    event = receive_event(aws.sqs, fanout.queue)
    assert fanout.invoke(event) == {"batchItemFailures": []}
    aws.sqs.delete_message(QueueUrl=fanout.queue, ReceiptHandle=event["Records"][0]["receiptHandle"])
    pages = [json.loads(record["body"]) for record in receive_event(aws.sqs, fanout.queue)["Records"]]
    assert sorted(pages, key=lambda page: page["page"]) == [
        {
            "v": 1,
            "kind": "page",
            "notification_id": "n-1",
            "page": f"3.{shard}",
            "index": "ByFirstScene",
            "audience_key": f"{OA}#spring#{shard}",
            "start_key": None,
        }
        for shard in range(AUDIENCE_SHARDS)
    ]


def test_a_page_of_a_notification_that_is_not_stored_fails_instead_of_being_dropped(fanout, aws):
    aws.sqs.send_message(
        QueueUrl=fanout.queue,
        MessageBody=json.dumps(
            {
                "v": 1,
                "kind": "page",
                "notification_id": "missing",
                "page": "0.0",
                "index": "ByTouchedScene",
                "audience_key": f"{OA}#spring#0",
                "start_key": None,
            }
        ),
    )
    event = receive_event(aws.sqs, fanout.queue)
    response = fanout.invoke(event)
    assert response == {"batchItemFailures": [{"itemIdentifier": event["Records"][0]["messageId"]}]}


def test_the_notification_is_read_strongly_consistently(fanout, aws, wechat):
    from wxfunnel.aws import dynamodb

    reads: list[dict] = []

    def spy(params: dict, **_: object) -> None:
        if params.get("TableName") == aws.env["NOTIFICATIONS_TABLE"]:
            reads.append(dict(params))

    dynamodb().meta.events.register("provide-client-params.dynamodb.GetItem", spy)
    opt_in(aws, "o-u1", SCENES[0])
    fanout.notify(request(SCENES[:1]))
    reads.clear()  # notify's own reads
    assert fanout.pump() == []
    assert len(reads) == AUDIENCE_SHARDS  # one per page
    assert all(read.get("ConsistentRead") is True for read in reads)


def test_a_count_that_meets_a_senders_transaction_is_retried_in_place(fanout, aws, wechat, monkeypatch):
    """UpdateItem on an item a transaction is writing fails with TransactionConflictException (botocore does not
    retry it); a failed page would come back with its followers already claimed, and their count lost."""
    from wxfunnel.aws import dynamodb

    opt_in(aws, "o-u1", SCENES[0])
    opt_in(aws, "o-u2", SCENES[1])
    created = fanout.notify(request(SCENES))
    client = dynamodb()
    real = client.update_item
    conflicts = []

    def update_item(**kwargs):
        if kwargs["UpdateExpression"].startswith("ADD audience") and len(conflicts) < 2:
            conflicts.append(kwargs)
            raise ClientError(
                {"Error": {"Code": "TransactionConflictException", "Message": "conflict"}}, "UpdateItem"
            )
        return real(**kwargs)

    monkeypatch.setattr(client, "update_item", update_item)
    assert fanout.pump() == []
    assert len(conflicts) == 2
    item = fanout.notification(created["id"])
    assert (int(item["audience"]["N"]), int(item["queued"]["N"])) == (2, 2)
    assert len(item["pages_done"]["SS"]) == 2 * AUDIENCE_SHARDS
