"""The rule a 422 names (`rule`, `params`), read from the problem texts the checks really produce, so a client can
say it in Chinese; a text no rule knows is "other" and the client shows the English message."""

from __future__ import annotations

from datetime import date

import pytest

from wxfunnel.core.fields import Fields
from wxfunnel.entry.admin.errors import ValidationFailed, invalid, rule_of
from wxfunnel.protocol import limits


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
