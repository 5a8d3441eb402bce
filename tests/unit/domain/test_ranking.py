"""The promoters' leaderboard and the teams' roll-up from their counter rows; a reassigned scene's generations."""

from __future__ import annotations

from wxfunnel.domain.channels import subject_of
from wxfunnel.domain.promoters import Promoter
from wxfunnel.domain.reports import app_report, rank_promoters, rank_teams
from wxfunnel.domain.stats import Counts, Row
from wxfunnel_tools import examples

START, END = "2026-11-01", "2026-11-30"


def promoter(pid: str, name: str, team: str | None = None) -> Promoter:
    return Promoter(app="a", id=pid, name=name, team=team, created_at="", updated_at="")


def row(subject: str, day: str, new: int = 0, referrals: int = 0) -> Row:
    return Row(subject, day, Counts(new_followers=new, referrals=referrals))


def test_promoters_rank_by_credited_followers_then_new_followers_then_name():
    everyone = [promoter("p1", "乙"), promoter("p2", "甲"), promoter("p3", "丙"), promoter("p4", "丁")]
    rows = [
        row("p1", "2026-11-02", new=3, referrals=2),
        row("p1", "2026-11-03", new=1, referrals=1),  # two days of one promoter add up
        row("p2", "2026-11-05", new=5, referrals=3),
        row("p3", "2026-11-05", new=4, referrals=3),
        row("p4", "2026-10-31", new=9, referrals=9),  # outside the period
    ]
    ranked = rank_promoters(rows, everyone, START, END)
    assert [(s.promoter.id, s.totals.referrals, s.totals.new_followers) for s in ranked] == [
        ("p2", 3, 5),  # tie on credits: more new followers first
        ("p3", 3, 4),
        ("p1", 3, 4),  # tie on both: by name (丙 < 乙 in code point order)
        ("p4", 0, 0),  # listed with zeros
    ]


def test_teams_roll_up_their_counters_and_count_their_members():
    everyone = [
        promoter("p1", "a", "东"),
        promoter("p2", "b", "东"),
        promoter("p3", "c", "西"),
        promoter("p4", "d"),
    ]
    rows = [row("东", "2026-11-02", new=2, referrals=1), row("南", "2026-11-03", new=1, referrals=1)]
    teams = rank_teams(rows, everyone, START, END)
    assert [(t.team, t.promoters, t.totals.new_followers) for t in teams] == [
        ("东", 2, 2),
        ("南", 0, 1),  # a team no promoter is in any more still shows what it counted
        ("西", 1, 0),
    ]


def test_a_reassigned_scenes_generations_are_reported_apart_with_the_current_ones_name():
    current = examples.channel("booth", app="a", name="秋季", generation=1)
    rows = [
        row(subject_of("booth", 0), "2026-11-02", new=2),
        row(subject_of("booth", 1), "2026-11-20", new=1),
    ]
    report = app_report(rows, {"booth": current}, START, END)
    assert [(c.scene, c.generation, c.name, c.totals.new_followers) for c in report.channels] == [
        ("booth", 0, None, 2),  # the past channel: its name is in the scene's history
        ("booth", 1, "秋季", 1),
    ]
    assert report.period.totals.new_followers == 3
