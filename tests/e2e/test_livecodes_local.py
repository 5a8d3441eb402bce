"""Live codes over real HTTP on the local stack: the admin API signed like an operator's CLI, the live link opened
like a phone opens it (HTML, a cookie, a strict policy), print files as binary, a follow through the page's QR."""

from __future__ import annotations

import io
import time
import urllib.request
import zipfile
from collections.abc import Iterator
from typing import Any

import pytest

from wxfunnel_tools.admin_client import AdminClient
from wxfunnel_tools.devapps import DEV_APPS
from wxfunnel_tools.pushes import message, signed_push

pytestmark = pytest.mark.xdist_group("localstack")

OA = "demo-oa"
PHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) MicroMessenger/8.0.47"


@pytest.fixture(scope="module")
def stack() -> Iterator[Any]:
    from wxfunnel_tools.localstack import LocalStack

    with LocalStack() as running:
        yield running


def _open(url: str, cookie: str | None = None) -> tuple[int, dict[str, str], str]:
    headers = {"User-Agent": PHONE}
    if cookie:
        headers["Cookie"] = cookie
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, dict(response.headers), response.read().decode("utf-8")
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read().decode("utf-8")


def test_a_batch_from_csv_prints_and_serves_live_pages_over_http(stack: Any) -> None:
    admin = AdminClient(stack.url)
    csv = "name,scene,title\n门店 1,e2e-store-1,Store 1\n门店 2,e2e-store-2,Store 2\n".encode()
    result = admin.request("POST", "/batches", query={"app": OA}, body=csv, content_type="text/csv").json()
    assert [row["status"] for row in result["rows"]] == ["created", "created"]
    first = result["rows"][0]
    assert first["link"] == f"{stack.url}/l/{OA}/{first['code']}"

    status, headers, body = _open(first["link"])
    assert status == 200 and headers["Content-Type"] == "text/html; charset=utf-8"
    assert "default-src 'none'" in headers["Content-Security-Policy"]
    cookie = headers["Set-Cookie"].split(";", 1)[0]
    assert cookie.startswith(f"wxf_{first['code']}=")
    assert "Store 1" in body and 'class="qr"' in body
    image = body.split('<img class="qr" src="', 1)[1].split('"', 1)[0].replace("&amp;", "&")
    with urllib.request.urlopen(image, timeout=10) as qr:  # WeChat's QR image, as the phone loads it
        assert qr.read().startswith(b"\x89PNG")
    assert stack.sandbox.qr_for_url(image).scene == "e2e-store-1"
    assert "Set-Cookie" not in _open(first["link"], cookie)[1]  # the same visitor today

    archive = admin.request("POST", "/archives", json_body={"app": OA, "codes": result["codes"]})
    assert archive.headers["Content-Type"] == "application/zip"
    bundle = zipfile.ZipFile(io.BytesIO(archive.body))
    assert {f"{row['code']}" for row in result["rows"]} == {
        name.split("-", 1)[0] for name in bundle.namelist() if name != "index.csv"
    }
    single = admin.request("GET", f"/livecodes/{OA}/{first['code']}/qr", query={"format": "png"})
    assert single.body.startswith(b"\x89PNG") and single.headers["Content-Type"] == "image/png"
    svg = admin.request("GET", f"/livecodes/{OA}/{first['code']}/qr", query={"format": "svg"})
    assert svg.body.lstrip().startswith(b"<?xml") and b"<svg" in svg.body

    # the visitor long-presses the QR and follows: WeChat pushes the subscribe with the page's scene
    scene = stack.sandbox.qr_for_url(image).scene
    now = int(time.time())
    push = message(
        "event",
        openid="o-e2e-visitor",
        to_user=DEV_APPS[OA]["original_id"],
        create_time=now,
        Event="subscribe",
        EventKey=f"qrscene_{scene}",
        Ticket="T",
    )
    query, raw = signed_push(DEV_APPS[OA], push)
    url = stack.callback_url(OA) + "?" + "&".join(f"{k}={v}" for k, v in query.items())
    request = urllib.request.Request(url, data=raw, method="POST", headers={"Content-Type": "text/xml"})
    with urllib.request.urlopen(request, timeout=30) as answered:
        assert answered.status == 200
    funnel = admin.request("GET", f"/channels/{OA}/e2e-store-1/funnel").json()
    assert (funnel["visits"], funnel["new_followers"], funnel["conversion"]) == (1, 1, 1.0)


def test_unknown_and_hostile_live_links_are_pages_over_http(stack: Any) -> None:
    status, headers, body = _open(f"{stack.url}/l/{OA}/nosuchcode")
    assert status == 404 and "这个二维码不存在" in body and headers["Content-Type"].startswith("text/html")
    status, _, body = _open(f"{stack.url}/l/{OA}/%3Cscript%3Ealert(1)%3C%2Fscript%3E")
    assert status == 404 and "<script" not in body
