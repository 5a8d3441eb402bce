"""`wxfunnel menu get|put|delete|validate`: a bad file never leaves the machine; a good one reaches WeChat through
the app's configuration and the access token the stack's functions share (one lease, never a second token)."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import boto3
import pytest

from wxfunnel.core.observability import logger
from wxfunnel.entry.wechat import client_for
from wxfunnel_tools import cli
from wxfunnel_tools.devapps import DEV_APPS
from wxfunnel_tools.sandbox import Sandbox
from wxfunnel_tools.template import load_template
from wxfunnel_tools.testing import REGION, Aws, layer_logs_to, table_items

OA_APPID = DEV_APPS["demo-oa"]["appid"]
MENU = {
    "button": [
        {"type": "click", "name": "我的二维码", "key": "MY_CODE"},
        {"type": "view", "name": "官网", "url": "https://example.com/"},
    ]
}


@contextmanager
def logs_on_stdout() -> Iterator[None]:
    """The layer's log lines on the (captured) stdout, as in a `wxfunnel` process, where they would mix with the
    command's answer unless the command moves them."""
    with layer_logs_to(sys.stdout):
        yield


def _file(tmp_path: Path, document: Any, name: str = "menu.json") -> str:
    path = tmp_path / name
    path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    return str(path)


def _stack_of(aws: Aws) -> list[str]:
    """The options naming the test stack's SSM prefix and TokensTable (what --stack-name resolves)."""
    return ["--prefix", aws.env["APPS_PARAMETER_PREFIX"], "--tokens-table", aws.env["TOKENS_TABLE"]]


def test_a_bad_menu_file_exits_1_naming_the_problem_without_calling_anyone(
    wechat: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = {"button": [{"type": "click", "name": "我的专属二维码", "key": "MY_CODE"}]}

    assert cli.main(["menu", "put", "demo-oa", _file(tmp_path, bad)]) == 1

    err = capsys.readouterr().err
    assert err == (
        f"wxfunnel: {tmp_path / 'menu.json'}: button[1].name: must be at most 16 bytes of UTF-8 (got 21); "
        "a Chinese character takes 3\n"
    )
    assert wechat.count() == 0  # and no AWS: without --stack-name it would have asked for one


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("{not json", "menu.json: not valid JSON: line 1 column 2"),
        (b'{"button": []\xff}', "menu.json: not UTF-8 text"),  # a GBK file: one line, no traceback
        ('{"menu": {"button": []}}', "menu.json: menu: not a field of a menu"),
        (
            '{"button": [{"name": "更多", "sub_button": []}]}',
            "menu.json: button[1]: needs a type, or sub_button",
        ),
    ],
)
def test_validate_and_put_refuse_the_same_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str | bytes, expected: str
) -> None:
    path = tmp_path / "menu.json"
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))

    for command in (["menu", "validate", str(path)], ["menu", "put", "demo-oa", str(path)]):
        assert cli.main(command) == 1
        assert expected in capsys.readouterr().err


def test_validate_lists_the_keys_the_rules_will_be_asked_for(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    menu = {
        "button": [
            *MENU["button"],
            {"name": "更多", "sub_button": [{"type": "click", "name": "客服", "key": "HUMAN"}]},
        ]
    }

    assert cli.main(["menu", "validate", _file(tmp_path, menu)]) == 0
    assert "a valid menu (3 buttons; keys: MY_CODE, HUMAN)" in capsys.readouterr().out


def test_put_then_get_round_trips_through_the_functions_token(
    aws: Aws, wechat: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    client_for("demo-oa").callback_ips()  # a function took the app's token: the CLI must use that one

    assert cli.main(["menu", "put", "demo-oa", _file(tmp_path, MENU), *_stack_of(aws)]) == 0
    assert "demo-oa: menu set (2 buttons; keys: MY_CODE)" in capsys.readouterr().out
    assert cli.main(["menu", "get", "demo-oa", *_stack_of(aws)]) == 0

    captured = capsys.readouterr()
    assert json.loads(captured.out) == MENU  # stdout is the menu only: log lines go to stderr
    assert f"WeChat API at {wechat.api_base}" in captured.err
    assert wechat.menu(OA_APPID) == MENU["button"]
    assert wechat.token_requests(OA_APPID) == 1
    assert [item["pk"]["S"] for item in table_items(aws, "TOKENS_TABLE")] == [f"token#{OA_APPID}"]


def test_what_get_prints_can_be_put_again_and_delete_empties_it(
    aws: Aws, wechat: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["menu", "put", "demo-oa", _file(tmp_path, MENU), *_stack_of(aws)]) == 0
    capsys.readouterr()
    assert cli.main(["menu", "get", "demo-oa", *_stack_of(aws)]) == 0
    printed = capsys.readouterr().out

    assert (
        cli.main(
            ["menu", "put", "demo-oa", _file(tmp_path, json.loads(printed), "again.json"), *_stack_of(aws)]
        )
        == 0
    )
    assert cli.main(["menu", "delete", "demo-oa", *_stack_of(aws)]) == 0
    with logs_on_stdout():
        assert cli.main(["menu", "get", "demo-oa", *_stack_of(aws)]) == 0

    captured = capsys.readouterr()
    assert json.loads(captured.out.split("deleted (with any personalised menus)\n")[1]) == {"button": []}
    assert "demo-oa has no menu set through the API (WeChat's 46003)" in captured.err
    assert '"errcode":46003' in captured.err  # the client's warning, on stderr
    assert [call.payload for call in wechat.calls("menu/create")] == [MENU, MENU]


def test_the_environment_is_the_callers_again_afterwards(
    aws: Aws, wechat: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The command runs the layer in this process like a function; the caller's environment, boto3 session and
    log stream come back (the tests, and any code after `cli.main`, run in the same process)."""
    monkeypatch.setenv("TOKENS_TABLE", "the-callers-own")
    monkeypatch.delenv("WECHAT_API_BACKUP_BASE")
    session, streams = boto3.DEFAULT_SESSION, [handler.stream for handler in logger.handlers]

    assert cli.main(["menu", "get", "demo-oa", *_stack_of(aws)]) == 0

    assert os.environ["TOKENS_TABLE"] == "the-callers-own"
    assert "WECHAT_API_BACKUP_BASE" not in os.environ
    assert boto3.DEFAULT_SESSION is session
    assert [handler.stream for handler in logger.handlers] == streams


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["menu", "get", "demo-mp"],
            "demo-mp: menu/get needs a official_account; 'demo-mp' is a mini_program",
        ),
        (["menu", "get", "nobody"], "no configuration at /wxfunnel/apps/nobody"),
    ],
)
def test_operator_errors_are_one_line(
    aws: Aws, wechat: Sandbox, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    assert cli.main([*argv, *_stack_of(aws)]) == 1
    err = capsys.readouterr().err.splitlines()
    assert err[-1] == f"wxfunnel: {message}"
    assert wechat.count("menu/get") == 0


def test_a_menu_wechat_refuses_is_one_line_with_its_errcode(
    aws: Aws, wechat: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    wechat.fail_next("menu/create", errcode=48001)

    assert cli.main(["menu", "put", "demo-oa", _file(tmp_path, MENU), *_stack_of(aws)]) == 1
    assert (
        capsys.readouterr()
        .err.splitlines()[-1]
        .startswith("wxfunnel: demo-oa: WeChat errcode 48001: api unauthorized")
    )


def test_a_token_wechat_will_not_give_this_machine_says_what_to_do(
    aws: Aws, wechat: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    wechat.fail_next("stable_token", errcode=40164, errmsg="invalid ip 203.0.113.7, not in whitelist")

    assert cli.main(["menu", "get", "demo-oa", *_stack_of(aws)]) == 1
    err = capsys.readouterr().err.splitlines()[-1]
    assert "refused this machine's IP (40164: invalid ip 203.0.113.7" in err and "IP白名单" in err
    assert aws.env["TOKENS_TABLE"] in err


def test_the_stack_name_finds_the_prefix_and_the_tokens_table(
    aws: Aws, wechat: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tokens = load_template()["Resources"]["TokensTable"]
    boto3.client("cloudformation", region_name=REGION).create_stack(
        StackName="shop",
        TemplateBody=json.dumps(
            {
                "Resources": {
                    # template.yaml's own table, named as a deploy of stack `shop` would find it
                    "TokensTable": {
                        "Type": tokens["Type"],
                        "Properties": {**tokens["Properties"], "TableName": "shop-tokens"},
                    }
                },
                "Outputs": {"AppsParameterPrefix": {"Value": "/shop/apps/"}},
            }
        ),
    )
    aws.ssm.put_parameter(
        Name="/shop/apps/demo-oa", Value=json.dumps(DEV_APPS["demo-oa"]), Type="SecureString"
    )

    assert cli.main(["menu", "put", "demo-oa", _file(tmp_path, MENU), "--stack-name", "shop"]) == 0
    assert wechat.menu(OA_APPID) == MENU["button"]
    assert aws.dynamodb.scan(TableName="shop-tokens")["Count"] == 1  # the token this command had to fetch
    assert "access token refreshed" not in capsys.readouterr().err  # the layer's INFO lines stay quiet
    assert table_items(aws, "TOKENS_TABLE") == []


def test_without_a_stack_nothing_is_called(
    aws: Aws, wechat: Sandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["menu", "get", "demo-oa"]) == 1
    assert "--stack-name" in capsys.readouterr().err
    assert wechat.count() == 0


@pytest.mark.parametrize(
    ("environment", "argv", "base"),
    [
        ({}, [], None),  # the layer's default: https://api.weixin.qq.com, api2 as backup
        ({"WECHAT_API_BASE": "http://127.0.0.1:9/"}, [], "http://127.0.0.1:9"),
        ({"AWS_ENDPOINT_URL": "http://127.0.0.1:4566"}, [], "http://127.0.0.1:8901"),  # `make dev`'s sandbox
        (
            {"AWS_ENDPOINT_URL": "http://127.0.0.1:4566"},
            ["--wechat-api-base", "http://127.0.0.1:7"],
            "http://127.0.0.1:7",
        ),
        (
            {"WECHAT_API_BASE": "http://127.0.0.1:9"},
            ["--wechat-api-base", "https://proxy.example.com"],
            "https://proxy.example.com",
        ),
    ],
)
def test_where_the_cli_calls_wechat(
    monkeypatch: pytest.MonkeyPatch, environment: dict[str, str], argv: list[str], base: str | None
) -> None:
    for key in ("WECHAT_API_BASE", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(key, raising=False)
    for key, value in environment.items():
        monkeypatch.setenv(key, value)

    args = cli.build_parser().parse_args(["menu", "get", "demo-oa", *argv])

    assert cli._wechat_api_base(args) == base
