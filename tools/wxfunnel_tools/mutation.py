"""Mutation testing of the pure packages against tests/unit (`make mutation`): per-module scores and a gate.

mutmut (pyproject.toml `[tool.mutmut]`) copies the layer into `mutants/`, mutates protocol, config, domain and
flows, learns which unit tests reach which function, and runs those tests against every mutant. This module runs
it, prints each module's score and fails when the score of the code the unit tests reach is below
`[tool.wxfunnel.mutation] fail_under`:

    score = killed / (mutants reached by a unit test - mutants listed as equivalent)

Killed includes timeouts and mutants mypy rejects (`make check` would). A mutant in a function no unit test
reaches counts as "no tests" (shown, not scored). A surviving mutant counts against the score unless the
equivalents list (`[tool.wxfunnel.mutation] equivalents`) names it with a reason, one line each:

    <module>.<function> | <id> | <the change> | <why it cannot be, or need not be, detected>

The id hashes the function and the changed lines, so an entry survives edits elsewhere and goes stale (reported)
when its line changes. Survivors whose only change is inside a string literal are counted like any other until
reviewed: `python -m wxfunnel_tools.mutation survivors` prints the unlisted ones as ready-to-review lines.

Runs are incremental: results for unchanged functions are kept in `mutants/`, and every mutant that was not killed
is tried again (a new test may kill it). `--fresh` (what CI runs, from a clean clone) starts from nothing.

mutmut 3.7.0 needs two adaptations, made here and only for this process:
- mutmut names a mutant after its file's path and knows only `./`, `src/` and `source/` as import roots; the layer's
  root is `layers/wxfunnel`, so that prefix is dropped from the names.
- pytest 9 removed `Node._nodeid`, which mutmut 3.7 reads; 3.8 reads `nodeid` but needs click >= 8.4, which
  aws-sam-cli pins to 8.1.8.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import os
import re
import shutil
import subprocess
import sys
import tokenize
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wxfunnel_tools.template import ROOT

MUTMUT_VERSION = "3.7.0"
LAYER_ROOT = ("layers", "wxfunnel")
MUTANTS = ROOT / "mutants"
KILLED = {"killed", "timeout", "caught by type check", "segfault"}
SURVIVED = {"survived", "suspicious"}
SHOWN = 40  # unlisted survivors printed after a failing run


def _patch_mutmut() -> Any:
    import mutmut  # only `make mutation` needs it
    import mutmut.__main__ as cli
    from _pytest.nodes import Node
    from mutmut.mutation import file_mutation
    from mutmut.utils import format_utils

    if mutmut.__version__ != MUTMUT_VERSION:
        raise SystemExit(
            f"mutmut {mutmut.__version__} is installed; this runner adapts {MUTMUT_VERSION} (see its docstring)"
        )
    original = format_utils.get_mutant_name

    def get_mutant_name(relative_source_path: Path, mutant_method_name: str) -> str:
        parts = Path(relative_source_path).parts
        if parts[: len(LAYER_ROOT)] == LAYER_ROOT:
            relative_source_path = Path(*parts[len(LAYER_ROOT) :])
        return original(relative_source_path, mutant_method_name)

    format_utils.get_mutant_name = cli.get_mutant_name = file_mutation.get_mutant_name = get_mutant_name
    if not hasattr(Node, "_nodeid"):
        Node._nodeid = property(lambda node: node.nodeid)  # type: ignore[attr-defined]
    return cli


def _settings() -> dict[str, Any]:
    data = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    settings: dict[str, Any] = data["tool"]["wxfunnel"]["mutation"]
    return settings


# --- results -------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Mutant:
    name: str  # mutmut's: wxfunnel.protocol.crypto.x_signature__mutmut_10
    path: Path
    status: str

    @property
    def module(self) -> str:
        return self.name.split(".x_")[0].split(".xǁ")[0]

    @property
    def function(self) -> str:
        """`<module>.<function>` or `<module>.<Class>.<method>`, as a reader names it."""
        mangled = self.name.partition("__mutmut_")[0].rpartition(".")[2]
        if mangled.startswith("x_"):
            return f"{self.module}.{mangled[2:]}"
        _, cls, method = mangled.split("ǁ")
        return f"{self.module}.{cls}.{method}"


@dataclass(frozen=True, slots=True)
class Change:
    removed: tuple[str, ...]
    added: tuple[str, ...]

    def text(self) -> str:
        return " / ".join(self.removed) + " ⇒ " + " / ".join(self.added)

    def ident(self, function: str) -> str:
        return hashlib.sha1("\n".join((function, *self.removed, "⇒", *self.added)).encode()).hexdigest()[:10]

    def strings_only(self) -> bool:
        """Whether the mutation only touches string literals (their text, or a literal become None)."""
        return _shape(" ".join(self.removed)) == _shape(" ".join(self.added)) is not None


def _shape(code: str) -> tuple[str, ...] | None:
    """The code's tokens with every string literal (and None) blanked out; None when it does not tokenize."""
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(code.strip().rstrip(",")).readline))
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return None
    shape = []
    for token in tokens:
        if token.type in (
            tokenize.NEWLINE,
            tokenize.NL,
            tokenize.ENDMARKER,
            tokenize.INDENT,
            tokenize.DEDENT,
        ):
            continue
        string = token.type == tokenize.STRING or token.type in (
            tokenize.FSTRING_START,
            tokenize.FSTRING_MIDDLE,
            tokenize.FSTRING_END,
        )
        shape.append("<str>" if string or token.string == "None" else token.string)
    return tuple(shape)


@dataclass(frozen=True, slots=True)
class Equivalent:
    function: str
    ident: str
    change: str
    reason: str
    line: int


def read_equivalents(path: Path) -> dict[tuple[str, str], Equivalent]:
    entries: dict[tuple[str, str], Equivalent] = {}
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        head = line.split(" | ", 2)
        tail = line.rsplit(" | ", 1)
        if len(head) < 3 or len(tail) < 2 or not tail[1].strip():
            raise SystemExit(f"{path}:{number}: expected '<function> | <id> | <change> | <reason>'")
        entry = Equivalent(head[0], head[1], head[2].rsplit(" | ", 1)[0], tail[1].strip(), number)
        entries[entry.function, entry.ident] = entry
    return entries


@dataclass
class Score:
    mutants: int = 0
    killed: int = 0
    survived: int = 0
    equivalent: int = 0
    strings: int = 0  # unlisted survivors whose change is inside string literals only
    no_tests: int = 0
    not_checked: int = 0

    @property
    def scored(self) -> int:
        return self.killed + self.survived

    @property
    def percent(self) -> float:
        return 100.0 * self.killed / self.scored if self.scored else 100.0

    def add(self, other: Score) -> None:
        for name in ("mutants", "killed", "survived", "equivalent", "strings", "no_tests", "not_checked"):
            setattr(self, name, getattr(self, name) + getattr(other, name))


@dataclass
class Report:
    modules: dict[str, Score] = field(default_factory=dict)
    survivors: list[tuple[Mutant, Change]] = field(default_factory=list)
    stale: list[Equivalent] = field(default_factory=list)

    @property
    def total(self) -> Score:
        total = Score()
        for score in self.modules.values():
            total.add(score)
        return total


def mutants(cli: Any) -> Iterator[Mutant]:
    from mutmut.mutation.data import SourceFileMutationData

    for path in cli.walk_mutatable_files():
        data = SourceFileMutationData(path=path)
        data.load()
        for name, exit_code in data.exit_code_by_key.items():
            yield Mutant(name, Path(path), cli.status_by_exit_code[exit_code])


def change_of(cli: Any, mutant: Mutant) -> Change:
    diff = cli.get_diff_for_mutant(mutant.name, path=mutant.path).splitlines()[2:]
    removed = tuple(" ".join(line[1:].split()) for line in diff if line.startswith("-"))
    added = tuple(" ".join(line[1:].split()) for line in diff if line.startswith("+"))
    return Change(removed, added)


def report(cli: Any, equivalents: dict[tuple[str, str], Equivalent]) -> Report:
    result = Report()
    used: set[tuple[str, str]] = set()
    for mutant in mutants(cli):
        score = result.modules.setdefault(mutant.module, Score())
        score.mutants += 1
        if mutant.status in KILLED:
            score.killed += 1
        elif mutant.status == "no tests":
            score.no_tests += 1
        elif mutant.status in SURVIVED:
            change = change_of(cli, mutant)
            key = (mutant.function, change.ident(mutant.function))
            if key in equivalents:
                used.add(key)
                score.equivalent += 1
                continue
            score.survived += 1
            score.strings += change.strings_only()
            result.survivors.append((mutant, change))
        else:
            score.not_checked += 1
    result.stale = [entry for key, entry in equivalents.items() if key not in used]
    return result


def print_report(result: Report) -> None:
    header = (
        f"{'module':34} {'mutants':>7} {'killed':>6} {'survived':>8} {'in strings':>10} {'equivalent':>10}"
        f" {'no tests':>8} {'score':>6}"
    )
    print(header)
    print("-" * len(header))
    rows = [*sorted(result.modules.items()), ("total", result.total)]
    for module, s in rows:
        if module == "total":
            print("-" * len(header))
        percent = f"{s.percent:5.1f}%" if s.scored else "     -"
        print(
            f"{module:34} {s.mutants:7} {s.killed:6} {s.survived:8} {s.strings:10} {s.equivalent:10}"
            f" {s.no_tests:8} {percent}"
        )


def survivor_line(mutant: Mutant, change: Change) -> str:
    return f"{mutant.function} | {change.ident(mutant.function)} | {change.text()} | "


# --- running ---------------------------------------------------------------------------------------------------


def _retry_unkilled(cli: Any) -> int:
    """Forget the verdict of every mutant not killed, so this run tries it again against today's tests."""
    from mutmut.mutation.data import SourceFileMutationData

    reset = 0
    for path in cli.walk_mutatable_files():
        data = SourceFileMutationData(path=path)
        if not data.meta_path.exists():
            continue
        data.load()
        for name, exit_code in data.exit_code_by_key.items():
            if exit_code is not None and cli.status_by_exit_code[exit_code] not in KILLED:
                data.exit_code_by_key[name] = None
                reset += 1
        data.save()
    return reset


def run_mutmut(max_children: int, log: Path) -> int:
    """mutmut's own run, in a child process (it forks per mutant and may call exit()); its output goes to `log`."""
    env = {**os.environ, "WXFUNNEL_LAYER_DIR": str(MUTANTS / "layers" / "wxfunnel")}
    # The type check (`type_check_command`) runs this interpreter's mypy, on PATH or not.
    env["PATH"] = os.pathsep.join((str(Path(sys.executable).parent), env.get("PATH", "")))
    command = [
        sys.executable,
        "-m",
        "wxfunnel_tools.mutation",
        "mutmut",
        "run",
        "--max-children",
        str(max_children),
    ]
    with log.open("w", encoding="utf-8") as out:
        done = subprocess.run(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, check=False)  # noqa: S603
    return done.returncode


def _progress_free(text: str) -> str:
    """The log without mutmut's spinner frames (carriage-return redraws)."""
    return "\n".join(line.rsplit("\r", 1)[-1] for line in text.splitlines())


def check(args: argparse.Namespace) -> int:
    settings = _settings()
    os.chdir(ROOT)
    cli = _patch_mutmut()
    if args.fresh:
        shutil.rmtree(MUTANTS, ignore_errors=True)
    elif MUTANTS.exists():
        print(f"mutation: trying again the {_retry_unkilled(cli)} mutants not killed last time")
    MUTANTS.mkdir(exist_ok=True)
    log = MUTANTS / "mutmut.log"
    code = run_mutmut(args.max_children or os.cpu_count() or 2, log)
    output = _progress_free(log.read_text(encoding="utf-8", errors="replace"))
    speed = re.search(r"([\d.]+) mutations/second", output)
    if code != 0 or speed is None:
        print(output[-4000:])
        print(f"mutation: mutmut failed (exit {code}); its whole log is {log.relative_to(ROOT)}")
        return 1
    result = report(cli, read_equivalents(ROOT / settings["equivalents"]))
    print_report(result)
    return _verdict(result, float(settings["fail_under"]), speed[1])


def _verdict(result: Report, fail_under: float, speed: str) -> int:
    total = result.total
    for entry in result.stale:
        where = f"line {entry.line}: {entry.function} {entry.ident}"
        print(f"mutation: stale equivalent ({where}): no surviving mutant has this change")
    problems = []
    if total.killed == 0:
        problems.append("no mutant was killed: the tests did not run against the mutants")
    if total.not_checked:
        problems.append(f"{total.not_checked} mutants were not checked")
    if total.percent < fail_under:
        problems.append(f"score {total.percent:.1f}% is below {fail_under:.0f}%")
    print(
        f"mutation: {total.scored} mutants scored at {speed} mutations/second; {total.survived} survived unlisted"
    )
    if problems:
        for mutant, change in result.survivors[:SHOWN]:
            print("  " + survivor_line(mutant, change))
        if len(result.survivors) > SHOWN:
            print(f"  … {len(result.survivors) - SHOWN} more: python -m wxfunnel_tools.mutation survivors")
        print("mutation: FAILED: " + "; ".join(problems))
        return 1
    print(f"mutation: OK ({total.percent:.1f}% ≥ {fail_under:.0f}%)")
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["mutmut"]:  # mutmut's own command line, adapted (run, show <mutant>, results, browse)
        os.chdir(ROOT)
        cli = _patch_mutmut()
        os.environ.setdefault("WXFUNNEL_LAYER_DIR", str(MUTANTS / "layers" / "wxfunnel"))
        sys.argv = ["mutmut", *argv[1:]]
        cli.cli()
        return 0
    parser = argparse.ArgumentParser(
        prog="python -m wxfunnel_tools.mutation", description=__doc__.split("\n")[0]
    )
    commands = parser.add_subparsers(dest="command")
    run = commands.add_parser(
        "check", help="run mutmut, print the scores, fail below the threshold (default)"
    )
    run.add_argument("--fresh", action="store_true", help="forget earlier results (CI)")
    run.add_argument("--max-children", type=int, default=0, help="parallel mutants (default: the CPU count)")
    commands.add_parser("report", help="the scores of the last run")
    commands.add_parser(
        "survivors", help="the unlisted survivors of the last run, as equivalents lines to review"
    )
    args = parser.parse_args(argv or ["check"])
    if args.command == "check":
        return check(args)
    os.chdir(ROOT)
    cli = _patch_mutmut()
    result = report(cli, read_equivalents(ROOT / _settings()["equivalents"]))
    if args.command == "report":
        print_report(result)
    else:
        for mutant, change in result.survivors:
            print(survivor_line(mutant, change))
    return 0


if __name__ == "__main__":
    sys.exit(main())
