"""The admin API's reports, purely: counter rows (store.counters) summed into periods, channel totals and rankings.

The callback never imports this module: a push only moves counters (domain.stats).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from wxfunnel.domain.channels import Channel, scene_of_subject
from wxfunnel.domain.promoters import Promoter, ranking_key
from wxfunnel.domain.stats import Counts, Row, days_between


@dataclass(slots=True)
class Period:
    """Counts per day over [start, end], every day present (zeros included), and their total."""

    start: str
    end: str
    by_day: dict[str, Counts] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for day in days_between(self.start, self.end):
            self.by_day.setdefault(day, Counts())

    @property
    def totals(self) -> Counts:
        total = Counts()
        for counts in self.by_day.values():
            total.add(counts)
        return total

    def days(self) -> list[dict[str, Any]]:
        return [{"date": day, **counts.as_dict()} for day, counts in sorted(self.by_day.items())]


@dataclass(frozen=True, slots=True)
class ChannelTotals:
    """One channel's totals over a period (a reused scene's generations apart)."""

    scene: str
    name: str | None
    totals: Counts
    generation: int = 0  # a reassigned scene's channels are told apart


@dataclass(frozen=True, slots=True)
class ReferrerScore:
    """A channel referrer's referrals over a period."""

    name: str
    openid: str | None
    scene: str
    referrals: int


@dataclass(frozen=True, slots=True)
class AppStats:
    """The app-wide report: every day, the channels ranked, the referrers ranked."""

    period: Period
    channels: list[ChannelTotals]
    referrers: list[ReferrerScore]


def channel_period(rows: Iterable[Row], scene: str, start: str, end: str) -> Period:
    """One scene's days over [start, end] from its counter rows (other scenes' rows are ignored)."""
    period = Period(start, end)
    for row in rows:
        if row.scene == scene and start <= row.day <= end:
            period.by_day[row.day].add(row.counts)
    return period


def app_report(rows: Iterable[Row], channels: Mapping[str, Channel], start: str, end: str) -> AppStats:
    """Every scene's counts over [start, end]: per day, per channel (named when known), and referrers ranked.

    `channels` holds the app's channel records; a referrer ranks by the referrals their channel counted in the
    period (0 when it brought nobody). Operators' channels only: every follower who asked for their own code has a
    referral channel naming them, and those are ranked as promoters (rank_promoters), not listed here by the
    thousand with their openids.
    """
    period = Period(start, end)
    per_scene: dict[str, Counts] = defaultdict(Counts)
    for row in rows:
        if start <= row.day <= end:
            period.by_day[row.day].add(row.counts)
            per_scene[row.scene].add(row.counts)
    totals = []
    for subject, counts in per_scene.items():
        scene, generation = scene_of_subject(subject)
        channel = channels.get(scene)
        name = channel.name if channel is not None and channel.generation == generation else None
        totals.append(ChannelTotals(scene, name, counts, generation))
    totals.sort(
        key=lambda entry: (-entry.totals.new_followers, -entry.totals.net, entry.scene, entry.generation)
    )
    referrers = [
        ReferrerScore(
            channel.referrer.name,
            channel.referrer.openid,
            scene,
            per_scene.get(channel.subject, Counts()).referrals,
        )
        for scene, channel in channels.items()
        if channel.referrer is not None and channel.kind == "channel"
    ]
    referrers.sort(key=lambda score: (-score.referrals, score.name, score.scene))
    return AppStats(period, totals, referrers)


@dataclass(frozen=True, slots=True)
class PromoterScore:
    """A promoter's totals over a period."""

    promoter: Promoter
    totals: Counts


@dataclass(frozen=True, slots=True)
class TeamScore:
    """A team's totals over a period, and how many promoters it has."""

    team: str
    promoters: int
    totals: Counts


def totals_by_subject(rows: Iterable[Row], start: str, end: str) -> dict[str, Counts]:
    per_subject: dict[str, Counts] = defaultdict(Counts)
    for row in rows:
        if start <= row.day <= end:
            per_subject[row.scene].add(row.counts)
    return per_subject


def rank_promoters(
    rows: Iterable[Row], promoters: Iterable[Promoter], start: str, end: str
) -> list[PromoterScore]:
    """Every promoter with their totals over the period (zeros included), best first (domain.promoters.ranking_key:
    credited followers, then new followers, then name, then id)."""
    per_promoter = totals_by_subject(rows, start, end)
    scores = [PromoterScore(p, per_promoter.get(p.id, Counts())) for p in promoters]
    scores.sort(
        key=lambda s: ranking_key(s.promoter.id, s.promoter.name, s.totals.referrals, s.totals.new_followers)
    )
    return scores


def rank_teams(rows: Iterable[Row], promoters: Iterable[Promoter], start: str, end: str) -> list[TeamScore]:
    """Every team (of the promoters' teams, and any counted in the period) with its totals, best first."""
    per_team = totals_by_subject(rows, start, end)
    members: dict[str, int] = defaultdict(int)
    for promoter in promoters:
        if promoter.team:
            members[promoter.team] += 1
    teams = [
        TeamScore(team, members.get(team, 0), per_team.get(team, Counts()))
        for team in set(members) | set(per_team)
    ]
    teams.sort(key=lambda t: (-t.totals.referrals, -t.totals.new_followers, t.team))
    return teams
