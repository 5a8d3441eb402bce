"""`make bench`: measure everything in one run, print the report, write bench-results/latest.md.

python -m wxfunnel_tools.bench [--iterations 2000] [--pushes 500] [--skip layer,localstack,...]
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections.abc import Callable
from pathlib import Path

from wxfunnel_tools.bench import machine
from wxfunnel_tools.bench.report import Section
from wxfunnel_tools.template import ROOT, use_layer

SECTIONS = (
    "processing",
    "imports",
    "dynamodb",
    "statistics",
    "export",
    "tokens",
    "layer",
    "localstack",
    "landing",
)
FUNCTIONS = (
    "CallbackFunction",
    "VerifyFunction",
    "QrCodeFunction",
    "NotifyFunction",
    "FanoutFunction",
    "SenderFunction",
    "LandingFunction",
    "LiveCodeFunction",
)


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m wxfunnel_tools.bench", description=__doc__)
    parser.add_argument("--iterations", type=int, default=2000, help="warm iterations per payload")
    parser.add_argument("--moto-iterations", type=int, default=300, help="iterations of the handler on moto")
    parser.add_argument("--import-runs", type=int, default=7, help="fresh processes per cold-import figure")
    parser.add_argument("--waves", default="50,200", help="concurrent cold callers per token wave")
    parser.add_argument("--pushes", type=int, default=500, help="pushes sent through the local stack")
    parser.add_argument("--threads", type=int, default=4, help="HTTP client threads for the local stack")
    parser.add_argument(
        "--visits", type=int, default=10_000, help="visits to one live code across code expiries"
    )
    parser.add_argument("--http-visits", type=int, default=1000, help="live-code page visits over HTTP")
    parser.add_argument("--skip", default="", help=f"comma-separated sections to skip: {', '.join(SECTIONS)}")
    parser.add_argument("--out", type=Path, default=ROOT / "bench-results" / "latest.md")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    skip = {name.strip() for name in args.skip.split(",") if name.strip()}
    unknown = skip - set(SECTIONS)
    if unknown:
        print(f"unknown sections: {', '.join(sorted(unknown))}", file=sys.stderr)
        return 2
    for noisy in ("werkzeug", "wxfunnel_tools.local", "botocore", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.ERROR)
    use_layer()  # the functions import the layer as Lambda does: from /opt/python
    header = machine.describe()
    from wxfunnel_tools.bench import (
        dynamo,
        export,
        imports,
        landing,
        layer,
        processing,
        statistics,
        throughput,
        tokens,
    )

    plan: list[tuple[str, Callable[[], list[Section]]]] = [
        ("processing", lambda: [processing.run(args.iterations, args.moto_iterations)]),
        ("imports", lambda: list(imports.run(list(FUNCTIONS), args.import_runs))),
        ("dynamodb", lambda: [dynamo.run()]),
        ("statistics", lambda: [statistics.run(), statistics.run_promoters()]),
        ("export", lambda: [export.run()]),
        ("tokens", lambda: [tokens.run([int(n) for n in args.waves.split(",") if n.strip()])]),
        ("layer", lambda: [layer.run()]),
        ("localstack", lambda: [throughput.run(args.pushes, args.threads)]),
        ("landing", lambda: landing.run(args.visits, args.http_visits, args.threads * 2)),
    ]
    sections: list[Section] = []
    for name, measure in plan:
        if name in skip:
            continue
        started = time.perf_counter()
        print(f"measuring {name} …", file=sys.stderr, flush=True)
        try:
            sections.extend(measure())
        except Exception as exc:  # one failed measurement must not hide the others
            failed = Section(name, ("error",))
            failed.add(f"{type(exc).__name__}: {exc}")
            sections.append(failed)
        print(f"  {name}: {time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)
    text = "\n".join(["wxfunnel benchmark report", *header, "", *(s.render() + "\n" for s in sections)])
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(f"# wxfunnel benchmark\n\n```text\n{text.rstrip()}\n```\n", encoding="utf-8")
    print(f"(written to {args.out})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
