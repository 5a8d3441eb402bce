"""Live codes, campaigns, funnels, welcome sequences and batches through the real LiveCodeFunction handler (and the
landing page and callback they drive), on moto and the WeChat sandbox."""

from __future__ import annotations

import csv
import io
import os
import shutil
import subprocess
import time
import zipfile
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from livecodes_admin import OA, OA_GH, Admin

from wxfunnel.domain.stats import day_of
from wxfunnel_tools.devapps import DEV_APPS
from wxfunnel_tools.pushes import message
from wxfunnel_tools.template import load_handler
from wxfunnel_tools.testing import lambda_context

MP = "demo-mp"
BEIJING = "Asia/Shanghai"
BASE = "http://localhost/v1"


def zbar(png: bytes, tmp_path: Path) -> list[str]:
    """What an independent decoder (zbarimg, Debian zbar-tools) reads in a PNG."""
    if shutil.which("zbarimg") is None:
        if os.environ.get("WXFUNNEL_SKIP_QR_DECODER") == "1":
            pytest.skip("zbarimg is missing (WXFUNNEL_SKIP_QR_DECODER=1)")
        pytest.fail("zbarimg is missing: run tools/install-qr-decoder.sh (make qr-decoder)", pytrace=False)
    path = tmp_path / "code.png"
    path.write_bytes(png)
    found = subprocess.run(
        ["zbarimg", "--quiet", "--raw", "-Sdisable", "-Sqrcode.enable", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    return found.stdout.splitlines()


# --- live codes -------------------------------------------------------------------------------------------------


def test_a_live_code_points_at_a_channel_and_its_link_opens_the_page(admin: Admin, wechat: Any) -> None:
    admin.channel("store-7")
    record = admin.live("store-7", title="Store 7", text="2F, by the lift")
    code = record["code"]
    assert record["link"] == f"{BASE}/l/{OA}/{code}" and len(code) == 10
    assert (record["scene"], record["state"], record["page_title"]) == ("store-7", "active", "Store 7")
    assert record["links"]["png"] == f"/livecodes/{OA}/{code}/qr?format=png"
    status, again, _ = admin.call(
        "GET", "/livecodes/{app}/{code}", f"/livecodes/{OA}/{code}", params={"app": OA, "code": code}
    )
    assert status == 200 and again["code"] == code
    page = admin.visit(code)
    assert page["statusCode"] == 200
    assert wechat.qr_for_url(admin.image_of(page)).scene == "store-7"


def test_a_live_code_is_re_pointed_and_switched_off(admin: Admin, wechat: Any) -> None:
    admin.channel("spring")
    admin.channel("summer")
    code = admin.live("spring")["code"]
    assert wechat.qr_for_url(admin.image_of(admin.visit(code))).scene == "spring"
    status, record = admin.put_live(code, {"scene": "summer", "title": "Summer"})
    assert status == 200 and (record["scene"], record["title"]) == ("summer", "Summer")
    assert (
        wechat.qr_for_url(admin.image_of(admin.visit(code))).scene == "summer"
    )  # the same print, re-pointed
    status, record = admin.put_live(code, {"state": "disabled"})
    assert status == 200 and record["state"] == "disabled" and record["title"] == "Summer"
    assert admin.visit(code)["statusCode"] == 410
    assert admin.put_live(code, {"state": "active", "title": None})[1]["title"] is None
    assert admin.visit(code)["statusCode"] == 200


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"scene": "nowhere"}, 422, "scene"),
        ({"scene": "store-7", "code": "a/b"}, 422, "code"),
        ({"scene": "store-7", "title": "x" * 65}, 422, "title"),
        ({"scene": "store-7", "colour": "red"}, 422, "colour"),
        ({"scene": "store-7", "app": MP}, 422, "app"),
        ({"scene": "store-7", "app": "nobody"}, 422, "app"),
    ],
)
def test_a_live_code_is_refused_with_the_field_at_fault(
    admin: Admin, body: dict, status: int, field: str
) -> None:
    admin.channel("store-7")
    got, error, _ = admin.call("POST", "/livecodes", "/livecodes", {"app": OA, **body})
    assert (got, error["error"]["field"]) == (status, field), error


def test_a_chosen_code_is_the_operators_and_a_repeat_returns_it(admin: Admin) -> None:
    admin.channel("store-7")
    admin.channel("store-8")
    assert admin.live("store-7", code="Store-7")["code"] == "Store-7"
    status, again, _ = admin.call(
        "POST", "/livecodes", "/livecodes", {"app": OA, "scene": "store-7", "code": "Store-7"}
    )
    assert status == 200 and again["code"] == "Store-7"
    status, taken, _ = admin.call(
        "POST", "/livecodes", "/livecodes", {"app": OA, "scene": "store-8", "code": "Store-7"}
    )
    assert (status, taken["error"]["field"]) == (409, "code")


def test_live_codes_are_listed_by_app_and_by_channel(admin: Admin) -> None:
    admin.channel("store-7")
    admin.channel("store-8")
    first, second = admin.live("store-7")["code"], admin.live("store-7")["code"]
    third = admin.live("store-8")["code"]
    _, page, _ = admin.call("GET", "/livecodes", "/livecodes", query={"app": OA, "limit": "2"})
    assert len(page["items"]) == 2 and page["next_token"]
    _, rest, _ = admin.call(
        "GET", "/livecodes", "/livecodes", query={"app": OA, "next_token": page["next_token"]}
    )
    assert {i["code"] for i in page["items"] + rest["items"]} == {first, second, third}
    _, of_scene, _ = admin.call("GET", "/livecodes", "/livecodes", query={"app": OA, "scene": "store-7"})
    assert {i["code"] for i in of_scene["items"]} == {first, second}
    status, error, _ = admin.call(
        "GET", "/livecodes", "/livecodes", query={"app": OA, "next_token": "bm9wZQ"}
    )
    assert (status, error["error"]["field"]) == (422, "next_token")


# --- print files --------------------------------------------------------------------------------------------------


def test_the_printed_png_decodes_back_to_the_live_link(admin: Admin, tmp_path: Path) -> None:
    admin.channel("store-7")
    record = admin.live("store-7")
    code = record["code"]
    status, png, headers = admin.call(
        "GET",
        "/livecodes/{app}/{code}/qr",
        f"/livecodes/{OA}/{code}/qr",
        params={"app": OA, "code": code},
        query={"format": "png"},
    )
    assert status == 200 and headers["Content-Type"] == "image/png" and png.startswith(b"\x89PNG")
    assert headers["Content-Disposition"] == f'attachment; filename="{code}.png"'
    assert zbar(png, tmp_path) == [record["link"]]
    status, svg, headers = admin.call(
        "GET",
        "/livecodes/{app}/{code}/qr",
        f"/livecodes/{OA}/{code}/qr",
        params={"app": OA, "code": code},
        query={"format": "svg", "scale": "4"},
    )
    assert status == 200 and headers["Content-Type"] == "image/svg+xml" and b"<svg" in svg
    status, error, _ = admin.call(
        "GET",
        "/livecodes/{app}/{code}/qr",
        f"/livecodes/{OA}/{code}/qr",
        params={"app": OA, "code": code},
        query={"format": "gif"},
    )
    assert (status, error["error"]["field"]) == (422, "format")


def _blanked_centre(link: str, error: str) -> bytes:
    """The link's code at an error correction level with a square of 30 % of its width blanked in the centre."""
    import segno

    from wxfunnel.entry.admin.printfiles import QUIET_ZONE

    code = segno.make(link, error=error, micro=False, boost_error=False)
    size = len(code.matrix)
    logo = int(size * 0.3)
    start = (size - logo) // 2
    for y in range(start, start + logo):
        for x in range(start, start + logo):
            code.matrix[y][x] = 0
    png = io.BytesIO()
    code.save(png, kind="png", scale=8, border=QUIET_ZONE)
    return png.getvalue()


def test_error_correction_leaves_room_for_a_centre_logo(tmp_path: Path) -> None:
    """The print files' level H reads with a logo over 30 % of the code's width; the lowest level does not."""
    from wxfunnel.entry.admin.printfiles import code_of

    link = "https://abcdefghij.execute-api.ap-east-1.amazonaws.com/v1/l/demo-oa/ab3d5fgh7k"
    assert code_of(link).error == "H"
    assert zbar(_blanked_centre(link, "h"), tmp_path) == [link]
    assert zbar(_blanked_centre(link, "l"), tmp_path) == []


def test_a_zip_holds_each_live_codes_print_files_and_an_index(admin: Admin, tmp_path: Path) -> None:
    admin.channel("store-7")
    admin.channel("store-8")
    seven = admin.live("store-7", title="门店 7")
    eight = admin.live("store-8")
    status, archive, headers = admin.call(
        "POST", "/archives", "/archives", {"app": OA, "codes": [seven["code"], eight["code"]]}
    )
    assert status == 200 and headers["Content-Type"] == "application/zip"
    bundle = zipfile.ZipFile(io.BytesIO(archive))
    names = set(bundle.namelist())
    assert {f"{seven['code']}-门店-7.png", f"{seven['code']}-门店-7.svg", "index.csv"} <= names
    assert {f"{eight['code']}-Channel-store-8.png", f"{eight['code']}-Channel-store-8.svg"} <= names
    index = list(csv.DictReader(io.StringIO(bundle.read("index.csv").decode("utf-8-sig"))))
    assert [(row["code"], row["link"]) for row in index] == [
        (seven["code"], seven["link"]),
        (eight["code"], eight["link"]),
    ]
    assert zbar(bundle.read(f"{seven['code']}-门店-7.png"), tmp_path) == [seven["link"]]
    status, error, _ = admin.call("POST", "/archives", "/archives", {"app": OA, "codes": ["nope1234"]})
    assert (status, error["error"]["field"]) == (422, "codes[0]")


# --- campaigns ----------------------------------------------------------------------------------------------------


def _today() -> date:
    return date.fromisoformat(day_of(int(time.time()), BEIJING))


def test_a_campaign_is_created_once_and_refused_when_it_makes_no_sense(admin: Admin) -> None:
    spring = {"id": "spring", "name": "Spring", "start": "2026-03-01", "end": "2026-03-31"}
    status, record = admin.campaign(**spring)
    assert status == 201 and record["links"]["funnel"] == f"/campaigns/{OA}/spring/funnel"
    assert admin.campaign(**spring)[0] == 200  # the same again
    assert admin.campaign(**{**spring, "name": "Other"})[1]["error"]["field"] == "id"
    assert admin.campaign(**{**spring, "id": "x", "end": "2026-02-01"})[1]["error"]["field"] == "end"
    assert admin.campaign(**{**spring, "id": "x", "start": "2026-3-1"})[1]["error"]["field"] == "start"
    assert admin.campaign(**{**spring, "id": "Bad Id"})[1]["error"]["field"] == "id"
    assert (
        admin.campaign(**{**spring, "id": "y", "ended_scene": "nowhere"})[1]["error"]["field"]
        == "ended_scene"
    )
    _, listed, _ = admin.call("GET", "/campaigns", "/campaigns", query={"app": OA})
    assert [c["id"] for c in listed["items"]] == ["spring"]


def test_a_campaigns_end_changes_its_pages(admin: Admin, wechat: Any) -> None:
    today = _today()
    admin.channel("store-7")
    admin.channel("default")
    admin.campaign(
        id="spring", name="Spring", start=(today - timedelta(days=10)).isoformat(), end=today.isoformat()
    )
    code = admin.live("store-7")["code"]
    status, membership, _ = admin.call(
        "PUT",
        "/channels/{app}/{scene}/campaign",
        f"/channels/{OA}/store-7/campaign",
        {"campaign": "spring"},
        params={"app": OA, "scene": "store-7"},
    )
    assert status == 200 and membership["live_codes_refreshed"] == 1
    # the channel's record says which campaign it is in (the console's picker shows it, and saves it unchanged)
    _, record, _ = admin.call(
        "GET",
        "/qrcodes/{app}/{scene}",
        f"/qrcodes/{OA}/store-7",
        params={"app": OA, "scene": "store-7"},
        handler=admin.qrcodes,
    )
    assert record["channel"]["campaign"] == "spring"
    assert admin.visit(code)["statusCode"] == 200  # its last day: still running

    def end(**fields: Any) -> dict[str, Any]:
        status, record, _ = admin.call(
            "PUT",
            "/campaigns/{app}/{campaign}",
            f"/campaigns/{OA}/spring",
            fields,
            params={"app": OA, "campaign": "spring"},
        )
        assert status == 200, record
        return record

    assert end(end=(today - timedelta(days=1)).isoformat())["status"] == "ended"
    ended = admin.visit(code)
    assert ended["statusCode"] == 410 and "活动已结束" in ended["body"]
    end(ended_scene="default")  # after the end: the account's default follow channel
    fallback = admin.visit(code)
    assert fallback["statusCode"] == 200 and wechat.qr_for_url(admin.image_of(fallback)).scene == "default"
    end(end=(today + timedelta(days=5)).isoformat())  # extended: its pages work again
    assert wechat.qr_for_url(admin.image_of(admin.visit(code))).scene == "store-7"


def test_the_funnel_of_a_channel_and_of_its_campaign(admin: Admin, wechat: Any, callback: Any) -> None:
    today = _today()
    for scene in ("store-7", "store-8", "elsewhere"):
        admin.channel(scene)
    admin.campaign(
        id="spring", name="Spring", start=(today - timedelta(days=3)).isoformat(), end=today.isoformat()
    )
    for scene in ("store-7", "store-8"):
        admin.call(
            "PUT",
            "/channels/{app}/{scene}/campaign",
            f"/channels/{OA}/{scene}/campaign",
            {"campaign": "spring"},
            params={"app": OA, "scene": scene},
        )
    seven, eight = admin.live("store-7")["code"], admin.live("store-8")["code"]
    for code in (seven, seven, seven, eight):  # three visitors at store 7, one at store 8
        admin.visit(code)
    now = int(time.time())
    for openid, scene in (("o-a", "store-7"), ("o-b", "store-7"), ("o-c", "elsewhere")):
        push = message(
            "event",
            openid=openid,
            to_user=OA_GH,
            create_time=now,
            Event="subscribe",
            EventKey=f"qrscene_{scene}",
            Ticket="T",
        )
        assert callback.push(OA, push).status == 200

    status, channel, _ = admin.call(
        "GET",
        "/channels/{app}/{scene}/funnel",
        f"/channels/{OA}/store-7/funnel",
        params={"app": OA, "scene": "store-7"},
    )
    assert status == 200
    assert (channel["visits"], channel["new_followers"], channel["conversion"]) == (3, 2, round(2 / 3, 4))
    assert [r["days"] for r in channel["retention"]] == [1, 7, 30]
    assert channel["retention"][0]["pending"] == 2  # today's followers have not had a day yet

    status, campaign, _ = admin.call(
        "GET",
        "/campaigns/{app}/{campaign}/funnel",
        f"/campaigns/{OA}/spring/funnel",
        params={"app": OA, "campaign": "spring"},
    )
    assert status == 200
    assert (campaign["visits"], campaign["new_followers"], campaign["conversion"]) == (4, 2, 0.5)
    assert campaign["totals"]["new_followers"] == 2  # the follower through "elsewhere" is not the campaign's
    assert (campaign["from"], campaign["to"]) == ((today - timedelta(days=3)).isoformat(), today.isoformat())
    assert [(c["scene"], c["visits"], c["new_followers"]) for c in campaign["channels"]] == [
        ("store-7", 3, 2),
        ("store-8", 1, 0),
    ]


# --- welcome sequences --------------------------------------------------------------------------------------------

SEQUENCE = [
    {"type": "text", "content": "欢迎来到门店 7！"},
    {"type": "image", "image_url": "https://cdn.example/store7.png"},
    {
        "type": "link",
        "title": "今日菜单",
        "description": "每天更新",
        "url": "https://shop.example/menu",
        "thumb_url": "https://cdn.example/t.png",
    },
    {
        "type": "miniprogrampage",
        "title": "线上商城",
        "appid": DEV_APPS[MP]["appid"],
        "page_path": "pages/shop/index?store=7",
        "thumb_url": "https://cdn.example/t.png",
    },
]


def _welcome(admin: Admin, scene: str, messages: Any) -> tuple[int, Any]:
    status, record, _ = admin.call(
        "PUT",
        "/channels/{app}/{scene}/welcome",
        f"/channels/{OA}/{scene}/welcome",
        {"messages": messages},
        params={"app": OA, "scene": scene},
    )
    return status, record


def test_a_welcome_sequence_is_stored_and_read_back(admin: Admin) -> None:
    admin.channel("store-7", welcome_message="old welcome")
    status, record = _welcome(admin, "store-7", SEQUENCE)
    assert status == 200 and record["messages"][0] == SEQUENCE[0]
    assert [m["type"] for m in record["messages"]] == ["text", "image", "link", "miniprogrampage"]
    _, qr, _ = admin.call(
        "GET",
        "/qrcodes/{app}/{scene}",
        f"/qrcodes/{OA}/store-7",
        params={"app": OA, "scene": "store-7"},
        handler=admin.qrcodes,
    )
    assert qr["channel"]["welcome_message"] == "欢迎来到门店 7！"  # the first text stays the passive welcome
    assert _welcome(admin, "store-7", [])[1]["messages"] == []


@pytest.mark.parametrize(
    ("messages", "field"),
    [
        (
            [{"type": "text", "content": "hi"}]
            + [{"type": "image", "image_url": "https://x.example/a.png"}] * 4,
            "messages",
        ),
        ([{"type": "image", "image_url": "not a url"}], "messages[0].image_url"),
        ([{"type": "video", "media_id": "x"}], "messages[0].type"),
        ([{**SEQUENCE[3], "appid": None}], "messages[0].appid"),
        ([{"type": "text", "content": "x" * 601}], "messages[0].content"),
        ("hello", "messages"),
    ],
)
def test_a_welcome_sequence_is_refused_with_the_message_at_fault(
    admin: Admin, messages: Any, field: str
) -> None:
    admin.channel("store-7")
    status, error = _welcome(admin, "store-7", messages)
    assert (status, error["error"]["field"]) == (422, field), error


# --- batches ------------------------------------------------------------------------------------------------------


def test_a_batch_creates_channels_with_live_codes_idempotently_per_row(admin: Admin, wechat: Any) -> None:
    admin.campaign(id="spring", name="Spring", start="2026-01-01", end="2026-12-31")
    status, _, _ = admin.call(
        "POST", "/promoters", "/promoters", {"app": OA, "id": "alice", "name": "Alice"}, handler=admin.qrcodes
    )
    assert status == 201  # a batch gives channels to promoters that exist
    body = {
        "app": OA,
        "batch": "stores",
        "campaign": "spring",
        "rows": [
            {"name": "门店 1", "tag": "store", "welcome": "欢迎光临 1", "promoter": "alice"},
            {"name": "门店 2", "scene": "store-two", "title": "Store 2", "welcome_sequence": SEQUENCE[:2]},
            {"name": ""},
            {"name": "门店 4", "scene": "store-two"},
        ],
    }
    status, result, _ = admin.call("POST", "/batches", "/batches", body)
    assert status == 200
    assert result["counts"] == {"created": 2, "updated": 0, "unchanged": 0, "error": 2}
    first, second, blank, repeated = result["rows"]
    assert (first["status"], first["scene"], first["link"]) == (
        "created",
        "stores-001",
        f"{BASE}/l/{OA}/{first['code']}",
    )
    assert (second["status"], second["scene"]) == ("created", "store-two")
    assert (blank["status"], blank["error"]["field"]) == ("error", "rows[2].name")
    assert (repeated["status"], repeated["error"]["field"]) == ("error", "rows[3].scene")
    assert result["codes"] == [first["code"], second["code"]]
    assert wechat.count("qrcode/create") == 0  # codes are made by the first visits

    status, again, _ = admin.call("POST", "/batches", "/batches", body)
    assert [row["status"] for row in again["rows"]] == ["unchanged", "unchanged", "error", "error"]
    assert again["codes"] == result["codes"]  # the same live codes: nothing was created twice

    body["rows"][0]["name"] = "门店 1 (新)"
    status, changed, _ = admin.call("POST", "/batches", "/batches", body)
    assert changed["rows"][0]["status"] == "updated" and changed["rows"][0]["code"] == first["code"]

    _, qr, _ = admin.call(
        "GET",
        "/qrcodes/{app}/{scene}",
        f"/qrcodes/{OA}/stores-001",
        params={"app": OA, "scene": "stores-001"},
        handler=admin.qrcodes,
    )
    assert (qr["channel"]["name"], qr["channel"]["tag"], qr["channel"]["welcome_message"]) == (
        "门店 1 (新)",
        "store",
        "欢迎光临 1",
    )
    assert (qr["channel"]["promoter"], qr["channel"]["referrer"]["name"]) == ("alice", "Alice")
    _, live, _ = admin.call(
        "GET",
        "/livecodes/{app}/{code}",
        f"/livecodes/{OA}/{first['code']}",
        params={"app": OA, "code": first["code"]},
    )
    assert live["campaign"]["id"] == "spring" and live["channel"]["name"] == "门店 1 (新)"
    page = admin.visit(first["code"])
    assert page["statusCode"] == 200 and wechat.qr_for_url(admin.image_of(page)).scene == "stores-001"


def test_a_batch_from_a_csv_file(admin: Admin) -> None:
    text = "\ufeffname,scene,tag,welcome,title\n门店 A,store-a,store,欢迎,Store A\n门店 B,,store,,\n\n"
    status, result, _ = admin.call(
        "POST",
        "/batches",
        "/batches",
        text,
        query={"app": OA, "batch": "csv-stores"},
        content_type="text/csv",
    )
    assert status == 200, result
    assert [(row["status"], row["scene"]) for row in result["rows"]] == [
        ("created", "store-a"),
        ("created", "csv-stores-002"),
    ]
    status, error, _ = admin.call(
        "POST", "/batches", "/batches", "name,colour\nA,red\n", query={"app": OA}, content_type="text/csv"
    )
    assert (status, error["error"]["field"]) == (422, "csv")
    status, unnamed, _ = admin.call(
        "POST", "/batches", "/batches", "name\nA\n", query={"app": OA}, content_type="text/csv"
    )
    assert status == 200 and unnamed["rows"][0]["error"]["field"] == "rows[0].scene"  # no batch: no scenes
    too_many = "name,scene\n" + "".join(f"n{i},s{i}\n" for i in range(201))
    status, error, _ = admin.call(
        "POST", "/batches", "/batches", too_many, query={"app": OA}, content_type="text/csv"
    )
    assert (status, error["error"]["field"]) == (422, "rows")


def test_a_welcome_sequence_is_sent_in_order_once_despite_wechats_retries(
    admin: Admin, wechat: Any, callback: Any, aws: Any
) -> None:
    from wxfunnel.entry.wechat import client_for
    from wxfunnel_tools.sqs_events import pump

    image = client_for(OA).create_qrcode("poster-image", permanent=False, expire_seconds=600).image_url
    admin.channel("store-7")
    messages = [
        {"type": "text", "content": "欢迎来到门店 7！"},
        {"type": "image", "image_url": image},
        {**SEQUENCE[2], "thumb_url": image},
        {**SEQUENCE[3], "thumb_url": image},
    ]
    assert _welcome(admin, "store-7", messages)[0] == 200
    now = int(time.time())
    push = message(
        "event",
        openid="o-new",
        to_user=OA_GH,
        create_time=now,
        Event="subscribe",
        EventKey="qrscene_store-7",
        Ticket="T",
    )
    replies = [callback.push(OA, push) for _ in range(3)]  # WeChat retries a push it thinks unanswered
    assert all(
        "欢迎来到门店 7！".encode() in reply.body for reply in replies
    )  # the first text: the passive reply, each time
    sender = load_handler("SenderFunction")
    assert pump(aws.sqs, aws.env["OUTBOX_QUEUE_URL"], sender, lambda_context("SenderFunction")) == []
    delivered = wechat.deliveries(openid="o-new")
    assert [d.msgtype for d in delivered] == ["image", "news", "miniprogrampage"]  # in order, each once
    news = delivered[1].payload["news"]["articles"][0]
    assert (news["title"], news["url"]) == ("今日菜单", "https://shop.example/menu")  # an OA's link card
    assert delivered[2].payload["miniprogrampage"]["pagepath"] == "pages/shop/index?store=7"


def test_a_new_code_for_an_expired_channel_keeps_its_campaign_and_welcome_sequence(admin: Admin) -> None:
    from dataclasses import replace

    from wxfunnel.store import channels

    admin.channel("store-7")
    admin.campaign(id="spring", name="Spring", start="2026-01-01", end="2026-12-31")
    admin.call(
        "PUT",
        "/channels/{app}/{scene}/campaign",
        f"/channels/{OA}/store-7/campaign",
        {"campaign": "spring"},
        params={"app": OA, "scene": "store-7"},
    )
    assert _welcome(admin, "store-7", SEQUENCE[:2])[0] == 200
    stored = channels.get(OA, "store-7")
    channels.put(
        replace(stored, expires_at=int(time.time()) - 1)
    )  # its code expired: POST /qrcodes makes another
    status, record, _ = admin.call(
        "POST",
        "/qrcodes",
        "/qrcodes",
        {"app": OA, "scene": "store-7", "channel": {"name": "Store 7"}},
        handler=admin.qrcodes,
    )
    assert status == 201 and record["ticket"] != stored.ticket
    renewed = channels.get(OA, "store-7")
    assert (renewed.campaign, renewed.welcome_sequence) == ("spring", stored.welcome_sequence)
