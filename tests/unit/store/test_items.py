"""Storage forms: every stored value round-trips through its item, and keys are what the indexes expect."""

from dataclasses import replace

import pytest

from wxfunnel.domain.followers import Follower, Status, follow, scan, unfollow
from wxfunnel.store.followers import (
    AUDIENCE_SHARDS,
    PROFILE,
    audience_key,
    from_item,
    profile_key,
    put_follower,
    shard_of,
    to_item,
    touch_key,
    touch_update,
)

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


EVERY_FIELD = Follower(
    app=APP,
    openid=USER,
    status=Status.UNSUBSCRIBED,
    status_at=400,
    first_scene="poster",
    follow_scene="booth",
    last_scene="live=10",
    first_subscribed_at=100,
    subscribed_at=300,
    unsubscribed_at=400,
    follow_count=2,
    scan_count=3,
    referred_by="o-alice",
    version=7,
)


@pytest.mark.parametrize(
    "follower",
    [
        EVERY_FIELD,
        replace(EVERY_FIELD, status=Status.SUBSCRIBED),
        Follower(app=APP, openid=USER, status=Status.UNSUBSCRIBED, status_at=5, unsubscribed_at=5, version=1),
        Follower(app=APP, openid=USER, status=Status.SUBSCRIBED, status_at=0),
    ],
)
def test_every_follower_field_round_trips_through_its_item(follower: Follower):
    assert from_item(to_item(follower)) == follower


def test_absent_fields_are_left_out_of_the_item_rather_than_stored_empty():
    item = to_item(Follower(app=APP, openid=USER, status=Status.SUBSCRIBED, status_at=5))
    assert set(item) == {
        "pk",
        "sk",
        "status",
        "status_at",
        "version",
        "follow_count",
        "scan_count",
        "app",
        "openid",
    }


def test_the_item_carries_the_app_and_openid_for_reads_that_project_them():
    item = to_item(EVERY_FIELD)
    assert item["pk"] == profile_key(APP, USER)["pk"] and item["sk"] == {"S": PROFILE}
    assert (item["app"], item["openid"]) == ({"S": APP}, {"S": USER})


def test_a_new_follower_is_written_only_if_no_profile_exists():
    put = put_follower(EVERY_FIELD, None)["Put"]
    assert put["Item"] == to_item(EVERY_FIELD)
    assert put["ConditionExpression"] == "attribute_not_exists(pk)"
    assert "ExpressionAttributeValues" not in put


def test_a_known_follower_is_written_only_if_nobody_wrote_it_since_it_was_read():
    put = put_follower(EVERY_FIELD, 6)["Put"]
    assert put["Item"] == to_item(EVERY_FIELD)
    assert put["ConditionExpression"] == "version = :v"
    assert put["ExpressionAttributeValues"] == {":v": {"N": "6"}}


def test_a_touch_counts_repeats_keeps_the_first_time_and_joins_the_scenes_audience():
    update = touch_update(APP, USER, "live=10", 1234)
    assert update["Key"] == touch_key(APP, USER, "live=10")
    values = update["ExpressionAttributeValues"]
    assert values[":aud"] == {"S": audience_key(APP, "live=10", shard_of(USER))}
    assert (values[":s"], values[":a"], values[":o"], values[":t"], values[":one"]) == (
        {"S": "live=10"},
        {"S": APP},
        {"S": USER},
        {"N": "1234"},
        {"N": "1"},
    )
    expression = update["UpdateExpression"]
    assert "last_at = :t" in expression and "first_at = if_not_exists(first_at, :t)" in expression
    assert "touch_audience = :aud" in expression and expression.endswith("ADD touches :one")
    late = touch_update(APP, USER, "live=10", 1000, latest=False)["UpdateExpression"]
    assert "last_at = if_not_exists(last_at, :t)" in late  # an out-of-order push never moves last_at back
    assert late.replace("if_not_exists(last_at, :t)", ":t") == expression
