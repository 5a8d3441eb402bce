"""The funnel: which unfollow moves which retention window of which cohort, and how a funnel sums the counters."""

from __future__ import annotations

from wxfunnel.domain.channels import GENERATION_MARK, Channel
from wxfunnel.domain.followers import follow, scan, unfollow
from wxfunnel.domain.funnel import DAY_SECONDS, funnel, rollup, unfollow_cohort
from wxfunnel.domain.stats import Counts, Row
from wxfunnel_tools import examples

APP, USER = "oa", "o-1"
T0 = 1_800_000_000


def _left_after(seconds: int, scene: str | None = "poster"):
    before = follow(None, APP, USER, scene, T0).after
    return unfollow_cohort(before, unfollow(before, APP, USER, T0 + seconds), T0 + seconds)


def test_an_unfollow_counts_on_the_scene_and_time_of_the_follow_it_ends():
    cohort = _left_after(3600)
    assert cohort is not None
    assert (cohort.scene, cohort.followed_at) == ("poster", T0)
    assert cohort.counts == {"unfollowed_1d": 1, "unfollowed_7d": 1, "unfollowed_30d": 1}


def test_each_window_counts_unfollows_strictly_within_it():
    assert _left_after(DAY_SECONDS - 1).counts == {
        "unfollowed_1d": 1,
        "unfollowed_7d": 1,
        "unfollowed_30d": 1,
    }
    assert _left_after(DAY_SECONDS).counts == {"unfollowed_7d": 1, "unfollowed_30d": 1}
    assert _left_after(2 * DAY_SECONDS).counts == {"unfollowed_7d": 1, "unfollowed_30d": 1}
    assert _left_after(10 * DAY_SECONDS).counts == {"unfollowed_30d": 1}
    assert _left_after(30 * DAY_SECONDS) is None


def test_a_plain_follow_is_a_cohort_of_the_direct_channel():
    assert _left_after(60, scene=None).scene == "(direct)"


def test_only_a_first_follow_is_in_a_cohort():
    first = follow(None, APP, USER, "poster", T0).after
    gone = unfollow(first, APP, USER, T0 + 10).after
    back = follow(gone, APP, USER, "booth", T0 + 20).after
    again = unfollow(back, APP, USER, T0 + 30)
    assert unfollow_cohort(back, again, T0 + 30) is None  # a returning follower leaving again


def test_nothing_moves_without_a_follow_wxfunnel_saw():
    known_by_scan = scan(None, APP, USER, "poster", T0).after  # followed before wxfunnel: no follow time
    assert unfollow_cohort(known_by_scan, unfollow(known_by_scan, APP, USER, T0 + 5), T0 + 5) is None
    assert unfollow_cohort(None, unfollow(None, APP, USER, T0), T0) is None
    stale = follow(None, APP, USER, "poster", T0).after
    assert (
        unfollow_cohort(stale, follow(stale, APP, USER, "poster", T0 + 5), T0 + 5) is None
    )  # not an unfollow


def _row(scene: str, day: str, **counts: int) -> Row:
    return Row(scene, day, Counts(**counts))


def test_a_funnel_sums_its_scenes_and_rates_conversion():
    rows = [
        _row("a", "2026-03-01", visits=10, new_followers=3),
        _row("a", "2026-03-01", visits=5, new_followers=1),  # another shard of the same day
        _row("b", "2026-03-02", visits=5, new_followers=1),
        _row("c", "2026-03-02", visits=100, new_followers=50),  # another channel
        _row("a", "2026-02-28", visits=7),  # before the period
    ]
    result = funnel(rows, {"a", "b"}, "2026-03-01", "2026-03-03", today="2026-03-03")
    assert (result.visits, result.new_followers, result.conversion) == (20, 5, 0.25)
    view = result.as_dict()
    assert [day["date"] for day in view["days"]] == ["2026-03-01", "2026-03-02", "2026-03-03"]
    assert view["days"][0] == {
        "date": "2026-03-01",
        "visits": 15,
        "new_followers": 4,
        "unfollowed_1d": 0,
        "unfollowed_7d": 0,
        "unfollowed_30d": 0,
    }
    assert funnel([], {"a"}, "2026-03-01", "2026-03-01", "2026-03-01").conversion is None


def test_retention_counts_only_cohorts_whose_window_has_passed():
    rows = [
        _row("a", "2026-03-01", new_followers=10, unfollowed_1d=1, unfollowed_7d=3, unfollowed_30d=4),
        _row("a", "2026-03-06", new_followers=4, unfollowed_1d=2, unfollowed_7d=2, unfollowed_30d=2),
    ]
    result = funnel(rows, {"a"}, "2026-03-01", "2026-03-10", today="2026-03-10")
    one, seven, thirty = (result.retention(days) for days in (1, 7, 30))
    # 1 day: both cohorts are complete (03-06 + 1 day < 03-10)
    assert (one.cohort, one.unfollowed, one.retained, one.rate, one.pending) == (
        14,
        3,
        11,
        round(11 / 14, 4),
        0,
    )
    # 7 days: only the cohort of 03-01 (03-08 < 03-10); 03-06's followers are still within their week
    assert (seven.cohort, seven.unfollowed, seven.retained, seven.pending) == (10, 3, 7, 4)
    # 30 days: no cohort is complete yet
    assert (thirty.cohort, thirty.rate, thirty.pending) == (0, None, 14)


def test_a_funnels_view_names_every_window_and_its_period():
    rows = [
        _row("a", "2026-03-01", visits=4, new_followers=2, unfollowed_1d=1, unfollowed_7d=1, unfollowed_30d=1)
    ]
    view = funnel(rows, {"a"}, "2026-03-01", "2026-03-02", today="2026-03-05").as_dict()
    assert (view["from"], view["to"], view["today"]) == ("2026-03-01", "2026-03-02", "2026-03-05")
    assert (view["visits"], view["new_followers"], view["conversion"]) == (4, 2, 0.5)
    assert view["retention"] == [
        {"days": 1, "cohort": 2, "unfollowed": 1, "retained": 1, "rate": 0.5, "pending": 0},
        {"days": 7, "cohort": 0, "unfollowed": 0, "retained": 0, "rate": None, "pending": 2},
        {"days": 30, "cohort": 0, "unfollowed": 0, "retained": 0, "rate": None, "pending": 2},
    ]
    assert view["days"][0]["unfollowed_1d"] == 1 and view["days"][1] == {
        "date": "2026-03-02",
        "visits": 0,
        "new_followers": 0,
        "unfollowed_1d": 0,
        "unfollowed_7d": 0,
        "unfollowed_30d": 0,
    }


def test_a_day_matures_only_once_its_whole_window_has_ended_before_today():
    result = funnel([], {"a"}, "2026-03-01", "2026-03-01", today="2026-03-02")
    assert not result.matured("2026-03-01", 1)  # the follower of 03-01 23:59 is not a day in yet
    assert funnel([], {"a"}, "2026-03-01", "2026-03-01", today="2026-03-03").matured("2026-03-01", 1)


def test_a_set_of_channels_counts_their_current_generations_only():
    current = _channel("poster", generation=1)
    rows = [
        _row("poster", "2026-03-01", visits=9, new_followers=9),  # the retired first channel's
        _row(f"poster{GENERATION_MARK}1", "2026-03-01", visits=2, new_followers=1),
        _row("booth", "2026-03-01", visits=3, new_followers=1),
    ]
    result = rollup(rows, [current, _channel("booth")], "2026-03-01", "2026-03-01", today="2026-03-02")
    assert (result.visits, result.new_followers) == (5, 2)


def _channel(scene: str, generation: int = 0) -> Channel:
    return examples.channel(scene, app=APP, name=scene, generation=generation)
