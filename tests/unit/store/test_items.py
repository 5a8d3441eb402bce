"""Storage forms: every stored value round-trips through its item, and keys are what the indexes expect."""

from wxfunnel.domain.followers import follow, scan, unfollow
from wxfunnel.store.followers import AUDIENCE_SHARDS, audience_key, from_item, shard_of, to_item

APP, USER = "oa", "o-1"


def test_the_item_form_round_trips_and_indexes_only_current_followers():
    sub = scan(follow(None, APP, USER, "p", 1).after, APP, USER, "q", 2).after
    item = to_item(sub)
    assert from_item(item) == sub
    assert item["first_audience"]["S"] == audience_key(APP, "p", shard_of(USER))
    assert item["last_audience"]["S"] == audience_key(APP, "q", shard_of(USER))
    gone = to_item(unfollow(sub, APP, USER, 3).after)
    assert "first_audience" not in gone and "last_audience" not in gone


def test_audience_keys_spread_a_scene_over_shards():
    shards = {audience_key(APP, "viral", shard_of(f"o-{n}")).rsplit("#", 1)[1] for n in range(500)}
    assert len(shards) == AUDIENCE_SHARDS
