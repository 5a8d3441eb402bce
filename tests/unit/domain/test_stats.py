"""Channel statistics: counter rows (one scene, one day, one shard) summed into a channel's days and the app's report."""

from __future__ import annotations

import time
from dataclasses import replace

import pytest

from wxfunnel.domain.channels import Channel, Referrer
from wxfunnel.domain.reports import app_report, channel_period
from wxfunnel.domain.stats import Counts, Row, day_of
from wxfunnel_tools import examples


def row(scene: str, day: str, **counts: int) -> Row:
    return Row(scene, day, Counts(**counts))


def channel(scene: str, name: str, referrer: Referrer | None = None) -> Channel:
    return examples.channel(scene, name=name, referrer=referrer)


def test_a_day_is_the_accounts_day_whatever_the_machines_time_zone(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    try:
        assert day_of(1_763_683_199, "UTC") == "2025-11-20"  # 23:59:59 UTC
        assert day_of(1_763_683_199, "Asia/Shanghai") == "2025-11-21"  # already the 21st in Shanghai
    finally:
        monkeypatch.undo()
        time.tzset()


def test_counts_read_from_a_stored_row_default_missing_counters_to_zero():
    assert Counts.of({"scans": "3", "unfollows": 1}) == Counts(scans=3, unfollows=1)


def test_net_followers_are_new_plus_returning_minus_unfollows():
    assert Counts(new_followers=5, returning_followers=2, unfollows=3, scans=9, referrals=4).net == 4


def test_a_channels_days_sum_its_shards_and_ignore_other_scenes_and_days():
    rows = [
        row("spring", "2026-03-01", new_followers=2, scans=1),
        row("spring", "2026-03-01", new_followers=1, unfollows=1),  # another shard, same day
        row("spring", "2026-03-03", returning_followers=1, referrals=1),
        row(
            "spring2", "2026-03-01", new_followers=7
        ),  # a scene whose name extends it (scene_rows reads it too)
        row("spring", "2026-02-28", new_followers=7),  # before the period
        row("spring", "2026-03-04", new_followers=7),  # after it
    ]
    period = channel_period(rows, "spring", "2026-03-01", "2026-03-03")
    assert period.days() == [
        {
            "date": "2026-03-01",
            "new_followers": 3,
            "returning_followers": 0,
            "scans": 1,
            "unfollows": 1,
            "referrals": 0,
            "net": 2,
        },
        {
            "date": "2026-03-02",
            "new_followers": 0,
            "returning_followers": 0,
            "scans": 0,
            "unfollows": 0,
            "referrals": 0,
            "net": 0,
        },
        {
            "date": "2026-03-03",
            "new_followers": 0,
            "returning_followers": 1,
            "scans": 0,
            "unfollows": 0,
            "referrals": 1,
            "net": 1,
        },
    ]
    assert period.totals == Counts(new_followers=3, returning_followers=1, scans=1, unfollows=1, referrals=1)


def test_the_app_report_sums_every_scene_per_day_within_the_period():
    rows = [
        row("spring", "2026-03-01", new_followers=2),
        row("(direct)", "2026-03-01", new_followers=1, unfollows=1),
        row("booth", "2026-03-02", scans=4),
        row("booth", "2026-03-03", new_followers=9),  # after the period: in no total
    ]
    report = app_report(rows, {}, "2026-03-01", "2026-03-02")
    assert {day["date"]: day["new_followers"] for day in report.period.days()} == {
        "2026-03-01": 3,
        "2026-03-02": 0,
    }
    assert report.period.totals == Counts(new_followers=3, scans=4, unfollows=1)
    assert {entry.scene: entry.totals for entry in report.channels} == {
        "spring": Counts(new_followers=2),
        "(direct)": Counts(new_followers=1, unfollows=1),
        "booth": Counts(scans=4),
    }


def test_channels_rank_by_new_followers_then_net_then_scene_and_carry_their_names():
    rows = [
        row("b-more-net", "2026-03-01", new_followers=2, returning_followers=1),
        row("a-less-net", "2026-03-01", new_followers=2, unfollows=1),
        row("top", "2026-03-01", new_followers=5),
        row("c-tied", "2026-03-01", new_followers=2, returning_followers=1),
    ]
    records = {"top": channel("top", "Top poster"), "c-tied": channel("c-tied", "Tied")}
    report = app_report(rows, records, "2026-03-01", "2026-03-01")
    assert [(entry.scene, entry.name) for entry in report.channels] == [
        ("top", "Top poster"),
        ("b-more-net", None),
        ("c-tied", "Tied"),
        ("a-less-net", None),
    ]


def test_every_referrer_ranks_by_referrals_in_the_period_even_with_none():
    rows = [
        row("ref-bob", "2026-03-01", new_followers=3, referrals=3),
        row("ref-ann", "2026-03-01", new_followers=3, referrals=3),
        row("ref-cy", "2026-03-01", referrals=1),
        row("ref-cy", "2026-02-01", referrals=9),  # before the period
    ]
    records = {
        "ref-bob": channel("ref-bob", "Bob's code", Referrer("Bob", "o-bob")),
        "ref-ann": channel("ref-ann", "Ann's code", Referrer("Ann")),
        "ref-cy": channel("ref-cy", "Cy's code", Referrer("Cy", "o-cy")),
        "ref-dee": channel("ref-dee", "Dee's code", Referrer("Dee")),
        "poster": channel("poster", "No referrer"),
        # a follower's own code names them too: they rank as promoters, not here
        "f-own": replace(channel("f-own", "Eve's code", Referrer("Eve", "o-eve")), kind="referral"),
    }
    report = app_report(rows, records, "2026-03-01", "2026-03-31")
    assert [(s.name, s.openid, s.scene, s.referrals) for s in report.referrers] == [
        ("Ann", None, "ref-ann", 3),
        ("Bob", "o-bob", "ref-bob", 3),
        ("Cy", "o-cy", "ref-cy", 1),
        ("Dee", None, "ref-dee", 0),
    ]
