"""The rule a 422 names (`rule`, `params`), read from the problem texts the checks really produce, so a client can
say it in Chinese; a text no rule knows is "other" and the client shows the English message."""

from __future__ import annotations

import ast
from datetime import date

import pytest

from wxfunnel.core.fields import Fields
from wxfunnel.entry.admin.errors import NAMED_RULES, ValidationFailed, invalid, rule_of
from wxfunnel.protocol import limits
from wxfunnel_tools.template import ROOT


def refusal(body: dict, read) -> ValidationFailed:
    with pytest.raises(ValidationFailed) as caught:
        read(Fields.of(body, "", invalid))
    return caught.value


@pytest.mark.parametrize(
    ("body", "read", "rule", "params"),
    [
        ({}, lambda f: f.required_text("name"), "required", {}),
        (
            {"name": "名" * 65},
            lambda f: f.text("name", max_chars=64),
            "max_chars",
            {"max": "64", "got": "65"},
        ),
        (
            {"tag": "标" * 11},
            lambda f: f.text("tag", check=limits.tag_name_problem),
            "max_bytes",
            {"max": "30"},
        ),
        ({"x": 1}, lambda f: f.only({"name"}), "unknown_field", {"allowed": "name"}),
        (
            {"scene": "a\tb"},
            lambda f: f.text("scene", check=limits.scene_str_problem),
            "control_characters",
            {},
        ),
        ({"scene": "🎉"}, lambda f: f.text("scene", check=limits.scene_str_problem), "emoji", {}),
        ({"scene": " a"}, lambda f: f.text("scene", check=limits.scene_str_problem), "outer_spaces", {}),
        ({"scene": "~a"}, lambda f: f.text("scene", check=limits.scene_str_problem), "reserved_start", {}),
        ({"openid": "o o"}, lambda f: f.text("openid", check=limits.openid_problem), "openid", {}),
        ({"url": "ftp://x"}, lambda f: f.text("url", check=limits.url_problem), "url", {}),
        ({"n": "1"}, lambda f: f.integer("n"), "integer", {}),
        (
            {"n": 0},
            lambda f: f.integer("n", check=limits.expire_seconds_problem),
            "integer_range",
            {"min": "1", "max": "2592000"},
        ),
    ],
)
def test_a_refusal_names_its_rule_and_params(body, read, rule, params):
    error = refusal(body, read)
    details = error.details()
    assert details["rule"] == rule, error.message
    assert params.items() <= details["params"].items()


def test_the_params_of_a_rule_are_its_numbers_and_an_unknown_text_is_other():
    assert rule_of("must be at most 64 bytes of UTF-8 (got 70); a Chinese character takes 3") == (
        "max_bytes",
        {"max": "64", "got": "70"},
    )
    assert rule_of("the moon is made of cheese") == ("other", {})


def test_a_period_and_a_campaign_name_their_order_and_length_rules():
    """The texts the campaign and statistics checks really produce: the console says them in Chinese."""
    from wxfunnel.domain.campaigns import MAX_DAYS, period_problem
    from wxfunnel.entry.admin.stats import STATS_MAX_DAYS, period

    assert rule_of(period_problem("2026-03-02", "2026-03-01") or "") == ("date_order", {})
    assert rule_of(period_problem("2026-01-01", "2027-12-31") or "") == ("max_days", {"max": str(MAX_DAYS)})
    with pytest.raises(ValidationFailed) as too_long:
        period({"from": "2025-01-01", "to": "2026-12-31"}, date(2026, 12, 31))
    assert too_long.value.details() == {"rule": "max_days", "params": {"max": str(STATS_MAX_DAYS)}}
    with pytest.raises(ValidationFailed) as reversed_:
        period({"from": "2026-03-02", "to": "2026-03-01"}, date(2026, 12, 31))
    assert reversed_.value.details() == {"rule": "date_order", "params": {}}


# --- every refusal the admin API can make names a rule the console knows ---------------------------------------------

LAYER = ROOT / "layers" / "wxfunnel" / "wxfunnel"  # the repository's (a mutation run copies tests elsewhere)
CONSOLE_TEXTS = ROOT / "tools" / "wxfunnel_tools" / "console" / "static" / "i18n.js"
ADMIN_API_DOC = ROOT / "docs" / "admin-api.md"


OPAQUE = (
    "(a text built at run time)"  # rule_of reads it as "other": such a refusal must name its rule or problem
)


def _samples(node: ast.expr) -> list[str]:
    """The texts a refusal's text expression can have, each {placeholder} of an f-string as a sample number. A name
    is a check's text passed on (the checks' own returns are scanned): nothing to read here."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.JoinedStr):
        first = node.values[0]
        if isinstance(first, ast.FormattedValue) and isinstance(first.value, ast.Name):
            return []  # a check's text first, then a hint: the rule is the check's
        return ["".join(part.value if isinstance(part, ast.Constant) else "7" for part in node.values)]
    if isinstance(node, ast.IfExp):
        return _samples(node.body) + _samples(node.orelse)
    if isinstance(node, ast.BoolOp):
        return [text for value in node.values for text in _samples(value)]
    if isinstance(node, ast.Constant) and node.value is None:
        return []  # a check's "no problem"
    if isinstance(node, ast.Name) or (
        isinstance(node, ast.Call) and any(name.endswith("_problem") for name in _names(node.func))
    ):
        return []  # a check's text passed on, or another check's answer (both scanned where they are made)
    return [OPAQUE]


def _names(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)} | {
        n.attr for n in ast.walk(node) if isinstance(n, ast.Attribute)
    }


def _reachable(tree: ast.Module, start: str) -> list[ast.AST]:
    """The functions of a module that `start` calls, directly or through one another, `start` included."""
    functions = {node.name: node for node in tree.body if isinstance(node, ast.FunctionDef)}
    pending, seen = [start], set()
    while pending:
        name = pending.pop()
        seen.add(name)
        pending.extend(sorted((_names(functions[name]) & set(functions)) - seen - set(pending)))
    return [functions[name] for name in sorted(seen)]


def _refusals() -> list[tuple[str, int, str, str | None, set[str] | None]]:
    """(where, line, a text read for its rule, named rule, named params) of each 422 the admin API raises
    (invalid(field, text), Fields.fail(key, text), ValidationFailed(text)) and each text a *_problem check it uses
    returns."""
    found: list[tuple[str, int, str, str | None, set[str] | None]] = []
    checks: dict[str, list[tuple[str, ast.FunctionDef]]] = {}
    used: set[str] = set()
    for path in sorted(LAYER.rglob("*.py")):
        where = str(path.relative_to(LAYER))
        tree = ast.parse(path.read_text(encoding="utf-8"))
        if where.startswith("entry/admin/") or where == "core/fields.py":
            scopes: list[ast.AST] = [tree]
        elif where == "config/rules.py":
            scopes = _reachable(tree, "parse_message")  # the welcome messages' shapes (entry.admin.welcome)
        else:
            scopes = []
        for scope in scopes:
            used |= _names(scope)
        admin_calls = {id(node) for scope in scopes for node in ast.walk(scope)}
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef) and node.name.endswith("_problem"):
                checks.setdefault(node.name, []).append((where, node))
            if id(node) not in admin_calls or not isinstance(node, ast.Call) or not node.args:
                continue
            name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
            keywords = {keyword.arg: keyword.value for keyword in node.keywords}
            if name == "ValidationFailed" and where != "entry/admin/errors.py":
                text_node = node.args[0]
            elif name in ("invalid", "fail") and len(node.args) >= 2:
                text_node = keywords.get("problem", node.args[1])
            else:
                continue
            rule, params = keywords.get("rule"), keywords.get("params")
            named = rule.value if isinstance(rule, ast.Constant) else None
            param_names = (
                {key.value for key in params.keys if isinstance(key, ast.Constant)}
                if isinstance(params, ast.Dict)
                else set()
            )
            texts = [""] if named else _samples(text_node)
            found.extend((where, node.lineno, text, named, param_names if named else None) for text in texts)
    pending, seen = sorted(used & set(checks)), set()
    while pending:  # the checks the admin API uses, and the checks they use
        name = pending.pop()
        seen.add(name)
        for where, function in checks[name]:
            pending.extend(sorted((_names(function) & set(checks)) - seen - set(pending)))
            for returned in ast.walk(function):
                if isinstance(returned, ast.Return) and returned.value is not None:
                    found.extend(
                        (where, returned.lineno, text, None, None) for text in _samples(returned.value)
                    )
    return found


def test_every_refusal_of_the_admin_api_names_a_rule_the_console_says_in_chinese() -> None:
    refusals = _refusals()
    assert len(refusals) > 100  # the scan sees the package
    zh, en = CONSOLE_TEXTS.read_text(encoding="utf-8").split("\n  en: {", 1)
    documented = ADMIN_API_DOC.read_text(encoding="utf-8")
    unnamed, untranslated = [], set()
    for where, line, text, named, params in refusals:
        if named is not None:
            assert named in NAMED_RULES, f"{where}:{line} names an unlisted rule {named}"
            assert params == set(NAMED_RULES[named]), f"{where}:{line} names params {params}"
            rule = named
        else:
            rule = rule_of(text)[0]
            if rule == "other":
                unnamed.append(f"{where}:{line}: {text}")
                continue
        for catalogue in (zh, en):
            if f'"rule.{rule}"' not in catalogue:
                untranslated.add(rule)
        assert f"`{rule}`" in documented, f"docs/admin-api.md does not list the rule {rule}"
    assert unnamed == []
    assert untranslated == set()


def test_a_refusal_names_its_rule_outright_or_through_the_problem_it_carries() -> None:
    repeated = invalid("rows[2].scene", "repeats the scene of row 1", rule="duplicate_row", params={"row": 1})
    assert repeated.message == "rows[2].scene: repeats the scene of row 1"
    assert repeated.details() == {"rule": "duplicate_row", "params": {"row": "1"}}
    problem = "must be at most 64 bytes of UTF-8 (got 70)"
    carried = invalid("scenes", f"'{'场' * 23}' {problem}", problem=problem)
    assert carried.details() == {"rule": "max_bytes", "params": {"max": "64", "got": "70"}}
    assert invalid("x", "no rule reads this").details() == {"rule": "other", "params": {}}
