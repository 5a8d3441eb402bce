"""Bad arguments are refused before any token or network call, with a message naming field and rule."""

from __future__ import annotations

from typing import Any

import pytest

from wxfunnel.client import (
    ImageMessage,
    LinkMessage,
    MiniProgramPageMessage,
    NewsMessage,
    TextMessage,
    WeChatClient,
    errors,
)
from wxfunnel.client import http as client_http
from wxfunnel.client.api import menu_request, qrcode_request
from wxfunnel.client.tokens import TokenLease
from wxfunnel.config.app import parse_app_config
from wxfunnel.protocol.limits import QR_DEFAULT_EXPIRE_SECONDS as DEFAULT_EXPIRE_SECONDS
from wxfunnel_tools.devapps import DEV_APPS

MP_APPID = "wx0b0b0b0b0b0b0b0b"


def _no_network(*_: Any, **__: Any) -> Any:
    raise AssertionError("validation must fail before any network or token call")


class NoTable:
    """Token and media storage that fails the test when touched: validation comes before either."""

    def __getattr__(self, name: str) -> Any:
        return _no_network


@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(client_http, "send", _no_network)
    monkeypatch.setattr(client_http, "get_image", _no_network)
    monkeypatch.setattr(TokenLease, "current", _no_network)


@pytest.fixture
def oa(offline: None) -> WeChatClient:
    return WeChatClient(parse_app_config("demo-oa", DEV_APPS["demo-oa"]), NoTable(), NoTable())


@pytest.fixture
def mp(offline: None) -> WeChatClient:
    return WeChatClient(parse_app_config("demo-mp", DEV_APPS["demo-mp"]), NoTable(), NoTable())


# --- QR codes ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("scene", "permanent", "expire", "action", "scene_body"),
    [
        (123, False, None, "QR_SCENE", {"scene_id": 123}),
        (2**32 - 1, False, 60, "QR_SCENE", {"scene_id": 2**32 - 1}),
        ("live_id=10", False, 2_592_000, "QR_STR_SCENE", {"scene_str": "live_id=10"}),
        (100_000, True, None, "QR_LIMIT_SCENE", {"scene_id": 100_000}),
        ("x" * 64, True, None, "QR_LIMIT_STR_SCENE", {"scene_str": "x" * 64}),
    ],
)
def test_the_scene_type_and_permanence_pick_the_action(
    scene: int | str, permanent: bool, expire: int | None, action: str, scene_body: dict[str, Any]
) -> None:
    body = qrcode_request(scene, permanent=permanent, expire_seconds=expire)

    assert body["action_name"] == action
    assert body["action_info"] == {"scene": scene_body}
    if permanent:
        assert "expire_seconds" not in body
    else:
        assert body["expire_seconds"] == (expire or DEFAULT_EXPIRE_SECONDS)


@pytest.mark.parametrize(
    ("scene", "permanent", "expire", "message"),
    [
        (0, False, None, "must be an integer from 1 to 4294967295 for a temporary code"),
        (2**32, False, None, "must be an integer from 1 to 4294967295 for a temporary code"),
        (-5, False, None, "scene must be an integer from 1"),
        (0, True, None, "must be an integer from 1 to 100000 for a permanent code"),
        (100_001, True, None, "must be an integer from 1 to 100000 for a permanent code"),
        ("", False, None, "scene must not be empty"),
        ("x" * 65, True, None, "scene must be at most 64 bytes of UTF-8"),
        (True, False, None, "scene must be an integer"),
        (1.5, False, None, "scene must be an integer"),
        (7, False, 0, "expire_seconds must be an integer from 1 to 2592000"),
        (7, False, 2_592_001, "expire_seconds must be an integer from 1 to 2592000"),
        (7, True, 60, "expire_seconds applies to temporary QR codes only"),
    ],
)
def test_qr_arguments_are_validated_before_calling(
    oa: WeChatClient, scene: Any, permanent: bool, expire: int | None, message: str
) -> None:
    with pytest.raises(errors.InvalidArgument, match=message):
        oa.create_qrcode(scene, permanent=permanent, expire_seconds=expire)


def test_the_showqrcode_url_encodes_the_ticket(oa: WeChatClient) -> None:
    url = oa.showqrcode_url("gQH4+7j/oA==")

    assert url == "https://mp.weixin.qq.com/cgi-bin/showqrcode?ticket=gQH4%2B7j%2FoA%3D%3D"


def test_a_mini_program_cannot_create_oa_qr_codes(mp: WeChatClient) -> None:
    with pytest.raises(errors.InvalidArgument, match="official_account"):
        mp.create_qrcode(1, permanent=False)


# --- customer-service messages ----------------------------------------------------------------------------


def test_a_mini_program_sends_only_its_four_types(mp: WeChatClient) -> None:
    with pytest.raises(errors.InvalidArgument, match="news"):
        mp.send_custom("o-user", NewsMessage("t", "d", "https://example.com/"))


def test_an_official_account_cannot_send_link_cards(oa: WeChatClient) -> None:
    with pytest.raises(errors.InvalidArgument, match="link"):
        oa.send_custom("o-user", LinkMessage("t", "d", "https://example.com/", ""))


@pytest.mark.parametrize(
    ("message", "rule"),
    [
        (TextMessage(""), "text.content must be a non-empty string"),
        (TextMessage("字" * 700), "text.content must be at most 2048 bytes"),
        (ImageMessage(""), "image.media_id"),
        (LinkMessage("t", "d", "javascript:alert(1)", ""), "link.url must be an http"),
        (LinkMessage("", "d", "https://example.com/", ""), "link.title"),
        (MiniProgramPageMessage("t", "not-an-appid", "pages/x", "m"), "miniprogrampage.appid"),
        (MiniProgramPageMessage("t", MP_APPID, "pages/x", ""), "miniprogrampage.thumb_media_id"),
    ],
)
def test_message_fields_are_checked(mp: WeChatClient, message: Any, rule: str) -> None:
    with pytest.raises(errors.InvalidArgument, match=rule):
        mp.send_custom("o-user", message)


@pytest.mark.parametrize("openid", ["", "has space", "x" * 129, "o/../evil"])
def test_openids_are_checked(mp: WeChatClient, openid: str) -> None:
    with pytest.raises(errors.InvalidArgument, match="openid"):
        mp.send_custom(openid, TextMessage("hi"))
    with pytest.raises(errors.InvalidArgument, match="openid"):
        mp.typing(openid)


# --- media, tags, template and subscribe messages ---------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "rule"),
    [
        (b"", "non-empty"),
        (b"not an image", "JPEG, PNG or GIF"),
        (b"\x89PNG\r\n\x1a\n" + b"0" * (2 * 1024 * 1024), "at most 2097152 bytes"),
    ],
)
def test_uploads_must_be_small_images(mp: WeChatClient, content: bytes, rule: str) -> None:
    with pytest.raises(errors.InvalidArgument, match=rule):
        mp.upload_image(content)


@pytest.mark.parametrize(("name", "rule"), [("", "non-empty"), ("标签" * 6, "at most 30 bytes")])
def test_tag_names_are_checked(oa: WeChatClient, name: str, rule: str) -> None:
    with pytest.raises(errors.InvalidArgument, match=rule):
        oa.create_tag(name)
    with pytest.raises(errors.InvalidArgument, match=rule):
        oa.tag_id(name)


def test_tagging_needs_a_tag_id_and_openids(oa: WeChatClient) -> None:
    with pytest.raises(errors.InvalidArgument, match="tag_id"):
        oa.tag_users(0, ["o-a"])
    with pytest.raises(errors.InvalidArgument, match="sequence"):
        oa.tag_users(100, "o-a")
    with pytest.raises(errors.InvalidArgument, match="openid"):
        oa.tag_users(100, ["o-a", "bad openid"])


def test_oa_only_and_mp_only_apis_are_refused_locally(oa: WeChatClient, mp: WeChatClient) -> None:
    with pytest.raises(errors.InvalidArgument, match="official_account"):
        mp.user_info("o-a")
    with pytest.raises(errors.InvalidArgument, match="official_account"):
        mp.send_template("o-a", "tpl", {"k": "v"})
    with pytest.raises(errors.InvalidArgument, match="mini_program"):
        oa.send_subscribe_message("o-a", "tpl", {"k": "v"})


@pytest.mark.parametrize(
    ("kwargs", "rule"),
    [
        ({"data": {}}, "data must be a non-empty mapping"),
        ({"data": {"k": 1}}, r"data\['k'\]"),
        ({"template_id": ""}, "template_id"),
        ({"url": "ftp://x"}, "url must be an http"),
        ({"miniprogram": {"appid": "nope", "pagepath": "p"}}, "miniprogram.appid"),
        ({"client_msg_id": ""}, "client_msg_id"),
    ],
)
def test_template_arguments_are_checked(oa: WeChatClient, kwargs: dict[str, Any], rule: str) -> None:
    arguments: dict[str, Any] = {"template_id": "tpl", "data": {"thing1": "hi"}, **kwargs}
    template_id, data = arguments.pop("template_id"), arguments.pop("data")
    with pytest.raises(errors.InvalidArgument, match=rule):
        oa.send_template("o-a", template_id, data, **arguments)


@pytest.mark.parametrize(
    ("kwargs", "rule"),
    [({"miniprogram_state": "beta"}, "miniprogram_state"), ({"lang": "fr"}, "lang"), ({"page": ""}, "page")],
)
def test_subscribe_arguments_are_checked(mp: WeChatClient, kwargs: dict[str, Any], rule: str) -> None:
    with pytest.raises(errors.InvalidArgument, match=rule):
        mp.send_subscribe_message("o-a", "tpl", {"thing1": "hi"}, **kwargs)


# --- custom menu --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("menu", "rule"),
    [
        ({"button": []}, r"menu button: must have 1 to 3 buttons \(got 0\)"),
        (
            {"button": [{"type": "click", "name": "我的专属二维码", "key": "MY_CODE"}]},
            r"menu button\[1\].name: must be at most 16 bytes",
        ),
        (
            {"button": [{"type": "click", "name": "二维码"}]},
            r"menu button\[1\].key: required for a click button",
        ),
        (
            {
                "button": [
                    {"name": "更多", "sub_button": [{"type": "view", "name": "官网", "url": "example.com"}]}
                ]
            },
            r"menu button\[1\].sub_button\[1\].url: must be an http\(s\) URL",
        ),
        ({"menu": {"button": []}}, "menu menu: not a field of a menu"),
    ],
)
def test_a_menu_is_checked_before_calling(oa: WeChatClient, menu: Any, rule: str) -> None:
    with pytest.raises(errors.InvalidArgument, match=rule):
        oa.menu_create(menu)


def test_the_menu_belongs_to_an_official_account(mp: WeChatClient) -> None:
    menu = {"button": [{"type": "click", "name": "二维码", "key": "MY_CODE"}]}
    for call in (lambda: mp.menu_create(menu), mp.menu_get, mp.menu_delete):
        with pytest.raises(errors.InvalidArgument, match=r"menu/\w+ needs a official_account"):
            call()


def test_a_menu_read_back_is_sent_without_the_empty_sub_buttons() -> None:
    read_back = {
        "button": [
            {"type": "click", "name": "我的二维码", "key": "MY_CODE", "sub_button": []},
            {
                "name": "更多",
                "sub_button": [{"type": "view", "name": "官网", "url": "https://e.com/", "sub_button": []}],
            },
        ]
    }

    assert menu_request(read_back) == {
        "button": [
            {"type": "click", "name": "我的二维码", "key": "MY_CODE"},
            {"name": "更多", "sub_button": [{"type": "view", "name": "官网", "url": "https://e.com/"}]},
        ]
    }
