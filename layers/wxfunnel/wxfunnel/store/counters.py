"""Statistics as sharded daily counters in ChannelsTable, so a viral QR code never heats one item.

Three kinds of subject are counted the same way: a channel (its scene, or a reassigned scene's generation:
domain.channels.subject_of), a promoter and a team. A counter item: `pk = <kind prefix>#<app>#<shard>` (`stats`,
`pstats`, `tstats`), `sk = <subject>#<day>`, with `app`, `scene` (the subject), `day` (yyyy-mm-dd, the account's local
day), the counters, and `day_scene = <day>#<subject>`. The shard (0..STATS_SHARDS-1) comes from a stable hash of the follower's
openid, so the writes of one popular scene on one day spread over STATS_SHARDS items and partitions. The callback
adds its counts in the same transaction that records the push (`counter_update`), so a push counts exactly once.

Two reads, each costing what the period holds, never what the app's history holds (nor its number of followers):
- one subject over a period: the base table, `sk BETWEEN <subject>#<from> AND <subject>#<to>` per shard;
- every subject of a kind over a period (the app's channels, its promoters' leaderboard, its teams): the `ByDay`
  index (`pk`, `day_scene`), `day_scene BETWEEN <from># AND <to>$` per shard ('$' sorts right after '#', so every
  subject of the last day is in and the next day is out).
Shards are read in parallel and summed (domain.stats). Counter items written before the index existed get their
`day_scene` from `backfill_day_index` (`wxfunnel migrate stats-day-index`).
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Literal

from wxfunnel.core.aws import dynamodb
from wxfunnel.core.settings import settings
from wxfunnel.domain.stats import COUNTERS, Counts, Row
from wxfunnel.store.base import query_all

STATS_SHARDS = 16
BY_DAY_INDEX = "ByDay"
Kind = Literal["channel", "promoter", "team"]
_PREFIX: dict[str, str] = {"channel": "stats", "promoter": "pstats", "team": "tstats"}


def shard_of(openid: str) -> int:
    """The counter shard of a follower (crc32: stable across processes, unlike hash())."""
    return zlib.crc32(openid.encode("utf-8")) % STATS_SHARDS


def _pk(app: str, shard: int, kind: Kind = "channel") -> str:
    return f"{_PREFIX[kind]}#{app}#{shard}"


def counter_update(
    app: str, scene: str, day: str, openid: str, counts: Mapping[str, int], *, kind: Kind = "channel"
) -> dict[str, Any]:
    """A TransactWriteItems entry that adds `counts` (non-zero ones) to a subject's counter for `day`."""
    unknown = sorted(set(counts) - set(COUNTERS))
    if unknown:
        raise ValueError(f"unknown counter(s): {', '.join(unknown)}")
    names = {"#app": "app", "#scene": "scene", "#day": "day", "#ds": "day_scene"}
    values: dict[str, Any] = {
        ":app": {"S": app},
        ":scene": {"S": scene},
        ":day": {"S": day},
        ":ds": {"S": f"{day}#{scene}"},
    }
    additions = []
    for index, (counter, amount) in enumerate(sorted(counts.items())):
        if amount:
            names[f"#c{index}"] = counter
            values[f":c{index}"] = {"N": str(int(amount))}
            additions.append(f"#c{index} :c{index}")
    expression = "SET #app = :app, #scene = :scene, #day = :day, #ds = :ds"
    if additions:
        expression += " ADD " + ", ".join(additions)
    return {
        "Update": {
            "TableName": settings().channels_table,
            "Key": {"pk": {"S": _pk(app, shard_of(openid), kind)}, "sk": {"S": f"{scene}#{day}"}},
            "UpdateExpression": expression,
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
        }
    }


def _row(item: Mapping[str, Any]) -> Row | None:
    if "scene" not in item or "day" not in item:
        return None
    return Row(
        item["scene"]["S"], item["day"]["S"], Counts.of({c: int(item[c]["N"]) for c in COUNTERS if c in item})
    )


def _all_shards(app: str, query: Mapping[str, Any], kind: Kind) -> list[Row]:
    def shard(number: int) -> list[Row]:
        values = {**query["ExpressionAttributeValues"], ":pk": {"S": _pk(app, number, kind)}}
        rows = (_row(item) for item in query_all({**query, "ExpressionAttributeValues": values}))
        return [row for row in rows if row is not None]

    with ThreadPoolExecutor(max_workers=STATS_SHARDS) as pool:
        return [row for rows in pool.map(shard, range(STATS_SHARDS)) for row in rows]


def subject_rows(app: str, scene: str, start_day: str, end_day: str, kind: Kind = "channel") -> list[Row]:
    """The counter rows of one subject over [start_day, end_day] (other subjects whose name extends it included:
    domain.reports.channel_period keeps the subject's own)."""
    return _all_shards(
        app,
        {
            "TableName": settings().channels_table,
            "KeyConditionExpression": "pk = :pk AND sk BETWEEN :from AND :to",
            "ExpressionAttributeValues": {
                ":from": {"S": f"{scene}#{start_day}"},
                ":to": {"S": f"{scene}#{end_day}"},
            },
        },
        kind,
    )


def app_rows(app: str, start_day: str, end_day: str, kind: Kind = "channel") -> list[Row]:
    """Every subject's counter rows of a kind over [start_day, end_day], read through the ByDay index."""
    return _all_shards(
        app,
        {
            "TableName": settings().channels_table,
            "IndexName": BY_DAY_INDEX,
            "KeyConditionExpression": "pk = :pk AND day_scene BETWEEN :from AND :to",
            "ExpressionAttributeValues": {":from": {"S": f"{start_day}#"}, ":to": {"S": f"{end_day}$"}},
        },
        kind,
    )


def backfill_day_index(client: Any = None, table: str | None = None) -> int:
    """Give counter items written before the ByDay index their `day_scene` → how many were updated (idempotent)."""
    client = client or dynamodb()
    table = table or settings().channels_table
    scan: dict[str, Any] = {
        "TableName": table,
        "FilterExpression": "begins_with(pk, :stats) AND attribute_not_exists(day_scene)",  # channels only: the
        # promoter and team counters were born with their day_scene
        "ExpressionAttributeValues": {":stats": {"S": "stats#"}},
        "ProjectionExpression": "pk, sk, #day, scene",
        "ExpressionAttributeNames": {"#day": "day"},
    }
    updated = 0
    while True:
        page = client.scan(**scan)
        for item in _with_day(page.get("Items", [])):
            client.update_item(
                TableName=table,
                Key={"pk": item["pk"], "sk": item["sk"]},
                UpdateExpression="SET day_scene = :ds",
                ExpressionAttributeValues={":ds": {"S": f"{item['day']['S']}#{item['scene']['S']}"}},
            )
            updated += 1
        if "LastEvaluatedKey" not in page:
            return updated
        scan["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def _with_day(items: Iterable[Mapping[str, Any]]) -> Iterable[Mapping[str, Any]]:
    return (item for item in items if "day" in item and "scene" in item)
