"""Errors of the admin API's logic: each carries its HTTP status, a stable code and the field it is about.

The logic raises them; `entry.admin.http` is the one place that turns them (and WeChat errors) into
responses.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, ClassVar


class AdminError(Exception):
    """A refused request; `message` is shown to the operator, `field` names the input at fault."""

    status: ClassVar[int] = 400
    code: ClassVar[str] = "bad_request"

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        problem: str | None = None,
        rule: str | None = None,
        params: Mapping[str, object] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.problem = problem if problem is not None else message  # the rule's text, without the field
        self.rule = rule  # named where the refusal is raised, else read from the problem's text (rule_of)
        self.params = {key: str(value) for key, value in (params or {}).items()}

    def details(self) -> dict[str, Any]:
        """`rule` and `params` of the error body: what a client translates (docs/admin-api.md, Errors)."""
        if self.rule is not None:
            return {"rule": self.rule, "params": dict(self.params)}
        rule, params = rule_of(self.problem)
        return {"rule": rule, "params": params}


class BadRequest(AdminError):
    """The request cannot be read at all (malformed JSON, a body that is not an object)."""


class ValidationFailed(AdminError):
    """The request is readable but breaks a rule; the message names the field and the rule."""

    status = 422
    code = "validation_error"


class NotFound(AdminError):
    status = 404
    code = "not_found"


class Conflict(AdminError):
    """The request clashes with the stored state (e.g. the permanent-code quota is used up)."""

    status = 409
    code = "conflict"


class Gone(AdminError):
    """The thing existed but no longer does (e.g. an expired QR code)."""

    status = 410
    code = "gone"


def invalid(
    field: str,
    text: str,
    *,
    problem: str | None = None,
    rule: str | None = None,
    params: Mapping[str, object] | None = None,
) -> ValidationFailed:
    """A 422 naming the field and what it breaks (`Fields` raises these for the admin API).

    The rule a client translates is read from `text` (rule_of), or from `problem` when the text carries more than
    a rule's words (the value at fault, a hint), or is named outright with `rule` and `params` for the refusals
    only this package makes (NAMED_RULES lists them)."""
    return ValidationFailed(
        f"{field}: {text}",
        field=field,
        problem=problem if problem is not None else text,
        rule=rule,
        params=params,
    )


# --- the rule a refusal names, for clients that speak other languages ----------------------------------------------

# (rule, pattern of the problem text): the first match names the rule; its named groups are the rule's params. The
# problem texts come from protocol.limits, core.fields and this package; a text no pattern knows is rule "other"
# (a client then shows the English message). docs/admin-api.md lists the rules and their params.
_RULES: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (rule, re.compile(pattern))
    for rule, pattern in (
        ("required", r"^is required"),
        ("unknown_field", r"^is not a known field \(allowed: (?P<allowed>[^)]*)\)"),
        ("max_chars", r"^must be at most (?P<max>\d+) characters(?: \(got (?P<got>\d+)\))?"),
        ("max_bytes", r"^must be at most (?P<max>\d+) bytes of UTF-8(?: \(got (?P<got>\d+)\))?"),
        ("integer_range", r"^must be an integer from (?P<min>\d+) to (?P<max>\d+)"),
        ("integer", r"^must be (?:an integer|a whole number)"),
        ("boolean", r"^must be true or false"),
        ("one_of", r"^must be one of:? (?P<allowed>.+)$"),
        ("blank", r"^must (?:not be (?:empty|blank)|be a non-empty|be a printable, non-blank)"),
        ("control_characters", r"^must not contain control or invisible characters"),
        ("emoji", r"^must not contain emoji"),
        ("outer_spaces", r"^must not start or end with a space"),
        ("date_order", r"^must not be (?:after|before)"),
        ("max_days", r"\bspans? at most (?P<max>\d+) days"),
        ("reserved_start", r"^must not (?:start with|be) (?P<reserved>\S+)"),
        ("openid", r"^must be an openid"),
        ("date", r"^must be a date YYYY-MM-DD"),
        ("url", r"^must be an http\(s\) URL"),
        ("text", r"^must be (?:a string|valid Unicode text)"),
        ("object", r"^(?:the body )?must be (?:an|a JSON) object"),
        ("list", r"^must be a list"),
        ("scene_type", r"^must be an integer \(scene_id\) or a string \(scene_str\)"),
        ("identifier", r"^must be 1-64 of a-z 0-9"),
        ("live_code", r"^must be 4 to 32 letters, digits"),
        ("appid", r"^must look like wx followed by 16 hex digits"),
        ("page_path", r"^must be a Mini Program page path"),
        ("template_key", r"^must be a keyword name"),
        ("exactly_one", r"^give (?:exactly one of|either|a \S+ or a \S+, not both)"),
        ("unknown", r"has no |is not a configured app|no app named"),
    )
)


# The rules only this package refuses by (it names them: invalid(..., rule=, params=)), with their params' names.
NAMED_RULES: dict[str, tuple[str, ...]] = {
    "account_kind": ("kind",),  # the app is not the kind of account the route is for
    "account_field": ("kind",),  # a field that kind of account does not use
    "temporary_only": (),  # a field of temporary codes given for a permanent one
    "not_operator_channel": ("kind",),  # a promoter's own code or a card scene, which operators do not edit
    "cursor": (),  # a next_token this API did not issue
    "batch_rows": ("max",),  # a batch of 0 or more than max rows
    "duplicate_row": ("row",),  # a batch row repeating an earlier row's scene
    "csv": (),  # not CSV at all
    "csv_header": ("allowed",),  # no header row
    "csv_columns": ("allowed",),  # unknown, repeated or missing columns
    "max_items": ("max",),  # more items than max
    "request_id": (),  # a reminder's request_id of other characters
    "no_match": (),  # a scene prefix no channel's scene starts with
    "too_many_scenes": ("max",),  # a scene prefix matching more than max scenes
    "no_card_rule": (),  # a Mini Program without a card rule
    "export_too_large": (),  # more followers than one export reads in the function's time
}


def rule_of(problem: str) -> tuple[str, dict[str, str]]:
    """The stable rule a problem text breaks and its params (`must be at most 64 characters (got 70)` →
    ("max_chars", {"max": "64", "got": "70"})), or ("other", {})."""
    for rule, pattern in _RULES:
        found = pattern.search(problem)
        if found:
            return rule, {key: value for key, value in found.groupdict().items() if value is not None}
    return "other", {}
