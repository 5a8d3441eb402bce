"""Upgrading a deployed stack: the data written by the previous version keeps working (README, "Upgrading")."""

from __future__ import annotations

import json

from wxfunnel.store import counters
from wxfunnel.store.counters import counter_update, shard_of
from wxfunnel_tools import cli

OA = "demo-oa"


def old_counter(aws, scene: str, day: str, openid: str, new_followers: int) -> None:
    """A statistics counter as the previous version wrote it (no day_scene: the ByDay index did not exist)."""
    aws.dynamodb.put_item(
        TableName=aws.env["CHANNELS_TABLE"],
        Item={
            "pk": {"S": f"stats#{OA}#{shard_of(openid)}"},
            "sk": {"S": f"{scene}#{day}"},
            "app": {"S": OA},
            "scene": {"S": scene},
            "day": {"S": day},
            "new_followers": {"N": str(new_followers)},
        },
    )


def test_counters_written_before_the_day_index_are_migrated_once_and_then_reported(aws, capsys):
    old_counter(aws, "spring", "2026-11-02", "o-1", 3)
    old_counter(aws, "店铺A/二楼", "2026-11-03", "o-2", 2)
    aws.dynamodb.transact_write_items(
        TransactItems=[counter_update(OA, "spring", "2026-11-04", "o-3", {"new_followers": 1})]
    )
    assert [row.day for row in counters.app_rows(OA, "2026-11-01", "2026-11-30")] == ["2026-11-04"]

    table = aws.env["CHANNELS_TABLE"]
    assert cli.main(["migrate", "stats-day-index", "--table", table]) == 0
    assert f"{table}: 2 statistics counter(s)" in capsys.readouterr().out

    rows = counters.app_rows(OA, "2026-11-01", "2026-11-30")
    assert sorted((row.day, row.scene, row.counts.new_followers) for row in rows) == [
        ("2026-11-02", "spring", 3),
        ("2026-11-03", "店铺A/二楼", 2),
        ("2026-11-04", "spring", 1),
    ]
    assert cli.main(["migrate", "stats-day-index", "--table", table]) == 0  # idempotent
    assert f"{table}: 0 statistics counter(s)" in capsys.readouterr().out


def test_the_migration_leaves_channels_and_quotas_alone(aws, capsys):
    item = {"pk": {"S": f"channel#{OA}"}, "sk": {"S": "spring"}, "name": {"S": "Spring"}}
    aws.dynamodb.put_item(TableName=aws.env["CHANNELS_TABLE"], Item=item)
    assert cli.main(["migrate", "stats-day-index", "--table", aws.env["CHANNELS_TABLE"]]) == 0
    stored = aws.dynamodb.get_item(
        TableName=aws.env["CHANNELS_TABLE"], Key={"pk": item["pk"], "sk": item["sk"]}
    )
    assert json.dumps(stored["Item"], sort_keys=True) == json.dumps(item, sort_keys=True)
