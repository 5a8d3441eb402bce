"""The operator console in headless Chromium against the local stack: what an operator does, click by click.

Screenshots of every main page land in .screenshots/ (console-*.png) for a person to look at.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from steps import create_channel, record, show_stats, totals, unique

pytestmark = [pytest.mark.xdist_group("browser")]


def test_creating_a_channel_shows_its_qr_code_ready_to_download_and_print(page: Any, console: Any) -> None:
    scene = unique("spring-poster")

    create_channel(
        page,
        scene,
        "春季海报",
        welcome="欢迎关注！回复 1 领取优惠券",
        tag="spring",
        **{"referrer-name": "Alice", "referrer-openid": "oAliceReferrer01", "notes": "地铁站 A 口"},
    )

    assert "已创建" in page.text_of(".alert.success")
    image = page.visible("#qr-image")
    page.wait(lambda d: page.js("return arguments[0].complete && arguments[0].naturalWidth > 0", image))
    assert image.get_attribute("src").startswith("blob:")
    assert scene in image.get_attribute("alt")
    download = page.css("#qr-download")
    assert download.get_attribute("href").startswith("blob:")
    assert download.get_attribute("download").startswith(f"wxfunnel-demo-oa-{scene}-春季海报.")
    assert "Alice" in page.text_of(".details")
    page.visible("#stats-chart")
    page.screenshot("channel")

    page.driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print"})
    try:
        assert not page.css(".topbar").is_displayed()
        assert not page.css("#stats").is_displayed()
        assert page.css("#qr-image").is_displayed()
        assert "微信扫一扫" in page.text_of("#qr")
        page.screenshot("channel-print")
    finally:
        page.driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": ""})


def test_follows_through_the_callback_change_the_chart_and_the_totals(
    page: Any, console: Any, wechat: Any
) -> None:
    scene = unique("live")
    create_channel(
        page, scene, "直播间海报", **{"referrer-name": "Bob", "referrer-openid": "oBobReferrer0001"}
    )
    page.visible("#stats-chart")
    assert totals(page)["new_followers"] == "0"
    today = datetime.now(ZoneInfo("Asia/Shanghai")).strftime(
        "%Y-%m-%d"
    )  # the account's day, not the browser's
    before = page.css('[data-series="new_followers"] path').get_attribute("d")

    ticket = record(console, scene)["ticket"]
    ann, ben, cat = wechat.new_openid(), wechat.new_openid(), wechat.new_openid()
    for who in (ann, ben, cat):
        wechat.follow(who, scene, ticket)
    wechat.scan(ann, scene, ticket)
    wechat.unfollow(ben)
    wechat.settle()
    show_stats(page)

    assert totals(page) | {"referrals": "-"} == {
        "new_followers": "3",
        "returning_followers": "0",
        "scans": "1",
        "unfollows": "1",
        "net": "2",
        "referrals": "-",
    }
    assert page.css('[data-series="new_followers"] path').get_attribute("d") != before
    last_point = page.all('[data-series="new_followers"] circle')[-1]
    assert page.js("return arguments[0].textContent", last_point).startswith(f"{today} · 新关注: 3")
    assert "Asia/Shanghai" in page.text_of("#stats-zone")
    assert page.css("#period-to").get_attribute("value") == today
    page.screenshot("channel-stats")

    page.driver.refresh()
    page.wait(lambda d: totals(page).get("new_followers") == "3")


def test_a_channel_named_in_chinese_with_a_slash_is_created_followed_and_counted(
    page: Any, console: Any, wechat: Any
) -> None:
    """The scenes Chinese operators write (店铺A/二楼) are scenes like any other: created from the form, attributed
    when followed through, counted on the channel's page."""
    scene = f"店铺A/二楼 {uuid.uuid4().hex[:4]}"
    create_channel(page, scene, "店铺A 二楼收银台", welcome="欢迎光临二楼！")
    assert page.js("return location.hash").startswith("#/channel/demo-oa/~")  # the scene in its URL form
    assert scene in page.text_of(".details")
    ticket = record(console, scene)["ticket"]
    for who in (wechat.new_openid(), wechat.new_openid()):
        wechat.follow(who, scene, ticket)
    wechat.settle()
    show_stats(page)
    assert totals(page)["new_followers"] == "2"
    page.driver.refresh()
    page.wait(lambda d: totals(page).get("new_followers") == "2")
    page.screenshot("channel-cjk")


def test_a_validation_error_shows_next_to_its_field(page: Any) -> None:
    page.open("#/new")
    page.visible("#new-form")

    page.fill("#new-scene", "x" * 65)
    page.css("#new-submit").click()

    error = page.visible('[data-field="scene"] .field-error')
    assert error.text == "最多 64 字节（中文每字 3 字节）"
    scene_input = page.css("#new-scene")
    assert scene_input.get_attribute("aria-invalid") == "true"
    assert error.get_attribute("id") in scene_input.get_attribute("aria-describedby")
    assert page.js("return document.activeElement.id") == "new-scene"
    assert not page.css('[data-field="channel.name"] .field-error').is_displayed()
    page.screenshot("validation")

    page.fill("#new-scene", unique("ok"))
    page.fill("#new-expire", "31")
    page.css("#new-submit").click()

    expire_error = page.visible('[data-field="expire_seconds"] .field-error')
    assert expire_error.text == "有效期最短 1 秒，最长 30 天（2592000 秒）"
    assert not page.css('[data-field="scene"] .field-error').is_displayed()
    assert page.css("#new-expire").get_attribute("aria-invalid") == "true"


def test_the_channel_list_finds_a_channel_by_name(page: Any) -> None:
    from selenium.webdriver.common.keys import Keys

    first, second = unique("summer"), unique("autumn")
    create_channel(page, first, "夏季地推", tag="summer")
    create_channel(page, second, "秋季展会", tag="autumn")

    page.open("#/channels?app=demo-oa")
    page.wait(lambda d: len(page.all("#channel-list .card")) >= 2)
    page.fill("#channel-search", "秋季")

    page.wait(lambda d: [c.get_attribute("data-scene") for c in page.all("#channel-list .card")] == [second])
    page.css("#channel-search").send_keys(Keys.CONTROL, "a", Keys.BACKSPACE)
    page.wait(lambda d: len(page.all("#channel-list .card")) >= 2)
    page.screenshot("channels")
    page.css(f'#channel-list .card[data-scene="{first}"] a').click()
    page.wait(lambda d: page.text_of("h1") == "夏季地推")


def test_the_referrer_leaderboard_ranks_referrers(page: Any, console: Any, wechat: Any) -> None:
    scene = unique("promoter")
    name = f"Carol {scene[-6:]}"
    create_channel(
        page, scene, "推广员 Carol", **{"referrer-name": name, "referrer-openid": "oCarolReferrer01"}
    )
    ticket = record(console, scene)["ticket"]
    for _ in range(2):
        wechat.follow(wechat.new_openid(), scene, ticket)
    gone = wechat.new_openid()
    wechat.follow(gone, scene, ticket)
    wechat.unfollow(gone)  # still in the channel's audience: the reminder skips her
    wechat.settle()

    page.open("#/referrers?app=demo-oa")
    page.visible("#leaderboard")

    rows = [row.text for row in page.all("#leaderboard tbody tr")]
    assert any(name in row for row in rows), rows
    counts = [int(cell.text) for cell in page.all("#leaderboard tbody td.num")]
    assert counts == sorted(counts, reverse=True)
    page.visible("#stats-chart")
    page.screenshot("referrers")


def test_a_reminder_is_sent_to_a_channels_followers_and_its_progress_shown(
    page: Any, console: Any, wechat: Any
) -> None:
    scene = unique("live-10")
    create_channel(page, scene, "直播提醒测试")
    ticket = record(console, scene)["ticket"]
    for _ in range(2):
        wechat.follow(wechat.new_openid(), scene, ticket)
    gone = wechat.new_openid()
    wechat.follow(gone, scene, ticket)
    wechat.unfollow(gone)  # still in the channel's audience: the reminder skips her
    wechat.settle()

    page.css('a[href^="#/reminders?"]').click()
    page.visible("#reminder-form")
    page.wait(lambda d: page.all(f'input[name="scenes"][value="{scene}"]'))
    assert page.css(f'input[name="scenes"][value="{scene}"]').is_selected()
    page.fill("#reminder-template", "TEMPLATE_LIVE_START")
    page.fill(".data-row .data-value", "直播马上开始")
    page.css("#data-add").click()
    page.all(".data-row .data-key")[-1].send_keys("time2")
    page.all(".data-row .data-value")[-1].send_keys("20:00")
    page.fill("#reminder-url", "https://example.com/live/10")
    page.screenshot("reminder-form")
    page.css("#reminder-submit").click()

    page.wait(lambda d: page.js("return location.hash").startswith("#/reminders/"))
    page.visible("#notification-status.status-done", timeout=60)
    assert page.css('[data-count="audienceCount"]').text == "3"
    assert page.css('[data-count="sent"]').text == "2"
    assert page.css('[data-count="skipped"]').text == "1"
    assert page.css('[data-count="failed"]').text == "0"
    page.screenshot("reminder-progress")


def test_works_at_phone_width(page: Any) -> None:
    scene = unique("phone")
    page.driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": 375, "height": 812, "deviceScaleFactor": 1, "mobile": True},
    )
    create_channel(page, scene, "手机宽度")
    page.visible("#stats-chart")

    assert page.js("return document.documentElement.scrollWidth") <= 375
    chart_width = page.js("return document.getElementById('stats-chart').getBoundingClientRect().width")
    assert 280 <= chart_width <= 375
    page.screenshot("channel-375")
    page.open("#/new")
    page.visible("#new-form")
    assert page.js("return document.documentElement.scrollWidth") <= 375
    page.screenshot("new-375")


def test_keyboard_and_labels(page: Any) -> None:
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys

    def press(*keys: str) -> None:
        ActionChains(page.driver).send_keys(*keys).perform()

    def focused(attribute: str = "id") -> str:
        return str(page.js(f"return document.activeElement.getAttribute('{attribute}') || ''"))

    page.open("#/new")
    page.driver.refresh()
    page.visible("#new-form")
    press(Keys.TAB)
    assert focused() == "skip-link"
    press(Keys.TAB, Keys.TAB, Keys.TAB)
    assert focused("data-route") == "new"
    assert page.driver.switch_to.active_element.value_of_css_property("outline-style") == "solid"
    ActionChains(page.driver).key_down(Keys.SHIFT).send_keys(Keys.TAB).key_up(Keys.SHIFT).perform()
    assert focused("data-route") == "channels"
    press(Keys.ENTER)
    page.wait(lambda d: page.js("return location.hash") == "#/channels")
    page.wait(lambda d: page.js("return document.activeElement.tagName") == "H1")

    page.driver.refresh()
    page.visible("#channel-search")
    press(Keys.TAB, Keys.ENTER)
    assert focused() == "main"
    press(Keys.TAB)
    assert page.js("return document.getElementById('main').contains(document.activeElement)")

    for route, ready in (
        ("#/new", "#new-form"),
        ("#/reminders", "#reminder-form"),
        ("#/referrers", "#period-show"),
        ("#/promoters", "#period-show"),
        ("#/promoters/new", "#promoter-form"),
        ("#/my-code", "#mycode-form"),
    ):
        page.open(route)
        page.visible(ready)
        unlabelled = page.js(
            """return [...document.querySelectorAll('input, select, textarea')]
                 .filter((el) => el.type !== 'hidden' && el.labels.length === 0)
                 .map((el) => el.outerHTML);"""
        )
        assert unlabelled == [], route


def test_english_labels_on_request(page: Any) -> None:
    page.open("#/channels")
    page.visible("#channel-search")
    assert page.js("return document.documentElement.lang") == "zh-CN"
    assert page.text_of("h1") == "渠道二维码"

    page.css("#lang-toggle").click()

    page.wait(lambda d: page.text_of("h1") == "Channel QR codes")
    assert page.js("return document.documentElement.lang") == "en"
    assert page.text_of('#nav a[data-route="new"]') == "New channel"
    assert page.css("#lang-toggle").text == "中文"
    page.screenshot("channels-en")
    page.driver.refresh()
    page.wait(lambda d: page.text_of("h1") == "Channel QR codes")
    page.css("#lang-toggle").click()
    page.wait(lambda d: page.text_of("h1") == "渠道二维码")
