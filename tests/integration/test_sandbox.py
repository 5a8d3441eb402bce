"""The local sandbox behaves like WeChat where wxfunnel depends on it, records calls and injects faults."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from wxfunnel_tools.devapps import DEV_APPS
from wxfunnel_tools.qrimage import encodes
from wxfunnel_tools.sandbox import RemoteSandbox, Sandbox

OA = DEV_APPS["demo-oa"]
MP = DEV_APPS["demo-mp"]
USER = "oUser0001"


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    running = Sandbox.start()
    running.register_dev_apps()
    yield running
    running.stop()


def _stable(sandbox: Sandbox, app: dict[str, Any], force: bool = False, **overrides: Any) -> dict[str, Any]:
    body = {
        "grant_type": "client_credential",
        "appid": app["appid"],
        "secret": app["secret"],
        "force_refresh": force,
        **overrides,
    }
    answer: dict[str, Any] = requests.post(
        f"{sandbox.api_base}/cgi-bin/stable_token", json=body, timeout=5
    ).json()
    return answer


def _post(sandbox: Sandbox, endpoint: str, token: str | None, body: Any, **params: str) -> dict[str, Any]:
    query = {**params, **({"access_token": token} if token is not None else {})}
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    answer: dict[str, Any] = requests.post(
        f"{sandbox.api_base}/cgi-bin/{endpoint}", params=query, data=data, timeout=5
    ).json()
    return answer


def test_stable_token_returns_the_same_token_until_forced(sandbox: Sandbox) -> None:
    first = _stable(sandbox, MP)
    again = _stable(sandbox, MP)
    forced = _stable(sandbox, MP, force=True)

    assert first["access_token"] == again["access_token"] != forced["access_token"]
    assert first["expires_in"] == 7200 and 7190 < again["expires_in"] <= 7200
    assert (
        _post(sandbox, "message/custom/typing", first["access_token"], {"touser": USER, "command": "Typing"})[
            "errcode"
        ]
        == 40001
    )


@pytest.mark.parametrize(
    ("overrides", "errcode"),
    [
        ({"grant_type": "password"}, 40002),
        ({"appid": "wx1111111111111111"}, 40013),
        ({"secret": "nope"}, 40125),
        ({"appid": ""}, 41002),
        ({"secret": ""}, 41004),
    ],
)
def test_token_requests_are_validated(sandbox: Sandbox, overrides: dict[str, Any], errcode: int) -> None:
    answer = _stable(sandbox, OA, **overrides)

    assert answer["errcode"] == errcode
    assert " rid: " in answer["errmsg"]


def test_a_classic_token_replaces_the_previous_one_after_five_minutes(sandbox: Sandbox) -> None:
    url = f"{sandbox.api_base}/cgi-bin/token"
    params = {"grant_type": "client_credential", "appid": OA["appid"], "secret": OA["secret"]}
    old = requests.get(url, params=params, timeout=5).json()["access_token"]
    requests.get(url, params=params, timeout=5)

    assert old in sandbox.tokens_of(OA["appid"])
    sandbox.advance(301)
    assert old not in sandbox.tokens_of(OA["appid"])
    assert len(sandbox.tokens_of(OA["appid"])) == 1


def test_api_calls_need_a_valid_token(sandbox: Sandbox) -> None:
    token = _stable(sandbox, MP)["access_token"]
    body = {"touser": USER, "msgtype": "text", "text": {"content": "hi"}}

    assert _post(sandbox, "message/custom/send", None, body)["errcode"] == 41001
    assert _post(sandbox, "message/custom/send", "garbage", body)["errcode"] == 40001
    assert _post(sandbox, "message/custom/send", token, body)["errcode"] == 0
    sandbox.advance(7201)
    assert _post(sandbox, "message/custom/send", token, body)["errcode"] == 42001


@pytest.mark.parametrize(
    ("body", "errcode"),
    [
        (b"", 44002),
        (b"{not json", 47001),
        ({"touser": "nobody!", "msgtype": "text", "text": {"content": "x"}}, 40003),
        ({"touser": USER, "msgtype": "news", "news": {"articles": [{}]}}, 40008),
        ({"touser": USER, "msgtype": "image", "image": {"media_id": "unknown"}}, 40007),
        ({"touser": USER, "msgtype": "text", "text": {"content": ""}}, 44004),
        ({"touser": USER, "msgtype": "text", "text": {"content": "x" * 2049}}, 45002),
        ({"touser": USER, "msgtype": "link", "link": {"title": "t", "url": "nope"}}, 47003),
    ],
)
def test_mini_program_custom_messages_are_validated(sandbox: Sandbox, body: Any, errcode: int) -> None:
    token = _stable(sandbox, MP)["access_token"]

    assert _post(sandbox, "message/custom/send", token, body)["errcode"] == errcode


def test_oa_only_apis_refuse_a_mini_program_token(sandbox: Sandbox) -> None:
    token = _stable(sandbox, MP)["access_token"]
    body = {"action_name": "QR_LIMIT_SCENE", "action_info": {"scene": {"scene_id": 1}}}

    assert _post(sandbox, "qrcode/create", token, body)["errcode"] == 48001


@pytest.mark.parametrize(
    ("body", "errcode"),
    [
        ({"expire_seconds": 60, "action_name": "QR_SCENE", "action_info": {"scene": {"scene_id": 0}}}, 40035),
        ({"action_name": "QR_LIMIT_SCENE", "action_info": {"scene": {"scene_id": 100_001}}}, 40035),
        ({"action_name": "QR_STR_SCENE", "action_info": {"scene": {"scene_str": "x" * 65}}}, 40035),
        (
            {
                "expire_seconds": 2_592_001,
                "action_name": "QR_SCENE",
                "action_info": {"scene": {"scene_id": 1}},
            },
            40035,
        ),
        ({"action_name": "QR_BOGUS", "action_info": {"scene": {"scene_id": 1}}}, 40035),
    ],
)
def test_qr_parameters_are_validated(sandbox: Sandbox, body: Any, errcode: int) -> None:
    token = _stable(sandbox, OA)["access_token"]

    assert _post(sandbox, "qrcode/create", token, body)["errcode"] == errcode


def test_a_temporary_qr_without_expire_seconds_gets_a_short_default(sandbox: Sandbox) -> None:
    token = _stable(sandbox, OA)["access_token"]
    answer = _post(
        sandbox,
        "qrcode/create",
        token,
        {"action_name": "QR_SCENE", "action_info": {"scene": {"scene_id": 5}}},
    )

    assert answer["expire_seconds"] == 60
    assert sandbox.scene_for_ticket(answer["ticket"]) == 5


def test_showqrcode_serves_images_only_on_the_mp_base(sandbox: Sandbox) -> None:
    token = _stable(sandbox, OA)["access_token"]
    ticket = _post(
        sandbox,
        "qrcode/create",
        token,
        {"action_name": "QR_LIMIT_STR_SCENE", "action_info": {"scene": {"scene_str": "s"}}},
    )["ticket"]

    image = requests.get(f"{sandbox.mp_base}/cgi-bin/showqrcode", params={"ticket": ticket}, timeout=5)
    assert image.status_code == 200 and image.content.startswith(b"\x89PNG")
    unencoded = requests.get(f"{sandbox.mp_base}/cgi-bin/showqrcode?ticket={ticket}", timeout=5)
    assert unencoded.status_code == 404 or "+" not in ticket
    assert (
        requests.get(
            f"{sandbox.api_base}/cgi-bin/showqrcode", params={"ticket": ticket}, timeout=5
        ).status_code
        == 404
    )


@pytest.mark.parametrize(
    ("action", "scene"),
    [("QR_SCENE", {"scene_id": 7}), ("QR_LIMIT_STR_SCENE", {"scene_str": "春节海报"})],
)
def test_showqrcode_is_a_real_qr_code_of_the_codes_url(
    sandbox: Sandbox, action: str, scene: dict[str, Any]
) -> None:
    """What a phone scanning the image reads is the `url` qrcode/create answered, as with WeChat's image."""
    token = _stable(sandbox, OA)["access_token"]
    created = _post(sandbox, "qrcode/create", token, {"action_name": action, "action_info": {"scene": scene}})
    other = _post(
        sandbox,
        "qrcode/create",
        token,
        {"action_name": "QR_SCENE", "action_info": {"scene": {"scene_id": 8}}},
    )

    image = requests.get(
        f"{sandbox.mp_base}/cgi-bin/showqrcode", params={"ticket": created["ticket"]}, timeout=5
    )

    assert image.headers["Content-Type"] == "image/png"
    assert encodes(image.content, created["url"])
    assert not encodes(image.content, other["url"])
    assert sandbox.qr_for_url(created["url"]).scene == next(iter(scene.values()))


def test_media_upload_needs_the_media_part_and_an_image_for_a_mini_program(sandbox: Sandbox) -> None:
    token = _stable(sandbox, MP)["access_token"]
    url = f"{sandbox.api_base}/cgi-bin/media/upload"
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16

    ok = requests.post(
        url,
        params={"access_token": token, "type": "image"},
        files={"media": ("a.png", png, "image/png")},
        timeout=5,
    ).json()
    voice = requests.post(
        url,
        params={"access_token": token, "type": "voice"},
        files={"media": ("a.amr", b"#!AMR", "audio/amr")},
        timeout=5,
    ).json()
    wrong_field = requests.post(
        url,
        params={"access_token": token, "type": "image"},
        files={"file": ("a.png", png, "image/png")},
        timeout=5,
    ).json()

    assert ok["type"] == "image" and sandbox.media(ok["media_id"]) is not None
    assert voice["errcode"] == 40004
    assert wrong_field["errcode"] == 41005


def test_batchtagging_takes_at_most_50_openids(sandbox: Sandbox) -> None:
    token = _stable(sandbox, OA)["access_token"]
    tag = _post(sandbox, "tags/create", token, {"tag": {"name": "t"}})["tag"]["id"]

    answer = _post(
        sandbox,
        "tags/members/batchtagging",
        token,
        {"openid_list": [f"oU{i:04d}" for i in range(51)], "tagid": tag},
    )

    assert answer["errcode"] == 40032


def test_the_recorder_counts_calls_per_endpoint_and_app(sandbox: Sandbox) -> None:
    _stable(sandbox, OA)
    _stable(sandbox, MP)
    _stable(sandbox, MP)

    assert sandbox.counters() == {
        ("/cgi-bin/stable_token", OA["appid"]): 1,
        ("/cgi-bin/stable_token", MP["appid"]): 2,
    }
    assert sandbox.calls("stable_token", appid=MP["appid"])[0].payload["secret"] == "***"
    sandbox.reset_calls()
    assert sandbox.count() == 0


def test_faults_apply_to_the_next_n_calls_in_order(sandbox: Sandbox) -> None:
    token = _stable(sandbox, MP)["access_token"]
    sandbox.fail_next("message/custom/typing", errcode=45009, times=2)
    body = {"touser": USER, "command": "Typing"}

    codes = [_post(sandbox, "message/custom/typing", token, body)["errcode"] for _ in range(3)]

    assert codes == [45009, 45009, 0]


def test_a_sandbox_in_another_process_is_driven_over_http(sandbox: Sandbox) -> None:
    remote = RemoteSandbox(sandbox.api_base)
    remote.follow(OA["appid"], USER, scene=7)
    remote.fail_next("getcallbackip", status=502)
    token = _stable(sandbox, OA)["access_token"]

    reply = requests.get(
        f"{sandbox.api_base}/cgi-bin/getcallbackip", params={"access_token": token}, timeout=5
    )
    remote.invalidate_tokens(OA["appid"])

    assert reply.status_code == 502
    assert remote.is_following(OA["appid"], USER)
    assert remote.count("getcallbackip") == 1
    assert remote.calls("stable_token")[0]["appid"] == OA["appid"]
    assert token not in sandbox.tokens_of(OA["appid"])
    ticket = _post(
        sandbox,
        "qrcode/create",
        _stable(sandbox, OA)["access_token"],
        {"action_name": "QR_LIMIT_SCENE", "action_info": {"scene": {"scene_id": 9}}},
    )["ticket"]
    assert remote.scene_for_ticket(ticket) == 9
    assert remote.qr("unknown") is None


# --- custom menu ----------------------------------------------------------------------------------------------

MENU_CLICK = {"type": "click", "name": "我的二维码", "key": "MY_CODE"}
MENU_VIEW = {"type": "view", "name": "官网", "url": "https://example.com/"}


def _get(sandbox: Sandbox, endpoint: str, token: str) -> dict[str, Any]:
    answer: dict[str, Any] = requests.get(
        f"{sandbox.api_base}/cgi-bin/{endpoint}", params={"access_token": token}, timeout=5
    ).json()
    return answer


def test_a_menu_is_set_read_back_as_wechat_shows_it_and_deleted(sandbox: Sandbox) -> None:
    token = _stable(sandbox, OA)["access_token"]
    buttons = [MENU_CLICK, {"name": "更多", "sub_button": [MENU_VIEW]}]

    assert _get(sandbox, "menu/get", token)["errcode"] == 46003
    assert _post(sandbox, "menu/create", token, {"button": buttons}) == {"errcode": 0, "errmsg": "ok"}
    assert sandbox.menu(OA["appid"]) == buttons
    assert _get(sandbox, "menu/get", token) == {
        "menu": {
            "button": [
                {**MENU_CLICK, "sub_button": []},
                {"name": "更多", "sub_button": [{**MENU_VIEW, "sub_button": []}]},
            ]
        }
    }
    assert RemoteSandbox(sandbox.api_base).menu(OA["appid"]) == buttons
    assert _get(sandbox, "menu/delete", token) == {"errcode": 0, "errmsg": "ok"}
    assert _get(sandbox, "menu/delete", token)["errcode"] == 0  # nothing left to delete is fine
    assert _get(sandbox, "menu/get", token)["errcode"] == 46003
    assert sandbox.menu(OA["appid"]) is None
    assert [call.endpoint for call in sandbox.calls(appid=OA["appid"])][-3:] == [
        "/cgi-bin/menu/delete",
        "/cgi-bin/menu/delete",
        "/cgi-bin/menu/get",
    ]


def _live(**overrides: Any) -> dict[str, Any]:
    return {
        "type": "miniprogram",
        "name": "直播",
        "appid": MP["appid"],
        "pagepath": "pages/live/index",
        "url": "https://example.com/live",
        **overrides,
    }


@pytest.mark.parametrize(
    ("body", "errcode"),
    [
        ({"menu": {"button": [MENU_CLICK]}}, 40016),  # menu/get's whole answer put back
        ({"button": []}, 40016),
        ({"button": [MENU_CLICK, MENU_VIEW, MENU_CLICK, MENU_VIEW]}, 40016),
        ({"button": [{"type": "link", "name": "x"}]}, 40017),
        ({"button": [{**MENU_CLICK, "name": "x" * 17}]}, 40018),
        ({"button": [{**MENU_CLICK, "key": "k" * 129}]}, 40019),
        ({"button": [{**MENU_VIEW, "url": "https://e.com/" + "a" * 1011}]}, 40020),
        ({"button": [{**MENU_VIEW, "url": "www.example.com"}]}, 40055),
        ({"button": [{"name": "g", "sub_button": [{"name": "h", "sub_button": [MENU_CLICK]}]}]}, 40022),
        ({"button": [{"name": "g", "sub_button": [MENU_CLICK] * 6}]}, 40023),
        ({"button": [{"name": "g", "sub_button": [{"type": "link", "name": "x"}]}]}, 40024),
        ({"button": [{"name": "g", "sub_button": [{**MENU_CLICK, "name": "x" * 61}]}]}, 40025),
        ({"button": [{"name": "g", "sub_button": [{"type": "click", "name": "x"}]}]}, 40026),
        ({"button": [{"name": "g", "sub_button": [{"type": "view", "name": "x", "key": "u"}]}]}, 40027),
        ({"button": [{"name": "g", "sub_button": [{**MENU_VIEW, "url": "example.com"}]}]}, 40054),
        ({"button": [_live(appid=OA["appid"])]}, 45064),  # an official account is no mini program
        ({"button": [_live(pagepath="")]}, 40035),
        ({"button": [{"type": "media_id", "name": "图片"}]}, 40007),
    ],
)
def test_menus_are_validated_with_wechats_errcodes(sandbox: Sandbox, body: Any, errcode: int) -> None:
    token = _stable(sandbox, OA)["access_token"]

    assert _post(sandbox, "menu/create", token, body)["errcode"] == errcode
    assert sandbox.menu(OA["appid"]) is None


def test_the_menu_is_an_official_accounts_and_faults_apply(sandbox: Sandbox) -> None:
    mp_token, oa_token = _stable(sandbox, MP)["access_token"], _stable(sandbox, OA)["access_token"]

    assert _post(sandbox, "menu/create", mp_token, {"button": [MENU_CLICK]})["errcode"] == 48001
    assert _get(sandbox, "menu/get", mp_token)["errcode"] == 48001
    sandbox.fail_next("menu/create", errcode=-1)
    assert _post(sandbox, "menu/create", oa_token, {"button": [MENU_CLICK, _live()]})["errcode"] == -1
    assert _post(sandbox, "menu/create", oa_token, {"button": [MENU_CLICK, _live()]})["errcode"] == 0
    sandbox.reset()
    assert sandbox.menu(OA["appid"]) is None
