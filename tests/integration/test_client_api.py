"""Every WeChatClient method against the local sandbox: what reaches WeChat, with which token, the answer."""

from __future__ import annotations

import hashlib
import time
from typing import Any

import pytest

from wxfunnel.client import (
    ImageMessage,
    LinkMessage,
    MiniProgramPageMessage,
    NewsMessage,
    TextMessage,
    errors,
)
from wxfunnel.entry.wechat import client_for
from wxfunnel_tools.sandbox import Sandbox
from wxfunnel_tools.sandbox.png import qr_png
from wxfunnel_tools.testing import Aws, cold_start

OA_APPID = "wx0a0a0a0a0a0a0a0a"
MP_APPID = "wx0b0b0b0b0b0b0b0b"
USER = "oUser0001"
PNG = qr_png("thumbnail")


def _last(wechat: Sandbox, endpoint: str, appid: str) -> Any:
    calls = wechat.calls(endpoint, appid=appid)
    assert calls, f"no {endpoint} call with the token of {appid}"
    return calls[-1].payload


# --- QR codes ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("scene", "permanent", "expire", "sent"),
    [
        (
            4_000_000_000,
            False,
            None,
            {
                "expire_seconds": 604800,
                "action_name": "QR_SCENE",
                "action_info": {"scene": {"scene_id": 4_000_000_000}},
            },
        ),
        (
            "live_id=10&user_id=5",
            False,
            3600,
            {
                "expire_seconds": 3600,
                "action_name": "QR_STR_SCENE",
                "action_info": {"scene": {"scene_str": "live_id=10&user_id=5"}},
            },
        ),
        (42, True, None, {"action_name": "QR_LIMIT_SCENE", "action_info": {"scene": {"scene_id": 42}}}),
        (
            "channel:shop",
            True,
            None,
            {"action_name": "QR_LIMIT_STR_SCENE", "action_info": {"scene": {"scene_str": "channel:shop"}}},
        ),
    ],
)
def test_create_qrcode_sends_the_four_forms_with_the_oa_token(
    wechat: Sandbox, scene: int | str, permanent: bool, expire: int | None, sent: dict[str, Any]
) -> None:
    qr = client_for("demo-oa").create_qrcode(scene, permanent=permanent, expire_seconds=expire)

    assert _last(wechat, "qrcode/create", OA_APPID) == sent
    assert qr.expire_seconds == (None if permanent else sent["expire_seconds"])
    assert qr.url.startswith("http://weixin.qq.com/q/")
    record = wechat.qr(qr.ticket)
    assert record is not None and record.scene == scene and record.permanent is permanent
    assert wechat.scene_for_ticket(qr.ticket) == scene
    assert wechat.qr_for_url(qr.url) == record
    assert wechat.qr_for_url(qr.image_url) == record


def test_the_qr_image_is_fetched_with_the_ticket_url_encoded(wechat: Sandbox) -> None:
    client = client_for("demo-oa")
    qr = client.create_qrcode(7, permanent=False, expire_seconds=60)

    assert qr.image_url.startswith(wechat.mp_base + "/cgi-bin/showqrcode?ticket=")
    assert qr.ticket.endswith("==") and qr.image_url.endswith("%3D%3D")
    image, content_type = client.fetch_qrcode_image(qr.ticket)

    assert image.startswith(b"\x89PNG\r\n\x1a\n")
    assert content_type == "image/png"


def test_an_unknown_or_expired_ticket_has_no_image(wechat: Sandbox) -> None:
    client = client_for("demo-oa")
    qr = client.create_qrcode(8, permanent=False, expire_seconds=60)

    with pytest.raises(errors.QrTicketNotFound):
        client.fetch_qrcode_image("gQnot-a-ticket==")
    wechat.advance(61)
    with pytest.raises(errors.QrTicketNotFound):
        client.fetch_qrcode_image(qr.ticket)


# --- customer service -------------------------------------------------------------------------------------


def test_the_mini_program_sends_its_four_types_with_the_mp_token(wechat: Sandbox) -> None:
    mp = client_for("demo-mp")
    media_id = mp.upload_image(PNG, "thumb.png")

    mp.send_custom(USER, TextMessage("回复 666 关注公众号"))
    mp.send_custom(USER, ImageMessage(media_id))
    mp.send_custom(
        USER, LinkMessage("关注", "扫码关注", "https://example.com/follow", "https://example.com/t.png")
    )
    mp.send_custom(USER, MiniProgramPageMessage("直播", MP_APPID, "pages/live?id=10", media_id))

    payloads = [c.payload for c in wechat.calls("message/custom/send", appid=MP_APPID)]
    assert payloads == [
        {"touser": USER, "msgtype": "text", "text": {"content": "回复 666 关注公众号"}},
        {"touser": USER, "msgtype": "image", "image": {"media_id": media_id}},
        {
            "touser": USER,
            "msgtype": "link",
            "link": {
                "title": "关注",
                "description": "扫码关注",
                "url": "https://example.com/follow",
                "thumb_url": "https://example.com/t.png",
            },
        },
        {
            "touser": USER,
            "msgtype": "miniprogrampage",
            "miniprogrampage": {
                "title": "直播",
                "appid": MP_APPID,
                "pagepath": "pages/live?id=10",
                "thumb_media_id": media_id,
            },
        },
    ]
    assert wechat.count("message/custom/send", appid=OA_APPID) == 0
    assert [d.msgtype for d in wechat.deliveries(openid=USER)] == ["text", "image", "link", "miniprogrampage"]


def test_the_official_account_sends_a_news_card(wechat: Sandbox) -> None:
    client_for("demo-oa").send_custom(USER, NewsMessage("欢迎", "来自渠道 A", "https://example.com/a"))

    assert _last(wechat, "message/custom/send", OA_APPID) == {
        "touser": USER,
        "msgtype": "news",
        "news": {
            "articles": [
                {"title": "欢迎", "description": "来自渠道 A", "url": "https://example.com/a", "picurl": ""}
            ]
        },
    }


def test_typing_on_and_off(wechat: Sandbox) -> None:
    mp = client_for("demo-mp")
    mp.typing(USER)
    mp.typing(USER, on=False)

    assert [c.payload["command"] for c in wechat.calls("message/custom/typing", appid=MP_APPID)] == [
        "Typing",
        "CancelTyping",
    ]


def test_an_image_is_uploaded_once_and_its_media_id_reused(wechat: Sandbox, aws: Aws) -> None:
    mp = client_for("demo-mp")

    first = mp.upload_image(PNG, "qr.png")
    second = mp.upload_image(PNG, "again.png")

    assert first == second
    assert wechat.count("media/upload", appid=MP_APPID) == 1
    media = wechat.media(first)
    assert media is not None and media.content == PNG and media.filename == "qr.png"
    key = f"media#demo-mp#{hashlib.sha256(PNG).hexdigest()}"
    item = aws.dynamodb.get_item(TableName=aws.env["TOKENS_TABLE"], Key={"pk": {"S": key}})["Item"]
    ttl = int(item["ttl"]["N"])
    assert 3 * 86400 - 2 * 3600 < ttl - time.time() < 3 * 86400


def test_the_media_cache_is_per_app(wechat: Sandbox) -> None:
    client_for("demo-mp").upload_image(PNG)
    client_for("demo-oa").upload_image(PNG)

    assert wechat.count("media/upload") == 2


# --- users and tags ---------------------------------------------------------------------------------------


def test_user_info_of_a_follower_and_of_someone_who_left(wechat: Sandbox) -> None:
    oa = client_for("demo-oa")
    wechat.follow(OA_APPID, USER, scene="live_id=10")

    info = oa.user_info(USER)
    assert info.subscribed and info.openid == USER
    assert info.qr_scene_str == "live_id=10" and info.qr_scene is None
    assert info.subscribe_scene == "ADD_SCENE_QR_CODE"

    wechat.unfollow(OA_APPID, USER)
    assert not oa.user_info(USER).subscribed
    assert wechat.calls("user/info")[-1].payload == {"openid": USER, "lang": "zh_CN"}


def test_tags_are_created_once_and_users_tagged_in_batches_of_50(wechat: Sandbox) -> None:
    oa = client_for("demo-oa")
    followers = [f"oFollower{i:04d}" for i in range(120)]
    for openid in followers:
        wechat.follow(OA_APPID, openid)

    tag = oa.tag_id("渠道A")
    assert oa.tag_id("渠道A") == tag
    oa.tag_users(tag, [*followers, followers[0]])

    assert wechat.count("tags/create") == 1
    assert wechat.count("tags/get") == 1
    batches = [c.payload for c in wechat.calls("tags/members/batchtagging", appid=OA_APPID)]
    assert [len(b["openid_list"]) for b in batches] == [50, 50, 20]
    assert all(b["tagid"] == tag for b in batches)
    assert oa.user_info(followers[119]).tag_ids == (tag,)


def test_tag_id_finds_a_tag_another_container_created(wechat: Sandbox) -> None:
    existing = client_for("demo-oa").create_tag("推广员")
    cold_start()
    assert client_for("demo-oa").tag_id("推广员") == existing
    assert wechat.count("tags/create") == 1


def test_create_tag_twice_is_refused_by_wechat(wechat: Sandbox) -> None:
    oa = client_for("demo-oa")
    oa.create_tag("dup")
    with pytest.raises(errors.InvalidArgument) as caught:
        oa.create_tag("dup")
    assert caught.value.errcode == 45157


# --- template and subscribe messages, platform ------------------------------------------------------------


def test_template_messages_carry_client_msg_id_and_repeats_are_deduplicated(wechat: Sandbox) -> None:
    oa = client_for("demo-oa")
    data = {"thing1": "直播开始了", "time2": "20:00"}

    first = oa.send_template(
        USER,
        "TPL_live",
        data,
        url="https://example.com/live/10",
        miniprogram={"appid": MP_APPID, "pagepath": "pages/live?id=10"},
        client_msg_id="reminder-10-oUser0001",
    )
    again = oa.send_template(USER, "TPL_live", data, client_msg_id="reminder-10-oUser0001")

    assert first == again and first.isdigit()
    assert wechat.calls("message/template/send", appid=OA_APPID)[0].payload == {
        "touser": USER,
        "template_id": "TPL_live",
        "data": {"thing1": {"value": "直播开始了"}, "time2": {"value": "20:00"}},
        "url": "https://example.com/live/10",
        "miniprogram": {"appid": MP_APPID, "pagepath": "pages/live?id=10"},
        "client_msg_id": "reminder-10-oUser0001",
    }
    assert len(wechat.deliveries(openid=USER, appid=OA_APPID)) == 1


def test_subscribe_messages_use_the_mp_token(wechat: Sandbox) -> None:
    client_for("demo-mp").send_subscribe_message(
        USER,
        "TPL_sub",
        {"thing1": "开播提醒"},
        page="pages/live?id=10",
        miniprogram_state="trial",
        lang="zh_CN",
    )

    assert _last(wechat, "message/subscribe/send", MP_APPID) == {
        "touser": USER,
        "template_id": "TPL_sub",
        "data": {"thing1": {"value": "开播提醒"}},
        "page": "pages/live?id=10",
        "miniprogram_state": "trial",
        "lang": "zh_CN",
    }


def test_no_subscription_quota_is_recipient_unavailable(wechat: Sandbox) -> None:
    wechat.require_subscription = True
    mp = client_for("demo-mp")
    wechat.grant_subscription(MP_APPID, USER, "TPL_sub")

    mp.send_subscribe_message(USER, "TPL_sub", {"thing1": "a"})
    with pytest.raises(errors.RecipientUnavailable) as caught:
        mp.send_subscribe_message(USER, "TPL_sub", {"thing1": "b"})
    assert caught.value.errcode == 43101


def test_callback_ips(wechat: Sandbox) -> None:
    assert "127.0.0.1" in client_for("demo-oa").callback_ips()


def test_client_for_is_cached_per_container(wechat: Sandbox) -> None:
    assert client_for("demo-oa") is client_for("demo-oa")
    assert client_for("demo-oa") is not client_for("demo-mp")


# --- validation never reaches WeChat ----------------------------------------------------------------------


def test_invalid_calls_never_reach_the_sandbox(wechat: Sandbox) -> None:
    oa, mp = client_for("demo-oa"), client_for("demo-mp")
    refused = [
        lambda: oa.create_qrcode(0, permanent=False),
        lambda: oa.create_qrcode(100_001, permanent=True),
        lambda: oa.create_qrcode("x" * 65, permanent=False),
        lambda: oa.create_qrcode(1, permanent=False, expire_seconds=2_592_001),
        lambda: oa.create_qrcode(1, permanent=True, expire_seconds=60),
        lambda: mp.create_qrcode(1, permanent=False),
        lambda: mp.send_custom(USER, NewsMessage("t", "d", "https://example.com/")),
        lambda: oa.send_custom(USER, LinkMessage("t", "d", "https://example.com/", "")),
        lambda: mp.send_custom("bad openid", TextMessage("hi")),
        lambda: mp.upload_image(b"GIF", "x.gif"),
        lambda: oa.tag_users(0, [USER]),
        lambda: oa.send_template(USER, "tpl", {}),
        lambda: mp.send_subscribe_message(USER, "tpl", {"k": "v"}, lang="xx"),
    ]
    for call in refused:
        with pytest.raises(errors.InvalidArgument):
            call()

    assert wechat.count() == 0


# --- custom menu ------------------------------------------------------------------------------------------

MENU = {
    "button": [
        {"type": "click", "name": "我的二维码", "key": "MY_CODE"},
        {
            "name": "更多",
            "sub_button": [
                {"type": "view", "name": "官网", "url": "https://example.com/"},
                {
                    "type": "miniprogram",
                    "name": "直播",
                    "appid": MP_APPID,
                    "pagepath": "pages/live/index?id=10",
                    "url": "https://example.com/live",
                },
            ],
        },
    ]
}


def test_the_menu_is_set_read_back_and_deleted_with_the_oa_token(wechat: Sandbox) -> None:
    oa = client_for("demo-oa")

    assert oa.menu_get() == {"button": []}  # WeChat's 46003: no menu yet
    oa.menu_create(MENU)
    assert _last(wechat, "menu/create", OA_APPID) == MENU
    assert wechat.menu(OA_APPID) == MENU["button"]
    assert oa.menu_get() == MENU  # without the empty sub_button menu/get puts on every action
    oa.menu_delete()
    assert wechat.menu(OA_APPID) is None
    assert oa.menu_get() == {"button": []}
    assert wechat.count("menu/delete", appid=OA_APPID) == 1


def test_a_menu_read_back_can_be_put_again_unchanged(wechat: Sandbox) -> None:
    oa = client_for("demo-oa")
    oa.menu_create(MENU)

    oa.menu_create(oa.menu_get())

    sent = [call.payload for call in wechat.calls("menu/create", appid=OA_APPID)]
    assert sent == [MENU, MENU]


def test_a_menu_wechat_refuses_is_an_invalid_argument(wechat: Sandbox) -> None:
    unlinked = {
        "button": [
            {
                **MENU["button"][1]["sub_button"][1],
                "appid": "wx0c0c0c0c0c0c0c0c",
            }  # a mini program it cannot open
        ]
    }
    with pytest.raises(errors.InvalidArgument) as refused:
        client_for("demo-oa").menu_create(unlinked)

    assert refused.value.errcode == 45064 and refused.value.rid
    assert wechat.menu(OA_APPID) is None


def test_an_unverified_account_cannot_set_a_menu_and_other_errors_are_not_no_menu(wechat: Sandbox) -> None:
    oa = client_for("demo-oa")
    wechat.fail_next("menu/create", errcode=48001)
    wechat.fail_next("menu/get", errcode=-1)

    with pytest.raises(errors.ApiUnauthorized):
        oa.menu_create(MENU)
    with pytest.raises(errors.SystemBusy):
        oa.menu_get()


def test_the_menu_calls_replace_a_rejected_token_once(wechat: Sandbox) -> None:
    oa = client_for("demo-oa")
    oa.menu_create(MENU)
    wechat.invalidate_tokens(OA_APPID)

    assert oa.menu_get() == MENU
    assert [call.errcode for call in wechat.calls("menu/get", appid=OA_APPID)] == [40001, 0]


def test_invalid_menus_never_reach_the_sandbox(wechat: Sandbox) -> None:
    oa, mp = client_for("demo-oa"), client_for("demo-mp")
    refused = [
        lambda: oa.menu_create({"button": []}),
        lambda: oa.menu_create({"button": [{"type": "click", "name": "x" * 17, "key": "K"}]}),
        lambda: oa.menu_create({"menu": MENU}),
        lambda: mp.menu_create(MENU),
        mp.menu_get,
        mp.menu_delete,
    ]
    for call in refused:
        with pytest.raises(errors.InvalidArgument):
            call()

    assert wechat.count() == 0
