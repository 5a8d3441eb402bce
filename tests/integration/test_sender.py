"""SenderFunction: outbox jobs through the real handler against moto and the WeChat sandbox.

Asserts what WeChat received (exact payloads, and whose token: MP token for MP sends, OA token for OA QRs),
what the tables hold, and how failures behave: retries with backoff, the template fallback, the DLQ with its
reason, and nothing sent twice when SQS redelivers.
"""

from __future__ import annotations

import json

import pytest

from wxfunnel.domain.followers import Follower, Status
from wxfunnel.domain.jobs import Job
from wxfunnel.store import followers, outbox
from wxfunnel_tools.devapps import DEV_APPS
from wxfunnel_tools.sqs_events import drain, make_visible, receive_event, settle
from wxfunnel_tools.template import load_handler
from wxfunnel_tools.testing import lambda_context, table_items

OA, MP = "demo-oa", "demo-mp"
OA_APPID, MP_APPID = DEV_APPS[OA]["appid"], DEV_APPS[MP]["appid"]
USER = "o-user-1"
CUSTOM = "message/custom/send"
CARD_SCENE = "live.live_id=10&user_id=5"


class Sender:
    """Receives from the moto outbox and runs the real SenderFunction handler on it, as Lambda would."""

    def __init__(self, aws) -> None:
        self.aws = aws
        self.handler = load_handler("SenderFunction")
        self.queue = aws.env["OUTBOX_QUEUE_URL"]

    def receive(self) -> dict | None:
        return receive_event(self.aws.sqs, self.queue)

    def invoke(self, event: dict) -> dict:
        return self.handler(event, lambda_context("SenderFunction"))

    def run_once(self) -> tuple[dict, list[str]]:
        event = self.receive()
        assert event is not None, "nothing to send"
        response = self.invoke(event)
        return event, settle(self.aws.sqs, self.queue, event, response)

    def retry_now(self, event: dict, failed: list[str]) -> None:
        make_visible(self.aws.sqs, self.queue, event, failed)

    def dead_letters(self) -> list[dict]:
        return drain(self.aws.sqs, self.aws.env["OUTBOX_DLQ_URL"])


@pytest.fixture
def sender(aws, wechat) -> Sender:
    return Sender(aws)


def job(kind: str, app: str, payload: dict, *, key: str = "k1", openid: str = USER) -> Job:
    """A job as the outbox carries it (wire format v1, what jobs queued by earlier deploys look like too)."""
    wire = {"v": 1, "kind": kind, "app": app, "openid": openid, "key": f"{app}#{key}", "payload": payload}
    return Job.from_wire(json.dumps(wire))


def text_job(app: str = MP, content: str = "Hello", **kwargs) -> Job:
    return job(
        "custom_message",
        app,
        {
            "message": {"type": "text", "content": content},
            "window_closed_template": kwargs.pop("template", None),
        },
        **kwargs,
    )


def card_job(send_as: str = "link") -> Job:
    return job(
        "card_qr",
        MP,
        {
            "oa": OA,
            "scene": CARD_SCENE,
            "as": send_as,
            "title": "Scan to get reminded",
            "description": "Live 10",
            "thumb_url": None,
            "expire_seconds": 86400,
            "opt_in_text": "Live 10 reminder on",
            "window_closed_template": None,
        },
    )


def attributes(record: dict) -> dict[str, str]:
    return {name: value["stringValue"] for name, value in record["messageAttributes"].items()}


# --- what is sent, with whose token -----------------------------------------------------------------------


def test_an_mp_text_goes_out_through_the_mp_customer_service_api_with_the_mp_token(sender, wechat):
    outbox.enqueue([text_job()])
    _, failed = sender.run_once()
    assert failed == []
    [call] = wechat.calls(CUSTOM)
    assert call.appid == MP_APPID
    assert call.payload == {"touser": USER, "msgtype": "text", "text": {"content": "Hello"}}


def test_a_card_creates_the_oa_qr_with_the_oa_token_and_the_mp_sends_its_link(sender, wechat, aws):
    outbox.enqueue([card_job("link")])
    sender.run_once()
    [create] = wechat.calls("qrcode/create")
    assert create.appid == OA_APPID
    assert create.payload == {
        "expire_seconds": 86400,
        "action_name": "QR_STR_SCENE",
        "action_info": {"scene": {"scene_str": CARD_SCENE}},
    }
    [qr] = wechat.qr_codes(OA_APPID)
    [send] = wechat.calls(CUSTOM)
    assert send.appid == MP_APPID
    image_url = send.payload["link"]["url"]
    assert wechat.qr_for_url(image_url) == qr
    assert send.payload == {
        "touser": USER,
        "msgtype": "link",
        "link": {
            "title": "Scan to get reminded",
            "description": "Live 10",
            "url": image_url,
            "thumb_url": image_url,
        },
    }
    channels = {item["pk"]["S"]: item for item in table_items(aws, "CHANNELS_TABLE")}
    assert len(channels) == 1
    [stored] = channels.values()
    assert stored["kind"]["S"] == "card" and stored["ticket"]["S"] == qr.ticket
    touches = [i for i in table_items(aws, "SUBSCRIPTIONS_TABLE") if i["sk"]["S"] == f"touch#{CARD_SCENE}"]
    assert [t["pk"]["S"] for t in touches] == [f"{MP}#{USER}"]


def test_a_card_as_image_uploads_the_qr_image_with_the_mp_token_and_sends_it(sender, wechat):
    outbox.enqueue([card_job("image")])
    sender.run_once()
    [upload] = wechat.calls("media/upload")
    assert upload.appid == MP_APPID
    [send] = wechat.calls(CUSTOM)
    media_id = send.payload["image"]["media_id"]
    assert send.appid == MP_APPID
    assert send.payload == {"touser": USER, "msgtype": "image", "image": {"media_id": media_id}}
    assert wechat.media(media_id).appid == MP_APPID


def test_a_second_card_for_the_same_context_reuses_the_live_qr(sender, wechat):
    outbox.enqueue([card_job(), job("card_qr", MP, card_job().payload.to_wire(), key="k2")])
    sender.run_once()
    assert wechat.count("qrcode/create") == 1
    assert wechat.count(CUSTOM) == 2


def test_a_tag_job_gets_or_creates_the_tag_and_tags_the_follower_with_the_oa_token(sender, wechat):
    wechat.follow(OA_APPID, USER)
    outbox.enqueue([job("tag", OA, {"tag": "spring"})])
    sender.run_once()
    [tagging] = wechat.calls("tags/members/batchtagging")
    assert tagging.appid == OA_APPID
    [tag_id] = [tag_id for tag_id, name in wechat.tags(OA_APPID).items() if name == "spring"]
    assert tagging.payload == {"openid_list": [USER], "tagid": tag_id}
    assert wechat.user_tags(OA_APPID, USER) == [tag_id]


# --- exactly once -----------------------------------------------------------------------------------------


def test_a_redelivered_job_is_not_sent_again(sender, wechat, aws):
    outbox.enqueue([text_job()])
    event = sender.receive()
    assert sender.invoke(event) == {"batchItemFailures": []}
    assert sender.invoke(event) == {"batchItemFailures": []}  # SQS delivered the same batch again
    assert wechat.count(CUSTOM) == 1
    [done] = [i for i in table_items(aws, "DEDUPE_TABLE") if i["id"]["S"].startswith("job#")]
    assert done["id"]["S"] == f"job#{MP}#k1" and done["outcome"]["S"] == "sent"


# --- failures ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fault", "reason"),
    [
        ({"errcode": -1}, "system_busy"),
        ({"status": 500}, "wechat_unavailable"),
        ({"errcode": 45011}, "rate_limited"),
    ],
)
def test_a_transient_failure_is_retried_with_backoff_and_then_sent_once(sender, wechat, aws, fault, reason):
    wechat.fail_next(CUSTOM, times=2, **fault)
    outbox.enqueue([text_job()])
    event, failed = sender.run_once()
    assert failed == [event["Records"][0]["messageId"]]
    assert sender.receive() is None  # backed off: invisible for 2^1 × 5 s
    sender.retry_now(event, failed)
    event, failed = sender.run_once()
    assert event["Records"][0]["attributes"]["ApproximateReceiveCount"] == "2"
    sender.retry_now(event, failed)
    _, failed = sender.run_once()
    assert failed == []
    assert [c.status == 200 and c.errcode for c in wechat.calls(CUSTOM)][-1] == 0
    assert sum(1 for d in wechat.deliveries(openid=USER)) == 1
    assert sender.dead_letters() == []


def test_after_the_last_attempt_a_transient_failure_is_dead_lettered_with_its_last_error(sender, wechat):
    wechat.fail_next(CUSTOM, errcode=-1, times=10)
    outbox.enqueue([text_job()])
    for attempt in range(1, 6):
        event, failed = sender.run_once()
        assert failed == ([] if attempt == 5 else [event["Records"][0]["messageId"]])
        sender.retry_now(event, failed)
    assert sender.receive() is None
    [dead] = sender.dead_letters()
    assert attributes(dead) == {
        "reason": "system_busy",
        "errcode": "-1",
        "errmsg": dead["messageAttributes"]["errmsg"]["stringValue"],
        "attempts": "5",
        "kind": "custom_message",
        "app": MP,
    }
    assert "system error" in attributes(dead)["errmsg"]
    assert json.loads(dead["body"])["key"] == f"{MP}#k1"
    assert dead["attributes"]["MessageGroupId"] == f"{MP}#{USER}"


@pytest.mark.parametrize(
    ("errcode", "reason"),
    [(45015, "outside_window"), (43004, "recipient_unavailable"), (45047, "user_quota_exhausted")],
)
def test_a_permanent_failure_is_dead_lettered_at_once_and_not_retried(sender, wechat, errcode, reason):
    wechat.fail_next(CUSTOM, errcode=errcode)
    outbox.enqueue([text_job()])
    _, failed = sender.run_once()
    assert failed == []
    [dead] = sender.dead_letters()
    assert attributes(dead)["reason"] == reason
    assert attributes(dead)["errcode"] == str(errcode)
    assert attributes(dead)["attempts"] == "1"
    assert wechat.count(CUSTOM) == 1


def test_a_closed_window_sends_the_rules_template_instead_for_an_oa(sender, wechat):
    template = {"template_id": "TPL_WINDOW", "data": {"thing1": "Your poster"}, "url": "https://e.example/p"}
    wechat.fail_next(CUSTOM, errcode=45015)
    outbox.enqueue([text_job(OA, "Here is the poster", template=template)])
    _, failed = sender.run_once()
    assert failed == []
    [sent] = wechat.calls("message/template/send")
    assert sent.appid == OA_APPID
    client_msg_id = sent.payload["client_msg_id"]
    assert sent.payload == {
        "touser": USER,
        "template_id": "TPL_WINDOW",
        "url": "https://e.example/p",
        "data": {"thing1": {"value": "Your poster"}},
        "client_msg_id": client_msg_id,
    }
    assert sender.dead_letters() == []


def test_an_mp_closed_window_sends_the_rules_subscribe_message_with_the_mp_token(sender, wechat):
    template = {
        "template_id": "TPL_LIVE",
        "data": {"thing1": "Live 10"},
        "url": None,
        "page": "pages/live/index?id=10",
    }
    wechat.require_subscription = True
    wechat.grant_subscription(MP_APPID, USER, "TPL_LIVE")
    wechat.fail_next(CUSTOM, errcode=45015)
    outbox.enqueue([text_job(MP, template=template)])
    _, failed = sender.run_once()
    assert failed == []
    [sent] = wechat.calls("message/subscribe/send")
    assert sent.appid == MP_APPID and sent.errcode == 0
    assert sent.payload == {
        "touser": USER,
        "template_id": "TPL_LIVE",
        "page": "pages/live/index?id=10",
        "data": {"thing1": {"value": "Live 10"}},
    }
    assert wechat.count("message/template/send") == 0
    assert sender.dead_letters() == []


def test_an_mp_fallback_the_user_never_subscribed_to_is_dead_lettered_with_the_reason(sender, wechat):
    template = {"template_id": "TPL_LIVE", "data": {"thing1": "x"}, "url": None, "page": None}
    wechat.require_subscription = True
    wechat.fail_next(CUSTOM, errcode=45047)
    outbox.enqueue([text_job(MP, template=template)])
    _, failed = sender.run_once()
    assert failed == []
    [attempt] = wechat.calls("message/subscribe/send")
    assert attempt.errcode == 43101
    [dead] = sender.dead_letters()
    assert attributes(dead)["errcode"] == "43101"
    assert attributes(dead)["attempts"] == "1"


def test_one_users_failure_does_not_hold_up_another_user_but_keeps_that_users_order(sender, wechat):
    wechat.fail_next(CUSTOM, errcode=-1, openid=USER)
    outbox.enqueue(
        [
            text_job(content="first", key="a"),
            text_job(content="second", key="b"),
            text_job(content="other", key="c", openid="o-user-2"),
        ]
    )
    received = []
    while (event := sender.receive()) is not None:
        received.extend(event["Records"])
        failed = settle(sender.aws.sqs, sender.queue, event, sender.invoke(event))
        sender.retry_now(event, failed)
        if not failed:
            continue
    sent = [
        (c.payload["touser"], c.payload["text"]["content"]) for c in wechat.calls(CUSTOM) if c.errcode == 0
    ]
    assert sent.index((USER, "first")) < sent.index((USER, "second"))
    assert ("o-user-2", "other") in sent
    assert len(sent) == 3


def test_an_unreadable_job_is_dead_lettered(sender, aws):
    aws.sqs.send_message(
        QueueUrl=sender.queue, MessageBody="not json", MessageGroupId="x", MessageDeduplicationId="x"
    )
    _, failed = sender.run_once()
    assert failed == []
    [dead] = sender.dead_letters()
    assert attributes(dead)["reason"] == "malformed_job"


def test_an_image_rule_downloads_the_image_and_sends_it_as_temporary_media(sender, wechat):
    from wxfunnel.entry.wechat import client_for

    image_url = client_for(OA).create_qrcode("poster", permanent=False, expire_seconds=600).image_url
    outbox.enqueue([job("custom_message", MP, {"message": {"type": "image", "image_url": image_url}})])
    _, failed = sender.run_once()
    assert failed == []
    [upload] = wechat.calls("media/upload")
    [send] = wechat.calls(CUSTOM)
    media_id = send.payload["image"]["media_id"]
    assert upload.appid == send.appid == MP_APPID
    assert wechat.media(media_id).content.startswith(b"\x89PNG")


def test_a_rules_image_is_downloaded_and_uploaded_once_for_every_reply_that_sends_it(sender, wechat):
    """The sender remembers the media_id of a rule's image by its URL: the next reply neither downloads it from
    the image host nor uploads it again while the temporary media lives."""
    from wxfunnel.entry.wechat import client_for

    image_url = client_for(OA).create_qrcode("poster", permanent=False, expire_seconds=600).image_url
    image = {"message": {"type": "image", "image_url": image_url}}
    outbox.enqueue(
        [job("custom_message", MP, image, key="k1"), job("custom_message", MP, image, key="k2", openid="o-2")]
    )
    assert sender.run_once()[1] == []
    downloads = wechat.count("showqrcode")
    if wechat.count(CUSTOM) != 2:
        assert sender.run_once()[1] == []
    assert wechat.count(CUSTOM) == 2
    assert wechat.count("media/upload") == 1
    assert wechat.count("showqrcode") == downloads == 1
    first, second = (call.payload["image"]["media_id"] for call in wechat.calls(CUSTOM))
    assert first == second


def test_an_unreachable_image_is_dead_lettered_with_the_reason(sender, wechat):
    missing = f"{wechat.mp_base}/cgi-bin/showqrcode?ticket=unknown"
    outbox.enqueue([job("custom_message", MP, {"message": {"type": "image", "image_url": missing}})])
    sender.run_once()
    [dead] = sender.dead_letters()
    assert attributes(dead)["reason"] == "image_unavailable"
    assert wechat.count(CUSTOM) == 0


def profile_and_touch(aws, status: Status, at: int) -> None:
    table = aws.env["SUBSCRIPTIONS_TABLE"]
    sub = Follower(app=OA, openid=USER, status=status, status_at=at, first_scene="spring", version=2)
    aws.dynamodb.put_item(TableName=table, Item=followers.to_item(sub))
    aws.dynamodb.update_item(**followers.touch_update(OA, USER, "spring", at - 10))


def test_erasing_an_unfollowed_user_deletes_their_profile_and_opt_ins(sender, aws):
    profile_and_touch(aws, Status.UNSUBSCRIBED, 1000)
    outbox.enqueue([job("erase_user", OA, {"at": 1000})])
    _, failed = sender.run_once()
    assert failed == []
    assert table_items(aws, "SUBSCRIPTIONS_TABLE") == []


def test_erasing_waits_for_the_unfollow_to_be_stored_and_spares_a_user_who_came_back(sender, aws):
    profile_and_touch(aws, Status.SUBSCRIBED, 900)  # the callback's transaction has not committed yet
    outbox.enqueue([job("erase_user", OA, {"at": 1000})])
    event, failed = sender.run_once()
    assert len(failed) == 1
    profile_and_touch(aws, Status.SUBSCRIBED, 1100)  # ...and by now they followed again
    sender.retry_now(event, failed)
    _, failed = sender.run_once()
    assert failed == []
    assert len(table_items(aws, "SUBSCRIPTIONS_TABLE")) == 2


# --- a reminder's completion and counters -------------------------------------------------------------------

NOTIFICATION = "n-1"
SUBSCRIBE = "message/subscribe/send"


def reminder_job() -> Job:
    """An MP reminder job: a subscribe message, which WeChat does not de-duplicate (a resend reaches the user)."""
    payload = {"notification_id": NOTIFICATION, "template_id": "TPL_LIVE", "data": {"thing1": "Live 10"}}
    return job("subscribe_message", MP, payload, key=f"notification#{NOTIFICATION}#{USER}")


def store_notification(aws) -> None:
    aws.dynamodb.put_item(
        TableName=aws.env["NOTIFICATIONS_TABLE"],
        Item={
            "pk": {"S": f"notification#{NOTIFICATION}"},
            "failed_reasons": {"M": {}},
            **{name: {"N": "0"} for name in ("sent", "failed", "skipped")},
        },
    )


def counters(aws) -> dict[str, int]:
    item = aws.dynamodb.get_item(
        TableName=aws.env["NOTIFICATIONS_TABLE"], Key={"pk": {"S": f"notification#{NOTIFICATION}"}}
    )["Item"]
    return {name: int(item[name]["N"]) for name in ("sent", "failed", "skipped")}


def completion(aws) -> dict:
    [item] = [i for i in table_items(aws, "DEDUPE_TABLE") if i["id"]["S"].startswith("job#")]
    return item


def cancel_transactions(monkeypatch, times: int, code: str) -> list[dict]:
    """The next `times` TransactWriteItems are cancelled as DynamoDB cancels a transaction that another one on
    the same item is running with (TransactionConflict) or that is throttled; their requests are returned."""
    from botocore.exceptions import ClientError

    from wxfunnel.core.aws import dynamodb

    client = dynamodb()  # the container's client, which the handler uses
    real = client.transact_write_items
    requests: list[dict] = []

    def transact_write_items(**kwargs):
        requests.append(kwargs)
        if len(requests) <= times:
            reasons = [{"Code": "None"}, {"Code": code}]
            raise ClientError(
                {
                    "Error": {"Code": "TransactionCanceledException", "Message": f"cancelled [None, {code}]"},
                    "CancellationReasons": reasons,
                },
                "TransactWriteItems",
            )
        return real(**kwargs)

    monkeypatch.setattr(client, "transact_write_items", transact_write_items)
    return requests


def test_a_reminder_job_is_recorded_done_and_counted_in_one_transaction(sender, wechat, aws):
    store_notification(aws)
    outbox.enqueue([reminder_job()])
    _, failed = sender.run_once()
    assert failed == []
    assert wechat.count(SUBSCRIBE) == 1
    assert counters(aws) == {"sent": 1, "failed": 0, "skipped": 0}
    done = completion(aws)
    assert done["outcome"]["S"] == "sent" and "count_notification" not in done


@pytest.mark.parametrize("code", ["TransactionConflict", "ThrottlingError", "ProvisionedThroughputExceeded"])
def test_a_contended_completion_transaction_is_retried_in_place_and_counted_once(
    sender, wechat, aws, monkeypatch, code
):
    store_notification(aws)
    requests = cancel_transactions(monkeypatch, 2, code)
    outbox.enqueue([reminder_job()])
    _, failed = sender.run_once()
    assert failed == []
    assert len(requests) == 3
    assert wechat.count(SUBSCRIBE) == 1
    assert counters(aws) == {"sent": 1, "failed": 0, "skipped": 0}
    assert completion(aws)["outcome"]["S"] == "sent"


def test_a_count_still_contended_is_left_pending_and_its_redelivery_counts_without_sending_again(
    sender, wechat, aws, monkeypatch
):
    from wxfunnel.store.base import CONTENDED_ATTEMPTS as COUNT_ATTEMPTS

    store_notification(aws)
    requests = cancel_transactions(monkeypatch, COUNT_ATTEMPTS, "TransactionConflict")
    outbox.enqueue([reminder_job()])
    event, failed = sender.run_once()
    assert failed == [event["Records"][0]["messageId"]]  # comes back, after a backoff
    assert len(requests) == COUNT_ATTEMPTS
    assert counters(aws) == {"sent": 0, "failed": 0, "skipped": 0}
    pending = completion(aws)
    assert (pending["outcome"]["S"], pending["count_notification"]["S"]) == ("sent", NOTIFICATION)
    sender.retry_now(event, failed)
    _, failed = sender.run_once()
    assert failed == []
    assert wechat.count(SUBSCRIBE) == 1  # the redelivery only counted
    assert counters(aws) == {"sent": 1, "failed": 0, "skipped": 0}
    assert "count_notification" not in completion(aws)
    assert sender.invoke(event) == {"batchItemFailures": []}  # yet another delivery changes nothing
    assert counters(aws) == {"sent": 1, "failed": 0, "skipped": 0}
    assert sender.dead_letters() == []


def test_a_pending_failure_count_keeps_its_reason(sender, wechat, aws, monkeypatch):
    from wxfunnel.store.base import CONTENDED_ATTEMPTS as COUNT_ATTEMPTS

    store_notification(aws)
    wechat.fail_next(SUBSCRIBE, errcode=43101)
    cancel_transactions(monkeypatch, COUNT_ATTEMPTS, "TransactionConflict")
    outbox.enqueue([reminder_job()])
    event, failed = sender.run_once()
    assert len(failed) == 1
    assert completion(aws)["count_reason"]["S"] == "43101"
    sender.retry_now(event, failed)
    _, failed = sender.run_once()
    assert failed == []
    item = aws.dynamodb.get_item(
        TableName=aws.env["NOTIFICATIONS_TABLE"], Key={"pk": {"S": f"notification#{NOTIFICATION}"}}
    )["Item"]
    assert counters(aws) == {"sent": 0, "failed": 1, "skipped": 0}
    assert item["failed_reasons"]["M"] == {"43101": {"N": "1"}}
    assert wechat.count(SUBSCRIBE) == 1
    assert len(sender.dead_letters()) == 1


def test_a_job_whose_reminder_is_no_longer_stored_is_still_recorded_done(sender, wechat, aws):
    outbox.enqueue([reminder_job()])
    event, failed = sender.run_once()
    assert failed == []
    assert completion(aws)["outcome"]["S"] == "sent"
    assert sender.invoke(event) == {"batchItemFailures": []}
    assert wechat.count(SUBSCRIBE) == 1


def test_records_are_not_started_without_time_for_one_more_job_and_come_back_at_once(sender, wechat, aws):
    """A batch of slow WeChat calls must end within the function's timeout: with less than one worst-case job of
    the invocation left, the rest of the batch is failed untouched and made visible again at once."""
    import time

    from wxfunnel.entry.sender import DEFERRED_BACKOFF_SECONDS, RECORD_BUDGET_MS

    outbox.enqueue([text_job(key="k1"), text_job(key="k2", openid="o-user-2")])
    event = sender.receive()
    assert event is not None and len(event["Records"]) == 2
    context = lambda_context("SenderFunction")
    context.get_remaining_time_in_millis = lambda: RECORD_BUDGET_MS - 1  # type: ignore[method-assign]
    response = sender.handler(event, context)
    assert sorted(failure["itemIdentifier"] for failure in response["batchItemFailures"]) == sorted(
        record["messageId"] for record in event["Records"]
    )
    assert wechat.count(CUSTOM) == 0
    time.sleep(DEFERRED_BACKOFF_SECONDS + 0.2)
    again = sender.receive()
    assert (
        again is not None and len(again["Records"]) == 2
    )  # back long before any backoff or visibility timeout
    sender.invoke(again)
    assert wechat.count(CUSTOM) == 2
