"""What a push counts, purely: the counters it moves and the day it is counted on (reports: domain.reports).

A push is counted on the day of its CreateTime in the account's time zone (`time_zone` in the app's configuration,
default Asia/Shanghai: an operator in Beijing sees days that start at 00:00 Beijing time); days are yyyy-mm-dd.
Counters written before accounts had a time zone are on UTC days and are read as they are (README, "Upgrading").
The counters are stored sharded by follower (store.counters) and summed by domain.reports. Net = new + returning
- unfollows.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cache
from zoneinfo import ZoneInfo

# Every counter a counter item can hold. The statistics answers show the follow counters (REPORTED); the landing
# page's visits and the retention counters (domain.funnel) are shown by the funnel.
REPORTED = ("new_followers", "returning_followers", "scans", "unfollows", "referrals")
FUNNEL_COUNTERS = ("visits", "unfollowed_1d", "unfollowed_7d", "unfollowed_30d")
COUNTERS = REPORTED + FUNNEL_COUNTERS


@cache
def zone(name: str) -> ZoneInfo:
    """A time zone by its IANA name (the configuration checked it exists); loaded once per container."""
    return ZoneInfo(name)


def day_of(epoch_seconds: int, time_zone: str) -> str:
    """The day (yyyy-mm-dd) of a push's CreateTime in the account's time zone."""
    return datetime.fromtimestamp(epoch_seconds, zone(time_zone)).strftime("%Y-%m-%d")


def today(time_zone: str, now: float | None = None) -> date:
    """The account's current day."""
    return datetime.fromtimestamp(
        now if now is not None else datetime.now().timestamp(), zone(time_zone)
    ).date()


def days_between(start: str, end: str) -> Iterator[str]:
    day, last = date.fromisoformat(start), date.fromisoformat(end)
    while day <= last:
        yield day.isoformat()
        day += timedelta(days=1)


@dataclass(slots=True)
class Counts:
    """The counters of a subject (a scene, promoter or team) on a day, or summed over days."""

    new_followers: int = 0
    returning_followers: int = 0
    scans: int = 0
    unfollows: int = 0
    referrals: int = 0
    visits: int = 0
    unfollowed_1d: int = 0
    unfollowed_7d: int = 0
    unfollowed_30d: int = 0

    @property
    def net(self) -> int:
        return self.new_followers + self.returning_followers - self.unfollows

    def add(self, other: Counts) -> None:
        for counter in COUNTERS:
            setattr(self, counter, getattr(self, counter) + getattr(other, counter))

    def as_dict(self) -> dict[str, int]:
        values = {counter: getattr(self, counter) for counter in REPORTED}
        values["net"] = self.net
        return values

    @classmethod
    def of(cls, values: Mapping[str, int]) -> Counts:
        return cls(**{counter: int(values[counter]) for counter in COUNTERS if counter in values})


@dataclass(frozen=True, slots=True)
class Row:
    """One counter item: a scene's counts on one day (in one shard)."""

    scene: str
    day: str
    counts: Counts
