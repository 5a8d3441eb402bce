"""The template builds and lints as users will deploy it: `sam validate --lint`, cfn-lint and `sam build` (arm64)."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from wxfunnel_tools.template import ROOT, TEMPLATE, functions, load_template

BIN = Path(sys.executable).parent
pytestmark = pytest.mark.xdist_group("sam")


def _without_the_venv(path: str) -> str:
    """PATH as a user has it who types `sam build`: without this virtualenv's bin (`make test` puts it first)."""
    return os.pathsep.join(entry for entry in path.split(os.pathsep) if entry and Path(entry) != BIN)


def _run(*args: str, cwd: Path = ROOT, path: str | None = None) -> subprocess.CompletedProcess[str]:
    """`args` (tools called by absolute path) with the virtualenv off PATH: the layer's Makefile must find Python
    3.13 itself."""
    env = dict(os.environ, PATH=path or _without_the_venv(os.environ.get("PATH", "")), SAM_CLI_TELEMETRY="0")
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=900, check=False)


def test_the_layer_build_finds_python_313_behind_a_pyenv_shim(tmp_path: Path) -> None:
    """A pyenv shim named python3.13 on PATH answers "command not found" unless 3.13 is the active version: the
    layer's Makefile runs tools/find-python.sh like the top Makefile and uses the interpreter that works."""
    shims = tmp_path / "shims"
    shims.mkdir()
    shim = shims / "python3.13"
    shim.write_text('#!/bin/sh\necho "pyenv: python3.13: command not found" >&2\nexit 127\n')
    shim.chmod(0o755)
    pyenv_root = tmp_path / "pyenv"
    installed = pyenv_root / "versions" / "3.13.9" / "bin"
    installed.mkdir(parents=True)
    (installed / "python3.13").symlink_to(sys.executable)
    path = os.pathsep.join([str(shims), *(d for d in ("/usr/bin", "/bin") if Path(d).is_dir())])
    env = dict(os.environ, PATH=path, PYENV_ROOT=str(pyenv_root), HOME=str(tmp_path))
    makefile = ROOT / "layers" / "wxfunnel" / "Makefile"
    target = ["build-WxfunnelLayer", f"ARTIFACTS_DIR={tmp_path / 'out'}"]
    dry_run = subprocess.run(
        [shutil.which("make") or "make", "-n", "-f", str(makefile), *target],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert dry_run.returncode == 0, dry_run.stderr
    [pip] = [line for line in dry_run.stdout.splitlines() if "-m pip install" in line]
    interpreter = pip.split(" -m pip")[0].strip()
    assert interpreter != "python3.13" and Path(interpreter).name == "python3.13", pip
    answer = subprocess.run(
        [interpreter, "--version"], capture_output=True, text=True, check=True, timeout=30
    )
    assert answer.stdout.startswith("Python 3.13")


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if shutil.which("sam", path=str(BIN)) is None:
        pytest.fail("aws-sam-cli is a dev dependency: run `make setup`")
    build_dir = tmp_path_factory.mktemp("sam") / "build"
    result = _run(
        str(BIN / "sam"), "build", "--template", str(TEMPLATE), "--build-dir", str(build_dir), "--parallel"
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return build_dir


def test_cfn_lint_is_clean_informational_checks_included() -> None:
    result = _run(str(BIN / "cfn-lint"), str(TEMPLATE), "--include-checks", "I")
    assert result.returncode == 0, result.stdout + result.stderr


def test_sam_validate_lint_is_clean() -> None:
    result = _run(
        str(BIN / "sam"), "validate", "--lint", "--template", str(TEMPLATE), "--region", "us-east-1"
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_function_and_the_layer_are_built(built: Path) -> None:
    for spec in functions():
        assert (built / spec.logical_id / "app.py").is_file(), spec.logical_id
    assert (built / "WxfunnelLayer" / "python" / "wxfunnel" / "entry" / "intake.py").is_file()


def test_the_layer_carries_arm64_binaries_only(built: Path) -> None:
    shared_objects = list((built / "WxfunnelLayer").rglob("*.so"))
    assert shared_objects, "cryptography's native code should be in the layer"
    for so in shared_objects:
        header = so.read_bytes()[:20]
        assert header[:4] == b"\x7fELF"
        machine = int.from_bytes(header[18:20], "little")
        assert machine == 0xB7, f"{so.name} is not aarch64 (e_machine={machine:#x})"


def test_the_layer_ships_bytecode_that_lambda_can_use_without_writing(built: Path) -> None:
    """/opt is read-only on Lambda: a module without valid bytecode is compiled again at every cold start."""
    python = built / "WxfunnelLayer" / "python"
    sources = [p for p in python.rglob("*.py") if "dist-info" not in str(p)]
    assert len(sources) > 100
    missing = []
    for source in sources:
        cached = Path(importlib.util.cache_from_source(str(source)))
        if not cached.is_file():
            missing.append(str(source.relative_to(python)))
            continue
        header = cached.read_bytes()[:16]
        assert header[:4] == importlib.util.MAGIC_NUMBER, f"{cached} is not bytecode for this Python"
        flags = int.from_bytes(header[4:8], "little")
        assert flags == 0b01, f"{cached}: not unchecked-hash bytecode (flags={flags:#b})"
    assert not missing, f"no bytecode for {missing[:5]}"


def test_the_layer_does_not_bundle_what_the_runtime_provides(built: Path) -> None:
    python = built / "WxfunnelLayer" / "python"
    for provided in ("boto3", "botocore", "s3transfer"):
        assert not (python / provided).exists(), f"{provided} is in the Lambda runtime already"
    for needed in ("aws_lambda_powertools", "cryptography", "xmltodict", "requests"):
        assert (python / needed).exists() or (python / f"{needed}.py").exists(), needed


def test_functions_use_the_runtime_and_architecture_the_tests_run_on() -> None:
    function_globals = load_template()["Globals"]["Function"]
    assert function_globals["Runtime"] == f"python{sys.version_info.major}.{sys.version_info.minor}"
    assert function_globals["Architectures"] == ["arm64"]
    layer = load_template()["Resources"]["WxfunnelLayer"]
    assert layer["Metadata"]["BuildArchitecture"] == "arm64"


def test_the_built_template_is_yaml_with_every_function(built: Path) -> None:
    document = yaml.safe_load((built / "template.yaml").read_text().replace("!", ""))
    resources = document["Resources"]
    assert {spec.logical_id for spec in functions()} <= set(resources)


def test_the_static_egress_variant_builds(tmp_path: Path) -> None:
    result = _run(
        str(BIN / "sam"),
        "build",
        "--template",
        str(TEMPLATE),
        "--build-dir",
        str(tmp_path / "egress"),
        "--parameter-overrides",
        "EnableStaticEgress=true",
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


def test_only_the_functions_that_call_wechat_sit_behind_the_static_ip() -> None:
    resources = load_template()["Resources"]
    behind = {name for name, r in resources.items() if "VpcConfig" in r.get("Properties", {})}
    assert behind == {"QrCodeFunction", "SenderFunction", "LandingFunction"}  # the landing page renews codes
    assert load_template()["Outputs"]["EgressIp"]["Condition"] == "StaticEgress"
    assert all(
        r.get("Condition") in {"StaticEgress", "TwoNatGateways"}
        for r in resources.values()
        if r["Type"].startswith("AWS::EC2::")
    )


def _pins(path: Path) -> dict[str, str]:
    pins = {}
    for line in path.read_text().splitlines():
        if "==" in line and not line.startswith("#"):
            name, version = line.split("==", 1)
            pins[name.strip().lower().replace("_", "-")] = version.strip()
    return pins


def test_the_layer_deploys_the_versions_the_tests_run_with() -> None:
    layer = _pins(ROOT / "layers" / "wxfunnel" / "requirements.txt")
    tested = _pins(ROOT / "constraints.txt")
    assert layer, "the layer pins its dependencies"
    assert {name: tested.get(name) for name in layer} == layer
