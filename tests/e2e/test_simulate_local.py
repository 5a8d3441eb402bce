"""`wxfunnel simulate` against the local stack over HTTP: the simulated user's follow is greeted and tagged on the
sandbox, keywords are answered in every mode and format, the jobs a push causes are listed, and a push the callback
refuses is reported as WeChat would see it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from wxfunnel_tools import cli
from wxfunnel_tools.admin_client import AdminClient
from wxfunnel_tools.devapps import DEV_APPS, demo_apps
from wxfunnel_tools.localstack import LocalStack

pytestmark = pytest.mark.xdist_group("localstack")

OA_APPID, MP_APPID = DEV_APPS["demo-oa"]["appid"], DEV_APPS["demo-mp"]["appid"]


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    """The local stack as `make dev` runs it (the demo's apps and rules), with a channel whose QR greets and tags."""
    with LocalStack(apps=demo_apps()) as running:
        AdminClient(running.url).request(
            "POST",
            "/qrcodes",
            json_body={
                "app": "demo-oa",
                "scene": "sim-poster",
                "channel": {"name": "Sim poster", "welcome_message": "海报欢迎你", "tag": "sim-tag"},
            },
        )
        yield running


def simulate(stack: LocalStack, capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict[str, Any]]:
    """Run `wxfunnel simulate ACTION … --json` against `stack`; (exit status, the printed document)."""
    assert stack.sandbox is not None
    action, *rest = argv
    app = rest[rest.index("--app") + 1]
    status = cli.main(
        [
            "simulate",
            action,
            "--url",
            stack.callback_url(app),
            "--sandbox",
            stack.sandbox.api_base,
            "--json",
            *rest,
        ]
    )
    out, err = capsys.readouterr()
    # The stack's functions run in this process and log to the same stdout: the document is the last thing printed.
    start = out.rfind('{\n  "action"')
    assert start >= 0, err
    return status, json.loads(out[start:])


def calls(outcome: dict[str, Any], endpoint: str) -> list[dict[str, Any]]:
    return [call for call in outcome["calls"] if call["endpoint"] == f"/cgi-bin/{endpoint}"]


def test_a_follow_through_a_channel_is_greeted_and_tagged_on_the_sandbox(
    stack: LocalStack, capsys: pytest.CaptureFixture[str]
) -> None:
    assert stack.sandbox is not None
    status, outcome = simulate(
        stack,
        capsys,
        "follow",
        "--app",
        "demo-oa",
        "--scene",
        "sim-poster",
        "--openid",
        "o_sim_follow",
        "--wait",
        "10",
    )
    assert status == 0, outcome["problems"]
    assert outcome["reply"]["Content"] == "海报欢迎你" and outcome["problems"] == []
    [tagging] = calls(outcome, "tags/members/batchtagging")
    assert tagging["payload"]["openid_list"] == ["o_sim_follow"] and tagging["errcode"] == 0
    # What WeChat now knows: a follower, carrying the channel's tag.
    assert stack.sandbox.is_following(OA_APPID, "o_sim_follow")
    tags = stack.sandbox.tags(OA_APPID)
    assert [tags[tag_id] for tag_id in stack.sandbox.user_tags(OA_APPID, "o_sim_follow")] == ["sim-tag"]


def test_a_follow_in_safe_mode_through_the_qr_the_admin_api_gave(
    stack: LocalStack, capsys: pytest.CaptureFixture[str]
) -> None:
    record = (
        AdminClient(stack.url)
        .request(
            "POST",
            "/qrcodes",
            json_body={
                "app": "demo-oa",
                "scene": "sim-qr",
                "channel": {"name": "QR", "welcome_message": "扫码欢迎"},
            },
        )
        .json()
    )
    status, outcome = simulate(
        stack,
        capsys,
        "follow",
        "--app",
        "demo-oa",
        "--qr",
        record["url"],
        "--mode",
        "safe",
        "--openid",
        "o_sim_qr",
        "--wait",
        "0",
    )
    assert status == 0, outcome["problems"]
    assert outcome["encrypted"] and outcome["mode"] == "safe"
    assert outcome["reply"]["Content"] == "扫码欢迎"


def test_an_oa_keyword_is_answered_in_place_in_every_mode(
    stack: LocalStack, capsys: pytest.CaptureFixture[str]
) -> None:
    for mode in ("plaintext", "compatible", "safe"):
        status, outcome = simulate(
            stack, capsys, "text", "hi", "--app", "demo-oa", "--mode", mode, "--wait", "0"
        )
        assert status == 0, (mode, outcome["problems"])
        assert outcome["reply"]["Content"] == "你好"
        assert outcome["encrypted"] is (mode != "plaintext")  # answered in the push's mode


def test_an_mp_keyword_in_safe_json_sends_the_oas_follow_qr_through_the_mp(
    stack: LocalStack, capsys: pytest.CaptureFixture[str]
) -> None:
    status, outcome = simulate(
        stack,
        capsys,
        "text",
        "666",
        "--app",
        "demo-mp",
        "--mode",
        "safe",
        "--data-format",
        "json",
        "--openid",
        "o_sim_mp",
        "--wait",
        "10",
    )
    assert status == 0, outcome["problems"]
    assert outcome["reply"] is None  # a Mini Program answers through the customer-service API
    [created] = calls(outcome, "qrcode/create")
    assert (
        created["appid"] == OA_APPID and created["payload"]["action_info"]["scene"]["scene_str"] == "mp-666"
    )
    [sent] = [
        call for call in calls(outcome, "message/custom/send") if call["payload"]["touser"] == "o_sim_mp"
    ]
    assert sent["appid"] == MP_APPID and sent["payload"]["msgtype"] == "link" and sent["errcode"] == 0


def test_a_card_opts_in_through_a_temporary_qr_on_the_oa(
    stack: LocalStack, capsys: pytest.CaptureFixture[str]
) -> None:
    status, outcome = simulate(
        stack,
        capsys,
        "card",
        "--app",
        "demo-mp",
        "--pagepath",
        "pages/live/index?live_id=77&user_id=5",
        "--openid",
        "o_sim_card",
        "--wait",
        "10",
    )
    assert status == 0, outcome["problems"]
    scenes = [
        call["payload"]["action_info"]["scene"]["scene_str"] for call in calls(outcome, "qrcode/create")
    ]
    assert "live.live_id=77&user_id=5" in scenes


def test_an_unfollow_ends_the_follow_and_a_scan_then_needs_a_follow_first(
    stack: LocalStack, capsys: pytest.CaptureFixture[str]
) -> None:
    assert stack.sandbox is not None
    simulate(stack, capsys, "follow", "--app", "demo-oa", "--openid", "o_sim_gone", "--wait", "0")
    status, _ = simulate(
        stack, capsys, "unfollow", "--app", "demo-oa", "--openid", "o_sim_gone", "--wait", "0"
    )
    assert status == 0 and not stack.sandbox.is_following(OA_APPID, "o_sim_gone")
    assert (
        cli.main(
            [
                "simulate",
                "scan",
                "--app",
                "demo-oa",
                "--scene",
                "sim-poster",
                "--openid",
                "o_sim_gone",
                "--url",
                stack.callback_url("demo-oa"),
                "--sandbox",
                stack.sandbox.api_base,
            ]
        )
        == 1
    )
    assert "does not follow demo-oa" in capsys.readouterr().err


def test_a_wrong_app_is_a_clear_error_and_nothing_is_sent(
    stack: LocalStack, capsys: pytest.CaptureFixture[str]
) -> None:
    assert stack.sandbox is not None
    before = len(stack.sandbox.calls())
    argv = ["--url", stack.callback_url("demo-oa"), "--sandbox", stack.sandbox.api_base]
    assert cli.main(["simulate", "follow", "--app", "demo-0a", *argv]) == 1
    err = capsys.readouterr().err
    assert err == (
        "wxfunnel: no app 'demo-0a': the development apps are demo-mp, demo-oa; for another app pass --config FILE "
        "(its JSON, as stored with `wxfunnel config put`)\n"
    )
    assert len(stack.sandbox.calls()) == before and not stack.sandbox.is_following(
        OA_APPID, "o_simulated_user"
    )


def test_a_push_the_callback_refuses_is_reported_with_the_likely_cause(
    stack: LocalStack, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """An app file whose Token differs from the stack's: the callback answers 403, as WeChat's console would see."""
    path = tmp_path / "demo-oa.json"
    path.write_text(json.dumps({**DEV_APPS["demo-oa"], "token": "notTheStacksToken"}))
    status, outcome = simulate(
        stack, capsys, "text", "hi", "--app", "demo-oa", "--config", str(path), "--wait", "0"
    )
    assert status == 1 and outcome["status"] == 403 and outcome["reply"] is None
    assert any("Token or EncodingAESKey" in problem for problem in outcome["problems"])
    assert outcome["calls"] is None


def test_the_text_output_shows_the_reply_and_the_calls(
    stack: LocalStack, capsys: pytest.CaptureFixture[str]
) -> None:
    assert stack.sandbox is not None
    argv = ["--url", stack.callback_url("demo-oa"), "--sandbox", stack.sandbox.api_base]
    command = ["simulate", "follow", "--app", "demo-oa", "--scene", "sim-poster", "--openid", "o_sim_text"]
    assert cli.main([*command, *argv, "--wait", "10"]) == 0
    out = capsys.readouterr().out
    assert "  WeChat sandbox: o_sim_text now follows demo-oa\n" in out
    assert "  reply: text: 海报欢迎你\n" in out
    assert "tags/members/batchtagging    demo-oa    ok" in out


def test_menu_clicks_reach_the_keyword_rules_and_a_session_from_sends_the_reminders_qr(
    stack: LocalStack, capsys: pytest.CaptureFixture[str]
) -> None:
    status, clicked = simulate(stack, capsys, "click", "hi", "--app", "demo-oa", "--wait", "0")
    assert status == 0 and clicked["reply"]["Content"] == "你好"
    status, viewed = simulate(
        stack, capsys, "view", "https://live.example/10", "--app", "demo-oa", "--wait", "0"
    )
    assert status == 0 and viewed["reply"] is None
    status, entered = simulate(
        stack,
        capsys,
        "enter",
        "--app",
        "demo-mp",
        "--session-from",
        "live_id=88&user_id=5",
        "--openid",
        "o_sim_enter",
        "--wait",
        "10",
    )
    assert status == 0, entered["problems"]
    scenes = [
        call["payload"]["action_info"]["scene"]["scene_str"] for call in calls(entered, "qrcode/create")
    ]
    assert scenes == ["live.live_id=88&user_id=5"]
