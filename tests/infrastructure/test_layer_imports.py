"""Every function imports as it will on Lambda: with nothing on sys.path but its CodeUri, the layer as the Makefile
builds it and what the python3.13 runtime provides (boto3 and its dependencies), so a dependency the layer forgets
fails here rather than as Runtime.ImportModuleError after a deploy."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from wxfunnel_tools.bench.imports import build_native_layer
from wxfunnel_tools.template import ROOT, functions, load_template

pytestmark = pytest.mark.xdist_group("sam")

# What the Lambda Python runtime has besides the standard library: boto3 and what it imports.
RUNTIME_PROVIDES = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "six", "urllib3")

# Runs with `python -I -S -B`: no site-packages, no PYTHON* variables, no bytecode written into the repository.
_IMPORT = """
import importlib, json, sys
stdlib = [entry for entry in sys.path if entry]
assert not [entry for entry in stdlib if "site-packages" in entry], stdlib
sys.path[:] = json.loads(sys.argv[1]) + stdlib
for name in sys.argv[2:]:
    module_name, _, attribute = name.partition(":")
    module = importlib.import_module(module_name)
    assert not attribute or callable(getattr(module, attribute)), name
"""


@pytest.fixture(scope="module")
def layer(tmp_path_factory: pytest.TempPathFactory) -> Path:
    artifacts = tmp_path_factory.mktemp("layer")
    try:
        return Path(build_native_layer(str(artifacts)))
    except subprocess.CalledProcessError as exc:
        pytest.fail(f"the layer does not build: {exc.stdout[-2000:]}{exc.stderr[-2000:]}")


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory holding only what the runtime provides (links into this venv's site-packages)."""
    provided = tmp_path_factory.mktemp("runtime")
    for name in RUNTIME_PROVIDES:
        spec = importlib.util.find_spec(name)
        assert spec is not None and spec.origin, f"{name} is not installed in the venv"
        source = Path(spec.origin)
        if spec.submodule_search_locations:
            source = source.parent
        (provided / source.name).symlink_to(source)
    return provided


def _lambda_environment() -> dict[str, str]:
    variables = load_template()["Globals"]["Function"]["Environment"]["Variables"]
    env = {key: value if isinstance(value, str) else f"unresolved-{key}" for key, value in variables.items()}
    env.update(
        {
            "PATH": os.environ.get("PATH", ""),
            "AWS_REGION": "us-east-1",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": "import-check",
            "AWS_SECRET_ACCESS_KEY": "import-check",
            "AWS_LAMBDA_FUNCTION_NAME": "import-check",
        }
    )
    return env


def _import(path: list[Path], names: list[str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-I", "-S", "-B", "-c", _IMPORT, json.dumps([str(p) for p in path]), *names],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_lambda_environment(),
        cwd=ROOT,
    )


def _failures(running: dict[str, subprocess.Popen[str]]) -> dict[str, str]:
    failures = {}
    for name, process in running.items():
        _, stderr = process.communicate(timeout=120)
        if process.returncode != 0:
            failures[name] = (
                stderr.strip().splitlines()[-1] if stderr.strip() else f"exit {process.returncode}"
            )
    return failures


def test_every_handler_imports_with_only_its_code_the_layer_and_the_runtime(
    layer: Path, runtime: Path
) -> None:
    running = {}
    for spec in functions():
        module, attribute = spec.handler.rsplit(".", 1)
        running[spec.logical_id] = _import([ROOT / spec.code_uri, layer, runtime], [f"{module}:{attribute}"])
    failures = _failures(running)
    assert not failures, failures


def test_every_module_of_the_layer_imports_with_only_the_runtime(layer: Path, runtime: Path) -> None:
    """Modules a handler imports on its first invocation (deferred imports) need their dependencies too."""
    package = layer / "wxfunnel"
    modules = sorted(
        ".".join(path.relative_to(layer).with_suffix("").parts).removesuffix(".__init__")
        for path in package.rglob("*.py")
    )
    assert "wxfunnel.entry.admin.notifications" in modules
    failures = _failures({"wxfunnel": _import([layer, runtime], modules)})
    assert not failures, failures


def _pins(path: Path) -> set[str]:
    return {
        line.split("==", 1)[0].strip().lower().replace("_", "-")
        for line in path.read_text().splitlines()
        if "==" in line and not line.startswith("#")
    }


def test_the_layer_pins_every_distribution_it_installs(layer: Path) -> None:
    """The whole dependency closure is pinned, so a deploy never resolves a version the tests did not run with."""
    installed = {
        path.name.removesuffix(".dist-info").rsplit("-", 1)[0].lower().replace("_", "-")
        for path in layer.glob("*.dist-info")
    }
    assert installed == _pins(ROOT / "layers" / "wxfunnel" / "requirements.txt")
