"""A channel's welcome sequence: the first text is the passive reply, the rest are customer-service jobs in order,
keyed by the delivery and their position."""

from __future__ import annotations

from dataclasses import replace

from wxfunnel.config.app import parse_app_config
from wxfunnel.config.rules import ImageAction, LinkAction, TextAction
from wxfunnel.domain import followers
from wxfunnel.domain.channels import Channel
from wxfunnel.domain.jobs import CustomMessage, JobKind
from wxfunnel.flows import Context, decide
from wxfunnel.protocol.messages import ScanEvent, SubscribeEvent
from wxfunnel.protocol.replies import TextReply
from wxfunnel_tools import examples
from wxfunnel_tools.devapps import DEV_APPS

OA_ID = DEV_APPS["demo-oa"]["original_id"]
USER, AT, KEY = "o-user-1", 1_760_000_000, "demo-oa#delivery"
APP = parse_app_config(
    "demo-oa", {**DEV_APPS["demo-oa"], "welcome": "Welcome!", "tag_followers_by_channel": True}
)
SEQUENCE = (
    ImageAction("https://cdn.example/a.png"),
    LinkAction("Menu", "today", "https://shop.example/menu", "https://cdn.example/t.png"),
    TextAction("See you at the counter"),
)
CHANNEL = examples.channel(
    "store-7",
    permanent=False,
    name="Store 7",
    welcome_message="欢迎来到门店 7！",
    tag="store",
    welcome_sequence=SEQUENCE,
)


def _follow(channel: Channel | None) -> tuple[object, tuple]:
    message = SubscribeEvent(
        to_user=OA_ID,
        openid=USER,
        create_time=AT,
        msg_type="event",
        event="subscribe",
        scene="store-7",
        ticket="T",
    )
    transition = followers.follow(None, "demo-oa", USER, "store-7", AT)
    decision = decide(
        Context(app=APP, message=message, delivery_key=KEY, transition=transition, channel=channel)
    )
    return decision.reply, decision.jobs


def test_the_first_text_is_the_reply_and_the_rest_follow_in_order_before_the_tag() -> None:
    reply, jobs = _follow(CHANNEL)
    assert reply == TextReply("欢迎来到门店 7！")
    assert [job.kind for job in jobs] == [JobKind.CUSTOM_MESSAGE] * 3 + [JobKind.TAG]
    assert [job.payload for job in jobs[:3]] == [CustomMessage(message) for message in SEQUENCE]
    assert [job.key for job in jobs[:3]] == [f"{KEY}#custom_message#{index}" for index in range(3)]
    assert len({job.group for job in jobs}) == 1  # one FIFO group: they reach the user in this order


def test_a_scan_gets_the_sequence_too_and_a_channel_without_one_only_its_reply() -> None:
    message = ScanEvent(
        to_user=OA_ID,
        openid=USER,
        create_time=AT,
        msg_type="event",
        event="SCAN",
        scene="store-7",
        ticket="T",
    )
    before = followers.follow(None, "demo-oa", USER, "store-7", AT - 100).after
    transition = followers.scan(before, "demo-oa", USER, "store-7", AT)
    decision = decide(
        Context(app=APP, message=message, delivery_key=KEY, transition=transition, channel=CHANNEL)
    )
    assert [job.kind for job in decision.jobs].count(JobKind.CUSTOM_MESSAGE) == 3
    reply, jobs = _follow(replace(CHANNEL, welcome_sequence=()))
    assert reply == TextReply("欢迎来到门店 7！") and [job.kind for job in jobs] == [JobKind.TAG]


def test_a_card_scene_or_no_channel_sends_no_sequence() -> None:
    card_jobs = _follow(replace(CHANNEL, kind="card"))[1]
    assert JobKind.CUSTOM_MESSAGE not in [job.kind for job in card_jobs]
    assert _follow(None)[1] == ()
