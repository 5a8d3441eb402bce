"""The conversion funnel of a channel, a campaign or a promoter, purely: visits → new followers → still following.

Three sources fill the same sharded daily counters (domain.stats.COUNTERS, store.counters):
- `visits`: views of a live code's landing page, one per visitor and local day (entry.landing);
- `new_followers`: first follows through the channel's QR code (the callback);
- `unfollowed_1d`, `unfollowed_7d`, `unfollowed_30d`: retention by cohort. When a new follower unfollows, the
  callback adds 1 to each window the follow ended within, on the counter of the scene and local day of the *follow*
  (not of the unfollow), in the unfollow's own transaction (`unfollow_cohort`). So "of the followers who followed
  on a day, how many had left within N days" is a sum of counters, never a scan of followers, and it is final
  once N days have passed since that day.

Only a follower's first follow is a cohort member (the cohort is the day's new followers); a returning follower
who leaves again, or an unfollow whose follow wxfunnel never saw, moves no retention counter. "Within N days" is
less than N × 24 hours after the follow.

A funnel reports retention only over cohorts whose window has fully passed by the account's today (`matured`): a
cohort of yesterday cannot yet say who stays 7 days. Conversion is new followers ÷ visits; followers who scanned
the channel's QR elsewhere (an older print of the channel code) count as followers without a visit, so it can
exceed 1 for a channel that is not only reached through its live code.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Final

from wxfunnel.domain.channels import Channel
from wxfunnel.domain.followers import Change, Follower, Transition
from wxfunnel.domain.stats import Counts, Row, days_between

DAY_SECONDS: Final = 86_400
RETENTION_DAYS: Final = (1, 7, 30)
RETENTION_COUNTER: Final = {1: "unfollowed_1d", 7: "unfollowed_7d", 30: "unfollowed_30d"}


# --- written by the callback ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Cohort:
    """The retention counters an unfollow moves: on `scene` and the day of `followed_at`."""

    scene: str
    followed_at: int
    counts: dict[str, int]


def unfollow_cohort(before: Follower | None, transition: Transition, at: int) -> Cohort | None:
    """What an unfollow at `at` does to the retention of the cohort its follow belongs to (None: nothing)."""
    if transition.change is not Change.UNFOLLOW or before is None or transition.scene is None:
        return None
    followed = before.subscribed_at
    if followed is None or followed != before.first_subscribed_at or at < followed:
        return None  # a returning follower's follow, or one wxfunnel never saw: not in a cohort
    elapsed = at - followed
    counts = {RETENTION_COUNTER[days]: 1 for days in RETENTION_DAYS if elapsed < days * DAY_SECONDS}
    return Cohort(transition.scene, followed, counts) if counts else None


# --- read by the admin API --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Retention:
    """Of the new followers of the days whose `days`-day window has passed (`cohort`), how many left within it."""

    days: int
    cohort: int
    unfollowed: int
    pending: int  # new followers of the period whose window has not passed yet (not in the rate)

    @property
    def retained(self) -> int:
        return self.cohort - self.unfollowed

    @property
    def rate(self) -> float | None:
        return round(self.retained / self.cohort, 4) if self.cohort else None

    def as_dict(self) -> dict[str, Any]:
        return {
            "days": self.days,
            "cohort": self.cohort,
            "unfollowed": self.unfollowed,
            "retained": self.retained,
            "rate": self.rate,
            "pending": self.pending,
        }


@dataclass(slots=True)
class Funnel:
    """Visits, new followers and retention of some scenes over [start, end], as of the account's `today`."""

    start: str
    end: str
    today: str
    by_day: dict[str, Counts] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for day in days_between(self.start, self.end):
            self.by_day.setdefault(day, Counts())

    @property
    def visits(self) -> int:
        return sum(counts.visits for counts in self.by_day.values())

    @property
    def new_followers(self) -> int:
        return sum(counts.new_followers for counts in self.by_day.values())

    @property
    def conversion(self) -> float | None:
        return round(self.new_followers / self.visits, 4) if self.visits else None

    def matured(self, day: str, days: int) -> bool:
        """Whether every follower of `day` has had `days` full days (the last of them ended before today)."""
        return date.fromisoformat(day) + timedelta(days=days) < date.fromisoformat(self.today)

    def retention(self, days: int) -> Retention:
        counter = RETENTION_COUNTER[days]
        cohort = unfollowed = pending = 0
        for day, counts in self.by_day.items():
            if self.matured(day, days):
                cohort += counts.new_followers
                unfollowed += getattr(counts, counter)
            else:
                pending += counts.new_followers
        return Retention(days, cohort, unfollowed, pending)

    def as_dict(self) -> dict[str, Any]:
        return {
            "from": self.start,
            "to": self.end,
            "today": self.today,
            "visits": self.visits,
            "new_followers": self.new_followers,
            "conversion": self.conversion,
            "retention": [self.retention(days).as_dict() for days in RETENTION_DAYS],
            "days": [
                {
                    "date": day,
                    "visits": counts.visits,
                    "new_followers": counts.new_followers,
                    **{RETENTION_COUNTER[n]: getattr(counts, RETENTION_COUNTER[n]) for n in RETENTION_DAYS},
                }
                for day, counts in sorted(self.by_day.items())
            ],
        }


def funnel(rows: Iterable[Row], scenes: Collection[str], start: str, end: str, today: str) -> Funnel:
    """The funnel of `scenes` (one channel, a campaign's or a promoter's channels) over [start, end]."""
    result = Funnel(start, end, today)
    for row in rows:
        if row.scene in scenes and start <= row.day <= end:
            result.by_day[row.day].add(row.counts)
    return result


def rollup(rows: Iterable[Row], channels: Iterable[Channel], start: str, end: str, today: str) -> Funnel:
    """The funnel of a set of channels: a campaign's, or a promoter's (the channels given to them)."""
    return funnel(rows, {channel.subject for channel in channels}, start, end, today)
