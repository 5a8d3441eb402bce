"""The follower state machine: what each subscribe, SCAN and unsubscribe push does, in any order."""

from collections.abc import Sequence
from dataclasses import replace
from itertools import permutations

import pytest

from wxfunnel.domain.channels import Channel, Referrer
from wxfunnel.domain.followers import (
    DIRECT,
    Change,
    Follower,
    Status,
    credit_referral,
    follow,
    scan,
    unfollow,
)
from wxfunnel_tools import examples

APP, USER = "oa", "o-1"


def test_a_first_follow_through_a_code_is_a_new_follower_with_that_first_touch():
    t = follow(None, APP, USER, "poster", 100)
    assert t.change is Change.NEW_FOLLOWER
    assert (t.after.first_scene, t.after.last_scene, t.after.status) == (
        "poster",
        "poster",
        Status.SUBSCRIBED,
    )
    assert t.counts == {"new_followers": 1}
    assert t.scene == "poster"


def test_a_plain_follow_counts_against_the_direct_channel_and_touches_nothing():
    t = follow(None, APP, USER, None, 100)
    assert (t.change, t.scene, t.touched_scene, t.after.last_scene) == (
        Change.NEW_FOLLOWER,
        DIRECT,
        None,
        None,
    )


def test_following_again_after_an_unfollow_is_returning_and_keeps_the_first_touch():
    first = follow(None, APP, USER, "poster", 100).after
    gone = unfollow(first, APP, USER, 200)
    assert gone.change is Change.UNFOLLOW and gone.scene == "poster"
    back = follow(gone.after, APP, USER, "booth", 300)
    assert back.change is Change.RETURNING_FOLLOWER
    assert (back.after.first_scene, back.after.follow_scene, back.after.last_scene) == (
        "poster",
        "booth",
        "booth",
    )


def test_a_repeat_follow_while_following_counts_nothing():
    first = follow(None, APP, USER, "poster", 100).after
    again = follow(first, APP, USER, "booth", 150)
    assert again.change is Change.NONE and again.counts == {}
    assert again.after.last_scene == "booth"


def test_a_scan_is_a_scan_and_proves_the_user_follows():
    unknown = scan(None, APP, USER, "live=10", 100)
    assert unknown.change is Change.SCAN and unknown.after.status is Status.SUBSCRIBED
    assert unknown.after.first_scene is None  # we never saw how they followed
    gone = unfollow(follow(None, APP, USER, "p", 50).after, APP, USER, 60).after
    assert scan(gone, APP, USER, "s", 70).after.status is Status.SUBSCRIBED


def test_stale_pushes_never_overturn_newer_state():
    followed = follow(None, APP, USER, "p", 100).after
    late_unfollow = unfollow(followed, APP, USER, 90)
    assert late_unfollow.change is Change.NONE and late_unfollow.after is None
    gone = unfollow(followed, APP, USER, 200).after
    late_follow = follow(gone, APP, USER, "p", 150)
    assert late_follow.change is Change.NONE and late_follow.after is None


def test_unfollowing_twice_counts_once():
    gone = unfollow(follow(None, APP, USER, "p", 100).after, APP, USER, 200).after
    assert unfollow(gone, APP, USER, 300).change is Change.NONE


def test_versions_increase_with_every_change():
    a = follow(None, APP, USER, "p", 1).after
    b = scan(a, APP, USER, "q", 2).after
    c = unfollow(b, APP, USER, 3).after
    assert (a.version, b.version, c.version) == (1, 2, 3)


def test_a_scan_newer_than_a_late_unfollow_keeps_the_user_following():
    followed = follow(None, APP, USER, "p", 10).after
    scanned = scan(followed, APP, USER, "q", 12).after
    assert scanned.status_at == 12
    late_unfollow = unfollow(scanned, APP, USER, 9)
    assert late_unfollow.after is None


# --- every field of every transition ---------------------------------------------------------------------------


def test_a_new_follower_is_stored_with_the_follow_as_first_and_current_touch():
    t = follow(None, APP, USER, "poster", 100)
    assert t.after == Follower(
        app=APP,
        openid=USER,
        status=Status.SUBSCRIBED,
        status_at=100,
        first_scene="poster",
        follow_scene="poster",
        last_scene="poster",
        first_subscribed_at=100,
        subscribed_at=100,
        follow_count=1,
        version=1,
    )
    assert (t.scene, t.touched_scene) == ("poster", "poster")


def test_a_returning_follower_keeps_the_first_touch_and_counts_one_more_follow():
    first = follow(None, APP, USER, "poster", 100).after
    gone = unfollow(first, APP, USER, 200).after
    back = follow(gone, APP, USER, "booth", 300)
    assert back.after == replace(
        gone,
        status=Status.SUBSCRIBED,
        status_at=300,
        follow_scene="booth",
        last_scene="booth",
        subscribed_at=300,
        follow_count=2,
        version=3,
    )
    assert (back.scene, back.touched_scene) == ("booth", "booth")


def test_a_plain_return_counts_against_direct_and_keeps_the_last_code_touched():
    gone = unfollow(follow(None, APP, USER, "poster", 100).after, APP, USER, 200).after
    back = follow(gone, APP, USER, None, 300)
    assert (back.change, back.scene, back.touched_scene) == (Change.RETURNING_FOLLOWER, DIRECT, None)
    assert (back.after.follow_scene, back.after.last_scene) == (DIRECT, "poster")


def test_a_user_first_seen_unfollowing_is_new_when_they_follow():
    gone = unfollow(None, APP, USER, 100).after
    back = follow(gone, APP, USER, "poster", 200)
    assert back.change is Change.NEW_FOLLOWER
    assert (back.after.first_scene, back.after.first_subscribed_at, back.after.unsubscribed_at) == (
        "poster",
        200,
        100,
    )
    assert (back.after.status_at, back.after.follow_count, back.after.version) == (200, 1, 2)


def test_a_repeat_follow_moves_the_status_time_and_last_touch_but_counts_no_follow():
    first = follow(None, APP, USER, "poster", 100).after
    again = follow(first, APP, USER, "booth", 150)
    assert again.after == replace(first, status_at=150, last_scene="booth", version=2)
    assert (again.scene, again.touched_scene) == (None, "booth")
    plain = follow(first, APP, USER, None, 150)
    assert plain.after == replace(first, status_at=150, version=2)


def test_a_stale_follow_still_names_the_code_it_touched():
    gone = unfollow(follow(None, APP, USER, "p", 100).after, APP, USER, 200).after
    late = follow(gone, APP, USER, "booth", 150)
    assert (late.after, late.scene, late.touched_scene) == (None, None, "booth")


def test_a_scan_of_an_unknown_user_records_a_follower_seen_only_scanning():
    t = scan(None, APP, USER, "live=10", 100)
    assert t.after == Follower(
        app=APP,
        openid=USER,
        status=Status.SUBSCRIBED,
        status_at=100,
        last_scene="live=10",
        scan_count=1,
        version=1,
    )
    assert (t.scene, t.touched_scene) == ("live=10", "live=10")


def test_a_scan_counts_against_its_scene_and_moves_only_the_last_touch():
    first = follow(None, APP, USER, "poster", 100).after
    t = scan(first, APP, USER, "booth", 150)
    assert t.after == replace(first, status_at=150, last_scene="booth", scan_count=1, version=2)
    assert (t.change, t.scene, t.touched_scene, t.counts) == (Change.SCAN, "booth", "booth", {"scans": 1})


def test_a_scan_older_than_the_stored_status_is_counted_but_does_not_change_the_status():
    gone = unfollow(follow(None, APP, USER, "poster", 100).after, APP, USER, 200).after
    late = scan(gone, APP, USER, "booth", 150)
    assert late.after == replace(gone, last_scene="booth", scan_count=1, version=3)
    assert late.counts == {"scans": 1}


def test_an_unfollow_stores_when_the_user_left_and_counts_against_the_current_follow():
    first = follow(None, APP, USER, "poster", 100).after
    back = follow(unfollow(first, APP, USER, 200).after, APP, USER, "booth", 300).after
    t = unfollow(back, APP, USER, 400)
    assert t.after == replace(back, status=Status.UNSUBSCRIBED, status_at=400, unsubscribed_at=400, version=4)
    assert (t.change, t.scene, t.touched_scene, t.counts) == (
        Change.UNFOLLOW,
        "booth",
        None,
        {"unfollows": 1},
    )


def test_an_unfollow_of_a_follower_seen_only_scanning_counts_against_direct():
    seen = scan(None, APP, USER, "live=10", 100).after
    assert unfollow(seen, APP, USER, 200).scene == DIRECT


def test_an_unfollow_of_an_unknown_user_is_stored_but_counted_nowhere():
    t = unfollow(None, APP, USER, 100)
    assert t.after == Follower(
        app=APP, openid=USER, status=Status.UNSUBSCRIBED, status_at=100, unsubscribed_at=100, version=1
    )
    assert (t.change, t.scene, t.counts) == (Change.NONE, None, {})


def test_a_later_repeat_unfollow_only_moves_the_status_time_and_an_older_or_same_second_one_changes_nothing():
    gone = unfollow(follow(None, APP, USER, "p", 100).after, APP, USER, 200).after
    assert unfollow(gone, APP, USER, 300).after == replace(gone, status_at=300, version=3)
    assert unfollow(gone, APP, USER, 200).after is None
    assert unfollow(gone, APP, USER, 150).after is None


# --- within one second (CreateTime's resolution): the unsubscribe comes first -----------------------------------


def test_an_unfollow_in_the_same_second_as_the_follow_leaves_the_user_following_whichever_arrives_first():
    followed = follow(None, APP, USER, "p", 100).after
    late_unfollow = unfollow(followed, APP, USER, 100)
    assert (late_unfollow.change, late_unfollow.after, late_unfollow.counts) == (Change.NONE, None, {})

    gone = unfollow(follow(None, APP, USER, "p", 50).after, APP, USER, 100).after
    late_follow = follow(gone, APP, USER, "p", 100)
    assert late_follow.change is Change.RETURNING_FOLLOWER
    assert late_follow.after.status is Status.SUBSCRIBED


def test_a_scan_in_the_same_second_as_an_unfollow_leaves_the_user_following_whichever_arrives_first():
    gone = unfollow(follow(None, APP, USER, "p", 50).after, APP, USER, 100).after
    assert scan(gone, APP, USER, "q", 100).after.status is Status.SUBSCRIBED

    scanned = scan(follow(None, APP, USER, "p", 50).after, APP, USER, "q", 100).after
    assert unfollow(scanned, APP, USER, 100).after is None


Push = tuple[str, int]  # (event, CreateTime)


def _apply(pushes: Sequence[Push]) -> Follower | None:
    follower = None
    for event, at in pushes:
        if event == "subscribe":
            t = follow(follower, APP, USER, "p", at)
        elif event == "SCAN":
            t = scan(follower, APP, USER, "q", at)
        else:
            t = unfollow(follower, APP, USER, at)
        follower = t.after or follower
    return follower


def _latest_status(pushes: Sequence[Push]) -> Status:
    """The rule: order by CreateTime, an unsubscribe before a subscribe or SCAN of the same second; the last wins."""
    event, _ = max(pushes, key=lambda push: (push[1], push[0] != "unsubscribe"))
    return Status.UNSUBSCRIBED if event == "unsubscribe" else Status.SUBSCRIBED


@pytest.mark.parametrize(
    "pushes",
    [
        [("subscribe", 100), ("unsubscribe", 100)],
        [("SCAN", 100), ("unsubscribe", 100)],
        [("subscribe", 100), ("unsubscribe", 100), ("subscribe", 100)],
        [("subscribe", 100), ("unsubscribe", 101), ("SCAN", 101)],
        [("subscribe", 100), ("SCAN", 101), ("unsubscribe", 101), ("unsubscribe", 102)],
        [("unsubscribe", 99), ("subscribe", 100), ("unsubscribe", 100), ("SCAN", 100), ("unsubscribe", 101)],
    ],
)
def test_the_stored_status_never_depends_on_the_order_pushes_arrive_in(pushes: list[Push]):
    statuses = {_apply(order).status for order in permutations(pushes)}
    assert statuses == {_latest_status(pushes)}


# --- referral credit ---------------------------------------------------------------------------------------------


def code_of(referrer: Referrer | None) -> Channel:
    return examples.channel("ref", app=APP, name="Referral code", referrer=referrer)


def test_a_first_follow_through_a_referrers_code_credits_the_referrer_by_openid_else_by_name():
    first = follow(None, APP, USER, "ref", 100)
    credited = credit_referral(first, code_of(Referrer("Alice", "o-alice")), USER)
    assert credited.after == replace(first.after, referred_by="o-alice")
    assert (credited.change, credited.scene) == (first.change, first.scene)
    legacy = code_of(Referrer("Alice", "o-alice")).credited_promoter  # a legacy referrer maps to a promoter
    assert legacy and credited.credited == (legacy, Referrer("Alice", "o-alice"))
    by_name = credit_referral(first, code_of(Referrer("Shop 12")), USER)
    assert by_name.after.referred_by == "Shop 12"
    assert by_name.credited == (code_of(Referrer("Shop 12")).credited_promoter, Referrer("Shop 12"))
    promoted = replace(code_of(Referrer("Alice", "o-alice")), promoter="p-alice")
    assert credit_referral(first, promoted, USER).credited == ("p-alice", Referrer("Alice", "o-alice"))


def test_nobody_is_credited_for_self_referral_returns_scans_stale_pushes_or_codes_without_a_referrer():
    alice = code_of(Referrer("Alice", "o-alice"))
    first = follow(None, APP, USER, "ref", 100)
    assert credit_referral(first, alice, "o-alice") is first  # Alice followed through her own code
    assert credit_referral(first, code_of(None), USER) is first
    assert credit_referral(first, None, USER) is first
    gone = unfollow(first.after, APP, USER, 200).after
    back = follow(gone, APP, USER, "ref", 300)
    assert credit_referral(back, alice, USER) is back
    scanned = scan(first.after, APP, USER, "ref", 150)
    assert credit_referral(scanned, alice, USER) is scanned
    stale = follow(gone, APP, USER, "ref", 150)
    assert credit_referral(stale, alice, USER) is stale


def test_the_referrals_counter_moves_once_per_follower():
    alice = code_of(Referrer("Alice", "o-alice"))
    credited = credit_referral(follow(None, APP, USER, "ref", 100), alice, USER)
    assert credited.credited is not None
    again = follow(credited.after, APP, USER, "ref", 150)  # a repeat keeps referred_by
    assert again.after.referred_by == "o-alice"
    assert credit_referral(again, alice, USER).credited is None
    assert follow(None, APP, USER, "p", 100).credited is None
    assert credit_referral(unfollow(credited.after, APP, USER, 50), alice, USER).credited is None
    # a follower somehow already credited (an imported profile) is never credited twice
    imported = replace(
        follow(None, APP, USER, "ref", 100), after=replace(credited.after, referred_by="o-bob")
    )
    assert credit_referral(imported, alice, USER) is imported
