"""A followers CSV is named after the account's day, the day the console's statistics show
(wxfunnel.entry.admin.followers.filename)."""

from __future__ import annotations

from datetime import UTC, datetime

from wxfunnel.entry.admin.followers import Selection, filename

SPRING = Selection("demo-oa", "春节海报", ())


def at(iso: str) -> float:
    return datetime.fromisoformat(iso).replace(tzinfo=UTC).timestamp()


def test_shanghai_evening_in_utc_is_already_the_next_day() -> None:
    assert (
        filename(SPRING, "Asia/Shanghai", at("2026-12-06T18:30:00"))
        == "followers-demo-oa-春节海报-20261207.csv"
    )


def test_before_midnight_on_the_accounts_clock_is_still_the_same_day() -> None:
    assert (
        filename(SPRING, "Asia/Shanghai", at("2026-12-06T15:59:59"))
        == "followers-demo-oa-春节海报-20261206.csv"
    )


def test_an_account_west_of_utc_is_a_day_behind() -> None:
    assert (
        filename(SPRING, "America/Los_Angeles", at("2026-12-07T03:00:00"))
        == "followers-demo-oa-春节海报-20261206.csv"
    )
