"""Per-channel daily statistics as sharded counters, so a viral QR code never heats one DynamoDB item.

A counter item lives in ChannelsTable at `pk = stats#<app>#<shard>`, `sk = <scene>#<yyyy-mm-dd>` (UTC day).
The shard (0..STATS_SHARDS-1) comes from a stable hash of the follower's openid, so the writes of one popular
scene on one day spread over STATS_SHARDS items and partitions. The callback adds its counts in the same
transaction that records the push (`counter_update`), so a push is counted exactly once. Readers query every
shard in parallel and sum.
"""

from __future__ import annotations

import zlib
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from wxfunnel.aws import dynamodb
from wxfunnel.channels import ChannelRepository
from wxfunnel.settings import settings

STATS_SHARDS = 16
COUNTERS = ("new_followers", "returning_followers", "scans", "unfollows", "referrals")


def shard_of(openid: str) -> int:
    """The counter shard of a follower (crc32: stable across processes, unlike hash())."""
    return zlib.crc32(openid.encode("utf-8")) % STATS_SHARDS


def day_of(epoch_seconds: int) -> str:
    """The UTC day (yyyy-mm-dd) of a push's CreateTime."""
    return datetime.fromtimestamp(epoch_seconds, UTC).strftime("%Y-%m-%d")


def _pk(app: str, shard: int) -> str:
    return f"stats#{app}#{shard}"


def counter_update(app: str, scene: str, day: str, openid: str, counts: Mapping[str, int]) -> dict[str, Any]:
    """A TransactWriteItems entry that adds `counts` (non-zero ones) to the scene's counter for `day`."""
    unknown = sorted(set(counts) - set(COUNTERS))
    if unknown:
        raise ValueError(f"unknown counter(s): {', '.join(unknown)}")
    names = {"#app": "app", "#scene": "scene", "#day": "day"}
    values: dict[str, Any] = {":app": {"S": app}, ":scene": {"S": scene}, ":day": {"S": day}}
    additions = []
    for index, (counter, amount) in enumerate(sorted(counts.items())):
        if amount:
            names[f"#c{index}"] = counter
            values[f":c{index}"] = {"N": str(int(amount))}
            additions.append(f"#c{index} :c{index}")
    expression = "SET #app = :app, #scene = :scene, #day = :day"
    if additions:
        expression += " ADD " + ", ".join(additions)
    return {
        "Update": {
            "TableName": settings().channels_table,
            "Key": {"pk": {"S": _pk(app, shard_of(openid))}, "sk": {"S": f"{scene}#{day}"}},
            "UpdateExpression": expression,
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
        }
    }


@dataclass(slots=True)
class Counts:
    new_followers: int = 0
    returning_followers: int = 0
    scans: int = 0
    unfollows: int = 0
    referrals: int = 0

    @property
    def net(self) -> int:
        return self.new_followers + self.returning_followers - self.unfollows

    def add(self, other: Counts) -> None:
        for counter in COUNTERS:
            setattr(self, counter, getattr(self, counter) + getattr(other, counter))

    def as_dict(self) -> dict[str, int]:
        values = {counter: getattr(self, counter) for counter in COUNTERS}
        values["net"] = self.net
        return values

    @classmethod
    def from_item(cls, item: Mapping[str, Any]) -> Counts:
        return cls(**{c: int(item[c]["N"]) for c in COUNTERS if c in item})


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


def days_between(start: str, end: str) -> Iterator[str]:
    day, last = date.fromisoformat(start), date.fromisoformat(end)
    while day <= last:
        yield day.isoformat()
        day += timedelta(days=1)


@dataclass(frozen=True, slots=True)
class _Row:
    scene: str
    day: str
    counts: Counts


def _query_shard(
    app: str, shard: int, condition: str, values: dict[str, Any], filter_: str | None
) -> list[_Row]:
    kwargs: dict[str, Any] = {
        "TableName": settings().channels_table,
        "KeyConditionExpression": condition,
        "ExpressionAttributeValues": {":pk": {"S": _pk(app, shard)}, **values},
    }
    if filter_:
        kwargs["FilterExpression"] = filter_
        kwargs["ExpressionAttributeNames"] = {"#day": "day"}
    rows: list[_Row] = []
    client = dynamodb()
    while True:
        page = client.query(**kwargs)
        rows.extend(
            _Row(item["scene"]["S"], item["day"]["S"], Counts.from_item(item))
            for item in page.get("Items", [])
            if "scene" in item and "day" in item
        )
        if "LastEvaluatedKey" not in page:
            return rows
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def _all_shards(
    app: str, condition: str, values: dict[str, Any], filter_: str | None = None
) -> Iterable[_Row]:
    with ThreadPoolExecutor(max_workers=STATS_SHARDS) as pool:
        pages = pool.map(
            lambda shard: _query_shard(app, shard, condition, values, filter_), range(STATS_SHARDS)
        )
        return [row for page in pages for row in page]


def channel_stats(app: str, scene: str, start_day: str, end_day: str) -> Period:
    """One scene's counts per day over [start_day, end_day] (UTC days, yyyy-mm-dd)."""
    rows = _all_shards(
        app,
        "pk = :pk AND sk BETWEEN :from AND :to",
        {":from": {"S": f"{scene}#{start_day}"}, ":to": {"S": f"{scene}#{end_day}"}},
    )
    period = Period(start_day, end_day)
    for row in rows:
        if row.scene == scene and start_day <= row.day <= end_day:  # a scene may itself contain "#<date>"
            period.by_day[row.day].add(row.counts)
    return period


@dataclass(frozen=True, slots=True)
class ChannelTotals:
    scene: str
    name: str | None
    totals: Counts


@dataclass(frozen=True, slots=True)
class ReferrerScore:
    name: str
    openid: str | None
    scene: str
    referrals: int


@dataclass(frozen=True, slots=True)
class AppStats:
    period: Period
    channels: list[ChannelTotals]
    referrers: list[ReferrerScore]


def app_stats(app: str, start_day: str, end_day: str) -> AppStats:
    """Every scene's counts over [start_day, end_day]: per day, per channel (named), and referrers ranked."""
    rows = _all_shards(
        app,
        "pk = :pk",
        {":from": {"S": start_day}, ":to": {"S": end_day}},
        "#day BETWEEN :from AND :to",
    )
    period = Period(start_day, end_day)
    per_scene: dict[str, Counts] = defaultdict(Counts)
    for row in rows:
        period.by_day[row.day].add(row.counts)
        per_scene[row.scene].add(row.counts)
    channels = {channel.scene: channel for channel in ChannelRepository().list_prefix(app, "")}
    totals = [
        ChannelTotals(scene, channels[scene].name if scene in channels else None, counts)
        for scene, counts in per_scene.items()
    ]
    totals.sort(key=lambda entry: (-entry.totals.new_followers, -entry.totals.net, entry.scene))
    referrers = [
        ReferrerScore(
            channel.referrer.name,
            channel.referrer.openid,
            channel.scene,
            per_scene.get(channel.scene, Counts()).referrals,
        )
        for channel in channels.values()
        if channel.referrer is not None
    ]
    referrers.sort(key=lambda score: (-score.referrals, score.name, score.scene))
    return AppStats(period, totals, referrers)
