"""FanoutFunction: scene messages become shard pages, pages become outbox jobs; nothing is dropped silently."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from wxfunnel.domain import reminders
from wxfunnel.domain.followers import Follower, Status
from wxfunnel.domain.reminders import SceneMessage
from wxfunnel.store import followers
from wxfunnel.store.base import CONTENDED_ATTEMPTS
from wxfunnel.store.followers import AUDIENCE_SHARDS
from wxfunnel_tools.apigw import proxy_event
from wxfunnel_tools.sqs_events import make_visible, pump, receive_event, settle
from wxfunnel_tools.template import load_handler
from wxfunnel_tools.testing import lambda_context

OA = "demo-oa"
SCENES = ["live.live_id=10&user_id=1", "live.live_id=10&user_id=2"]
AT = 1_760_000_000


def opt_in(aws, openid: str, scene: str) -> None:
    """A follower as the callback records them: a profile and their opt-in to `scene`."""
    table = aws.env["SUBSCRIPTIONS_TABLE"]
    profile = Follower(
        app=OA, openid=openid, status=Status.SUBSCRIBED, status_at=AT, first_scene=scene, version=1
    )
    aws.dynamodb.put_item(TableName=table, Item=followers.to_item(profile))
    aws.dynamodb.update_item(**followers.touch_update(OA, openid, scene, AT))


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
        MessageBody=reminders.to_wire(SceneMessage("n-1", OA, 3, "spring", "first")),
    )
    event = receive_event(aws.sqs, fanout.queue)
    assert fanout.invoke(event) == {"batchItemFailures": []}
    aws.sqs.delete_message(QueueUrl=fanout.queue, ReceiptHandle=event["Records"][0]["receiptHandle"])
    pages = [json.loads(record["body"]) for record in receive_event(aws.sqs, fanout.queue)["Records"]]
    assert sorted(pages, key=lambda page: page["page"]) == [
        {
            "v": 2,
            "kind": "page",
            "notification_id": "n-1",
            "app": OA,
            "scene": "spring",
            "touch": "first",
            "shard": shard,
            "page": f"3.{shard}",
            "cursor": None,
        }
        for shard in range(AUDIENCE_SHARDS)
    ]


def test_fanout_messages_queued_by_an_earlier_deploy_still_reach_the_followers(fanout, aws, wechat):
    """Version 1 named the index and its sharded key; a scene or page queued before the deploy still works."""
    opt_in(aws, "o-u1", SCENES[0])
    created = fanout.notify(request(SCENES[:1]))
    drain_fanout(aws, fanout.queue)
    v1_scene = {
        "v": 1,
        "kind": "scene",
        "notification_id": created["id"],
        "app": OA,
        "position": 0,
        "scene": SCENES[0],
        "index": "ByTouchedScene",
    }
    aws.sqs.send_message(QueueUrl=fanout.queue, MessageBody=json.dumps(v1_scene))
    assert fanout.pump() == []
    item = fanout.notification(created["id"])
    assert (int(item["audience"]["N"]), len(item["pages_done"]["SS"])) == (1, AUDIENCE_SHARDS)
    shard = followers.shard_of("o-u1")
    v1_page = {
        "v": 1,
        "kind": "page",
        "notification_id": created["id"],
        "page": f"0.{shard}",
        "index": "ByTouchedScene",
        "audience_key": f"{OA}#{SCENES[0]}#{shard}",
        "start_key": None,
    }
    assert reminders.from_wire(json.dumps(v1_page)) == SceneMessage(
        created["id"], OA, 0, SCENES[0], "any"
    ).page(shard)


def drain_fanout(aws, queue: str) -> None:
    while (event := receive_event(aws.sqs, queue)) is not None:
        for record in event["Records"]:
            aws.sqs.delete_message(QueueUrl=queue, ReceiptHandle=record["receiptHandle"])


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
    from wxfunnel.core.aws import dynamodb

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


def conflicting_counts(monkeypatch, times: int, *, reaching: bool = False) -> list[dict]:
    """The next `times` fan-out counts are cancelled as DynamoDB cancels a transaction that meets a sender's
    transaction on the notification record (TransactionConflict, which botocore does not retry); with `reaching`,
    only the counts of pages that reached followers."""
    from wxfunnel.core.aws import dynamodb

    client = dynamodb()
    real = client.transact_write_items
    conflicts: list[dict] = []

    def transact_write_items(**kwargs):
        items = kwargs["TransactItems"]
        counts = any(
            "#page#" in item.get("Put", {}).get("Item", {}).get("pk", {}).get("S", "") for item in items
        )
        if reaching:
            counts = counts and any(
                "audience" in item.get("Update", {}).get("UpdateExpression", "") for item in items
            )
        if counts and len(conflicts) < times:
            conflicts.append(kwargs)
            raise ClientError(
                {
                    "Error": {
                        "Code": "TransactionCanceledException",
                        "Message": "cancelled [None, TransactionConflict]",
                    },
                    "CancellationReasons": [{"Code": "None"}, {"Code": "TransactionConflict"}],
                },
                "TransactWriteItems",
            )
        return real(**kwargs)

    monkeypatch.setattr(client, "transact_write_items", transact_write_items)
    return conflicts


def test_a_count_that_meets_a_senders_transaction_is_retried_in_place(fanout, aws, wechat, monkeypatch):
    """A page's count contends with the senders' transactions on the notification record: retried in place."""
    opt_in(aws, "o-u1", SCENES[0])
    opt_in(aws, "o-u2", SCENES[1])
    created = fanout.notify(request(SCENES))
    conflicts = conflicting_counts(monkeypatch, 2)
    assert fanout.pump() == []
    assert len(conflicts) == 2
    item = fanout.notification(created["id"])
    assert (int(item["audience"]["N"]), int(item["queued"]["N"])) == (2, 2)
    assert len(item["pages_done"]["SS"]) == 2 * AUDIENCE_SHARDS


def test_a_count_that_keeps_conflicting_is_finished_by_the_redelivered_page_not_lost(
    fanout, aws, wechat, monkeypatch
):
    """The page fails after its claims were made; its redelivery finds them (they name the page) and counts them,
    once, however often it comes back."""
    opt_in(aws, "o-u1", SCENES[0])
    created = fanout.notify(request(SCENES[:1]))
    conflicts = conflicting_counts(monkeypatch, CONTENDED_ATTEMPTS, reaching=True)
    failed_pages = []
    while (event := receive_event(aws.sqs, fanout.queue)) is not None:  # the scene, then its shards' pages
        failed = settle(aws.sqs, fanout.queue, event, fanout.invoke(event))
        if failed:
            failed_pages.append((event, failed))
    [(event, failed)] = failed_pages
    assert len(failed) == 1 and len(conflicts) == CONTENDED_ATTEMPTS  # the follower's page failed
    assert int(fanout.notification(created["id"])["audience"]["N"]) == 0
    make_visible(aws.sqs, fanout.queue, event, failed)  # SQS redelivers it
    assert fanout.pump() == []
    make_visible(aws.sqs, fanout.queue, event, [])
    assert fanout.invoke(event) == {"batchItemFailures": []}  # and once more: counted before, nothing added
    item = fanout.notification(created["id"])
    assert (int(item["audience"]["N"]), int(item["queued"]["N"])) == (1, 1)
    assert len(item["pages_done"]["SS"]) == AUDIENCE_SHARDS
