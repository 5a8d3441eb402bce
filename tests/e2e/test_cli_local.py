"""The `wxfunnel` admin commands against the local stack: answers printed, operator errors one line on stderr with
exit status 1, and a bug still a traceback."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from typing import Any

import pytest

from wxfunnel_tools import cli
from wxfunnel_tools.localstack import LocalStack

pytestmark = pytest.mark.xdist_group("localstack")


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    with LocalStack(sandbox=False) as running:
        yield running


def test_an_admin_command_prints_the_api_answer(
    stack: LocalStack, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["stats", "--app", "demo-oa", "--format", "json", "--admin-url", stack.url]) == 0
    assert json.loads(capsys.readouterr().out)["app"] == "demo-oa"


def test_an_admin_api_error_is_one_line_and_status_1(
    stack: LocalStack, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["qr", "list", "--app", "nobody", "--admin-url", stack.url]) == 1
    captured = capsys.readouterr()
    assert captured.err.startswith("wxfunnel: HTTP 4") and captured.err.count("\n") == 1
    assert "Traceback" not in captured.err


def test_an_unreachable_admin_api_is_one_line_and_status_1(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    assert cli.main(["qr", "list", "--app", "demo-oa", "--admin-url", f"http://127.0.0.1:{port}/v1"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("wxfunnel: ") and "Traceback" not in err


def test_a_bug_is_not_reported_as_an_operator_error(monkeypatch: pytest.MonkeyPatch) -> None:
    class Answer:
        def json(self) -> Any:
            return {}  # no "items": the command's own mistake, a KeyError

    class Client:
        def request(self, *args: Any, **kwargs: Any) -> Answer:
            return Answer()

    monkeypatch.setattr(cli, "admin_client", lambda args: Client())
    with pytest.raises(KeyError):
        cli.main(["qr", "list", "--app", "demo-oa"])


def test_config_put_has_no_kms_key_option() -> None:
    """The functions may decrypt SecureStrings under aws/ssm only: another key would lock them out."""
    with pytest.raises(SystemExit):
        cli.build_parser().parse_args(["config", "put", "demo-oa", "app.json", "--kms-key-id", "alias/x"])


def test_config_get_reads_the_local_stacks_apps_without_naming_a_stack(
    stack: LocalStack, capsys: pytest.CaptureFixture[str]
) -> None:
    """AWS_ENDPOINT_URL on 127.0.0.1 (as `wxfunnel local` prints it): the local stack's prefix is the default."""
    assert cli.main(["config", "get", "demo-oa"]) == 0, capsys.readouterr().err
    assert json.loads(capsys.readouterr().out)["token"] == "wx****"


def test_stats_and_the_channel_list_are_tables_by_default(
    stack: LocalStack, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["stats", "--app", "demo-oa", "--admin-url", stack.url]) == 0
    lines = [line for line in capsys.readouterr().out.splitlines() if not line.startswith("{")]
    assert (
        "Asia/Shanghai" in lines[0]
        and lines[1].startswith("场景 scene")
        and lines[-1].startswith("合计 total")
    )
    assert cli.main(["qr", "list", "--app", "demo-oa", "--format", "csv", "--admin-url", stack.url]) == 0
    assert capsys.readouterr().out.splitlines()[0] == "scene,name,state,kind,promoter,expires"


def test_config_validate_reports_bad_json_before_the_name_and_init_writes_a_valid_template(
    tmp_path: Any, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    broken = tmp_path / "Broken.json"
    broken.write_text("{not json", encoding="utf-8")
    assert cli.main(["config", "validate", str(broken)]) == 1
    assert "not valid JSON: line 1 column 2" in capsys.readouterr().err
    broken.write_text("{}", encoding="utf-8")
    assert cli.main(["config", "validate", str(broken)]) == 1
    assert "the file name 'Broken' is no app name" in capsys.readouterr().err
    monkeypatch.chdir(tmp_path)
    assert cli.main(["config", "init", "my-oa"]) == 0
    assert "config validate my-oa.json --app my-oa" in capsys.readouterr().out
    assert cli.main(["config", "validate", "my-oa.json", "--app", "my-oa"]) == 0
    assert cli.main(["config", "init", "my-oa"]) == 1  # never overwritten
    assert "exists" in capsys.readouterr().err
    assert cli.main(["config", "init", "my-mp", "--kind", "mini_program"]) == 0
    assert cli.main(["config", "validate", "my-mp.json"]) == 0
