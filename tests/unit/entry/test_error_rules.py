"""The rule a 422 names (`rule`, `params`), read from the problem texts the checks really produce, so a client can
say it in Chinese; a text no rule knows is "other" and the client shows the English message."""

from __future__ import annotations

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
