"""Live codes meet the channel lifecycle and promoters: a retired scene given to a new channel counts its visits and
funnel apart, a disabled channel sends no welcome sequence, a batch gives channels only to promoters that exist."""

from __future__ import annotations

import time
from typing import Any

import pytest
from livecodes_admin import OA, OA_GH, Admin

from wxfunnel_tools.pushes import message


def _funnel(admin: Admin, scene: str) -> dict[str, Any]:
    status, funnel, _ = admin.call(
        "GET",
        "/channels/{app}/{scene}/funnel",
        f"/channels/{OA}/{scene}/funnel",
        params={"app": OA, "scene": scene},
    )
    assert status == 200, funnel
    return funnel


def _qr(
    admin: Admin, method: str, resource: str, path: str, body: Any = None, **params: str
) -> dict[str, Any]:
    status, record, _ = admin.call(method, resource, path, body, params=params or None, handler=admin.qrcodes)
    assert status in (200, 201), record
    return record


def _follow(callback: Any, openid: str, scene: str, at: int) -> None:
    push = message(
        "event", openid=openid, to_user=OA_GH, create_time=at, Event="subscribe", EventKey=f"qrscene_{scene}"
    )
    assert callback.push(OA, push).status == 200


def test_a_reassigned_scenes_live_code_counts_for_its_new_channel(admin: Admin, callback: Any) -> None:
    admin.channel("poster")
    code = admin.live("poster")["code"]
    admin.visit(code)
    _follow(callback, "o-first", "poster", int(time.time()))
    assert (_funnel(admin, "poster")["visits"], _funnel(admin, "poster")["new_followers"]) == (1, 1)

    admin.reassign("poster", "Summer")

    page = admin.visit(code)  # the live code's snapshot followed the scene to its new channel
    assert page["statusCode"] == 200
    _follow(callback, "o-second", "poster", int(time.time()) + 1)
    funnel = _funnel(admin, "poster")
    assert (funnel["visits"], funnel["new_followers"]) == (
        1,
        1,
    )  # the new channel's only, not the retired one's


def _listed(admin: Admin, scene: str) -> dict[str, bool]:
    """GET /followers of a scene's channel, all pages: openid → brought."""
    rows: dict[str, bool] = {}
    query = {"app": OA, "scene": scene, "limit": "1"}
    while True:
        status, page, _ = admin.call("GET", "/followers", "/followers", query=query, handler=admin.qrcodes)
        assert status == 200, page
        rows.update({row["openid"]: row["brought"] for row in page["items"]})
        if page["next_token"] is None:
            return rows
        query = {**query, "next_token": page["next_token"]}


def _scan(callback: Any, openid: str, scene: str, at: int) -> None:
    push = message("event", openid=openid, to_user=OA_GH, create_time=at, Event="SCAN", EventKey=scene)
    assert callback.push(OA, push).status == 200


def test_a_reassigned_scenes_followers_list_holds_only_its_new_channels_people(
    admin: Admin, callback: Any
) -> None:
    admin.channel("flyer")
    start = int(time.time())
    _follow(callback, "o-old", "flyer", start - 100)
    _follow(callback, "o-old-returns", "flyer", start - 90)
    assert _listed(admin, "flyer") == {"o-old": True, "o-old-returns": True}

    admin.reassign("flyer", "Autumn")
    assert _listed(admin, "flyer") == {}  # the retired channel's people are not the new channel's

    _follow(callback, "o-new", "flyer", start + 5)
    _scan(
        callback, "o-old-returns", "flyer", start + 6
    )  # came through the new channel too, brought by the old one
    assert _listed(admin, "flyer") == {"o-new": True, "o-old-returns": False}


def test_a_list_answer_reads_a_bounded_number_of_index_pages_and_says_where_to_go_on(
    admin: Admin, callback: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A reassigned scene's index pages may hold only past people: an answer stops after LIST_INDEX_PAGES_MAX of
    them, empty, with a next_token, instead of reading on past the function's time."""
    from wxfunnel.entry.admin import followers
    from wxfunnel.store.followers import shard_of

    admin.channel("banner")
    now = int(time.time())
    past = next(f"o-past-{n}" for n in range(1000) if shard_of(f"o-past-{n}") == 0)  # read first
    _follow(callback, past, "banner", now - 100)
    admin.reassign("banner", "Spring")
    _follow(callback, "o-new", "banner", now + 5)
    monkeypatch.setattr(followers, "LIST_INDEX_PAGES_MAX", 1)

    query = {"app": OA, "scene": "banner", "limit": "1"}
    status, first, _ = admin.call("GET", "/followers", "/followers", query=query, handler=admin.qrcodes)
    assert status == 200 and first["items"] == [] and first["next_token"], first
    assert _listed(admin, "banner") == {"o-new": True}


def test_an_old_push_delivered_late_does_not_take_someone_off_a_reassigned_scenes_list(
    admin: Admin, callback: Any
) -> None:
    admin.channel("leaflet")
    admin.reassign("leaflet", "Winter")
    now = int(time.time())
    _scan(callback, "o-late", "leaflet", now + 5)
    _follow(callback, "o-late", "leaflet", now - 500)  # WeChat's retry of a push from before the reassignment
    assert _listed(admin, "leaflet") == {"o-late": False}


def test_a_disabled_channel_sends_no_welcome_sequence(admin: Admin, callback: Any, aws: Any) -> None:
    admin.channel("booth", welcome_message="Hi")
    status, _, _ = admin.call(
        "PUT",
        "/channels/{app}/{scene}/welcome",
        f"/channels/{OA}/booth/welcome",
        {
            "messages": [
                {"type": "text", "content": "Hi"},
                {"type": "image", "image_url": "https://x.example/a.png"},
            ]
        },
        params={"app": OA, "scene": "booth"},
    )
    assert status == 200
    _qr(
        admin,
        "PATCH",
        "/qrcodes/{app}/{scene}",
        f"/qrcodes/{OA}/booth",
        {"state": "disabled"},
        app=OA,
        scene="booth",
    )
    before = int(
        aws.sqs.get_queue_attributes(
            QueueUrl=aws.env["OUTBOX_QUEUE_URL"], AttributeNames=["ApproximateNumberOfMessages"]
        )["Attributes"]["ApproximateNumberOfMessages"]
    )
    _follow(callback, "o-booth", "booth", int(time.time()))
    after = int(
        aws.sqs.get_queue_attributes(
            QueueUrl=aws.env["OUTBOX_QUEUE_URL"], AttributeNames=["ApproximateNumberOfMessages"]
        )["Attributes"]["ApproximateNumberOfMessages"]
    )
    assert after == before  # no image job, no tag job: a disabled channel greets like no channel
    assert _funnel(admin, "booth")["new_followers"] == 1  # still attributed and counted


def test_a_batch_gives_channels_only_to_promoters_that_exist(admin: Admin) -> None:
    status, promoter, _ = admin.call(
        "POST",
        "/promoters",
        "/promoters",
        {"app": OA, "id": "wang", "name": "王小明", "team": "east"},
        handler=admin.qrcodes,
    )
    assert status == 201, promoter
    rows = "name,scene,promoter\nStore 1,store-1,wang\nStore 2,store-2,nobody\n"
    status, batch, _ = admin.call(
        "POST", "/batches", "/batches", rows, query={"app": OA}, content_type="text/csv"
    )
    assert status in (200, 207, 422), batch
    by_scene = {row.get("scene"): row for row in batch["rows"]}
    assert by_scene["store-1"]["status"] == "created", by_scene
    assert by_scene["store-2"]["status"] == "error", by_scene
    assert "nobody" in str(by_scene["store-2"]), by_scene
    record = _qr(admin, "GET", "/qrcodes/{app}/{scene}", f"/qrcodes/{OA}/store-1", app=OA, scene="store-1")
    assert record["channel"]["promoter"] == "wang"
    assert (
        record["channel"]["referrer"]["name"] == "王小明"
    )  # the promoter's name tells friends who recommended


def test_a_promoters_funnel_adds_up_the_channels_given_to_them(admin: Admin, callback: Any) -> None:
    status, _, _ = admin.call(
        "POST", "/promoters", "/promoters", {"app": OA, "id": "li", "name": "李雷"}, handler=admin.qrcodes
    )
    assert status == 201
    admin.channel("li-poster", promoter="li")
    admin.channel("li-booth", promoter="li")
    admin.channel("other")
    codes = {scene: admin.live(scene)["code"] for scene in ("li-poster", "li-booth", "other")}
    for scene in ("li-poster", "li-poster", "li-booth", "other"):
        admin.visit(codes[scene])
    now = int(time.time())
    for index, (openid, scene) in enumerate((("o-1", "li-poster"), ("o-2", "li-booth"), ("o-3", "other"))):
        _follow(callback, openid, scene, now + index)

    status, report, _ = admin.call(
        "GET",
        "/promoters/{app}/{promoter}/funnel",
        f"/promoters/{OA}/li/funnel",
        params={"app": OA, "promoter": "li"},
        handler=admin.qrcodes,
    )
    assert status == 200, report
    assert (report["visits"], report["new_followers"], report["conversion"]) == (3, 2, round(2 / 3, 4))
    assert report["promoter"]["id"] == "li"
    assert [(c["scene"], c["visits"], c["new_followers"]) for c in report["channels"]] == [
        ("li-poster", 2, 1),
        ("li-booth", 1, 1),
    ]
    assert report["totals"]["new_followers"] == 2

    status, missing, _ = admin.call(
        "GET",
        "/promoters/{app}/{promoter}/funnel",
        f"/promoters/{OA}/nobody/funnel",
        params={"app": OA, "promoter": "nobody"},
        handler=admin.qrcodes,
    )
    assert status == 404 and missing["error"]["field"] == "id"
