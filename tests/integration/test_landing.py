"""The landing page of live codes through the real LandingFunction handler, moto and the WeChat sandbox: the page
shows the channel's current QR code, counts a visitor once a day, renews an expired code once under concurrent
visits, and answers unknown, switched-off, ended and hostile codes with a page of its own."""

from __future__ import annotations

import base64
import hashlib
import re
import threading
import time
from dataclasses import replace
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from wxfunnel.domain.campaigns import Campaign
from wxfunnel.domain.channels import Channel, timestamp
from wxfunnel.domain.livecodes import LiveCode
from wxfunnel.domain.stats import COUNTERS, day_of
from wxfunnel.store import campaigns, channels, livecodes
from wxfunnel_tools import examples
from wxfunnel_tools.apigw import proxy_event
from wxfunnel_tools.bench.dynamo import Recorder
from wxfunnel_tools.devapps import DEV_APPS
from wxfunnel_tools.pushes import message
from wxfunnel_tools.template import load_handler
from wxfunnel_tools.testing import lambda_context, table_items

OA = "demo-oa"
OA_GH = DEV_APPS[OA]["original_id"]
BEIJING = "Asia/Shanghai"
CREATE = "qrcode/create"
PHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 MicroMessenger/8.0.47"


class Page:
    def __init__(self, response: dict[str, Any]) -> None:
        self.status: int = response["statusCode"]
        self.headers: dict[str, str] = response["headers"]
        self.body: str = response["body"]

    @property
    def image(self) -> str | None:
        found = re.search(r'<img class="qr" src="([^"]+)"', self.body)
        return found.group(1).replace("&amp;", "&") if found else None

    @property
    def cookie(self) -> str | None:
        value = self.headers.get("Set-Cookie")
        return value.split(";", 1)[0] if value else None


class Landing:
    def __init__(self) -> None:
        self.handler = load_handler("LandingFunction")

    def get(
        self, code: str, *, app: str = OA, agent: str = PHONE, cookie: str | None = None, **extra: str
    ) -> Page:
        headers = {"User-Agent": agent, "X-Forwarded-Proto": "https", **extra}
        if cookie:
            headers["Cookie"] = cookie
        event = proxy_event(
            "GET",
            "/l/{app}/{code}",
            f"/l/{app}/{code}",
            path_parameters={"app": app, "code": code},
            headers=headers,
        )
        return Page(self.handler(event, lambda_context("LandingFunction")))


@pytest.fixture
def page(aws: Any, wechat: Any) -> Landing:
    return Landing()


def _channel(scene: str, **fields: Any) -> Channel:
    stamp = timestamp(time.time())
    values = {
        **examples.NO_CODE,
        "permanent": False,
        "name": f"Store {scene}",
        "created_at": stamp,
        "updated_at": stamp,
    }
    return examples.channel(scene, **{**values, **fields})


def live_code(code: str, scene: str, *, campaign: Campaign | None = None, **fields: Any) -> LiveCode:
    """A channel without a code yet (its first visit makes one) and a live code pointing at it."""
    channel = _channel(scene, campaign=campaign.id if campaign else None)
    channels.put(channel)
    stamp = timestamp(time.time())
    live = LiveCode(
        app=OA,
        code=code,
        scene=scene,
        created_at=stamp,
        updated_at=stamp,
        channel=channel,
        campaign=campaign,
        **fields,
    )
    assert livecodes.create(live)
    return live


def visits(aws: Any, scene: str) -> int:
    return sum(
        int(item.get("visits", {}).get("N", 0))
        for item in table_items(aws, "CHANNELS_TABLE")
        if item["pk"]["S"].startswith("stats#") and item["sk"]["S"].startswith(f"{scene}#")
    )


def test_a_visit_shows_the_channels_current_qr_code_made_on_demand(
    page: Landing, wechat: Any, aws: Any
) -> None:
    live_code("ab3d5fgh7k", "store-7", title="Store 7 <2F>", text="Scan & follow")
    first = page.get("ab3d5fgh7k")
    assert first.status == 200
    ticket = parse_qs(urlsplit(first.image or "").query)["ticket"][0]
    assert wechat.scene_for_ticket(ticket) == "store-7"  # the QR the page shows follows through this channel
    assert wechat.count(CREATE) == 1
    assert "<h1>Store 7 &lt;2F&gt;</h1>" in first.body and "Scan &amp; follow" in first.body
    # the code is kept on the channel and in the live code's snapshot: the next visits read one item
    assert channels.get(OA, "store-7").ticket == ticket
    assert livecodes.get(OA, "ab3d5fgh7k").channel.ticket == ticket
    again = page.get("ab3d5fgh7k")
    assert again.image == first.image and wechat.count(CREATE) == 1


def test_the_page_has_a_strict_policy_no_script_and_is_never_cached(page: Landing, wechat: Any) -> None:
    live_code("ab3d5fgh7k", "store-7")
    shown = page.get("ab3d5fgh7k")
    policy = shown.headers["Content-Security-Policy"]
    style = re.search(r"<style>(.*?)</style>", shown.body, re.DOTALL).group(1)
    digest = base64.b64encode(hashlib.sha256(style.encode()).digest()).decode()
    assert f"style-src 'sha256-{digest}'" in policy
    assert (
        "default-src 'none'" in policy and "script-src" not in policy and "frame-ancestors 'none'" in policy
    )
    assert f"img-src {wechat.mp_base.rsplit('/', 1)[0]}" in policy  # WeChat's QR host (the sandbox's here)
    assert "<script" not in shown.body.lower() and " on" not in re.sub(r"<img[^>]*>", "", shown.body)
    assert shown.headers["Cache-Control"] == "private, no-store"
    assert (
        shown.headers["X-Content-Type-Options"] == "nosniff"
        and shown.headers["Referrer-Policy"] == "no-referrer"
    )
    assert shown.headers["Content-Type"] == "text/html; charset=utf-8"


def test_a_visitor_counts_once_per_day_and_crawlers_never(page: Landing, aws: Any) -> None:
    live_code("ab3d5fgh7k", "store-7")
    first = page.get("ab3d5fgh7k")
    today = day_of(int(time.time()), BEIJING)
    assert first.cookie == f"wxf_ab3d5fgh7k={today}"
    attributes = first.headers["Set-Cookie"]
    assert "HttpOnly" in attributes and "SameSite=Lax" in attributes and "Secure" in attributes
    max_age = int(re.search(r"Max-Age=(\d+)", attributes).group(1))
    assert 60 <= max_age <= 86_400  # until the account's next midnight
    assert visits(aws, "store-7") == 1

    assert page.get("ab3d5fgh7k", cookie=first.cookie).cookie is None  # the same visitor today
    assert page.get("ab3d5fgh7k", cookie=f"theme=dark; {first.cookie}; x=1").cookie is None
    assert visits(aws, "store-7") == 1
    assert page.get("ab3d5fgh7k", cookie="wxf_ab3d5fgh7k=2020-01-01").cookie  # yesterday's cookie: counted
    assert page.get("ab3d5fgh7k").cookie  # another visitor
    for agent in ("", "Googlebot/2.1", "curl/8.0", "facebookexternalhit/1.1", "HeadlessChrome/120"):
        crawled = page.get("ab3d5fgh7k", agent=agent)
        assert crawled.status == 200 and crawled.cookie is None, agent
    assert visits(aws, "store-7") == 3


def test_a_visit_to_a_fresh_code_is_one_read_and_one_counter_write(page: Landing, wechat: Any) -> None:
    from wxfunnel.core.aws import dynamodb

    live_code("ab3d5fgh7k", "store-7")
    page.get("ab3d5fgh7k")  # the first visit made the channel's code
    recorder = Recorder()
    recorder.attach(dynamodb(), "dynamodb")
    before = wechat.count()
    counted = page.get("ab3d5fgh7k")
    assert [call["op"] for call in recorder.calls] == ["GetItem", "UpdateItem"]
    assert "ConsistentRead" not in recorder.calls[0]["params"]
    recorder.calls.clear()
    page.get("ab3d5fgh7k", cookie=counted.cookie)
    assert [call["op"] for call in recorder.calls] == ["GetItem"]
    assert wechat.count() == before  # no WeChat call at all


def test_an_expired_code_is_renewed_once_under_concurrent_visits(
    page: Landing, wechat: Any, aws: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Single flight is the point here, not the wait: on a loaded CI machine the winner's renewal (token, qrcode/create
    # and moto's writes behind eight threads) can outlast the 3 s a phone waits, and the others would answer 503.
    from wxfunnel.entry import landing

    monkeypatch.setattr(landing, "RENEWAL_WAIT_SECONDS", 30.0)
    live_code("ab3d5fgh7k", "store-7")
    first = page.get("ab3d5fgh7k")
    # the code expires: the snapshot and the channel both hold it
    expired = replace(channels.get(OA, "store-7"), expires_at=int(time.time()) - 5)
    channels.put(expired)
    livecodes.store_channel(livecodes.get(OA, "ab3d5fgh7k"), expired)
    results: list[Page] = []
    lock = threading.Lock()
    barrier = threading.Barrier(8)

    def visit() -> None:
        barrier.wait()
        shown = page.get("ab3d5fgh7k")  # the real handler, eight invocations at once
        with lock:
            results.append(shown)

    threads = [threading.Thread(target=visit) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert wechat.count(CREATE) == 2  # the first code, and one renewal for eight visitors
    renewed = channels.get(OA, "store-7")
    assert {shown.status for shown in results} == {200}
    assert {shown.image for shown in results} == {renewed.image_url} != {first.image}
    assert livecodes.get(OA, "ab3d5fgh7k").channel.ticket == renewed.ticket
    assert visits(aws, "store-7") == 9


def test_a_visit_that_waits_out_another_requests_renewal_answers_503_with_retry_after(
    page: Landing, wechat: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An expired code whose renewal another request holds (the lease taken, WeChat not answered yet): the visit
    waits RENEWAL_WAIT_SECONDS for it, then asks the phone to come back rather than showing a dead code."""
    from wxfunnel.entry import landing

    monkeypatch.setattr(landing, "RENEWAL_WAIT_SECONDS", 0.3)
    live_code("ab3d5fgh7k", "store-7")
    page.get("ab3d5fgh7k")
    expired = replace(channels.get(OA, "store-7"), expires_at=int(time.time()) - 5)
    channels.put(expired)
    livecodes.store_channel(livecodes.get(OA, "ab3d5fgh7k"), expired)
    assert channels.claim_renewal(expired, time.time(), 60, "another-request")
    started = time.monotonic()
    shown = page.get("ab3d5fgh7k")
    assert shown.status == 503 and shown.headers["Retry-After"] == str(landing.RETRY_AFTER_SECONDS)
    assert shown.image is None and wechat.count(CREATE) == 1  # the first code only: no second renewal
    assert 0.3 <= time.monotonic() - started < 20  # it waited, then gave up (20: a loaded CI machine)


def test_a_code_past_half_its_life_is_renewed_by_one_visit_and_shown_to_the_others(
    page: Landing, wechat: Any
) -> None:
    live_code("ab3d5fgh7k", "store-7")
    page.get("ab3d5fgh7k")
    stored = channels.get(OA, "store-7")
    aging = replace(
        stored, expires_at=int(time.time()) + stored.expire_seconds // 4
    )  # a quarter of its life left
    channels.put(aging)
    livecodes.store_channel(livecodes.get(OA, "ab3d5fgh7k"), aging)
    renewed = page.get("ab3d5fgh7k")
    assert wechat.count(CREATE) == 2 and renewed.image != aging.image_url
    assert page.get("ab3d5fgh7k").image == renewed.image and wechat.count(CREATE) == 2


def test_a_follow_through_the_pages_qr_completes_the_funnel(
    page: Landing, wechat: Any, callback: Any, aws: Any
) -> None:
    live_code("ab3d5fgh7k", "store-7")
    shown = page.get("ab3d5fgh7k")
    scene = wechat.qr_for_url(shown.image).scene  # what WeChat reads from the long-pressed image
    now = int(time.time())
    push = message(
        "event",
        openid="o-visitor",
        to_user=OA_GH,
        create_time=now,
        Event="subscribe",
        EventKey=f"qrscene_{scene}",
        Ticket="T",
    )
    assert callback.push(OA, push).status == 200
    totals = dict.fromkeys(COUNTERS, 0)
    for item in table_items(aws, "CHANNELS_TABLE"):
        if item["pk"]["S"].startswith("stats#") and item["sk"]["S"] == f"store-7#{day_of(now, BEIJING)}":
            for name in COUNTERS:
                totals[name] += int(item.get(name, {}).get("N", 0))
    assert (totals["visits"], totals["new_followers"]) == (1, 1)


def test_unknown_switched_off_and_unreachable_codes_get_a_page_of_their_own(
    page: Landing, wechat: Any, aws: Any
) -> None:
    unknown = page.get("zzzzzzzzzz")
    assert unknown.status == 404 and "这个二维码不存在" in unknown.body and unknown.image is None
    assert unknown.headers["Cache-Control"] == "no-store"  # it may exist a second later
    assert page.get("ab3d5fgh7k", app="no-such-app").status == 404
    assert page.get("ab3d5fgh7k", app="demo-mp").status == 404  # a mini program has no follow-QR
    live = live_code("ab3d5fgh7k", "store-7")
    livecodes.put(replace(live, state="disabled"))
    off = page.get("ab3d5fgh7k")
    assert off.status == 410 and "已停用" in off.body and off.image is None and off.cookie is None
    livecodes.put(replace(live, channel=None))
    assert page.get("ab3d5fgh7k").status == 404
    assert visits(aws, "store-7") == 0 and wechat.count(CREATE) == 0


def test_a_campaigns_end_ends_its_pages(page: Landing, wechat: Any, aws: Any) -> None:
    stamp = timestamp(time.time())
    today = day_of(int(time.time()), BEIJING)
    running = Campaign(
        app=OA, id="spring", name="Spring", start="2026-01-01", end=today, created_at=stamp, updated_at=stamp
    )
    campaigns.put(running)
    live = live_code("ab3d5fgh7k", "store-7", campaign=running)
    assert page.get("ab3d5fgh7k").status == 200  # its last day

    over = replace(running, end="2026-01-31")
    livecodes.put(replace(livecodes.get(OA, "ab3d5fgh7k"), campaign=over))
    ended = page.get("ab3d5fgh7k")
    assert ended.status == 410 and "活动已结束" in ended.body and ended.image is None and ended.cookie is None

    channels.put(_channel("default", permanent=False))
    livecodes.put(replace(live, campaign=replace(over, ended_scene="default")))
    fallback = page.get("ab3d5fgh7k")
    assert fallback.status == 200 and "活动已结束" in fallback.body
    assert wechat.qr_for_url(fallback.image).scene == "default"  # the account's default follow channel
    assert visits(aws, "store-7") == 1


HOSTILE_CODES = [
    "<script>alert(1)</script>",
    "../../etc/passwd",
    "%3Cscript%3E",
    "a" * 5000,
    "ab3d5fgh7k\r\nSet-Cookie: x=1",
    "ab3d5fgh7k'\"",
    "店铺二维码",
    "",
    "\x00\x01",
]


@pytest.mark.parametrize("code", HOSTILE_CODES)
def test_hostile_codes_are_a_404_page_that_echoes_nothing(page: Landing, code: str) -> None:
    shown = page.get(code)
    assert shown.status == 404 and shown.image is None
    assert code not in shown.body or not code
    assert "script" not in shown.body.lower() and "Set-Cookie" not in shown.headers


def test_hostile_headers_change_nothing_and_are_never_echoed(page: Landing, aws: Any) -> None:
    live_code("ab3d5fgh7k", "store-7")
    marker = "<img src=x onerror=alert(1)>"
    shown = page.get(
        "ab3d5fgh7k",
        agent=marker * 50,
        cookie="wxf_ab3d5fgh7k=" + "9" * 20_000 + "; " + marker,
        Referer=marker,
        **{"X-Forwarded-Host": marker, "Accept-Language": marker},
    )
    assert shown.status == 200 and marker not in shown.body
    assert all(marker not in value for value in shown.headers.values())


def test_other_methods_are_refused(page: Landing) -> None:
    event = proxy_event(
        "POST", "/l/{app}/{code}", "/l/demo-oa/x", path_parameters={"app": OA, "code": "abcd"}
    )
    response = page.handler(event, lambda_context("LandingFunction"))
    assert response["statusCode"] == 405
