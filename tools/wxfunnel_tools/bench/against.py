"""Before and after in one run: this tree against another revision, measured alternately on the same machine.

    python -m wxfunnel_tools.bench.against REV [--rounds 5] [--import-runs 5] [--iterations 2000]
    make bench-against REV=1827b9a

Two figures from separate runs of `make bench` differ by more than a redesign changes them (the denominator of the
cold-import ratio alone moves by 20 % between runs on a 2-core machine). Here REV is extracted with `git archive`
next to this tree, both layers are built as `sam build` builds them, and every measurement alternates between the
two trees, round after round, so a load drift hits both alike:
- cold import of CallbackFunction (fresh processes: boto3 + client, then each tree's handler, interleaved);
- the warm callback, each tree measured by its own `bench.processing` (its own stubs for its own modules) in a
  fresh process per round: `ours` (intake with AWS stubbed) and `handler` (the whole Lambda handler), medians;
- DynamoDB requests, read and write units per push: each tree's own `bench.dynamo` (its real handler on moto, the
  same pushes), once: counts do not drift with load.
REV must have the benchmark's interfaces (`wxfunnel_tools.template.load_handler`, `bench.processing.run`,
`bench.dynamo.run`; 1827b9a and later).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
from collections import defaultdict
from pathlib import Path
from typing import Any

from wxfunnel_tools.bench import imports
from wxfunnel_tools.bench.report import Section
from wxfunnel_tools.template import ROOT

_PROCESSING = """
import json, sys
sys.path.insert(0, "tools")
from wxfunnel_tools.template import use_layer
use_layer()
from wxfunnel_tools.bench import processing
section = processing.run(int(sys.argv[1]), int(sys.argv[2]))
columns = {name: list(section.header).index(name) for name in ("payload", "ours", "handler")}
print(json.dumps([{name: row[index] for name, index in columns.items()} for row in section.rows]))
"""
_FIGURES = ("ours", "handler")
_DYNAMO = """
import json, sys
sys.path.insert(0, "tools")
from wxfunnel_tools.template import use_layer
use_layer()
from wxfunnel_tools.bench import dynamo
section = dynamo.run()
print(json.dumps([[str(cell) for cell in row] for row in section.rows]))
"""
_PER_PUSH = ("requests", "RCU", "WCU", "SQS", "status")  # columns 1, 3, 4, 5, 6 of bench.dynamo


TIMEOUT_SECONDS = (
    600  # one git archive or one tree's warm round; a stalled child fails the run, never hangs it
)


def extract(revision: str, into: Path) -> Path:
    """The tree of `revision` (a commit of this repository) under `into`, as git archive gives it."""
    archive = subprocess.run(  # noqa: S603
        ["git", "-C", str(ROOT), "archive", "--format=tar", revision],  # noqa: S607
        check=True,
        capture_output=True,
        timeout=TIMEOUT_SECONDS,
    )
    into.mkdir(parents=True)
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tree:
        tree.extractall(into, filter="data")
    return into


def _child(root: Path, code: str, *args: str) -> Any:
    """Run `code` in a fresh process in the tree at `root` (its own source layer, whatever WXFUNNEL_LAYER_DIR the
    caller has); its last line of output, as JSON."""
    env = {key: value for key, value in os.environ.items() if key != "WXFUNNEL_LAYER_DIR"}
    result = subprocess.run(  # noqa: S603
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        check=True,
        cwd=root,
        env=env,
        timeout=TIMEOUT_SECONDS,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def _processing(root: Path, iterations: int) -> dict[str, dict[str, float]]:
    """The tree's own bench.processing in a fresh process: payload → figure → µs."""
    rows = _child(root, _PROCESSING, str(iterations), "20")
    return {row["payload"]: {name: float(row[name]) for name in _FIGURES} for row in rows}


def _per_push(root: Path) -> dict[str, list[str]]:
    """The tree's own bench.dynamo in a fresh process: push → its figures (_PER_PUSH)."""
    return {row[0]: [row[index] for index in (1, 3, 4, 5, 6)] for row in _child(root, _DYNAMO)}


def _revision(root: Path) -> str:
    head = subprocess.run(  # noqa: S603
        ["git", "-C", str(root), "rev-parse", "--short", "HEAD"],  # noqa: S607
        capture_output=True,
        text=True,
        check=True,
        timeout=TIMEOUT_SECONDS,
    )
    return head.stdout.strip()


def run(revision: str, rounds: int, import_runs: int, iterations: int) -> list[Section]:
    label_before, label_after = revision, f"{_revision(ROOT)} (this tree)"
    with tempfile.TemporaryDirectory(prefix="wxfunnel-against-") as scratch:
        before_root = extract(revision, Path(scratch) / "tree")
        trees = {
            label_before: (before_root, imports.build_native_layer(f"{scratch}/layer-before", before_root)),
            label_after: (ROOT, imports.build_native_layer(f"{scratch}/layer-after", ROOT)),
        }
        cold: dict[str, list[float]] = defaultdict(list)
        warm: dict[tuple[str, str, str], list[float]] = defaultdict(list)
        for round_ in range(rounds):
            order = list(trees) if round_ % 2 == 0 else list(reversed(trees))
            for _ in range(import_runs):
                cold["boto3"].append(imports.boto3_import_ms())
                for label in order:
                    cold[label].append(imports.handler_import_ms("CallbackFunction", trees[label]))
            for label in order:
                for payload, figures in _processing(trees[label][0], iterations).items():
                    for name, value in figures.items():
                        warm[(label, payload, name)].append(value)
        pushes = {label: _per_push(root) for label, (root, _) in trees.items()}
    return [
        _cold_section(cold, label_before, label_after, rounds * import_runs),
        _warm_section(warm, label_before, label_after, rounds),
        _dynamo_section(pushes, label_before, label_after),
    ]


def _cold_section(cold: dict[str, list[float]], before: str, after: str, runs: int) -> Section:
    base = statistics.median(cold["boto3"])
    section = Section(
        f"CallbackFunction cold import, before and after, ms (median of {runs} fresh processes each, interleaved)",
        ("tree", "import", "min", "max", "ratio", "target"),
    )
    section.add("import boto3 + dynamodb client", base, min(cold["boto3"]), max(cold["boto3"]), "", "")
    for label in (before, after):
        median = statistics.median(cold[label])
        ratio = median / base
        verdict = ("ok" if ratio <= imports.TARGET else "OVER") + f" (≤ {imports.TARGET}x)"
        section.add(label, median, min(cold[label]), max(cold[label]), f"{ratio:.2f}x", verdict)
    change = statistics.median(cold[after]) / statistics.median(cold[before]) - 1
    section.notes.append(f"after vs before: {change:+.1%} (each tree's layer built by its own Makefile).")
    return section


def _warm_section(
    warm: dict[tuple[str, str, str], list[float]], before: str, after: str, rounds: int
) -> Section:
    labels = [before, after]
    payloads = list(dict.fromkeys(payload for _, payload, _ in warm))
    section = Section(
        f"callback warm per-message time, before and after, µs (best of {rounds} alternating rounds)",
        (
            "payload",
            *(f"{name} {label}" for name in _FIGURES for label in labels),
            "handler after/before",
            "(medians)",
        ),
    )
    for payload in payloads:
        best = {(name, label): min(warm[(label, payload, name)]) for name in _FIGURES for label in labels}
        middle = {label: statistics.median(warm[(label, payload, "handler")]) for label in labels}
        section.add(
            payload,
            *(best[(name, label)] for name in _FIGURES for label in labels),
            f"{best[('handler', labels[1])] / best[('handler', labels[0])]:.2f}x",
            f"{middle[labels[1]] / middle[labels[0]]:.2f}x",
        )
    section.notes.append(
        "each round runs both trees' bench.processing in fresh processes (order alternating) and gives each figure as "
        "the median of its iterations; the table shows each tree's best round (a round's median moves by up to 50 % "
        "with the machine's load), the last column the ratio of the rounds' medians. ours = intake with DynamoDB/SQS "
        "stubbed, handler = the whole CallbackFunction handler with the same stubs."
    )
    return section


def _dynamo_section(pushes: dict[str, dict[str, list[str]]], before: str, after: str) -> Section:
    section = Section(
        "DynamoDB per push, before and after (each tree's real handler on moto)",
        ("push", *(f"{name} {when}" for name in _PER_PUSH for when in ("before", "after")), "requests"),
    )
    for push in dict.fromkeys([*pushes[before], *pushes[after]]):
        figures = {label: pushes[label].get(push, ["-"] * len(_PER_PUSH)) for label in (before, after)}
        requests = [figures[label][0] for label in (before, after)]
        section.add(
            push,
            *(figures[label][index] for index in range(len(_PER_PUSH)) for label in (before, after)),
            "same" if requests[0] == requests[1] else f"{requests[0]} → {requests[1]}",
        )
    section.notes.append(
        f"before = {before}, after = {after}. requests: DynamoDB requests counted on each layer's own clients; "
        "RCU/WCU from the sizes of the items read and written; SQS: requests to the outbox."
    )
    return section


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m wxfunnel_tools.bench.against", description=__doc__)
    parser.add_argument("revision", help="the commit to compare against (e.g. 1827b9a)")
    parser.add_argument("--rounds", type=int, default=5, help="alternating rounds")
    parser.add_argument("--import-runs", type=int, default=5, help="fresh processes per tree per round")
    parser.add_argument("--iterations", type=int, default=2000, help="warm iterations per payload per round")
    args = parser.parse_args(argv)
    if min(args.rounds, args.import_runs, args.iterations) < 1:
        parser.error("--rounds, --import-runs and --iterations must be at least 1")
    sections = run(args.revision, args.rounds, args.import_runs, args.iterations)
    print("\n\n".join(section.render() for section in sections))
    return 0


if __name__ == "__main__":
    sys.exit(main())
