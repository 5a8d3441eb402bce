"""The `wxfunnel` CLI: signed events it produces are accepted by the real callback; admin commands hit the API."""

from __future__ import annotations

import json
import time

from wxfunnel_tools import cli
from wxfunnel_tools.devapps import DEV_APPS
from wxfunnel_tools.pushes import message
from wxfunnel_tools.testing import table_items


def _sign(tmp_path, capsys, *args: str) -> dict:
    fields = message(
        "event",
        openid="o-cli",
        to_user=DEV_APPS["demo-oa"]["original_id"],
        create_time=int(time.time()),
        Event="subscribe",
        EventKey="qrscene_cli-poster",
        Ticket="T",
    )
    path = tmp_path / "push.json"
    path.write_text(json.dumps(fields))
    assert cli.main(["events", "sign", "demo-oa", str(path), *args]) == 0
    return json.loads(capsys.readouterr().out)


def test_events_sign_output_is_accepted_by_the_callback(aws, callback, tmp_path, capsys):
    reply = callback.invoke(_sign(tmp_path, capsys))
    assert reply.status == 200
    profiles = [i for i in table_items(aws, "SUBSCRIPTIONS_TABLE") if i["sk"]["S"] == "profile"]
    assert [p["first_scene"]["S"] for p in profiles] == ["cli-poster"]


def test_events_sign_encrypts_in_safe_mode_and_the_callback_opens_it(aws, callback, tmp_path, capsys):
    event = _sign(tmp_path, capsys, "--mode", "safe")
    assert "Encrypt" in event["body"] and "msg_signature" in event["queryStringParameters"]
    assert "<Event>" not in event["body"]
    assert callback.invoke(event).status == 200
    assert len(table_items(aws, "DEDUPE_TABLE")) == 1


def test_events_sign_refuses_an_unknown_app_without_a_config(tmp_path, capsys):
    path = tmp_path / "push.json"
    path.write_text("{}")
    assert cli.main(["events", "sign", "nobody", str(path)]) == 1
    assert "--config" in capsys.readouterr().err


def documented_commands() -> list[list[str]]:
    """Every `wxfunnel …` line of the README's and docs/' code blocks (up to a comment or a redirection)."""
    import re
    import shlex
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    found = []
    for document in [root / "README.md", *sorted((root / "docs").glob("*.md"))]:
        fenced = False
        for line in document.read_text(encoding="utf-8").splitlines():
            if line.lstrip().startswith("```"):
                fenced = not fenced
                continue
            match = re.match(r"\s*(?:\$ )?wxfunnel (\S.*)$", line)
            if match and (fenced or line.startswith("    ")):
                command = re.split(r"\s(?:#|>|\|)", match[1], maxsplit=1)[0]
                found.append(shlex.split(command))
    return found


def test_every_command_the_documentation_shows_parses():
    parser = cli.build_parser()
    commands = documented_commands()
    assert len(commands) > 10 and ["promoters", "ranking"] in [argv[:2] for argv in commands]
    for argv in commands:
        assert callable(parser.parse_args(cli._compatible(argv)).run), argv


def test_every_command_has_a_help_example_that_parses():
    import shlex

    parser = cli.build_parser()
    assert {command.path for command in cli.COMMANDS} == set(cli.EXAMPLES)
    for path, example in cli.EXAMPLES.items():
        argv = shlex.split(example.split(" > ")[0])
        assert tuple(argv[: len(path)]) == path, example
        assert parser.parse_args(argv).run is not None, example


def test_notify_was_a_command_and_still_sends_as_one():
    assert cli._compatible(["notify", "--app", "a"]) == ["notify", "send", "--app", "a"]
    assert cli._compatible(["notify", "status", "x"]) == ["notify", "status", "x"]
    assert cli._compatible(["qr", "list"]) == ["qr", "list"]


def test_every_documented_subcommand_parses():
    parser = cli.build_parser()
    for argv in (
        ["demo"],
        ["local"],
        ["console", "--local"],
        ["stats", "--app", "demo-oa"],
        ["qr", "create", "--app", "demo-oa", "--scene", "1", "--name", "n"],
        ["qr", "list", "--app", "demo-oa"],
        ["migrate", "stats-day-index", "--table", "t"],
        ["qr", "image", "--app", "demo-oa", "--scene", "1", "--out", "x.jpg"],
        ["notify", "--app", "demo-oa", "--request-id", "r", "--scene", "s", "--template-id", "t"],
        ["config", "validate", "x.json"],
    ):
        assert callable(parser.parse_args(cli._compatible(argv)).run), argv
