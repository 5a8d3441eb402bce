"""`wxfunnel simulate` without a stack: which app and mode, what it refuses before sending anything, and how it
reads a reply as WeChat would (sealed replies opened and checked, hostile ones reported, never trusted)."""

from __future__ import annotations

import json
import shlex
import time
from pathlib import Path

import pytest

from wxfunnel.protocol import crypto
from wxfunnel.protocol.documents import BodyFormat, render_envelope
from wxfunnel.protocol.replies import Article as ReplyArticle
from wxfunnel.protocol.replies import NewsReply, TextReply, TransferCustomerService, render_reply
from wxfunnel_tools import cli
from wxfunnel_tools.devapps import DEV_APPS
from wxfunnel_tools.simulate import (
    ACTIONS,
    SimulationError,
    describe_reply,
    load_app,
    open_reply,
    push_mode,
)
from wxfunnel_tools.simulate import _printable as printable
from wxfunnel_tools.template import ROOT

OA = load_app("demo-oa", None)
MP = load_app("demo-mp", None)
OPENID = "o_unit_user"
NONCE = "1234567"


def _reply(fmt: BodyFormat = BodyFormat.XML, *, content: str = "你好", openid: str = OPENID) -> bytes:
    return render_reply(
        TextReply(content), openid=openid, account_id="gh_0a0a0a0a0a0a", create_time=1, fmt=fmt
    )


def _sealed(
    plain: bytes, fmt: BodyFormat = BodyFormat.XML, *, nonce: str = NONCE, key: str | None = None
) -> bytes:
    box = crypto.MessageCrypto(OA.config.token, OA.config.appid, key or str(OA.config.encoding_aes_key))
    return render_envelope(box.encrypt(plain, str(int(time.time())), nonce), fmt)


# --- the app and its mode --------------------------------------------------------------------------------------


def test_an_unknown_app_names_the_development_apps_and_the_way_out() -> None:
    with pytest.raises(
        SimulationError, match=r"no app 'nope': the development apps are demo-mp, demo-oa.*--config"
    ):
        load_app("nope", None)


def test_an_app_name_that_cannot_be_in_a_callback_url_is_refused() -> None:
    with pytest.raises(SimulationError, match="invalid app name"):
        load_app("../admin", None)


def test_a_config_file_is_validated_like_config_validate(tmp_path: Path) -> None:
    path = tmp_path / "my-oa.json"
    path.write_text(json.dumps({**DEV_APPS["demo-oa"], "token": "x"}))
    with pytest.raises(SimulationError, match="token"):
        load_app("my-oa", str(path))
    path.write_text("{not json")
    with pytest.raises(SimulationError, match="not valid JSON"):
        load_app("my-oa", str(path))


def test_the_mode_is_the_apps_message_mode_unless_overridden(tmp_path: Path) -> None:
    path = tmp_path / "safe-oa.json"
    document = {key: value for key, value in DEV_APPS["demo-oa"].items() if key != "message_mode"}
    path.write_text(json.dumps(document))
    safe = load_app("safe-oa", str(path))
    assert (
        push_mode(safe.config, None) == "safe"
    )  # an EncodingAESKey and no mode: safe, as the callback reads it
    assert push_mode(OA.config, None) == "plaintext"
    assert push_mode(OA.config, "compatible") == "compatible"
    path.write_text(json.dumps({k: v for k, v in document.items() if k != "encoding_aes_key"}))
    with pytest.raises(SimulationError, match="needs the app's encoding_aes_key"):
        push_mode(load_app("safe-oa", str(path)).config, "safe")


# --- refused before anything is sent -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "error"),
    [
        (["follow", "--app", "nope"], "no app 'nope'"),
        (["follow", "--app", "demo-mp"], "follow is for Official Accounts; demo-mp is a Mini Program"),
        (["card", "--app", "demo-oa", "--pagepath", "pages/a"], "card is for Mini Programs"),
        (["text", "hi", "--app", "demo-oa", "--data-format", "json"], "XML only"),
        (["follow", "--app", "demo-oa", "--scene", "~x"], "must not start with ~"),
        (["follow", "--app", "demo-oa", "--scene", "0"], "from 1 to"),
        (["text", "hi", "--app", "demo-oa", "--openid", "o/../x"], "--openid must be an openid"),
        (["text", "a\x1b[2Jb", "--app", "demo-oa"], "control characters"),
        (["view", "javascript:alert(1)", "--app", "demo-oa"], "must be an http"),
        (
            ["card", "--app", "demo-mp", "--pagepath", "/pages/a"],
            "--pagepath must be a Mini Program page path",
        ),
        (["text", "hi", "--app", "demo-oa", "--url", "file:///etc/passwd"], "--url must be an http(s) URL"),
        (["text", "hi", "--app", "demo-oa", "--wait", "600"], "--wait must be from 0 to 60"),
    ],
)
def test_what_wechat_would_never_send_is_refused_before_sending(
    argv: list[str], error: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # The default URL and sandbox are those of `make dev`: nothing may reach them.
    action, *rest = argv
    assert (
        cli.main(["simulate", action, "--url", "http://127.0.0.1:9/v1/wechat/x", "--no-sandbox", *rest]) == 1
    )
    captured = capsys.readouterr()
    assert error in captured.err and captured.err.startswith("wxfunnel: ") and not captured.out


# --- reading the reply -------------------------------------------------------------------------------------------


def test_an_acknowledgement_is_nothing_to_show() -> None:
    for body in (b"", b"success", b"  success\n"):
        assert open_reply(OA, body, mode="safe", data_format="xml", nonce=NONCE, openid=OPENID) == (
            None,
            False,
            [],
        )


def test_a_plaintext_reply_is_read() -> None:
    reply, sealed, problems = open_reply(
        OA, _reply(), mode="plaintext", data_format="xml", nonce=NONCE, openid=OPENID
    )
    assert (reply or {}).get("Content") == "你好" and not sealed and problems == []


@pytest.mark.parametrize("fmt", [BodyFormat.XML, BodyFormat.JSON])
def test_a_sealed_reply_is_opened_after_its_signature_is_checked(fmt: BodyFormat) -> None:
    body = _sealed(_reply(fmt), fmt)
    reply, sealed, problems = open_reply(
        OA, body, mode="safe", data_format=fmt.value, nonce=NONCE, openid=OPENID
    )
    assert (reply or {}).get("Content") == "你好" and sealed and problems == []


def test_a_reply_whose_signature_does_not_match_is_not_opened() -> None:
    body = _sealed(_reply()).replace(b"<MsgSignature><![CDATA[", b"<MsgSignature><![CDATA[0")
    reply, sealed, problems = open_reply(OA, body, mode="safe", data_format="xml", nonce=NONCE, openid=OPENID)
    assert (
        reply is None
        and sealed
        and problems == ["the encrypted reply does not open: msg_signature does not match"]
    )


def test_a_reply_sealed_with_another_key_does_not_open() -> None:
    body = _sealed(_reply(), key="A" * 43)
    reply, _, problems = open_reply(OA, body, mode="safe", data_format="xml", nonce=NONCE, openid=OPENID)
    assert reply is None and problems and problems[0].startswith("the encrypted reply does not open")


def test_what_wechat_would_refuse_in_a_reply_is_reported() -> None:
    # Safe mode takes only a sealed reply; the nonce must be echoed; the format is the push's; it goes to the user.
    _, _, plain_in_safe = open_reply(OA, _reply(), mode="safe", data_format="xml", nonce=NONCE, openid=OPENID)
    assert plain_in_safe == ["in safe mode WeChat takes only an encrypted reply (or success)"]
    _, _, other_nonce = open_reply(
        OA, _sealed(_reply(), nonce="999"), mode="safe", data_format="xml", nonce=NONCE, openid=OPENID
    )
    assert other_nonce == ["the encrypted reply does not echo the push's nonce"]
    _, _, json_to_xml = open_reply(
        OA, _reply(BodyFormat.JSON), mode="plaintext", data_format="xml", nonce=NONCE, openid=OPENID
    )
    assert json_to_xml == ["a XML push must be answered in XML, not json"]
    _, _, stranger = open_reply(
        OA, _reply(openid="o_other"), mode="plaintext", data_format="xml", nonce=NONCE, openid=OPENID
    )
    assert stranger == ["the reply's ToUserName is not the user's openid"]
    _, _, sealed_in_plain = open_reply(
        OA, _sealed(_reply()), mode="plaintext", data_format="xml", nonce=NONCE, openid=OPENID
    )
    assert sealed_in_plain == ["a plaintext push must be answered in plaintext"]


@pytest.mark.parametrize(
    "body",
    [
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><xml><Content>&a;</Content></xml>',
        b"<xml><Encrypt>not base64!</Encrypt><MsgSignature>x</MsgSignature><TimeStamp>1</TimeStamp>"
        b"<Nonce>1234567</Nonce></xml>",
        b"<xml><Encrypt></Encrypt></xml>",
        b"\xff\xfe<xml/>",
        b'{"Encrypt": 5}',
        b"<html>Bad Gateway</html>",
    ],
)
def test_a_hostile_reply_is_a_problem_not_a_crash(body: bytes) -> None:
    reply, _, problems = open_reply(OA, body, mode="safe", data_format="xml", nonce=NONCE, openid=OPENID)
    assert reply is None and problems


def test_the_reply_is_described_as_the_user_sees_it() -> None:
    assert describe_reply(None) == "success (nothing shown to the user)"
    assert describe_reply({"MsgType": "text", "Content": "你好"}) == "text: 你好"
    news = render_reply(
        NewsReply((ReplyArticle("A", "d", "https://x/p.png", "https://x"), ReplyArticle("B"))),
        openid=OPENID,
        account_id="gh_x",
        create_time=1,
        fmt=BodyFormat.XML,
    )
    reply, _, _ = open_reply(OA, news, mode="plaintext", data_format="xml", nonce=NONCE, openid=OPENID)
    assert describe_reply(reply) == "news (2 article(s)): A | B"
    transfer = render_reply(
        TransferCustomerService(), openid=OPENID, account_id="gh_x", create_time=1, fmt=BodyFormat.JSON
    )
    reply, _, _ = open_reply(MP, transfer, mode="plaintext", data_format="json", nonce=NONCE, openid=OPENID)
    assert describe_reply(reply).startswith("transfer_customer_service")


def test_text_from_outside_cannot_drive_the_terminal() -> None:
    assert printable("ok\x1b[2J\u202e") == "ok\\x1b[2J\\u202e"
    assert printable("春季 海报") == "春季 海报"


# --- help and the README -----------------------------------------------------------------------------------------


def test_every_action_has_help_with_an_example(capsys: pytest.CaptureFixture[str]) -> None:
    for action in ACTIONS:
        with pytest.raises(SystemExit):
            cli.main(["simulate", action.name, "--help"])
        out = capsys.readouterr().out
        assert f"example:\n  {action.example}" in out
        assert cli.build_parser().parse_args(shlex.split(action.example)[1:]).action == action.name


def test_every_simulate_command_in_the_readme_parses() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    commands = [line.strip() for line in readme.splitlines() if line.strip().startswith("wxfunnel simulate ")]
    assert len(commands) >= 4
    parser = cli.build_parser()
    for command in commands:
        args = parser.parse_args(shlex.split(command, comments=True)[1:])
        assert args.action and args.app, command
