"""Channel items and statistics counters: their DynamoDB form, as the callback reads and writes them."""

from __future__ import annotations

from collections import Counter

import pytest

from wxfunnel.domain.channels import Channel
from wxfunnel.domain.promoters import Referrer
from wxfunnel.domain.reports import Period
from wxfunnel.domain.stats import Counts, day_of
from wxfunnel.store.channels import channel_key, from_item, to_item
from wxfunnel.store.counters import STATS_SHARDS, counter_update, shard_of
from wxfunnel_tools import examples


def channel(**fields: object) -> Channel:
    values: dict[str, object] = {
        "scene": "123",
        "scene_type": "int",
        "permanent": False,
        "ticket": "gQ+/=",
        "image_url": "https://mp.weixin.qq.com/cgi-bin/showqrcode?ticket=gQ%2B%2F%3D",
        "expire_seconds": 604_800,
        "expires_at": 1_800_000_000,
        "name": "Spring poster",
        "updated_at": "2026-01-02T00:00:00Z",
    }
    return examples.channel(**{**values, **fields})


@pytest.mark.parametrize(
    "original",
    [
        channel(),
        channel(
            scene="ref-alice",
            scene_type="str",
            permanent=True,
            expire_seconds=None,
            expires_at=None,
            welcome_message="你好",
            tag="spring",
            referrer=Referrer("Alice", "o-alice"),
            notes="n",
        ),
        channel(kind="card", referrer=Referrer("Bob")),
    ],
)
def test_a_channel_survives_its_dynamodb_item(original: Channel) -> None:
    item = to_item(original)
    assert {"pk": item["pk"], "sk": item["sk"]} == channel_key(original.app, original.scene)
    assert from_item(item) == original


def test_a_channel_key_is_the_app_and_the_scene_text() -> None:
    assert channel_key("demo-oa", "123") == {"pk": {"S": "channel#demo-oa"}, "sk": {"S": "123"}}
    assert channel().scene_value == 123
    assert channel(scene="123", scene_type="str").scene_value == "123"


def test_the_remaining_share_of_a_temporary_code() -> None:
    live = channel(expire_seconds=100, expires_at=1_000)
    assert live.remaining_share(950) == 0.5
    assert live.remaining_share(2_000) == 0.0
    assert live.expired(1_000) and not live.expired(999)
    assert channel(permanent=True, expire_seconds=None, expires_at=None).remaining_share(10**12) == 1.0


def test_a_counter_update_adds_the_non_zero_counts_to_the_followers_shard() -> None:
    update = counter_update("demo-oa", "spring", "2026-11-21", "o-ann", {"new_followers": 1, "scans": 0})[
        "Update"
    ]
    assert update["Key"] == {
        "pk": {"S": f"stats#demo-oa#{shard_of('o-ann')}"},
        "sk": {"S": "spring#2026-11-21"},
    }
    assert update["UpdateExpression"].endswith(" ADD #c0 :c0")
    assert update["ExpressionAttributeNames"]["#c0"] == "new_followers"
    assert update["ExpressionAttributeValues"][":c0"] == {"N": "1"}
    assert "scans" not in update["ExpressionAttributeNames"].values()
    assert update["ExpressionAttributeValues"][":scene"] == {"S": "spring"}
    # The day-first copy of the key that the app-wide statistics read through the ByDay index.
    assert update["ExpressionAttributeValues"][":ds"] == {"S": "2026-11-21#spring"}


def test_a_counter_update_refuses_an_unknown_counter() -> None:
    with pytest.raises(ValueError, match="followers"):
        counter_update("demo-oa", "spring", "2026-11-21", "o-ann", {"followers": 1})


def test_followers_spread_over_every_shard() -> None:
    spread = Counter(shard_of(f"oUser{n:06d}") for n in range(4_000))
    assert set(spread) == set(range(STATS_SHARDS))
    assert max(spread.values()) < 2 * min(spread.values())


def test_a_day_is_the_date_in_the_accounts_time_zone() -> None:
    assert day_of(1_763_683_199, "UTC") == "2025-11-20"
    assert day_of(1_763_683_200, "UTC") == "2025-11-21"
    # 2025-11-20 17:00 UTC is 01:00 on the 21st in Beijing: a follow at 01:00 Beijing time counts on the 21st.
    assert day_of(1_763_658_000, "Asia/Shanghai") == "2025-11-21"
    assert day_of(1_763_654_399, "Asia/Shanghai") == "2025-11-20"  # 23:59:59 Beijing time


def test_a_period_lists_every_day_and_nets_unfollows() -> None:
    period = Period("2026-02-27", "2026-03-01")
    period.by_day["2026-02-28"].add(Counts(new_followers=3, returning_followers=1, unfollows=2, scans=5))
    assert [day["date"] for day in period.days()] == ["2026-02-27", "2026-02-28", "2026-03-01"]
    assert period.totals.as_dict() == {
        "new_followers": 3,
        "returning_followers": 1,
        "scans": 5,
        "unfollows": 2,
        "referrals": 0,
        "net": 2,
    }
