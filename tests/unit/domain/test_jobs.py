"""Typed jobs and their versioned wire: what the callback and the fan-out enqueue, the sender reads back, across
deploys (a job queued by the previous version still decodes)."""

from __future__ import annotations

import json

import pytest

from wxfunnel.config.rules import ImageAction, LinkAction, MiniProgramPageAction, TemplateSpec, TextAction
from wxfunnel.domain.jobs import (
    CustomMessage,
    EraseUser,
    InvalidJob,
    Job,
    JobKind,
    OwnCode,
    PromoterName,
    QrCode,
    ReferralNotice,
    Reminder,
    Tag,
    UnknownJobKind,
)

FALLBACK = TemplateSpec("TPL", {"thing1": "Poster"}, url=None, page="pages/a?id=1")
PAYLOADS = [
    (JobKind.CUSTOM_MESSAGE, CustomMessage(TextAction("hi"))),
    (
        JobKind.CUSTOM_MESSAGE,
        CustomMessage(LinkAction("t", "d", "https://e.example", "https://e.example/t"), FALLBACK),
    ),
    (JobKind.CUSTOM_MESSAGE, CustomMessage(ImageAction("https://e.example/p.jpg"))),
    (JobKind.CUSTOM_MESSAGE, CustomMessage(MiniProgramPageAction("t", "pages/a", None, None, "MEDIA"))),
    (JobKind.FOLLOW_QR, QrCode("demo-oa", "春节海报", 604_800, "image", "Follow")),
    (JobKind.CARD_QR, QrCode("demo-oa", "live.live_id=1", 86_400, "link", "T", "D", None, "on", FALLBACK)),
    (JobKind.TAG, Tag("spring")),
    (JobKind.ERASE_USER, EraseUser(1_760_000_000)),
    (JobKind.TEMPLATE, Reminder("n-1", "TPL", {"thing1": "x"}, url="https://e.example", miniprogram=None)),
    (JobKind.SUBSCRIBE_MESSAGE, Reminder("n-1", "TPL", {"thing1": "x"}, page="pages/live/index")),
    (JobKind.OWN_CODE, OwnCode("f-0123456789abcdef", "my_0123456789abcdef", 2_592_000)),
    (JobKind.NAME_PROMOTER, PromoterName("f-0123456789abcdef", "小红", "my_0123456789abcdef")),
    (JobKind.REFERRAL_NOTICE, ReferralNotice("f-0123456789abcdef", "{name}，第 {count} 位")),
]


@pytest.mark.parametrize(("kind", "payload"), PAYLOADS)
def test_every_kind_of_job_survives_the_queue(kind: JobKind, payload: object) -> None:
    job = Job(kind=kind, app="demo-oa", openid="o-1", key="demo-oa#k#0", payload=payload)  # type: ignore[arg-type]
    assert Job.from_wire(job.to_wire()) == job


# Bodies exactly as the previous deploy (before the typed jobs) wrote them to the outbox.
V1_BODIES = {
    "custom_message": '{"v":1,"kind":"custom_message","app":"demo-mp","openid":"o-u","key":"demo-mp#o-u#1#1#custom_message#0",'
    '"payload":{"message":{"type":"link","title":"Order 1","description":"","url":"https://shop.example/o/1",'
    '"thumb_url":"https://shop.example/t.png"},"window_closed_template":{"template_id":"TPL_ORDER",'
    '"data":{"character_string1":"1"},"url":null,"page":"pages/order/index?id=1"}}}',
    "card_qr": '{"v":1,"kind":"card_qr","app":"demo-mp","openid":"o-u","key":"k","payload":{"oa":"demo-oa",'
    '"scene":"live.live_id=10&user_id=5","as":"link","title":"扫码开启提醒","description":"","thumb_url":null,'
    '"expire_seconds":86400,"opt_in_text":"直播提醒已开启","window_closed_template":null}}',
    "template": '{"v":1,"kind":"template","app":"demo-oa","openid":"o-u","key":"notification#n#o-u",'
    '"payload":{"notification_id":"n","template_id":"TPL_LIVE","data":{"thing1":"直播开始了"},"url":"https://e.example"}}',
    "erase_user": '{"v":1,"kind":"erase_user","app":"demo-oa","openid":"o-u","key":"k","payload":{"at":1760000000}}',
}


def test_jobs_queued_by_the_previous_deploy_still_decode() -> None:
    custom = Job.from_wire(V1_BODIES["custom_message"])
    assert custom.payload == CustomMessage(
        LinkAction("Order 1", "", "https://shop.example/o/1", "https://shop.example/t.png"),
        TemplateSpec("TPL_ORDER", {"character_string1": "1"}, None, "pages/order/index?id=1"),
    )
    card = Job.from_wire(V1_BODIES["card_qr"])
    assert (card.kind, card.payload) == (
        JobKind.CARD_QR,
        QrCode(
            "demo-oa", "live.live_id=10&user_id=5", 86_400, "link", "扫码开启提醒", "", None, "直播提醒已开启"
        ),
    )
    reminder = Job.from_wire(V1_BODIES["template"])
    assert (reminder.notification, reminder.payload.to_wire()) == (
        "n",
        json.loads(V1_BODIES["template"])["payload"],
    )
    assert Job.from_wire(V1_BODIES["erase_user"]).payload == EraseUser(1_760_000_000)


@pytest.mark.parametrize("name", sorted(V1_BODIES))
def test_the_wire_written_today_is_the_wire_read_yesterday(name: str) -> None:
    """Version 1 is still what is written: a rollback to the previous deploy reads today's jobs too."""
    assert json.loads(Job.from_wire(V1_BODIES[name]).to_wire()) == json.loads(V1_BODIES[name])


@pytest.mark.parametrize(
    "body",
    [
        "not json",
        "[]",
        '{"v": 9, "kind": "tag"}',
        '{"v": 1, "kind": "tag", "app": "a", "openid": "o", "key": "k", "payload": []}',
        '{"v": 1, "kind": "tag", "app": "a", "openid": "o", "key": "k", "payload": {"tag": 7}}',
        '{"v": 1, "kind": "custom_message", "app": "a", "openid": "o", "key": "k", "payload": {"message": {"type": "fax"}}}',
        '{"v": 1, "kind": "follow_qr", "app": "a", "openid": "o", "key": "k", "payload": {"oa": "x", "scene": "s", "as": "gif"}}',
    ],
)
def test_a_body_that_is_no_job_is_refused(body: str) -> None:
    with pytest.raises(InvalidJob):
        Job.from_wire(body)


def test_a_kind_this_version_has_no_sender_for_is_told_apart() -> None:
    with pytest.raises(UnknownJobKind):
        Job.from_wire('{"v": 1, "kind": "fax", "app": "a", "openid": "o", "key": "k", "payload": {}}')


def test_a_users_jobs_share_one_fifo_group_and_a_job_key_one_deduplication_id() -> None:
    one = Job(JobKind.TAG, "demo-oa", "o-1", "k1", Tag("a"))
    other = Job(JobKind.TAG, "demo-oa", "o-1", "k2", Tag("a"))
    assert one.group == other.group == "demo-oa#o-1"
    assert one.deduplication_id != other.deduplication_id
    assert len(Job(JobKind.TAG, "a" * 64, "o" * 70, "k", Tag("a")).group) == 64  # too long: its digest
