"""The layer's architecture, held by its source: packages import only downward, nothing imports in a cycle, only
`store/` sends DynamoDB or SQS requests, and each function imports no more than it needs.

    entry   → everything below            client → config, protocol, core
    store   → domain, config, protocol, core
    flows   → domain, config, protocol    domain → config, protocol
    config  → protocol, core              protocol, core → nothing of wxfunnel
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from wxfunnel_tools.template import ROOT, functions

PACKAGE = ROOT / "layers" / "wxfunnel" / "wxfunnel"
ALLOWED: dict[str, set[str]] = {
    "core": set(),
    "protocol": set(),
    "config": {"protocol", "core"},
    "domain": {"config", "protocol"},
    "flows": {"domain", "config", "protocol"},
    "client": {"config", "protocol", "core"},
    "store": {"domain", "config", "protocol", "core"},
    "entry": {"store", "client", "flows", "domain", "config", "protocol", "core"},
}
# Requests that reach DynamoDB or SQS, by the botocore method names that send them.
AWS_REQUESTS = frozenset(
    {
        "put_item",
        "get_item",
        "update_item",
        "delete_item",
        "batch_get_item",
        "batch_write_item",
        "transact_write_items",
        "transact_get_items",
        "query",
        "scan",
        "send_message",
        "send_message_batch",
        "delete_message",
        "delete_message_batch",
        "change_message_visibility",
        "change_message_visibility_batch",
        "receive_message",
    }
)


def modules() -> Iterator[tuple[str, Path]]:
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        yield name, path


def imported(path: Path, name: str) -> set[str]:
    """The wxfunnel modules `path` imports (function-level and TYPE_CHECKING imports included)."""
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    known = {module for module, _ in modules()}
    resolved = set()
    for wanted in found:
        target = wanted
        while target and target not in known:
            target = target.rpartition(".")[0]
        # A submodule's own packages (`from wxfunnel.client import http` runs client/__init__) are not its
        # dependencies: Python initialises them first whatever the submodule imports.
        if target.startswith("wxfunnel.") and target != name and not name.startswith(target + "."):
            resolved.add(target)
    return resolved


def layer_of(module: str) -> str:
    """`wxfunnel.store.channels` → `store` (the package's own __init__ is its root)."""
    return module.split(".")[1] if "." in module else "root"


def test_every_module_sits_in_a_layer_folder() -> None:
    loose = [name for name, _ in modules() if name != "wxfunnel" and layer_of(name) not in ALLOWED]
    assert loose == [], "modules outside core/protocol/config/domain/flows/client/store/entry"


def test_imports_only_go_down_the_layers() -> None:
    upward = sorted(
        f"{name} imports {target}"
        for name, path in modules()
        if name != "wxfunnel"
        for target in imported(path, name)
        if layer_of(target) != layer_of(name) and layer_of(target) not in ALLOWED[layer_of(name)]
    )
    assert upward == []


def test_no_module_imports_itself_through_a_cycle() -> None:
    graph = {name: imported(path, name) for name, path in modules()}
    cycles = []
    for start in graph:
        stack, seen = [(start, [start])], set()
        while stack:
            node, trail = stack.pop()
            for target in graph.get(node, ()):
                if target == start:
                    cycles.append(" → ".join([*trail, start]))
                elif target not in seen:
                    seen.add(target)
                    stack.append((target, [*trail, target]))
    assert cycles == []


def aws_requests(path: Path) -> list[str]:
    """Calls of botocore's DynamoDB/SQS request methods on a client (`<anything>.<method>(...)` whose receiver is
    a call such as `dynamodb()` / `sqs()` or a name bound to a client)."""
    calls = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in AWS_REQUESTS
        ):
            receiver = node.func.value
            if isinstance(receiver, ast.Call) or (isinstance(receiver, ast.Name) and receiver.id == "client"):
                calls.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno} {node.func.attr}")
    return calls


def test_only_the_store_sends_dynamodb_or_sqs_requests() -> None:
    outside = [call for name, path in modules() if layer_of(name) != "store" for call in aws_requests(path)]
    assert outside == []
    assert any(aws_requests(path) for name, path in modules() if layer_of(name) == "store"), (
        "the check sees calls"
    )


_IMPORTS = """
import json, sys
from wxfunnel_tools.template import load_handler
load_handler(sys.argv[1])
print(json.dumps(sorted(sys.modules)))
"""


def imports_of(function: str) -> set[str]:
    result = subprocess.run(
        [sys.executable, "-c", _IMPORTS, function],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        env={
            "PYTHONPATH": str(ROOT / "tools"),
            "AWS_DEFAULT_REGION": "us-east-1",
            "PATH": os.environ["PATH"],
        },
        timeout=120,
    )
    return set(json.loads(result.stdout))


def top_level(names: set[str]) -> set[str]:
    return {name.split(".")[0] for name in names}


@pytest.mark.parametrize("function", [spec.logical_id for spec in functions()])
def test_no_function_imports_pydantic(function: str) -> None:
    assert "pydantic" not in top_level(imports_of(function))


@pytest.mark.parametrize("function", ["CallbackFunction", "VerifyFunction"])
def test_the_wechat_facing_functions_never_import_the_client_or_requests(function: str) -> None:
    """They answer within WeChat's 5 s and never call WeChat: no HTTP client, no API client at cold start."""
    loaded = imports_of(function)
    assert "requests" not in top_level(loaded)
    assert not any(name.startswith("wxfunnel.client") for name in loaded)


def test_the_landing_page_loads_no_client_until_it_renews_a_code() -> None:
    """A visit to a live code whose code has life left makes no WeChat call: the client and requests are imported
    by the visit that renews a code (entry.landing), not at cold start."""
    loaded = imports_of("LandingFunction")
    assert "requests" not in top_level(loaded)
    assert not any(name.startswith(("wxfunnel.client", "wxfunnel.entry.channel_codes")) for name in loaded)
    assert not any(name.startswith(("wxfunnel.entry.admin", "wxfunnel.flows", "segno")) for name in loaded)


def test_the_callback_does_not_load_the_admin_the_reports_or_the_reminders() -> None:
    loaded = imports_of("CallbackFunction")
    assert not any(
        name.startswith(("wxfunnel.entry.admin", "wxfunnel.domain.reports", "wxfunnel.domain.reminders"))
        for name in loaded
    )


def _is_dataclass(node: ast.ClassDef) -> bool:
    """`@dataclass` or `@dataclass(...)` (the layer imports the name `dataclass`)."""
    return any(
        getattr(decorator.func if isinstance(decorator, ast.Call) else decorator, "id", None) == "dataclass"
        for decorator in node.decorator_list
    )


def test_every_dataclass_of_the_layer_has_a_docstring() -> None:
    """Cold start: a dataclass without a docstring gets one computed from inspect.signature at import, about half
    of the ~1 ms the class costs to build (Python 3.13); the callback builds some 70 of them before its first push."""
    missing = [
        f"{path.relative_to(PACKAGE)}:{node.lineno} {node.name}"
        for path in sorted(PACKAGE.rglob("*.py"))
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.ClassDef) and _is_dataclass(node) and ast.get_docstring(node) is None
    ]
    assert not missing, "dataclasses without a docstring:\n" + "\n".join(missing)
