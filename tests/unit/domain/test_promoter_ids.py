"""Promoter ids: an operator's own, a follower's opaque one, and the one a legacy referrer maps to."""

from __future__ import annotations

import pytest

from wxfunnel.domain.promoters import (
    Promoter,
    Referrer,
    follower_promoter_id,
    follower_token,
    promoter_id_problem,
    ranking_key,
    referrer_promoter_id,
    team_name_ok,
    team_problem,
)


@pytest.mark.parametrize("value", ["a", "0", "wang", "wang_2", "li-na", "a" * 64, "9lives"])
def test_an_operators_id_is_lower_case_letters_digits_underscore_and_dash(value: str) -> None:
    assert promoter_id_problem(value) is None


@pytest.mark.parametrize("value", ["", "Wang", "-a", "_a", "a b", "王", "a" * 65, "a/b", 5, None])
def test_other_ids_are_refused(value: object) -> None:
    assert promoter_id_problem(value) == "must be 1-64 of a-z 0-9 _ -, starting with a letter or digit"


def test_a_word_of_the_admin_api_is_no_id() -> None:
    assert promoter_id_problem("ranking") == "must not be ranking (a word the admin API uses)"


def test_a_followers_id_is_stable_opaque_and_per_account() -> None:
    token = follower_token("wx0123456789abcdef", "o-user")
    assert token == follower_token("wx0123456789abcdef", "o-user")
    assert len(token) == 16 and int(token, 16) >= 0
    assert "o-user" not in token
    assert token != follower_token("wx0123456789abcdef", "o-other")
    assert token != follower_token("wxfedcba9876543210", "o-user")
    assert follower_promoter_id("wx0123456789abcdef", "o-user") == f"f-{token}"
    assert promoter_id_problem(follower_promoter_id("wx0123456789abcdef", "o-user")) is None


def test_a_legacy_referrer_maps_by_openid_when_known_else_by_name() -> None:
    by_openid = referrer_promoter_id(Referrer("小红", "o-red"))
    assert by_openid.startswith("r-") and len(by_openid) == 2 + 12
    assert by_openid == referrer_promoter_id(Referrer("另一个名字", "o-red"))  # the openid decides
    by_name = referrer_promoter_id(Referrer("小红"))
    assert by_name != by_openid and by_name == referrer_promoter_id(Referrer("小红", None))
    assert by_name != referrer_promoter_id(Referrer("小明"))
    assert promoter_id_problem(by_openid) is None and promoter_id_problem(by_name) is None


def test_a_promoter_names_themselves_to_the_followers_they_bring() -> None:
    promoter = Promoter(app="a", id="wang", name="王小明", openid="o-wang", created_at="", updated_at="")
    assert promoter.referrer == Referrer("王小明", "o-wang")


def test_the_leaderboard_orders_credits_then_new_followers_then_name_then_id() -> None:
    keys = [
        ranking_key("b", "乙", 3, 1),
        ranking_key("a", "甲", 3, 1),
        ranking_key("c", "甲", 3, 1),
        ranking_key("d", "丁", 3, 5),
        ranking_key("e", "戊", 4, 0),
    ]
    assert [key[3] for key in sorted(keys)] == [
        "e",
        "d",
        "b",
        "a",
        "c",
    ]  # 乙 (U+4E59) sorts before 甲 (U+7532)


@pytest.mark.parametrize("name", ["华东一组", "Team A", "a"])
def test_a_team_is_any_printable_non_blank_text(name: str) -> None:
    assert team_problem(name) is None


@pytest.mark.parametrize("name", [None, 7, "", "   ", "华东\n一组", "\ufffd", "华东\ufffd"])
def test_a_team_is_never_blank_unprintable_or_a_broken_escape(name: object) -> None:
    assert team_problem(name) == "must be a printable, non-blank text"


def test_a_team_named_in_a_path_or_query_can_exist_only_if_well_formed_and_short_enough() -> None:
    assert team_name_ok("华东一组") and team_name_ok("t" * 64)
    assert not team_name_ok("t" * 65) and not team_name_ok("\ufffd") and not team_name_ok(" ")
