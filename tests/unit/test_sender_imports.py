"""The sender and fan-out run on every outbound job: their cold start must not import pydantic, which only the
admin request validation (NotifyFunction) needs."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from wxfunnel_tools.template import ROOT

_LOAD = """
import json, sys
from wxfunnel_tools.template import load_handler
load_handler(sys.argv[1])
print(json.dumps(sorted(name for name in sys.modules if name == "pydantic" or name.startswith("pydantic."))))
"""


def _pydantic_modules(function: str) -> list[str]:
    result = subprocess.run(
        [sys.executable, "-c", _LOAD, function],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        env={"PYTHONPATH": str(ROOT / "tools"), "AWS_DEFAULT_REGION": "us-east-1", "PATH": ""},
        timeout=120,
    )
    modules: list[str] = json.loads(result.stdout.strip().splitlines()[-1])
    return modules


@pytest.mark.parametrize("function", ["SenderFunction", "FanoutFunction"])
def test_the_handler_imports_without_pydantic(function: str) -> None:
    assert _pydantic_modules(function) == []


def test_the_check_sees_pydantic_where_it_is_used() -> None:
    assert "pydantic" in _pydantic_modules("NotifyFunction")
