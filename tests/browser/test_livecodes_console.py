"""Live codes in headless Chromium: the public page at phone width as WeChat's browser shows it, and the console's
live codes, welcome editor, batch upload and campaign funnel. Screenshots land in .screenshots/."""

from __future__ import annotations

import urllib.request
import uuid
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from wxfunnel_tools.admin_client import AdminClient

pytestmark = [pytest.mark.xdist_group("browser")]

OA = "demo-oa"
PHONE_UA = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Mobile/15E148 MicroMessenger/8.0.47(0x18002f2c) NetType/WIFI Language/zh_CN"
)


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:6]}"


def visit(link: str, visitor: int) -> None:
    """A phone opens the live link (each `visitor` its own browser: no cookie carried over)."""
    request = urllib.request.Request(link, headers={"User-Agent": f"{PHONE_UA} v{visitor}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200


def test_a_live_code_page_at_phone_width_shows_the_follow_qr(
    driver: Any, local_stack: Any, page: Any
) -> None:
    admin = AdminClient(local_stack.url)
    scene = unique("phone")
    admin.request("POST", "/qrcodes", json_body={"app": OA, "scene": scene, "channel": {"name": "门店 7"}})
    live = admin.request(
        "POST",
        "/livecodes",
        json_body={
            "app": OA,
            "scene": scene,
            "title": "门店 7 · 二楼",
            "text": "长按下方二维码关注，领取新人券",
        },
    ).json()
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": 390, "height": 844, "deviceScaleFactor": 2, "mobile": True},
    )
    driver.execute_cdp_cmd("Emulation.setUserAgentOverride", {"userAgent": PHONE_UA})
    try:
        driver.get(live["link"])
        page.wait(
            lambda d: d.execute_script(
                "const i = document.querySelector('img.qr'); return i && i.complete && i.naturalWidth > 0"
            )
        )
        assert driver.find_element("css selector", "h1").text == "门店 7 · 二楼"
        width = driver.execute_script("return document.querySelector('img.qr').getBoundingClientRect().width")
        assert 200 <= width <= 260  # large enough to long-press, within the phone's width
        assert driver.execute_script("return document.documentElement.scrollWidth <= window.innerWidth")
        assert driver.execute_script("return document.scripts.length") == 0
        assert "长按识别二维码" in driver.find_element("css selector", ".hint").text
        page.screenshot("livecode-phone")
    finally:
        driver.execute_cdp_cmd("Emulation.setUserAgentOverride", {"userAgent": ""})
        driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
    funnel = admin.request("GET", f"/channels/{OA}/{scene}/funnel").json()
    assert funnel["visits"] == 1  # the browser's visit, counted once; the QR image was WeChat's


def test_the_campaign_page_shows_the_funnel(page: Any, local_stack: Any, wechat: Any) -> None:
    admin = AdminClient(local_stack.url)
    campaign, scene = unique("spring"), unique("store")
    today = date.today()
    admin.request(
        "POST",
        "/campaigns",
        json_body={
            "app": OA,
            "id": campaign,
            "name": "春季活动",
            "start": (today - timedelta(days=3)).isoformat(),
            "end": (today + timedelta(days=20)).isoformat(),
        },
    )
    admin.request("POST", "/qrcodes", json_body={"app": OA, "scene": scene, "channel": {"name": "门店 A"}})
    admin.request("PUT", f"/channels/{OA}/{scene}/campaign", json_body={"campaign": campaign})
    live = admin.request("POST", "/livecodes", json_body={"app": OA, "scene": scene}).json()
    for visitor in range(4):
        visit(live["link"], visitor)
    ticket = admin.request("GET", f"/qrcodes/{OA}/{scene}").json()["ticket"]
    wechat.follow(wechat.new_openid(), scene, ticket)

    page.open(f"#/campaign/{OA}/{campaign}")
    page.visible("#funnel-chart")
    assert page.text_of("h1") == "春季活动"
    assert page.text_of('[data-funnel="visits"]') == "4"
    assert page.text_of('[data-funnel="new_followers"]') == "1"
    assert page.text_of('[data-funnel="conversion"]') == "25.0%"
    bars = {
        bar.get_attribute("data-step"): bar.get_attribute("data-value")
        for bar in page.all("#funnel-chart rect")
    }
    assert (bars["visits"], bars["new_followers"]) == ("4", "1")
    assert page.text_of(f'#funnel-channels tr[data-scene="{scene}"] td.num') == "4"
    page.screenshot("campaign-funnel")
    page.open(f"#/campaigns?app={OA}")
    page.visible(f'#campaign-list [data-campaign="{campaign}"]')


def test_a_channel_page_makes_live_codes_to_print_and_edits_the_welcome(page: Any, local_stack: Any) -> None:
    scene = unique("counter")
    AdminClient(local_stack.url).request(
        "POST", "/qrcodes", json_body={"app": OA, "scene": scene, "channel": {"name": "柜台"}}
    )
    page.open(f"#/channel/{OA}/{scene}")
    page.visible("#live-form")
    page.fill("#live-title", "柜台活码")
    page.css("#live-create").click()
    card = page.visible("#live-codes .live-code")
    assert f"/l/{OA}/" in card.find_element("css selector", ".live-link").text
    card.find_element("css selector", ".live-png").click()
    page.wait(
        lambda d: card.find_element("css selector", ".live-png").get_attribute("data-downloaded") == "1"
    )
    card.find_element("css selector", ".live-toggle").click()
    page.wait(lambda d: page.css("#live-codes .live-code").get_attribute("data-state") == "disabled")

    page.css("#welcome-add").click()
    row = page.all("#welcome-list .welcome-row")[-1]
    row.find_element("css selector", "input").send_keys("not a url")
    page.css("#welcome-save").click()
    page.wait(lambda d: page.all("#welcome-form .field-error:not([hidden])"))
    assert "http" in page.text_of("#welcome-form .field-error:not([hidden])")
    field = row.find_element("css selector", "input")
    field.clear()
    field.send_keys("https://cdn.example/welcome.png")
    page.css("#welcome-save").click()
    page.wait(lambda d: page.css("#welcome-form").get_attribute("data-saved"))
    page.screenshot("channel-live-codes")


def test_a_csv_upload_creates_channels_with_live_codes_and_a_zip(page: Any, tmp_path: Path) -> None:
    batch = unique("shops")
    csv_file = tmp_path / "shops.csv"
    csv_file.write_text(
        "name,tag,title\n门店 1,shop,门店 1\n门店 2,shop,门店 2\n门店 3,shop,\n", encoding="utf-8"
    )
    page.open(f"#/batch?app={OA}")
    page.visible("#batch-form")
    page.fill("#batch-id", batch)
    page.css("#batch-file").send_keys(str(csv_file))
    page.css("#batch-submit").click()
    page.visible("#batch-table")
    statuses = [row.get_attribute("data-status") for row in page.all("#batch-table tbody tr")]
    assert statuses == ["created", "created", "created"]
    assert f"{batch}-003" in page.text_of("#batch-table")
    page.css("#batch-zip").click()
    page.wait(lambda d: page.css("#batch-zip").get_attribute("data-downloaded") == "1")
    page.screenshot("batch")
    page.css("#batch-submit").click()  # the same file again: nothing created twice
    page.wait(
        lambda d: (
            [r.get_attribute("data-status") for r in page.all("#batch-table tbody tr")] == ["unchanged"] * 3
        )
    )


def test_a_refused_row_of_an_upload_is_explained_in_chinese(page: Any, tmp_path: Path) -> None:
    """The row's rule and params travel with its error (as in every 4xx): the operator reads why in Chinese."""
    csv_file = tmp_path / "shops.csv"
    csv_file.write_text(f"name,tag\n门店 1,shop\n门店 2,{'标签' * 6}\n", encoding="utf-8")
    page.open(f"#/batch?app={OA}")
    page.visible("#batch-form")
    page.fill("#batch-id", unique("refused"))
    page.css("#batch-file").send_keys(str(csv_file))
    page.css("#batch-submit").click()
    page.visible("#batch-table")
    rows = page.all("#batch-table tbody tr")
    assert [row.get_attribute("data-status") for row in rows] == ["created", "error"]
    assert "最多 30 字节" in rows[1].text and "must be" not in rows[1].text


def test_a_live_code_is_re_pointed_to_another_channel_from_its_card(page: Any, local_stack: Any) -> None:
    admin = AdminClient(local_stack.url)
    first, second = unique("window"), unique("door")
    admin.request("POST", "/qrcodes", json_body={"app": OA, "scene": first, "channel": {"name": "橱窗"}})
    admin.request("POST", "/qrcodes", json_body={"app": OA, "scene": second, "channel": {"name": "门口"}})
    live = admin.request("POST", "/livecodes", json_body={"app": OA, "scene": first}).json()
    code = live["code"]

    page.open(f"#/channel/{OA}/{first}")
    page.visible(f"#live-repoint-{code}")
    assert "印出的二维码" in page.text_of(f"#live-repoint-{code} .hint")
    page.fill(f"#live-scene-{code}", unique("nowhere"))  # no channel has this scene: refused at the field
    page.css(f"#live-repoint-submit-{code}").click()
    error = page.visible(f"#live-repoint-{code} .field-error")
    assert error.text == "这个公众号没有使用该场景值的渠道"
    assert admin.request("GET", f"/livecodes/{OA}/{code}").json()["scene"] == first

    page.fill(f"#live-scene-{code}", second)
    page.css(f"#live-repoint-submit-{code}").click()
    notice = page.visible(f"#live-repointed-{code}")
    assert "门口" in notice.text and second in notice.text
    assert admin.request("GET", f"/livecodes/{OA}/{code}").json()["scene"] == second
    assert not page.all(f"#live-repoint-{code} .field-error:not([hidden])")
    page.screenshot("live-code-repointed")
    notice.find_element("css selector", "a").click()
    page.wait(lambda d: page.text_of("h1") == "门口")
    page.wait(lambda d: page.all(f'#live-codes [data-code="{code}"]'))


def test_a_campaign_page_edits_the_campaigns_period(page: Any, local_stack: Any) -> None:
    admin = AdminClient(local_stack.url)
    campaign = unique("summer")
    today = date.today()
    start, end = today - timedelta(days=2), today + timedelta(days=10)
    admin.request(
        "POST",
        "/campaigns",
        json_body={
            "app": OA,
            "id": campaign,
            "name": "夏季活动",
            "start": start.isoformat(),
            "end": end.isoformat(),
        },
    )
    page.open(f"#/campaign/{OA}/{campaign}")
    page.visible("#campaign-edit")
    page.css("#campaign-save").click()  # nothing changed: nothing sent
    page.wait(lambda d: page.text_of("#campaign-edit-status") == "没有改动，无需保存。")
    assert "活码" in page.text_of("#campaign-edit .hint")
    new_end = today + timedelta(days=30)
    # A date field takes the typed digits of the browser's locale; its value is set as a date field's is.
    set_date = (
        "const el = document.getElementById(arguments[0]); el.value = arguments[1];"
        "el.dispatchEvent(new Event('input', {bubbles: true}));"
    )
    page.js(set_date, "campaign-edit-end", (start - timedelta(days=1)).isoformat())
    page.css("#campaign-save").click()
    assert page.visible('#campaign-edit [data-field="end"] .field-error').text == "开始日期不能晚于结束日期"

    page.js(set_date, "campaign-edit-end", new_end.isoformat())
    page.css("#campaign-save").click()
    page.visible("#campaign-notice")
    assert page.text_of("h1") == "夏季活动"
    assert "null" not in page.text_of("#main")
    page.screenshot("campaign-edit")
    assert page.text_of("#campaign-period dd") == f"{start.isoformat()} – {new_end.isoformat()}"
    stored = admin.request("GET", f"/campaigns/{OA}/{campaign}").json()
    assert (stored["start"], stored["end"], stored["name"]) == (
        start.isoformat(),
        new_end.isoformat(),
        "夏季活动",
    )
