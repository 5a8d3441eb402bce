"""Retention through the real CallbackFunction: an unfollow moves the retention counters of the day its follow was
counted on, in the unfollow's own transaction (2 DynamoDB requests, as every follow, scan and unfollow)."""

from __future__ import annotations

import time
from datetime import date, datetime, timedelta
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from wxfunnel.domain import funnel, stats
from wxfunnel.store import counters
from wxfunnel_tools.devapps import DEV_APPS
from wxfunnel_tools.pushes import message
from wxfunnel_tools.testing import table_items

OA = "demo-oa"
OA_GH = DEV_APPS[OA]["original_id"]
BEIJING = "Asia/Shanghai"
DAY = 86_400


class Clock:
    """The callback's clock (its replay window and CreateTime check) moved to `at`, and pushes signed then."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, callback: Any) -> None:
        self.monkeypatch, self.callback = monkeypatch, callback

    def push(self, at: int, openid: str, event: str, scene: str | None = None) -> None:
        import wxfunnel.entry.intake as intake

        self.monkeypatch.setattr(intake, "time", SimpleNamespace(time=lambda: float(at)))
        fields: dict[str, Any] = {"Event": event}
        if scene is not None:
            fields["EventKey"] = f"qrscene_{scene}" if event == "subscribe" else scene
            fields["Ticket"] = "T"
        push = message("event", openid=openid, to_user=OA_GH, create_time=at, **fields)
        assert self.callback.push(OA, push, timestamp=at).status == 200


def _counter(aws: Any, scene: str, day: str) -> dict[str, int]:
    totals: dict[str, int] = {}
    for item in table_items(aws, "CHANNELS_TABLE"):
        if item["pk"]["S"].startswith("stats#") and item["sk"]["S"] == f"{scene}#{day}":
            for name in stats.COUNTERS:
                if name in item:
                    totals[name] = totals.get(name, 0) + int(item[name]["N"])
    return totals


def test_unfollows_2_and_10_days_after_a_follow_move_the_follow_days_retention(
    aws: Any, callback: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = Clock(monkeypatch, callback)
    now = int(time.time())
    followed = now - 12 * DAY
    for openid in ("o-ann", "o-ben", "o-cat"):
        clock.push(followed, openid, "subscribe", "poster")
    follow_day = stats.day_of(followed, BEIJING)
    assert _counter(aws, "poster", follow_day) == {"new_followers": 3}

    clock.push(followed + 2 * DAY, "o-ann", "unsubscribe")
    assert _counter(aws, "poster", follow_day) == {
        "new_followers": 3,
        "unfollowed_7d": 1,
        "unfollowed_30d": 1,
    }
    # the unfollow itself counts on its own day, as before
    assert _counter(aws, "poster", stats.day_of(followed + 2 * DAY, BEIJING)) == {"unfollows": 1}

    clock.push(followed + 10 * DAY, "o-ben", "unsubscribe")
    clock.push(followed + 10 * DAY, "o-ben", "unsubscribe")  # WeChat's retry: counted once
    assert _counter(aws, "poster", follow_day) == {
        "new_followers": 3,
        "unfollowed_7d": 1,
        "unfollowed_30d": 2,
    }

    today = stats.day_of(now, BEIJING)
    rows = counters.scene_rows(OA, "poster", follow_day, today)
    report = funnel.funnel(rows, {"poster"}, follow_day, today, today)
    by_window = {entry["days"]: entry for entry in report.as_dict()["retention"]}
    assert (by_window[1]["cohort"], by_window[1]["retained"]) == (3, 3)
    assert (by_window[7]["cohort"], by_window[7]["retained"], by_window[7]["rate"]) == (3, 2, round(2 / 3, 4))
    # 30 days have not passed since the follow: no rate yet, the three are pending
    assert (by_window[30]["cohort"], by_window[30]["pending"], by_window[30]["rate"]) == (0, 3, None)


def test_a_same_day_unfollow_moves_one_counter_item(
    aws: Any, callback: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Follow and unfollow on one day: the retention counters join the unfollow's own counter update (a
    transaction may not write one item twice)."""
    clock = Clock(monkeypatch, callback)
    midnight = datetime.combine(date.today() - timedelta(days=2), datetime.min.time(), ZoneInfo(BEIJING))
    at = (
        int(midnight.timestamp()) + 12 * 3600
    )  # noon in Beijing: the unfollow a minute later is on the same day
    clock.push(at, "o-dan", "subscribe", "poster")
    clock.push(at + 60, "o-dan", "unsubscribe")
    assert _counter(aws, "poster", stats.day_of(at, BEIJING)) == {
        "new_followers": 1,
        "unfollows": 1,
        "unfollowed_1d": 1,
        "unfollowed_7d": 1,
        "unfollowed_30d": 1,
    }
    assert len([i for i in table_items(aws, "CHANNELS_TABLE") if i["pk"]["S"].startswith("stats#")]) == 1


def test_a_returning_follower_leaving_again_moves_no_retention(
    aws: Any, callback: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = Clock(monkeypatch, callback)
    at = int(time.time()) - 3 * DAY
    clock.push(at, "o-eve", "subscribe", "poster")
    clock.push(at + DAY, "o-eve", "unsubscribe")
    clock.push(at + 2 * DAY, "o-eve", "subscribe", "booth")
    clock.push(at + 2 * DAY + 60, "o-eve", "unsubscribe")
    assert _counter(aws, "poster", stats.day_of(at, BEIJING)).get("unfollowed_30d") == 1
    booth = stats.day_of(at + 2 * DAY, BEIJING)
    assert "unfollowed_30d" not in _counter(aws, "booth", booth)
