"""The five product flows end to end: signed (one encrypted) pushes through the real CallbackFunction, the outbox,
SenderFunction and the WeChat sandbox; plus the admin functions an operator uses (QR codes, reminders).

Each test asserts what the user saw (passive replies), what WeChat received (exact payloads, and whose token),
and what the tables hold. The callback itself never calls WeChat: the sandbox's counters do not move while
pushes are answered.
"""

from __future__ import annotations

import json

import pytest

from wxfunnel_tools.devapps import DEV_APPS
from wxfunnel_tools.pushes import message
from wxfunnel_tools.sqs_events import pump
from wxfunnel_tools.testing import lambda_context, table_items

OA, MP = "demo-oa", "demo-mp"
OA_APPID, MP_APPID = DEV_APPS[OA]["appid"], DEV_APPS[MP]["appid"]
OA_ID, MP_ID = DEV_APPS[OA]["original_id"], DEV_APPS[MP]["original_id"]
MP_USER, OA_USER = "o-mp-user-1", "o-oa-user-1"
CUSTOM = "message/custom/send"

OA_RULES = {
    "welcome": "欢迎关注！",
    "channel_welcome_default": "欢迎你通过海报关注！",
    "referral_text": "你由 {referrer} 推荐关注",
    "card_opt_in_text": "提醒已开启",
    "keywords": [{"match": "exact", "pattern": "hi", "reply": {"type": "text", "content": "你好"}}],
    "fallback": {"type": "transfer_customer_service"},
}
MP_RULES = {
    "keywords": [
        {
            "match": "exact",
            "pattern": "666",
            "reply": {
                "type": "follow_qr",
                "oa": OA,
                "scene": "mp-666",
                "as": "link",
                "title": "关注公众号",
                "description": "扫码关注",
            },
        },
    ],
    "card": {
        "oa": OA,
        "keys": ["live_id", "user_id"],
        "prefix": "live.",
        "as": "link",
        "title": "扫码开启提醒",
        "description": "直播开始时提醒你",
        "expire_seconds": 86400,
        "opt_in_text": "直播 10 提醒已开启",
    },
    "fallback": {"type": "transfer_customer_service"},
}


@pytest.fixture
def funnel(make_funnel):
    return make_funnel({OA: OA_RULES, MP: MP_RULES})


def test_1_keyword_to_follow(funnel, wechat, aws):
    # The MP user types 666 in the contact session (JSON, safe mode): no passive answer, the QR goes out.
    reply = funnel.push(MP, "text", MP_USER, fmt="json", mode="safe", Content="666")
    assert reply.body == b"success"
    funnel.send_outbox()

    [create] = wechat.calls("qrcode/create")
    assert (create.appid, create.payload) == (
        OA_APPID,
        {
            "expire_seconds": 604800,
            "action_name": "QR_STR_SCENE",
            "action_info": {"scene": {"scene_str": "mp-666"}},
        },
    )
    [send] = wechat.calls(CUSTOM)
    image_url = send.payload["link"]["url"]
    assert (send.appid, send.payload) == (
        MP_APPID,
        {
            "touser": MP_USER,
            "msgtype": "link",
            "link": {
                "title": "关注公众号",
                "description": "扫码关注",
                "url": image_url,
                "thumb_url": image_url,
            },
        },
    )

    # The user scans that QR with WeChat and follows the OA: greeted, recorded with the scene.
    scene = wechat.qr_for_url(image_url).scene
    assert scene == "mp-666"
    reply = funnel.follow(OA_USER, scene)
    assert funnel.text_reply(reply)["Content"] == "欢迎你通过海报关注！"
    profile = funnel.profile(OA_USER)
    assert (profile["status"]["S"], profile["first_scene"]["S"]) == ("subscribed", "mp-666")
    assert funnel.stats("mp-666")["new_followers"] == 1


def test_2_reminder_via_mini_program_card(funnel, wechat, aws):
    # The user sends the live page's card into the contact session.
    funnel.push(
        MP,
        "miniprogrampage",
        MP_USER,
        fmt="json",
        Title="Live #10",
        AppId=MP_APPID,
        PagePath="pages/live/index?live_id=10&user_id=5",
        ThumbUrl="",
        ThumbMediaId="",
    )
    funnel.send_outbox()
    scene = "live.live_id=10&user_id=5"
    [create] = wechat.calls("qrcode/create")
    assert create.appid == OA_APPID
    assert (
        create.payload["action_info"] == {"scene": {"scene_str": scene}}
        and create.payload["expire_seconds"] == 86400
    )
    [send] = wechat.calls(CUSTOM)
    assert send.appid == MP_APPID and send.payload["link"]["title"] == "扫码开启提醒"
    [card] = [i for i in table_items(aws, "CHANNELS_TABLE") if i.get("sk", {}).get("S") == scene]
    assert card["kind"]["S"] == "card"

    # Scanning it follows the OA and opts in; an already-following user's SCAN opts in the same way.
    reply = funnel.follow(OA_USER, scene)
    assert funnel.text_reply(reply)["Content"] == "欢迎关注！\n\n直播 10 提醒已开启"
    other = "o-oa-user-2"
    funnel.follow(other)
    reply = funnel.push(OA, "event", other, Event="SCAN", EventKey=scene, Ticket="TICKET")
    assert funnel.text_reply(reply)["Content"] == "直播 10 提醒已开启"

    # The live starts: one template message to each opted-in follower, through the OA.
    status, created = funnel.admin(
        funnel.notify,
        "POST",
        "/notifications",
        "/notifications",
        {
            "request_id": "live-10",
            "app": OA,
            "scene_prefix": "live.live_id=10&",
            "template_id": "TPL_LIVE",
            "data": {"thing1": "直播开始了"},
            "url": "https://live.example/10",
        },
    )
    assert status == 202, created
    assert pump(aws.sqs, aws.env["FANOUT_QUEUE_URL"], funnel.fanout, lambda_context("FanoutFunction")) == []
    funnel.send_outbox()
    sends = wechat.calls("message/template/send")
    assert sorted((c.appid, c.payload["touser"]) for c in sends) == [(OA_APPID, OA_USER), (OA_APPID, other)]
    assert sends[0].payload["data"] == {"thing1": {"value": "直播开始了"}}
    report = funnel.admin(
        funnel.notify,
        "GET",
        "/notifications/{id}",
        f"/notifications/{created['id']}",
        path_parameters={"id": created["id"]},
    )[1]
    assert (report["status"], report["sent"], report["audience"]) == ("done", 2, 2)


def test_3_channels_and_promoters(funnel, wechat, aws):
    funnel.create_channel(
        "spring-poster", name="Spring poster", welcome_message="春季海报欢迎你！", tag="spring"
    )
    reply = funnel.follow(OA_USER, "spring-poster")
    assert funnel.text_reply(reply)["Content"] == "春季海报欢迎你！"
    funnel.send_outbox()
    [tagging] = wechat.calls("tags/members/batchtagging")
    assert tagging.appid == OA_APPID
    [tag_id] = [tag_id for tag_id, name in wechat.tags(OA_APPID).items() if name == "spring"]
    assert tagging.payload == {"openid_list": [OA_USER], "tagid": tag_id}

    # An existing follower scans the poster: greeted again, counted as a scan; an unfollow is counted too.
    funnel.follow("o-oa-user-2")
    reply = funnel.push(OA, "event", "o-oa-user-2", Event="SCAN", EventKey="spring-poster", Ticket="TICKET")
    assert funnel.text_reply(reply)["Content"] == "春季海报欢迎你！"
    funnel.push(OA, "event", OA_USER, Event="unsubscribe")
    totals = funnel.stats("spring-poster")
    assert (totals["new_followers"], totals["scans"], totals["unfollows"], totals["net"]) == (1, 1, 1, 0)
    assert funnel.profile(OA_USER)["status"]["S"] == "unsubscribed"


def test_4_referrals(funnel, wechat):
    funnel.create_channel(
        "ref-alice", name="Alice", welcome_message="欢迎！", referrer={"name": "Alice", "openid": "o-alice"}
    )
    reply = funnel.follow(OA_USER, "ref-alice")
    assert funnel.text_reply(reply)["Content"] == "欢迎！\n\n你由 Alice 推荐关注"
    assert funnel.profile(OA_USER)["referred_by"]["S"] == "o-alice"

    # Alice scanning her own code and a repeat follow do not count again.
    assert funnel.text_reply(funnel.follow("o-alice", "ref-alice"))["Content"] == "欢迎！"
    funnel.push(OA, "event", OA_USER, Event="unsubscribe")
    funnel.follow(OA_USER, "ref-alice")
    assert funnel.stats("ref-alice")["referrals"] == 1


def test_5_human_hand_off(funnel, wechat):
    reply = funnel.push(OA, "text", OA_USER, Content="我的订单有问题")
    assert funnel.text_reply(reply)["MsgType"] == "transfer_customer_service"
    assert funnel.text_reply(funnel.push(OA, "text", OA_USER, Content="hi"))["Content"] == "你好"
    reply = funnel.push(MP, "text", MP_USER, fmt="json", Content="人工客服")
    assert json.loads(reply.body)["MsgType"] == "transfer_customer_service"
    funnel.send_outbox()
    assert wechat.count(CUSTOM) == 0


def test_a_repeated_push_sends_nothing_twice(funnel, wechat):
    fields = message(
        "text", openid=MP_USER, to_user=MP_ID, create_time=funnel.clock, msg_id=42, Content="666"
    )
    for _ in range(3):  # WeChat's retries of one push
        assert funnel.callback.push(MP, fields, fmt="json").status == 200
    funnel.send_outbox()
    assert wechat.count(CUSTOM) == 1
