"""What a statistics query costs, as an app's history grows: DynamoDB requests and read units of the 30-day reports.

An app with CHANNELS channels whose followers land on several counter shards every day; its counters are written
with the layer's own `counter_update`, first for the last 30 days, then for a whole year before them. The real
QrCodeFunction handler answers GET /channels/<app>/stats (app-wide) and one channel's stats for the last 30 days;
requests are counted on the layer's client and read units computed from the items each Query reads
(dynamo.query_capacity). "Before" replays the request pattern of the previous layout (1827b9a `stats.app_stats`:
every counter shard queried in full and filtered by day) on the same table.
"""

from __future__ import annotations

import json
import os
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from wxfunnel_tools import examples
from wxfunnel_tools.bench.dynamo import Recorder, capacity, query_capacity
from wxfunnel_tools.bench.report import Section

OA = "demo-oa"
CHANNELS = 20
SHARDS_PER_DAY = 3  # each channel's followers of a day land on this many of the 16 counter shards
RECENT_DAYS = 30
YEAR_DAYS = 365


def _scenes() -> list[str]:
    return [f"门店{n:02d}/海报" if n % 2 else f"poster-{n:02d}" for n in range(CHANNELS)]


def _populate(reader: Any, days: list[str]) -> int:
    from wxfunnel.store.counters import counter_update

    written = 0
    for day in days:
        for index, scene in enumerate(_scenes()):
            for follower in range(SHARDS_PER_DAY):
                update = counter_update(OA, scene, day, f"o{index}-{follower}-{day}", {"new_followers": 1})
                reader.update_item(**update["Update"])
                written += 1
    return written


def _old_pattern(reader: Any, table: str, start: str, end: str) -> tuple[int, float]:
    """The previous layout's app-wide read (requests, RCU): every shard's whole partition filtered by day, and the
    app's channel records (which the report still lists)."""
    requests, rcu = 0, 0.0
    queries: list[dict[str, Any]] = [
        {
            "TableName": table,
            "KeyConditionExpression": "pk = :pk",
            "FilterExpression": "#day BETWEEN :from AND :to",
            "ExpressionAttributeNames": {"#day": "day"},
            "ExpressionAttributeValues": {
                ":pk": {"S": f"stats#{OA}#{shard}"},
                ":from": {"S": start},
                ":to": {"S": end},
            },
        }
        for shard in range(16)
    ]
    queries.append(
        {
            "TableName": table,
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": {":pk": {"S": f"channel#{OA}"}},
        }
    )
    for query in queries:
        while True:
            page = reader.query(**query)
            requests += 1
            rcu += query_capacity(query, reader)
            if "LastEvaluatedKey" not in page:
                break
            query["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    return requests, rcu


def run() -> Section:
    import boto3

    from wxfunnel.core.aws import dynamodb
    from wxfunnel.protocol.limits import scene_segment
    from wxfunnel.store import channels
    from wxfunnel_tools.apigw import proxy_event
    from wxfunnel_tools.bench.environment import embedded_aws, quiet_logs
    from wxfunnel_tools.template import load_handler
    from wxfunnel_tools.testing import lambda_context

    section = Section(
        "statistics: a 30-day query over an app's history (real handler on moto; reads counted from the items read)",
        ("query", "history", "counter items", "requests", "RCU", "before: requests", "before: RCU", "ms"),
    )
    today = datetime.now(UTC).date()
    recent = [(today - timedelta(days=n)).isoformat() for n in range(RECENT_DAYS)]
    older = [(today - timedelta(days=n)).isoformat() for n in range(RECENT_DAYS, RECENT_DAYS + YEAR_DAYS)]
    start, end = recent[-1], recent[0]
    with embedded_aws(), quiet_logs():
        handler = load_handler("QrCodeFunction")
        reader = boto3.client("dynamodb", region_name="us-east-1")
        table = os.environ["CHANNELS_TABLE"]
        for scene in _scenes():
            channels.put(examples.channel(scene, name=f"渠道 {scene}"))
        recorder = Recorder()
        recorder.attach(dynamodb(), "dynamodb")

        def measure(
            label: str,
            path: str,
            *,
            history: str,
            items: int,
            expected: int,
            before: tuple[int, float] | None,
        ) -> None:
            event = proxy_event("GET", path, path, query={"from": start, "to": end}, iam_user="bench")
            recorder.calls.clear()
            started = time.perf_counter()
            response = handler(event, lambda_context("QrCodeFunction"))
            elapsed = (time.perf_counter() - started) * 1000
            if response["statusCode"] != 200:
                raise RuntimeError(f"{path}: HTTP {response['statusCode']} {response['body'][:200]}")
            counted = json.loads(response["body"])["totals"]["new_followers"]
            if counted != expected:
                raise RuntimeError(f"{path} counted {counted} new followers, expected {expected}")
            calls = [call for call in recorder.calls if call["service"] == "dynamodb"]
            rcu, _ = capacity(calls, reader)
            before_requests, before_rcu = before if before else ("-", "-")
            section.add(label, history, items, len(calls), rcu, before_requests, before_rcu, elapsed)

        app_wide, one = f"/channels/{OA}/stats", f"/channels/{OA}/{scene_segment(_scenes()[1])}/stats"
        per_channel = SHARDS_PER_DAY * RECENT_DAYS
        items = 0
        for history, days in (("30 days", recent), ("1 year + 30 days", older)):
            items += _populate(reader, days)
            old = _old_pattern(reader, table, start, end)
            measure(
                "app-wide",
                app_wide,
                history=history,
                items=items,
                expected=CHANNELS * per_channel,
                before=old,
            )
            measure("one channel", one, history=history, items=items, expected=per_channel, before=None)
    section.notes.append(
        f"{CHANNELS} channels, {SHARDS_PER_DAY} counter items per channel and day; RCU of a Query = ceil(size of the "
        "items its key condition reads / 4 KB) x 0.5 (eventually consistent), per page; both app-wide reports also "
        "list the app's channel records (names, referrers). ms is moto's time (its index queries scan in Python)."
    )
    return section


PROMOTER_CODES = 50
PROMOTER_DAYS = 90
FOLLOWERS_PER_CODE_DAY = 2  # a promoter's 100 followers a day land on all 16 of their counter shards
OTHER_PROMOTERS = 30


def _populate_promoter(reader: Any, promoter: str, team: str, days: list[str]) -> int:
    """The promoter's and the team's counters as the callback leaves them after the 50 codes' follows: each follow
    adds to its follower's shard (store.counters.counter_update); one update per shard and day here, with the day's
    sum, gives the same items (the channels' own counters live in other partitions and are left out) → items."""
    from collections import Counter

    from wxfunnel.store.counters import counter_update, shard_of

    written = 0
    for day in days:
        openids = [
            f"o{code}-{follower}-{day}"
            for code in range(PROMOTER_CODES)
            for follower in range(FOLLOWERS_PER_CODE_DAY)
        ]
        per_shard = Counter(shard_of(openid) for openid in openids)
        first = {shard_of(openid): openid for openid in reversed(openids)}
        for shard, count in per_shard.items():
            counts = {"new_followers": count, "referrals": count}
            for kind, subject in (("promoter", promoter), ("team", team)):
                update = counter_update(OA, subject, day, first[shard], counts, kind=kind)  # type: ignore[arg-type]
                reader.update_item(**update["Update"])
                written += 1
    return written


def run_promoters() -> Section:
    """A promoter with 50 codes: their 90-day statistics, the leaderboard and their team, as history grows."""
    import boto3

    from wxfunnel.core.aws import dynamodb
    from wxfunnel.domain.promoters import Promoter
    from wxfunnel.store import promoters
    from wxfunnel_tools.apigw import proxy_event
    from wxfunnel_tools.bench.environment import embedded_aws, quiet_logs
    from wxfunnel_tools.template import load_handler
    from wxfunnel_tools.testing import lambda_context

    section = Section(
        f"statistics: a promoter with {PROMOTER_CODES} codes over {PROMOTER_DAYS} days (real handler on moto)",
        ("query", "history", "counter items", "requests", "RCU", "ms"),
    )
    today = datetime.now(UTC).date()
    recent = [(today - timedelta(days=n)).isoformat() for n in range(PROMOTER_DAYS)]
    older = [(today - timedelta(days=n)).isoformat() for n in range(PROMOTER_DAYS, PROMOTER_DAYS + YEAR_DAYS)]
    start, end = recent[-1], recent[0]
    with embedded_aws(), quiet_logs():
        handler = load_handler("QrCodeFunction")
        reader = boto3.client("dynamodb", region_name="us-east-1")
        stamp = "2026-01-01T00:00:00Z"
        for index in range(OTHER_PROMOTERS + 1):
            pid = "wang" if index == 0 else f"p{index:02d}"
            promoters.create(
                Promoter(
                    app=OA, id=pid, name=f"推广员{index}", team="华东一组", created_at=stamp, updated_at=stamp
                )
            )
        recorder = Recorder()
        recorder.attach(dynamodb(), "dynamodb")
        expected = PROMOTER_CODES * FOLLOWERS_PER_CODE_DAY * PROMOTER_DAYS

        def measure(label: str, path: str, history: str, items: int, count: Any) -> None:
            event = proxy_event("GET", path, path, query={"from": start, "to": end}, iam_user="bench")
            recorder.calls.clear()
            started = time.perf_counter()
            response = handler(event, lambda_context("QrCodeFunction"))
            elapsed = (time.perf_counter() - started) * 1000
            if response["statusCode"] != 200:
                raise RuntimeError(f"{path}: HTTP {response['statusCode']} {response['body'][:200]}")
            counted = count(json.loads(response["body"]))
            if counted != expected:
                raise RuntimeError(f"{path} counted {counted} new followers, expected {expected}")
            calls = [call for call in recorder.calls if call["service"] == "dynamodb"]
            rcu, _ = capacity(calls, reader)
            section.add(label, history, items, len(calls), rcu, elapsed)

        items = 0
        for history, days in ((f"{PROMOTER_DAYS} days", recent), (f"1 year + {PROMOTER_DAYS} days", older)):
            items += _populate_promoter(reader, "wang", "华东一组", days)
            measure(
                "one promoter",
                f"/promoters/{OA}/wang/stats",
                history,
                items,
                lambda a: a["totals"]["new_followers"],
            )
            measure(
                f"ranking ({OTHER_PROMOTERS + 1} promoters)",
                f"/promoters/{OA}/ranking",
                history,
                items,
                lambda a: a["promoters"][0]["totals"]["new_followers"],
            )
            measure(
                "one team",
                f"/teams/{OA}/%E5%8D%8E%E4%B8%9C%E4%B8%80%E7%BB%84/stats",
                history,
                items,
                lambda a: a["totals"]["new_followers"],
            )
    section.notes.append(
        f"{PROMOTER_CODES} codes x {FOLLOWERS_PER_CODE_DAY} new followers a day each: the promoter's and the team's "
        "followers spread over all 16 counter shards every day. A promoter's and a team's statistics read their own "
        "counters (one item per shard and day, whatever the number of codes or followers); the ranking reads the "
        "period's promoter and team counters through the ByDay index and the promoters' records. Neither depends "
        "on the history before the period."
    )
    return section
