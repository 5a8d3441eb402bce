"""Reminders: the message a notification sends, its progress, and the fan-out messages on their versioned wire (a
message queued by the previous version still decodes; anything else is refused as an InvalidJob, never a crash)."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from wxfunnel.domain.jobs import InvalidJob, JobKind, Reminder
from wxfunnel.domain.reminders import (
    TOUCHES,
    WIRE_VERSION,
    Notification,
    PageMessage,
    ReminderMessage,
    SceneMessage,
    from_wire,
    to_wire,
)

MESSAGE = ReminderMessage(
    "TPL-1",
    {"thing1": "直播开始了", "time2": "20:00"},
    url="https://live.example/room?id=1&x=中",
    miniprogram={"appid": "wx0123456789abcdef", "pagepath": "pages/live/index"},
    page=None,
)


def _notification(**changes: object) -> Notification:
    base = Notification(
        id="n-1",
        request_id="r-1",
        fingerprint="f",
        app="demo-oa",
        kind=JobKind.TEMPLATE,
        touch="any",
        scenes=("spring",),
        message=MESSAGE,
        pages_total=2,
        created_at="2026-12-06T00:00:00Z",
        ttl=0,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


# --- the message ------------------------------------------------------------------------------------------------


def test_the_message_round_trips_its_wire_with_chinese_text_as_is() -> None:
    wire = MESSAGE.to_wire()
    assert "直播开始了" in wire  # not \\u escapes
    assert json.loads(wire) == {
        "template_id": "TPL-1",
        "data": {"thing1": "直播开始了", "time2": "20:00"},
        "url": "https://live.example/room?id=1&x=中",
        "miniprogram": {"appid": "wx0123456789abcdef", "pagepath": "pages/live/index"},
        "page": None,
    }
    assert ReminderMessage.from_wire(wire) == MESSAGE


def test_a_mini_program_message_without_url_or_miniprogram_round_trips() -> None:
    message = ReminderMessage("TPL-2", {"thing1": "x"}, page="pages/a?id=1")
    assert json.loads(message.to_wire())["miniprogram"] is None
    assert ReminderMessage.from_wire(message.to_wire()) == message


def test_each_follower_gets_the_message_under_the_notifications_id() -> None:
    reminder = MESSAGE.for_follower("n-7")
    assert reminder == Reminder("n-7", "TPL-1", MESSAGE.data, MESSAGE.url, MESSAGE.miniprogram, MESSAGE.page)


def test_a_malformed_message_is_an_invalid_job() -> None:
    with pytest.raises(InvalidJob):
        ReminderMessage.from_wire(json.dumps({"template_id": "T", "data": {}, "miniprogram": "x"}))


# --- progress ---------------------------------------------------------------------------------------------------


def test_a_notification_fans_out_until_every_page_reported() -> None:
    assert _notification().status == "fanning_out"  # pages not enqueued yet
    assert _notification(pages_enqueued=True, pages_done=1).status == "fanning_out"
    assert _notification(pages_enqueued=False, pages_done=2).status == "fanning_out"


def test_it_is_sending_while_some_queued_jobs_are_unsettled_then_done() -> None:
    fanned = _notification(pages_enqueued=True, pages_done=2, queued=3)
    assert fanned.status == "sending"
    assert replace(fanned, sent=1, failed=1).status == "sending"
    assert replace(fanned, sent=1, failed=1, skipped=1).status == "done"
    assert replace(fanned, sent=3).status == "done"
    assert replace(fanned, skipped=3).status == "done"  # everyone had unfollowed
    assert _notification(pages_enqueued=True, pages_done=2).status == "done"  # nobody selected


# --- fan-out messages -------------------------------------------------------------------------------------------


def test_a_scene_expands_into_first_pages_named_by_position_and_shard() -> None:
    scene = SceneMessage("n-1", "demo-oa", 3, "春节海报", "first")
    page = scene.page(7)
    assert page == PageMessage("n-1", "demo-oa", "春节海报", "first", 7, "3.7", None)
    assert page.identity == "3.7"


def test_the_next_page_keeps_the_shard_and_its_identity_follows_the_cursor() -> None:
    first = SceneMessage("n-1", "demo-oa", 0, "s", "any").page(2)
    second = first.next({"pk": {"S": "a"}, "sk": {"S": "b"}})
    assert (second.page_id, second.shard, second.scene, second.touch) == ("0.2", 2, "s", "any")
    assert second.cursor == {"pk": {"S": "a"}, "sk": {"S": "b"}}
    assert second.identity.startswith("0.2@") and len(second.identity) == len("0.2@") + 16
    # the same cursor written in another key order is the same page
    assert first.next({"sk": {"S": "b"}, "pk": {"S": "a"}}).identity == second.identity
    assert first.next({"pk": {"S": "a"}, "sk": {"S": "c"}}).identity != second.identity


@pytest.mark.parametrize("touch", TOUCHES)
def test_scene_and_page_messages_round_trip_their_wire(touch: str) -> None:
    scene = SceneMessage("n-1", "demo-oa", 4, "店铺A/二楼", touch)  # type: ignore[arg-type]
    page = scene.page(5).next({"k": [1, "二"]})
    for message in (scene, page):
        assert from_wire(to_wire(message)) == message
    body = json.loads(to_wire(scene))
    assert body == {
        "v": WIRE_VERSION,
        "notification_id": "n-1",
        "app": "demo-oa",
        "scene": "店铺A/二楼",
        "touch": touch,
        "kind": "scene",
        "position": 4,
    }
    assert json.loads(to_wire(page))["kind"] == "page"
    assert "店铺A/二楼" in to_wire(page)  # compact JSON, Chinese as is
    assert " " not in to_wire(page)


def test_a_version_1_scene_and_page_still_decode_with_their_index_as_the_touch() -> None:
    scene = {"v": 1, "kind": "scene", "notification_id": "n", "app": "a", "position": 1, "scene": "s"}
    for index, touch in (("ByTouchedScene", "any"), ("ByFirstScene", "first"), ("ByLastScene", "last")):
        assert from_wire(json.dumps({**scene, "index": index})) == SceneMessage("n", "a", 1, "s", touch)
    page = {
        "v": 1,
        "kind": "page",
        "notification_id": "n",
        "index": "ByLastScene",
        "audience_key": "demo-oa#live#id=1#x#12",  # the scene itself may hold "#"
        "page": "0.12",
        "start_key": {"k": "v"},
    }
    assert from_wire(json.dumps(page)) == PageMessage(
        "n", "demo-oa", "live#id=1#x", "last", 12, "0.12", {"k": "v"}
    )


@pytest.mark.parametrize(
    "audience_key", ["demo-oa#s#x", "demo-oa#s#", "#s#1", "demo-oa##1", "demo-oa", "demo-oa#1"]
)
def test_a_version_1_page_with_a_malformed_audience_key_is_refused(audience_key: str) -> None:
    page = {"v": 1, "kind": "page", "notification_id": "n", "index": "ByTouchedScene", "page": "0.1"}
    with pytest.raises(InvalidJob, match="audience_key"):
        from_wire(json.dumps({**page, "audience_key": audience_key}))


def test_a_version_1_message_of_an_unknown_index_is_refused() -> None:
    scene = {"v": 1, "kind": "scene", "notification_id": "n", "app": "a", "position": 1, "scene": "s"}
    with pytest.raises(InvalidJob, match="touch"):
        from_wire(json.dumps({**scene, "index": "ByNothing"}))


GOOD_PAGE = {
    "v": WIRE_VERSION,
    "kind": "page",
    "notification_id": "n",
    "app": "a",
    "scene": "s",
    "touch": "any",
    "shard": 1,
    "page": "0.1",
}


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ("not json", "not JSON"),
        ("[1, 2]", "not an object"),
        (json.dumps({**GOOD_PAGE, "v": 3}), "unknown version"),
        (json.dumps({**GOOD_PAGE, "v": None}), "unknown version"),
        (json.dumps({**GOOD_PAGE, "kind": "other"}), "kind must be scene or page"),
        (json.dumps({**GOOD_PAGE, "touch": "all"}), "touch must be"),
        (json.dumps({k: v for k, v in GOOD_PAGE.items() if k != "app"}), "app is missing"),
        (json.dumps({**GOOD_PAGE, "notification_id": 5}), "notification_id is missing"),
        (json.dumps({**GOOD_PAGE, "scene": None}), "scene is missing"),
        (json.dumps({**GOOD_PAGE, "shard": "1"}), "shard is missing"),
        (json.dumps({**GOOD_PAGE, "shard": True}), "shard is missing"),  # a bool is no number
        (json.dumps({**GOOD_PAGE, "page": 1}), "page is missing"),
        (json.dumps({**GOOD_PAGE, "kind": "scene"}), "position is missing"),
    ],
)
def test_a_malformed_fan_out_message_is_an_invalid_job_saying_why(body: str, problem: str) -> None:
    with pytest.raises(InvalidJob, match=problem):
        from_wire(body)


def test_a_well_formed_page_without_a_cursor_decodes() -> None:
    assert from_wire(json.dumps(GOOD_PAGE)) == PageMessage("n", "a", "s", "any", 1, "0.1", None)
