"""The QR-code and channel admin API through the real QrCodeFunction handler, moto and the WeChat sandbox."""

from __future__ import annotations

import base64
import calendar
import time
from typing import Any
from urllib.parse import quote

import pytest

from wxfunnel.domain.stats import day_of
from wxfunnel.store import channels
from wxfunnel_tools.devapps import DEV_APPS
from wxfunnel_tools.pushes import message
from wxfunnel_tools.template import load_handler
from wxfunnel_tools.testing import admin_call, cold_start, lambda_context, table_items

BEIJING = "Asia/Shanghai"  # the dev apps name no time zone: the default
OA = "demo-oa"
OA_APPID = DEV_APPS[OA]["appid"]
OA_GH = DEV_APPS[OA]["original_id"]
SPRING = {"name": "Spring poster", "welcome_message": "Welcome, spring!", "tag": "spring"}


def content_type_of(response: dict[str, Any]) -> str:
    headers = response.get("multiValueHeaders") or {}
    return str((headers.get("Content-Type") or [""])[0])


class Api:
    """Calls QrCodeFunction as API Gateway would, with a SigV4-authenticated caller."""

    def __init__(self) -> None:
        self.handler = load_handler("QrCodeFunction")

    def call(
        self,
        method: str,
        resource: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        query: dict[str, str] | None = None,
        body: Any = None,
    ) -> tuple[int, Any, dict[str, Any]]:
        return admin_call(
            self.handler, "QrCodeFunction", method, resource, path, body=body, params=params, query=query
        )

    def create(self, **fields: Any) -> tuple[int, Any]:
        status, data, _ = self.call(
            "POST", "/qrcodes", "/qrcodes", body={"app": OA, "channel": SPRING, **fields}
        )
        return status, data

    def record(self, scene: str, app: str = OA) -> tuple[int, Any]:
        encoded = quote(scene, safe="")
        status, data, _ = self.call(
            "GET",
            "/qrcodes/{app}/{scene}",
            f"/qrcodes/{app}/{encoded}",
            params={"app": app, "scene": encoded},
        )
        return status, data

    def image(self, scene: str) -> tuple[int, Any, dict[str, Any]]:
        encoded = quote(scene, safe="")
        return self.call(
            "GET",
            "/qrcodes/{app}/{scene}/image",
            f"/qrcodes/{OA}/{encoded}/image",
            params={"app": OA, "scene": encoded},
        )

    def list(self, **query: str) -> tuple[int, Any]:
        status, data, _ = self.call("GET", "/qrcodes", "/qrcodes", query=query)
        return status, data

    def channel_stats(self, scene: str, **query: str) -> tuple[int, Any]:
        encoded = quote(scene, safe="")
        status, data, _ = self.call(
            "GET",
            "/channels/{app}/{scene}/stats",
            f"/channels/{OA}/{encoded}/stats",
            params={"app": OA, "scene": encoded},
            query=query or None,
        )
        return status, data

    def app_stats(self, app: str = OA, **query: str) -> tuple[int, Any]:
        status, data, _ = self.call(
            "GET", "/channels/{app}/stats", f"/channels/{app}/stats", params={"app": app}, query=query or None
        )
        return status, data


@pytest.fixture
def api(aws: Any, wechat: Any) -> Api:
    return Api()


def quota_used(aws: Any) -> int:
    return channels.permanent_count(OA)


# --- POST /qrcodes -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("scene", "permanent", "action"),
    [
        (123, False, "QR_SCENE"),
        ("spring", False, "QR_STR_SCENE"),
        (7, True, "QR_LIMIT_SCENE"),
        ("vip", True, "QR_LIMIT_STR_SCENE"),
    ],
)
def test_a_code_is_created_with_the_right_action_and_its_channel_is_stored(
    api: Api, wechat: Any, scene: int | str, permanent: bool, action: str
) -> None:
    before = int(time.time())
    status, record = api.create(scene=scene, permanent=permanent)
    assert status == 201
    [qr] = wechat.qr_codes(OA_APPID)
    assert (qr.action_name, qr.scene, qr.permanent) == (action, scene, permanent)
    [call] = wechat.calls("qrcode/create")
    assert ("expire_seconds" in call.payload) is not permanent
    assert record["scene"] == str(scene)
    assert record["scene_type"] == ("int" if isinstance(scene, int) else "str")
    assert (record["permanent"], record["kind"], record["status"], record["reused"]) == (
        permanent,
        "channel",
        "active",
        False,
    )
    assert (record["ticket"], record["url"]) == (qr.ticket, qr.url)
    assert wechat.qr_for_url(record["image_url"]) == qr
    assert record["channel"] == {
        **SPRING,
        "referrer": None,
        "notes": None,
        "promoter": None,
        "team": None,
        "campaign": None,
    }
    if permanent:
        assert (record["expire_seconds"], record["expires_at"]) == (None, None)
    else:
        assert record["expire_seconds"] == 604_800 == call.payload["expire_seconds"]
        expires = calendar.timegm(time.strptime(record["expires_at"], "%Y-%m-%dT%H:%M:%SZ"))
        assert before + 604_800 <= expires <= time.time() + 604_800
    assert api.record(str(scene)) == (200, {k: v for k, v in record.items() if k != "reused"})


def test_a_repeated_temporary_request_returns_the_live_code_and_updates_its_channel(
    api: Api, wechat: Any
) -> None:
    _, first = api.create(scene="spring", expire_seconds=86_400)
    status, again = api.create(scene="spring", expire_seconds=86_400, channel={"name": "Spring poster v2"})
    assert status == 200
    assert again["reused"] is True
    assert (again["ticket"], again["expires_at"]) == (first["ticket"], first["expires_at"])
    assert again["channel"]["name"] == "Spring poster v2"
    assert api.record("spring")[1]["channel"]["name"] == "Spring poster v2"
    assert wechat.count("qrcode/create") == 1


def test_a_temporary_code_with_too_little_life_left_is_replaced(
    api: Api, wechat: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("QR_REUSE_MIN_REMAINING_SHARE", "1.0")  # no code ever has more than all its life left
    cold_start()
    _, first = api.create(scene="spring")
    status, second = api.create(scene="spring")
    assert (status, second["reused"]) == (201, False)
    assert second["ticket"] != first["ticket"]
    assert second["created_at"] == first["created_at"]  # the channel lives on; its code is new
    assert wechat.count("qrcode/create") == 2


def test_reposting_a_permanent_scene_updates_its_metadata_without_a_new_code(
    api: Api, wechat: Any, aws: Any
) -> None:
    _, first = api.create(scene=42, permanent=True)
    referrer = {"name": "Alice", "openid": "o-alice"}
    status, again = api.create(
        scene=42, permanent=True, channel={"name": "Alice's code", "referrer": referrer}
    )
    assert (status, again["reused"], again["ticket"]) == (200, True, first["ticket"])
    assert again["channel"]["referrer"] == referrer
    assert again["updated_at"] >= first["updated_at"]
    assert wechat.count("qrcode/create") == 1
    assert quota_used(aws) == 1


def test_permanent_codes_stop_at_the_cap_with_a_409(
    api: Api, wechat: Any, aws: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PERMANENT_QR_CAP", "2")
    cold_start()
    assert api.create(scene=1, permanent=True)[0] == 201
    assert api.create(scene="two", permanent=True)[0] == 201
    status, error = api.create(scene=3, permanent=True)
    assert status == 409
    assert error["error"]["code"] == "conflict"
    assert error["error"]["field"] == "permanent"
    assert "all 2 permanent QR codes" in error["error"]["message"]
    assert wechat.count("qrcode/create") == 2
    assert api.record("3")[0] == 404
    assert quota_used(aws) == 2
    assert api.create(scene=1, permanent=True)[0] == 200  # an existing permanent scene still updates
    assert api.create(scene=3)[0] == 201  # temporary codes do not count


def test_a_refused_permanent_code_gives_its_reservation_back(api: Api, wechat: Any, aws: Any) -> None:
    wechat.fail_next("qrcode/create", errcode=40164)
    status, error = api.create(scene=5, permanent=True)
    assert status == 502
    assert error["error"]["code"] == "wechat_error"
    assert error["error"]["errcode"] == 40164
    assert "IP白名单" in error["error"]["message"]
    assert quota_used(aws) == 0
    assert api.record("5")[0] == 404
    assert api.create(scene=5, permanent=True)[0] == 201
    assert quota_used(aws) == 1


def test_wechat_being_down_is_a_502_that_says_retry(api: Api, wechat: Any) -> None:
    wechat.fail_next("qrcode/create", status=503, times=10)
    status, error = api.create(scene="spring")
    assert status == 502
    assert error["error"]["retryable"] is True
    assert "try again" in error["error"]["message"]


def test_a_temporary_code_is_upgraded_to_a_permanent_one_but_never_the_reverse(api: Api, aws: Any) -> None:
    _, temporary = api.create(scene="vip")
    status, permanent = api.create(scene="vip", permanent=True)
    assert (status, permanent["permanent"], permanent["expires_at"]) == (201, True, None)
    assert permanent["ticket"] != temporary["ticket"]
    assert quota_used(aws) == 1
    status, error = api.create(scene="vip")
    assert status == 409
    assert error["error"]["field"] == "scene"
    assert "already has a permanent code" in error["error"]["message"]


def test_a_card_scene_is_not_taken_over_by_an_operator_channel(api: Api, aws: Any) -> None:
    from dataclasses import replace

    api.create(scene="live.live_id=10")
    card = channels.get(OA, "live.live_id=10")
    assert card is not None
    channels.put(replace(card, kind="card"))
    status, error = api.create(scene="live.live_id=10")
    assert (status, error["error"]["field"]) == (409, "scene")


@pytest.mark.parametrize(
    ("scene", "permanent", "extra", "status"),
    [
        (0, True, {}, 422),
        (1, True, {}, 201),
        (100_000, True, {}, 201),
        (100_001, True, {}, 422),
        (2**32, True, {}, 422),
        (0, False, {}, 422),
        (1, False, {}, 201),
        (100_000, False, {}, 201),
        (100_001, False, {}, 201),
        (2**32, False, {}, 422),
        ("", False, {}, 422),
        ("s", False, {}, 201),
        ("s" * 64, True, {}, 201),
        ("s" * 65, False, {}, 422),
        (True, False, {}, 422),
        ("e", False, {"expire_seconds": 0}, 422),
        ("e", False, {"expire_seconds": 1}, 201),
        ("e", False, {"expire_seconds": 2_592_000}, 201),
        ("e", False, {"expire_seconds": 2_592_001}, 422),
    ],
)
def test_every_boundary_through_the_handler(
    api: Api, wechat: Any, scene: Any, permanent: bool, extra: dict[str, Any], status: int
) -> None:
    got, data = api.create(scene=scene, permanent=permanent, **extra)
    assert got == status, data
    if status == 422:
        assert data["error"]["code"] == "validation_error"
        assert data["error"]["field"] in {"scene", "expire_seconds"}
        assert wechat.count("qrcode/create") == 0
    else:
        [call] = wechat.calls("qrcode/create")
        assert call.payload.get("expire_seconds") == (
            None if permanent else extra.get("expire_seconds", 604_800)
        )


def test_an_unknown_app_and_a_mini_program_are_refused_by_field(api: Api, wechat: Any) -> None:
    status, error = api.create(app="nobody", scene=1)
    assert (status, error["error"]["field"]) == (422, "app")
    assert "no app named 'nobody'" in error["error"]["message"]
    status, error = api.create(app="demo-mp", scene=1)
    assert (status, error["error"]["field"]) == (422, "app")
    assert "mini_program" in error["error"]["message"]
    assert wechat.count("qrcode/create") == 0


@pytest.mark.parametrize(
    ("raw", "message"), [("{", "not valid JSON"), ("[1]", "JSON object"), ("", "JSON object")]
)
def test_an_unreadable_body_is_a_400(api: Api, raw: str, message: str) -> None:
    status, error, _ = api.call("POST", "/qrcodes", "/qrcodes", body=raw)
    assert status == 400
    assert error["error"]["code"] == "bad_request"
    assert message in error["error"]["message"]


# --- GET /qrcodes, /qrcodes/{app}/{scene} ---------------------------------------------------------------------


def test_a_scene_with_reserved_characters_round_trips_through_the_path(api: Api) -> None:
    scene = "live/10 a+b=c&d%"
    assert api.create(scene=scene)[0] == 201
    status, record = api.record(scene)
    assert (status, record["scene"]) == (200, scene)


def test_an_unknown_scene_or_app_is_a_404(api: Api) -> None:
    status, error = api.record("nothing")
    assert (status, error["error"]["code"]) == (404, "not_found")
    status, error = api.record("x", app="nobody")
    assert (status, error["error"]["field"]) == (404, "app")


def test_the_list_pages_through_every_channel_in_scene_order(api: Api) -> None:
    scenes = ["a", "b", "c", "d", "e"]
    for scene in scenes:
        api.create(scene=scene)
    seen: list[str] = []
    query = {"app": OA, "limit": "2"}
    pages = 0
    while True:
        status, page = api.list(**query)
        assert status == 200
        assert len(page["items"]) <= 2
        seen.extend(item["scene"] for item in page["items"])
        pages += 1
        if page["next_token"] is None:
            break
        query["next_token"] = page["next_token"]
    assert seen == scenes
    assert pages in (3, 4)  # DynamoDB may end on a full page and say so on the next one


@pytest.mark.parametrize(
    ("query", "status", "field"),
    [
        ({}, 422, "app"),
        ({"app": OA, "limit": "0"}, 422, "limit"),
        ({"app": OA, "limit": "101"}, 422, "limit"),
        ({"app": OA, "limit": "ten"}, 422, "limit"),
        ({"app": OA, "next_token": "not-a-token"}, 422, "next_token"),
        ({"app": "nobody"}, 404, "app"),
    ],
)
def test_the_list_refuses_bad_parameters(api: Api, query: dict[str, str], status: int, field: str) -> None:
    got, error = api.list(**query)
    assert (got, error["error"]["field"]) == (status, field)


# --- GET /qrcodes/{app}/{scene}/image ------------------------------------------------------------------------


def test_the_image_is_served_as_binary_through_api_gateway(api: Api, wechat: Any) -> None:
    api.create(scene="spring")
    status, content, response = api.image("spring")
    assert status == 200
    assert response["isBase64Encoded"] is True
    assert content_type_of(response) == "image/png"  # the sandbox draws PNGs; WeChat sends JPEGs
    assert base64.b64decode(response["body"]) == content
    assert content.startswith(b"\x89PNG")
    [call] = wechat.calls("showqrcode")
    assert call.status == 200


def test_an_expired_code_is_gone_without_asking_wechat(api: Api, wechat: Any, aws: Any) -> None:
    from dataclasses import replace

    api.create(scene="spring", expire_seconds=60)
    channel = channels.get(OA, "spring")
    assert channel is not None and channel.expires_at is not None
    channels.put(replace(channel, expires_at=int(time.time()) - 1))
    status, error, _ = api.image("spring")
    assert (status, error["error"]["code"]) == (410, "gone")
    assert "expired at" in error["error"]["message"]
    assert wechat.count("showqrcode") == 0
    assert api.record("spring")[1]["status"] == "expired"


def test_a_ticket_wechat_no_longer_knows_is_gone(api: Api, wechat: Any) -> None:
    api.create(scene="spring", expire_seconds=60)
    wechat.advance(61)
    status, error, _ = api.image("spring")
    assert (status, error["error"]["code"]) == (410, "gone")
    assert "no longer knows" in error["error"]["message"]


def test_the_image_of_an_unknown_scene_is_a_404(api: Api) -> None:
    assert api.image("nothing")[0] == 404


# --- statistics after pushes through the callback ------------------------------------------------------------


def subscribe(openid: str, at: int, scene: str | None = None) -> dict[str, Any]:
    fields: dict[str, Any] = {"Event": "subscribe"}
    if scene is not None:
        fields.update(EventKey=f"qrscene_{scene}", Ticket="T")
    return message("event", openid=openid, to_user=OA_GH, create_time=at, **fields)


def scan(openid: str, at: int, scene: str) -> dict[str, Any]:
    return message(
        "event", openid=openid, to_user=OA_GH, create_time=at, Event="SCAN", EventKey=scene, Ticket="T"
    )


def unsubscribe(openid: str, at: int) -> dict[str, Any]:
    return message("event", openid=openid, to_user=OA_GH, create_time=at, Event="unsubscribe")


def test_statistics_follow_a_scripted_sequence_of_pushes(api: Api, callback: Any, aws: Any) -> None:
    assert api.create(scene="spring")[0] == 201
    referrer = {"name": "Alice", "openid": "o-alice"}
    assert api.create(scene="ref-alice", channel={"name": "Alice refers", "referrer": referrer})[0] == 201
    assert api.create(scene="ref-bob", channel={"name": "Bob refers", "referrer": {"name": "Bob"}})[0] == 201
    start = int(time.time()) - 60
    script = [
        subscribe("o-ann", start + 1, "spring"),  # new follower
        subscribe("o-ben", start + 2, "spring"),  # new follower
        subscribe("o-ben", start + 2, "spring"),  # WeChat's retry of the same push: counted once
        scan("o-ann", start + 3, "spring"),  # an existing follower scans
        unsubscribe("o-ben", start + 4),  # counted against spring, where ben came from
        subscribe("o-ben", start + 5, "spring"),  # returning follower
        subscribe("o-cat", start + 6, "ref-alice"),  # new follower through a referral: a referral for Alice
        subscribe("o-alice", start + 7, "ref-alice"),  # the referrer herself: a follower, not a referral
        subscribe("o-dan", start + 8),  # a plain follow, no scene
    ]
    for push in script:
        assert callback.push(OA, push).status == 200
    days = sorted({day_of(start + 1, BEIJING), day_of(start + 8, BEIJING)})
    query = {"from": days[0], "to": days[-1]}

    status, spring = api.channel_stats("spring", **query)
    assert status == 200
    expected = {
        "new_followers": 2,
        "returning_followers": 1,
        "scans": 1,
        "unfollows": 1,
        "net": 2,
        "referrals": 0,
    }
    assert spring["totals"] == expected
    assert [day["date"] for day in spring["days"]] == days
    assert sum(day["new_followers"] for day in spring["days"]) == 2
    assert (spring["app"], spring["scene"], spring["from"], spring["to"]) == (OA, "spring", days[0], days[-1])

    status, overall = api.app_stats(**query)
    assert status == 200
    assert overall["totals"] == {
        "new_followers": 5,
        "returning_followers": 1,
        "scans": 1,
        "unfollows": 1,
        "net": 5,
        "referrals": 1,
    }
    by_scene = {entry["scene"]: entry for entry in overall["channels"]}
    assert by_scene["spring"]["name"] == "Spring poster"
    assert by_scene["spring"]["totals"] == expected
    assert by_scene["ref-alice"]["totals"]["new_followers"] == 2
    assert by_scene["(direct)"] == {
        "scene": "(direct)",
        "name": None,
        "totals": {**dict.fromkeys(expected, 0), "new_followers": 1, "net": 1},
    }
    assert overall["referrers"] == [
        {"name": "Alice", "openid": "o-alice", "scene": "ref-alice", "referrals": 1},
        {"name": "Bob", "openid": None, "scene": "ref-bob", "referrals": 0},
    ]
    shards = {
        item["pk"]["S"] for item in table_items(aws, "CHANNELS_TABLE") if item["pk"]["S"].startswith("stats#")
    }
    assert len(shards) > 1  # different followers' counts land on different items


def test_a_follow_at_one_in_the_morning_in_beijing_counts_on_that_beijing_day(
    api: Api, callback: Any, aws: Any
) -> None:
    """Days are the account's local days (time_zone, default Asia/Shanghai), not UTC days starting at 08:00."""
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo

    beijing = ZoneInfo(BEIJING)
    one_am = datetime.now(beijing).replace(hour=1, minute=0, second=0, microsecond=0)
    if one_am.timestamp() > time.time():
        one_am -= timedelta(days=1)
    at = int(one_am.timestamp())
    assert api.create(scene="night")[0] == 201
    assert callback.push(OA, subscribe("o-night", at, "night")).status == 200
    local_day, utc_day = one_am.date().isoformat(), (one_am - timedelta(hours=8)).date().isoformat()
    assert local_day != utc_day  # 01:00 in Beijing is 17:00 the day before in UTC
    status, report = api.channel_stats("night", **{"from": utc_day, "to": local_day})
    assert status == 200 and report["time_zone"] == BEIJING
    assert {day["date"]: day["new_followers"] for day in report["days"]} == {utc_day: 0, local_day: 1}
    _, overall = api.app_stats(**{"from": local_day, "to": local_day})
    assert overall["totals"]["new_followers"] == 1 and overall["time_zone"] == BEIJING


def test_statistics_default_to_the_last_30_days_and_check_the_period(api: Api) -> None:
    status, empty = api.channel_stats("spring")
    assert status == 200
    assert len(empty["days"]) == 30
    assert empty["totals"]["net"] == 0
    assert empty["to"] == day_of(int(time.time()), BEIJING)
    for query, field in (
        ({"from": "2026-02-30"}, "from"),
        ({"from": "2026-01-02", "to": "2026-01-01"}, "from"),
        ({"from": "2024-01-01", "to": "2026-01-01"}, "from"),
        ({"to": "yesterday"}, "to"),
    ):
        status, error = api.channel_stats("spring", **query)
        assert (status, error["error"]["field"]) == (422, field)
    assert api.app_stats(app="nobody")[0] == 404


def test_the_sample_events_reach_their_routes(api: Api) -> None:
    from wxfunnel_tools.admin_events import admin_events

    expected = {
        "qrcodes-create.json": 201,
        "qrcodes-list.json": 200,
        "qrcodes-get.json": 200,
        "qrcodes-image.json": 200,
        "channel-stats.json": 200,
        "app-stats.json": 200,
        "followers-export-start.json": 202,  # the channel qrcodes-create.json made
    }
    for name, event in admin_events().items():
        response = api.handler(event, lambda_context("QrCodeFunction"))
        assert response["statusCode"] == expected.pop(name), (name, response["body"])
    assert not expected
