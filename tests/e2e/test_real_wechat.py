"""`wxfunnel local --real-wechat NAME=FILE`: the chosen app's WeChat API calls (token, QR codes and their images,
customer-service messages, tags, template messages) reach WeChat, every other app's the sandbox. A second sandbox
stands for api.weixin.qq.com and mp.weixin.qq.com here (no internet)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
import requests

from wxfunnel_tools import cli
from wxfunnel_tools.admin_client import AdminClient
from wxfunnel_tools.devapps import DEV_APPS
from wxfunnel_tools.localstack import LocalStack, RealWeChat, Upstreams, WeChatRouter
from wxfunnel_tools.pushes import message, signed_push
from wxfunnel_tools.qrimage import encodes
from wxfunnel_tools.sandbox import Sandbox, refusing_base

pytestmark = pytest.mark.xdist_group("localstack")

APP = "wx-test"
TEST_ACCOUNT: dict[
    str, Any
] = {  # what WeChat's test account page shows: appid, appsecret, a Token; plaintext only
    "kind": "official_account",
    "appid": "wx1c1c1c1c1c1c1c1c",
    "secret": "test-account-appsecret-0123456789",
    "token": "TunnelToken2026",
    "original_id": "gh_1c1c1c1c1c1c",
    "welcome": "welcome through the tunnel",
}
USER = "oTunnelUser0001"
DEMO_OA_APPID = DEV_APPS["demo-oa"]["appid"]


@pytest.fixture(scope="module")
def wechat() -> Iterator[Sandbox]:
    """The stand-in for real WeChat, which knows the test account (and not the development apps)."""
    real = Sandbox.start()
    real.register_app(TEST_ACCOUNT["appid"], TEST_ACCOUNT["secret"], "official_account")
    real.follow(TEST_ACCOUNT["appid"], USER)  # tagging and template messages reach followers
    yield real
    real.stop()


def _upstreams(real: Sandbox) -> Upstreams:
    return Upstreams(api=real.api_base, backup=real.api_base, mp=real.mp_base)


@pytest.fixture(scope="module")
def stack(wechat: Sandbox) -> Iterator[LocalStack]:
    with LocalStack(real_wechat=RealWeChat(APP, TEST_ACCOUNT, _upstreams(wechat))) as running:
        yield running


def _endpoints(sandbox: Sandbox, appid: str) -> set[str]:
    return {call.endpoint for call in sandbox.calls(appid=appid)}


def test_the_chosen_apps_calls_reach_wechat_and_the_others_the_sandbox(
    stack: LocalStack, wechat: Sandbox
) -> None:
    admin = AdminClient(stack.url)
    assert stack.sandbox is not None
    appid = TEST_ACCOUNT["appid"]

    # a channel QR code, its image (token, qrcode/create, showqrcode)
    channel = {"app": APP, "scene": "tunnel", "channel": {"name": "Tunnel", "tag": "tunnel-walkthrough"}}
    created = admin.request("POST", "/qrcodes", json_body=channel).json()
    assert wechat.qr_for_url(created["url"]) is not None, "the code is WeChat's"
    image = admin.request("GET", "/qrcodes/wx-test/tunnel/image")
    assert encodes(image.body, created["url"])

    # a follow through it (plaintext, as the test account pushes): greeted in place, tagged by the sender
    follow = message(
        "event",
        openid=USER,
        to_user=TEST_ACCOUNT["original_id"],
        Event="subscribe",
        EventKey="qrscene_tunnel",
    )
    query, body = signed_push(TEST_ACCOUNT, follow)
    answer = requests.post(f"{stack.callback_url(APP)}?{urlencode(query)}", data=body, timeout=30)
    assert answer.status_code == 200 and b"welcome through the tunnel" in answer.content
    stack.drain(timeout=30)

    # a reminder to the channel's followers (template message through the fan-out and the sender)
    reminder = {
        "request_id": "tunnel-1",
        "app": APP,
        "scenes": ["tunnel"],
        "touch": "any",
        "template_id": "TunnelTemplate01",
        "data": {"thing1": "live now"},
    }
    admin.request("POST", "/notifications", json_body=reminder)
    stack.drain(timeout=30)

    # a customer-service message, from the client the functions use
    from wxfunnel.client import TextMessage
    from wxfunnel.entry.wechat import client_for

    client_for(APP).send_custom(USER, TextMessage("hello from the local stack"))

    reached = _endpoints(wechat, appid)
    assert {"/cgi-bin/qrcode/create", "/cgi-bin/showqrcode", "/cgi-bin/tags/members/batchtagging"} <= reached
    assert {"/cgi-bin/message/template/send", "/cgi-bin/message/custom/send"} <= reached
    assert wechat.token_requests(appid) == 1  # one token, reused: the router learned it
    assert {d.channel for d in wechat.deliveries(openid=USER)} >= {"template", "custom"}
    assert stack.sandbox.calls(appid=appid) == []
    assert not any(appid in json.dumps(call.payload) for call in stack.sandbox.calls())

    # a development app of the same stack keeps the sandbox
    demo = {"app": "demo-oa", "scene": "still-local", "channel": {"name": "Local"}}
    admin.request("POST", "/qrcodes", json_body=demo)
    assert "/cgi-bin/qrcode/create" in _endpoints(stack.sandbox, DEMO_OA_APPID)
    assert wechat.calls(appid=DEMO_OA_APPID) == []


def test_the_router_fails_over_to_the_backup_host_only_when_the_primary_cannot_be_reached(
    wechat: Sandbox,
) -> None:
    sandbox, down = Sandbox.start(), refusing_base()
    real = RealWeChat(APP, TEST_ACCOUNT, Upstreams(api=down.url, backup=wechat.api_base, mp=wechat.mp_base))
    router = WeChatRouter(real, sandbox.api_base, sandbox.mp_base).start()
    try:
        before = wechat.token_requests(TEST_ACCOUNT["appid"])
        token = requests.post(
            f"{router.api_base}/cgi-bin/stable_token",
            json={
                "grant_type": "client_credential",
                "appid": TEST_ACCOUNT["appid"],
                "secret": TEST_ACCOUNT["secret"],
            },
            timeout=10,
        ).json()
        assert "access_token" in token and wechat.token_requests(TEST_ACCOUNT["appid"]) == before + 1
        tags = requests.get(f"{router.api_base}/cgi-bin/tags/get", params=token, timeout=10).json()
        assert "tags" in tags  # the learned token routes the call to WeChat (the sandbox knows no such token)
        unknown = requests.get(
            f"{router.api_base}/cgi-bin/tags/get", params={"access_token": "x"}, timeout=10
        )
        assert unknown.json()["errcode"] == 40001 and sandbox.count("tags/get") == 1
    finally:
        router.stop()
        sandbox.stop()
        down.close()


def test_with_wechat_unreachable_the_client_sees_a_lost_connection() -> None:
    sandbox, down = Sandbox.start(), refusing_base()
    real = RealWeChat(APP, TEST_ACCOUNT, Upstreams(api=down.url, backup=down.url, mp=down.url))
    router = WeChatRouter(real, sandbox.api_base, sandbox.mp_base).start()
    try:
        with pytest.raises(requests.ConnectionError):
            requests.get(
                f"{router.api_base}/cgi-bin/token",
                params={"grant_type": "client_credential", "appid": TEST_ACCOUNT["appid"], "secret": "s"},
                timeout=10,
            )
        assert sandbox.token_requests() == 0  # never sent to the sandbox instead
    finally:
        router.stop()
        sandbox.stop()
        down.close()


@pytest.mark.parametrize(
    ("option", "error"),
    [
        ("wx-test", "--real-wechat takes NAME=FILE"),
        ("wx-test=missing.json", "missing.json: cannot read"),
        ("Bad Name=app.json", "invalid app name 'Bad Name'"),
        ("wx-test=broken.json", "broken.json: invalid:"),
    ],
)
def test_a_wrong_real_wechat_option_is_one_line_and_status_1(
    option: str,
    error: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "app.json").write_text(json.dumps(TEST_ACCOUNT), encoding="utf-8")
    (tmp_path / "broken.json").write_text(json.dumps({**TEST_ACCOUNT, "appid": "wxNOPE"}), encoding="utf-8")
    assert cli.main(["local", "--real-wechat", option]) == 1
    err = capsys.readouterr().err
    assert err.startswith("wxfunnel: ") and error in err and err.count("\n") == 1


def test_what_local_prints_about_the_real_account_carries_none_of_its_secrets(stack: LocalStack) -> None:
    """The banner lists every app's console settings; the demo's are made up, the real account's stay in its file
    (the terminal may be shared or recorded)."""
    from wxfunnel_tools.localstack.wechat_router import describe

    assert stack.real_wechat is not None
    printed = cli.local_banner(stack) + describe(stack.real_wechat, stack.callback_url(APP))
    assert APP in printed and TEST_ACCOUNT["appid"] in printed
    for secret in ("token", "secret"):
        assert TEST_ACCOUNT[secret] not in printed, secret
    assert DEV_APPS["demo-oa"]["token"] in printed  # the demo's own settings are still shown to be pasted
