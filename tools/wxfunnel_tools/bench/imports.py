"""Cold import of each function (fresh interpreter) vs `import boto3` + one DynamoDB client, and what is heavy.

The handlers import the layer as `sam build` makes it (layers/wxfunnel/Makefile, built for this machine: the
dependencies from the layer, bytecode shipped), with boto3 from the venv as the Lambda runtime provides it; no
process writes bytecode (Lambda's /opt and /var/task are read-only). Each figure is the median of fresh `python`
processes, run interleaved so load drifts hit all alike. awscrt and pyOpenSSL are hidden in every process: the
development venv has them (via sam-cli), the Lambda runtime does not, and botocore imports both when present. The
breakdown runs `python -X importtime` with boto3 and a client already loaded, so it lists only what the handler adds
on top of boto3.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from wxfunnel_tools.bench.report import Section
from wxfunnel_tools.template import ROOT

TARGET = 1.3
TARGETED = ("CallbackFunction", "LandingFunction")  # answer WeChat (5 s) or a phone: their cold import counts
_MARK = "--wxfunnel-bench-handler--"
_PRELUDE = """
import sys, time, json
class _Absent:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("awscrt", "OpenSSL"):
            raise ImportError(name)
        return None
sys.meta_path.insert(0, _Absent())
sys.path.insert(0, "tools")  # the measured tree's own tools (the process runs in that tree)
"""
_BASELINE = (
    _PRELUDE
    + """
t0 = time.perf_counter()
import boto3
boto3.client("dynamodb")
print(json.dumps({"import": time.perf_counter() - t0}))
"""
)
_HANDLER = (
    _PRELUDE
    + """
from wxfunnel_tools.template import function, load_handler
function(sys.argv[1])  # the template is read (PyYAML) before the clock starts: Lambda has no such step
# Whatever reads the template must not have imported boto3 already: the handler's import would look free.
assert "boto3" not in sys.modules and "botocore" not in sys.modules, "boto3 imported before the clock started"
t0 = time.perf_counter()
load_handler(sys.argv[1])
t1 = time.perf_counter()
if sys.argv[2:] == ["import-only"]:  # another revision's layer (bench.against): its client module may live elsewhere
    print(json.dumps({"import": t1 - t0}))
    sys.exit(0)
from wxfunnel.core.aws import dynamodb
dynamodb()
print(json.dumps({"import": t1 - t0, "first": time.perf_counter() - t1}))
"""
)
_BREAKDOWN = (
    _PRELUDE
    + f"""
import boto3
boto3.client("dynamodb")
from wxfunnel_tools.template import function, load_handler
function(sys.argv[1])
sys.stderr.write({_MARK!r} + "\\n")
sys.stderr.flush()
load_handler(sys.argv[1])
"""
)
WATCH = (
    "requests",
    "cryptography",
    "asyncio",
    "pydantic",
    "concurrent.futures",
    "aws_lambda_powertools.event_handler",
    "aws_lambda_powertools.metrics",
    "aws_lambda_powertools.utilities.parameters",
    "aws_lambda_powertools.tracing",
    "wxfunnel.store.counters",
    "wxfunnel.client",
    "wxfunnel.flows",
)


_LAYER_DIR = ""


def build_native_layer(artifacts: str, root: Path = ROOT) -> str:
    """The layer of the tree at `root` as `sam build` makes it, for this machine; returns its `python/` directory."""
    subprocess.run(  # noqa: S603
        [  # noqa: S607
            "make",
            "-s",
            "-f",
            str(root / "layers" / "wxfunnel" / "Makefile"),
            "build-WxfunnelLayer",
            f"ARTIFACTS_DIR={artifacts}",
            "LAYER_ARCH=native",
            f"PYTHON={sys.executable}",
        ],
        check=True,
        capture_output=True,
        text=True,
        timeout=900,  # pip installs the layer's wheels: a stalled index fails the measurement, never hangs it
    )
    return os.path.join(artifacts, "python")


def _env(layer_dir: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "POWERTOOLS_"))}
    env.update(
        {
            "WXFUNNEL_LAYER_DIR": layer_dir,
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": "x",
            "AWS_SECRET_ACCESS_KEY": "x",
            "POWERTOOLS_SERVICE_NAME": "wxfunnel",
            "POWERTOOLS_METRICS_NAMESPACE": "wxfunnel",
            "PYTHONDONTWRITEBYTECODE": "1",
        }
    )
    return env


def _run(
    code: str, *args: str, importtime: bool = False, tree: tuple[Path, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run `code` in a fresh interpreter; `tree` = (root, built layer) of another revision, else this one's."""
    root, layer_dir = tree or (ROOT, _LAYER_DIR)
    command = [sys.executable, *(["-X", "importtime"] if importtime else []), "-c", code, *args]
    return subprocess.run(  # noqa: S603
        command, capture_output=True, text=True, env=_env(layer_dir), check=True, cwd=root, timeout=300
    )


def _measure(code: str, *args: str, tree: tuple[Path, str] | None = None) -> dict[str, float]:
    result: dict[str, float] = json.loads(_run(code, *args, tree=tree).stdout.strip().splitlines()[-1])
    return result


def boto3_import_ms() -> float:
    """One fresh process: `import boto3` + one DynamoDB client, ms."""
    return _measure(_BASELINE)["import"] * 1000


def handler_import_ms(logical_id: str, tree: tuple[Path, str]) -> float:
    """One fresh process: import of a function's handler from the tree at `tree` = (root, its built layer), ms."""
    return _measure(_HANDLER, logical_id, "import-only", tree=tree)["import"] * 1000


@dataclass
class Line:
    self_us: int
    cumulative_us: int
    depth: int
    name: str


_LINE = re.compile(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)")


def _breakdown(logical_id: str) -> list[Line]:
    lines: list[Line] = []
    seen_mark = False
    for raw in _run(_BREAKDOWN, logical_id, importtime=True).stderr.splitlines():
        if raw.strip() == _MARK:
            seen_mark = True
            continue
        found = _LINE.match(raw)
        if seen_mark and found:
            lines.append(Line(int(found[1]), int(found[2]), (len(found[3]) - 1) // 2, found[4]))
    return lines


def _parents(lines: list[Line]) -> dict[str, str]:
    """Who imported whom: importtime prints a module after its children, one indentation level up."""
    parent: dict[str, str] = {}
    pending: dict[int, list[str]] = defaultdict(list)
    for line in lines:
        for child in pending.pop(line.depth + 1, []):
            parent[child] = line.name
        pending[line.depth].append(line.name)
    return parent


def _importer(name: str, parents: dict[str, str]) -> str:
    """The wxfunnel module (or the handler's app.py) whose import pulled `name` in."""
    current = name
    while current in parents:
        current = parents[current]
        if current.startswith("wxfunnel."):
            return current
    return "app.py"


def _group(name: str) -> str:
    parts = name.split(".")
    if parts[0] == "aws_lambda_powertools":
        return ".".join(parts[:3] if len(parts) > 2 and parts[1] == "utilities" else parts[:2])
    if parts[0] == "wxfunnel":
        return ".".join(parts[:2])
    return parts[0]


def run(function_ids: list[str], runs: int, breakdown_runs: int = 3) -> tuple[Section, Section]:
    global _LAYER_DIR  # noqa: PLW0603 - one built layer for every measuring process of this run
    with tempfile.TemporaryDirectory(prefix="wxfunnel-layer-") as artifacts:
        built = build_native_layer(artifacts)
        bare = os.path.join(artifacts, "without-bytecode")
        shutil.copytree(built, bare, ignore=shutil.ignore_patterns("__pycache__"))
        try:
            _LAYER_DIR = built
            section, heavy = _measure_all(function_ids, runs, breakdown_runs)
            compiled = [_measure(_HANDLER, "CallbackFunction")["import"] * 1000 for _ in range(runs)]
            _LAYER_DIR = bare
            source_only = [_measure(_HANDLER, "CallbackFunction")["import"] * 1000 for _ in range(runs)]
        finally:
            _LAYER_DIR = ""
    section.notes.append(
        f"Shipping bytecode: CallbackFunction imports in {statistics.median(compiled):.0f} ms with the layer's .pyc "
        f"files, {statistics.median(source_only):.0f} ms without them (what BuildMethod python3.13 packs: Lambda "
        "compiles every module at every cold start, /opt being read-only)."
    )
    return section, heavy


def _measure_all(function_ids: list[str], runs: int, breakdown_runs: int) -> tuple[Section, Section]:
    imports: dict[str, list[float]] = defaultdict(list)
    ready: dict[str, list[float]] = defaultdict(list)
    for _ in range(runs):
        imports["baseline"].append(_measure(_BASELINE)["import"] * 1000)
        for logical_id in function_ids:
            figures = _measure(_HANDLER, logical_id)
            imports[logical_id].append(figures["import"] * 1000)
            ready[logical_id].append((figures["import"] + figures["first"]) * 1000)
    base = statistics.median(imports["baseline"])
    section = Section(
        f"cold start, ms (median of {runs} fresh processes)",
        ("function", "import", "min", "max", "ratio", "ready", "ratio", "target (import)"),
    )
    section.add("import boto3 + dynamodb client", base, min(imports["baseline"]), max(imports["baseline"]))
    for logical_id in function_ids:
        imported = statistics.median(imports[logical_id])
        until_ready = statistics.median(ready[logical_id])
        ratio = imported / base
        section.add(
            logical_id,
            imported,
            min(imports[logical_id]),
            max(imports[logical_id]),
            f"{ratio:.2f}x",
            until_ready,
            f"{until_ready / base:.2f}x",
            (("ok" if ratio <= TARGET else "OVER") + f" (≤ {TARGET}x)") if logical_id in TARGETED else "",
        )
    section.notes.append(
        "import = the handler module with the layer (boto3 included, no client yet), what Lambda's init runs; ratio = "
        "÷ import boto3 + one client. ready = import + what the first invocation adds before its first AWS request "
        "(the DynamoDB client)."
    )
    section.notes.append(
        "The layer as `sam build` makes it (layers/wxfunnel/Makefile for this machine, bytecode shipped); nothing "
        "writes bytecode. awscrt and pyOpenSSL hidden in every process (absent from the Lambda runtime)."
    )
    return section, _heavy("CallbackFunction", breakdown_runs)


def _heavy(logical_id: str, runs: int) -> Section:
    per_group: dict[str, list[float]] = defaultdict(list)
    per_module: dict[str, list[float]] = defaultdict(list)
    present: dict[str, str] = {}
    total: list[float] = []
    for _ in range(runs):
        lines = _breakdown(logical_id)
        parents = _parents(lines)
        groups: dict[str, float] = defaultdict(float)
        for line in lines:
            groups[_group(line.name)] += line.self_us / 1000
            per_module[line.name].append(line.self_us / 1000)
        for group, value in groups.items():
            per_group[group].append(value)
        total.append(sum(line.self_us for line in lines) / 1000)
        names = {line.name for line in lines}
        for watched in WATCH:
            if watched in names:
                present[watched] = _importer(watched, parents)
    section = Section(
        f"{logical_id}: what its import adds on top of boto3 (python -X importtime, median of {runs}), ms",
        ("package (self time of its modules)", "ms", "share"),
    )
    whole = statistics.median(total)
    ranked = sorted(per_group.items(), key=lambda item: -statistics.median(item[1]))
    for group, values in ranked[:14]:
        value = statistics.median(values)
        section.add(group, value, f"{100 * value / whole:.0f}%")
    section.add("total added by the handler", whole, "100%")
    heaviest = sorted(per_module.items(), key=lambda item: -statistics.median(item[1]))[:8]
    section.notes.append(
        "heaviest single modules (self): "
        + ", ".join(f"{name} {statistics.median(values):.1f}" for name, values in heaviest)
    )
    if present:
        section.notes.append(
            "imported on the callback path (imported by): "
            + ", ".join(f"{name} ({parent})" for name, parent in sorted(present.items()))
        )
    return section
