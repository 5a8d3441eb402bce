"""The follower state machine: what each subscribe, SCAN and unsubscribe push does, in any order."""

from wxfunnel.domain.followers import DIRECT, Change, Status, follow, scan, unfollow

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
