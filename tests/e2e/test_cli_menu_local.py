"""`wxfunnel menu` against the local stack, as an operator runs it beside `make dev`: the stack's apps and TokensTable
without naming a stack, and the sandbox as the WeChat API (from $WECHAT_API_BASE, which the banner prints)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from wxfunnel_tools import cli
from wxfunnel_tools.devapps import DEV_APPS
from wxfunnel_tools.localstack import LocalStack

pytestmark = pytest.mark.xdist_group("localstack")

OA_APPID = DEV_APPS["demo-oa"]["appid"]
MENU = {
    "button": [
        {"type": "click", "name": "我的二维码", "key": "MY_CODE"},
        {"type": "view", "name": "官网", "url": "https://example.com/"},
    ]
}


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    with LocalStack() as running:
        yield running


def test_put_and_get_use_the_local_stack_and_its_sandbox_without_options(
    stack: LocalStack, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert stack.sandbox is not None
    path = tmp_path / "menu.json"
    path.write_text(json.dumps(MENU, ensure_ascii=False), encoding="utf-8")

    assert cli.main(["menu", "put", "demo-oa", str(path)]) == 0, capsys.readouterr().err
    assert stack.sandbox.menu(OA_APPID) == MENU["button"]
    capsys.readouterr()
    assert cli.main(["menu", "get", "demo-oa"]) == 0
    assert json.loads(capsys.readouterr().out) == MENU


def test_the_banners_menu_command_works_from_another_process(stack: LocalStack) -> None:
    """The line `wxfunnel local` prints, run in a shell that has nothing of the stack but what the line sets."""
    assert stack.sandbox is not None
    stack.sandbox.reset()
    line = next(line for line in cli.local_banner(stack).splitlines() if "wxfunnel menu get" in line)
    assert f"WECHAT_API_BASE={stack.sandbox.api_base}" in line
    environment = {
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "HOME": os.environ.get("HOME", "/tmp"),
    }

    done = subprocess.run(
        ["env", *line.split()],  # VAR=value … wxfunnel menu get demo-oa
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"button": []}  # reset: no menu, WeChat's 46003
    assert stack.sandbox.count("menu/get", appid=OA_APPID) == 1
