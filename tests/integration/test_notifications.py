"""Reminders end to end: NotifyFunction → FanoutFunction → outbox → SenderFunction → the WeChat sandbox."""

from __future__ import annotations

import json

import pytest

from wxfunnel.domain.followers import Follower, Status
from wxfunnel.store import followers
from wxfunnel_tools.apigw import proxy_event, response_body
from wxfunnel_tools.devapps import DEV_APPS
from wxfunnel_tools.sqs_events import pump
from wxfunnel_tools.template import load_handler
from wxfunnel_tools.testing import lambda_context, table_items

OA, MP = "demo-oa", "demo-mp"
OA_APPID, MP_APPID = DEV_APPS[OA]["appid"], DEV_APPS[MP]["appid"]
LIVE10 = ["live.live_id=10&user_id=1", "live.live_id=10&user_id=2", "live.live_id=10&user_id=3"]
AT = 1_760_000_000


class Admin:
    def __init__(self, aws) -> None:
        self.aws = aws
        self.notify = load_handler("NotifyFunction")
        self.fanout = load_handler("FanoutFunction")
        self.sender = load_handler("SenderFunction")

    def post(self, body: dict | str) -> tuple[int, dict]:
        text = body if isinstance(body, str) else json.dumps(body)
        event = proxy_event(
            "POST",
            "/notifications",
            "/notifications",
            body=text,
            headers={"Content-Type": "application/json"},
            iam_user="operator",
        )
        response = self.notify(event, lambda_context("NotifyFunction"))
        return response["statusCode"], json.loads(response_body(response))

    def get(self, notification: str) -> tuple[int, dict]:
        event = proxy_event(
            "GET",
            "/notifications/{id}",
            f"/notifications/{notification}",
            path_parameters={"id": notification},
            iam_user="operator",
        )
        response = self.notify(event, lambda_context("NotifyFunction"))
        return response["statusCode"], json.loads(response_body(response))

    def run_queues(self) -> None:
        """Fan-out pages, then outbox jobs, until both queues are empty (as the event source mappings do)."""
        env, sqs = self.aws.env, self.aws.sqs
        assert pump(sqs, env["FANOUT_QUEUE_URL"], self.fanout, lambda_context("FanoutFunction")) == []
        assert pump(sqs, env["OUTBOX_QUEUE_URL"], self.sender, lambda_context("SenderFunction")) == []


@pytest.fixture
def admin(aws, wechat) -> Admin:
    return Admin(aws)


def opt_in(aws, openid: str, *scenes: str, status: Status = Status.SUBSCRIBED, app: str = OA) -> None:
    """A follower as the callback records them: a profile and one touch (opt-in) per scene."""
    table = aws.env["SUBSCRIPTIONS_TABLE"]
    profile = Follower(
        app=app,
        openid=openid,
        status=status,
        status_at=AT,
        first_scene=scenes[0],
        follow_scene=scenes[0],
        last_scene=scenes[-1],
        first_subscribed_at=AT,
        version=1,
    )
    aws.dynamodb.put_item(TableName=table, Item=followers.to_item(profile))
    for scene in scenes:
        aws.dynamodb.update_item(**followers.touch_update(app, openid, scene, AT))


def request(**overrides) -> dict:
    body = {
        "request_id": "live-10-start",
        "app": OA,
        "scenes": LIVE10,
        "touch": "any",
        "template_id": "TPL_LIVE",
        "data": {"thing1": "Live 10 starts now"},
        "url": "https://live.example/10",
    }
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not None}


def template_sends(wechat) -> list[dict]:
    return [call.payload for call in wechat.calls("message/template/send") if call.errcode == 0]


def test_every_opted_in_follower_gets_one_template_message_and_the_counts_add_up(admin, aws, wechat):
    opt_in(aws, "o-u1", LIVE10[0])
    opt_in(aws, "o-u2", LIVE10[1], "spring", LIVE10[2])  # reached through two of the scenes: one message
    opt_in(aws, "o-u3", LIVE10[2], status=Status.UNSUBSCRIBED)
    opt_in(aws, "o-u4", "live.live_id=11&user_id=4")

    status, created = admin.post(request())
    assert status == 202
    assert created["status"] == "fanning_out" and created["reused"] is False
    admin.run_queues()

    sends = template_sends(wechat)
    assert sorted(s["touser"] for s in sends) == ["o-u1", "o-u2"]
    assert all(call.appid == OA_APPID for call in wechat.calls("message/template/send"))
    u1 = next(s for s in sends if s["touser"] == "o-u1")
    assert u1 == {
        "touser": "o-u1",
        "template_id": "TPL_LIVE",
        "url": "https://live.example/10",
        "data": {"thing1": {"value": "Live 10 starts now"}},
        "client_msg_id": u1["client_msg_id"],
    }
    msg_ids = [s["client_msg_id"] for s in sends]
    assert all(isinstance(m, str) and m for m in msg_ids)
    assert len(set(msg_ids)) == len(sends)  # one per recipient: WeChat de-duplicates on it
    status, report = admin.get(created["id"])
    assert status == 200
    assert {
        k: report[k] for k in ("status", "audience", "queued", "sent", "failed", "skipped", "failed_reasons")
    } == {
        "status": "done",
        "audience": 3,
        "queued": 3,
        "sent": 2,
        "failed": 0,
        "skipped": 1,
        "failed_reasons": {},
    }


def test_a_repeated_request_returns_the_same_notification_and_sends_nothing_twice(admin, aws, wechat):
    opt_in(aws, "o-u1", LIVE10[0])
    _, first = admin.post(request())
    admin.run_queues()
    status, again = admin.post(request())
    admin.run_queues()
    assert status == 202
    assert again["id"] == first["id"] and again["reused"] is True
    assert len(template_sends(wechat)) == 1
    assert admin.get(first["id"])[1]["sent"] == 1


def test_a_resend_of_a_reminder_carries_the_same_client_msg_id_so_wechat_delivers_it_once(admin, aws, wechat):
    """The crash window: WeChat accepted the message but the completion record was lost. A repeated request
    re-sends with the client_msg_id of the first send, which WeChat de-duplicates."""
    opt_in(aws, "o-u1", LIVE10[0])
    opt_in(aws, "o-u2", LIVE10[1])
    _, created = admin.post(request())
    admin.run_queues()
    first = {s["touser"]: s["client_msg_id"] for s in template_sends(wechat)}
    dedupe, notifications = aws.env["DEDUPE_TABLE"], aws.env["NOTIFICATIONS_TABLE"]
    for item in table_items(aws, "DEDUPE_TABLE"):
        aws.dynamodb.delete_item(TableName=dedupe, Key={"id": item["id"]})
    for item in table_items(aws, "NOTIFICATIONS_TABLE"):
        if "#to#" in item["pk"]["S"]:  # the follower claims: the fan-out reaches them again
            aws.dynamodb.delete_item(TableName=notifications, Key={"pk": item["pk"]})
    aws.dynamodb.update_item(
        TableName=notifications,
        Key={"pk": {"S": f"notification#{created['id']}"}},
        UpdateExpression="SET pages_enqueued = :f",
        ExpressionAttributeValues={":f": {"BOOL": False}},
    )
    status, again = admin.post(request())  # the repeat finishes a fan-out it finds unfinished
    assert (status, again["id"], again["reused"]) == (202, created["id"], True)
    admin.run_queues()
    calls = [s for s in (c.payload for c in wechat.calls("message/template/send")) if s["touser"] in first]
    assert len(calls) == 4
    assert {(s["touser"], s["client_msg_id"]) for s in calls} == set(first.items())
    assert len(wechat.deliveries(openid="o-u1")) == len(wechat.deliveries(openid="o-u2")) == 1


def test_the_request_enqueues_one_fanout_message_per_scene(admin, aws):
    status, _ = admin.post(request())
    assert status == 202
    attributes = aws.sqs.get_queue_attributes(
        QueueUrl=aws.env["FANOUT_QUEUE_URL"], AttributeNames=["ApproximateNumberOfMessages"]
    )["Attributes"]
    assert int(attributes["ApproximateNumberOfMessages"]) == len(LIVE10)


def test_the_same_request_id_with_a_different_body_is_a_conflict(admin):
    admin.post(request())
    status, body = admin.post(request(template_id="OTHER"))
    assert status == 409
    assert body["error"]["code"] == "conflict" and "request_id" in body["error"]["message"]


def test_failures_are_counted_by_reason(admin, aws, wechat):
    opt_in(aws, "o-u1", LIVE10[0])
    opt_in(aws, "o-u2", LIVE10[1])
    wechat.fail_next("message/template/send", errcode=43004, openid="o-u2")
    _, created = admin.post(request())
    admin.run_queues()
    report = admin.get(created["id"])[1]
    assert (report["sent"], report["failed"], report["failed_reasons"], report["status"]) == (
        1,
        1,
        {"43004": 1},
        "done",
    )


def test_first_and_last_touch_select_on_the_follow_scene_and_the_latest_scene(admin, aws, wechat):
    opt_in(aws, "o-u1", LIVE10[0], "spring")  # first touch live, last touch spring
    opt_in(aws, "o-u2", "spring", LIVE10[1])  # first touch spring, last touch live
    admin.post(request(request_id="first", touch="first"))
    admin.run_queues()
    assert [s["touser"] for s in template_sends(wechat)] == ["o-u1"]
    admin.post(request(request_id="last", touch="last"))
    admin.run_queues()
    assert [s["touser"] for s in template_sends(wechat)] == ["o-u1", "o-u2"]


def test_a_mini_program_reminder_is_a_subscribe_message_with_the_mp_token(admin, aws, wechat):
    opt_in(aws, "o-mp1", LIVE10[0], app=MP)
    _, created = admin.post(request(app=MP, url=None, page="pages/live/index?live_id=10"))
    admin.run_queues()
    [call] = wechat.calls("message/subscribe/send")
    assert call.appid == MP_APPID
    assert call.payload == {
        "touser": "o-mp1",
        "template_id": "TPL_LIVE",
        "page": "pages/live/index?live_id=10",
        "data": {"thing1": {"value": "Live 10 starts now"}},
    }
    assert admin.get(created["id"])[1]["sent"] == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (request(template_id=None), "template_id"),
        (request(scene_prefix="live."), None),
        (request(scenes=None), None),
        (request(scenes=[" has space"]), "scenes"),
        (request(touch="sometimes"), "touch"),
        (request(app="nope"), "app"),
        (request(page="pages/x"), "page"),
        (request(url="not-a-url"), "url"),
        (request(extra=1), "extra"),
        (request(data={f"k{i}": "v" for i in range(21)}), "data"),
        (request(data={"k" * 33: "v"}), "data"),
        (request(data={"thing 1": "v"}), "data"),
        (request(data={"thing1": "x" * 1025}), "data"),
        (request(data={"thing1": {"value": "x" * 1025}}), "data"),
        (request(data={"thing1": "\ud800"}), "data.thing1"),
        (request(miniprogram={"appid": "nope"}), "miniprogram.appid"),
    ],
)
def test_an_invalid_request_is_refused_with_422_naming_the_field(admin, body, field):
    status, answer = admin.post(body)
    assert status == 422
    assert answer["error"]["code"] == "validation_error"
    assert answer["error"]["field"] == field
    if field:
        assert answer["error"]["message"].startswith(field)


def test_a_body_that_is_not_json_is_a_400_and_an_unknown_notification_a_404(admin):
    assert admin.post("{nope")[0] == 400
    assert admin.get("0b8e5c4e-0000-0000-0000-000000000000")[0] == 404
