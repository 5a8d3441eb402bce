"""The console's promoters, channel lifecycle and follower lists in headless Chromium against the local stack.

What an operator does, click by click: add a promoter and give them codes, watch follows through the signed
callback rank them; edit, disable and retire a channel and find the retired one in its scene's history; list who a
team brought and download it as a CSV file named in Chinese. Screenshots land in .screenshots/ (console-*.png).
"""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from steps import admin, create_channel, page_fits, record, show_stats, totals, unique, wait_for_file

from wxfunnel_tools.devapps import DEMO_OA, DEV_APPS

pytestmark = [pytest.mark.xdist_group("browser")]

# The demo account with the `referral` rule (docs/rules.md), so a follower can ask for their own code.
REFERRAL_RULE = {
    "keyword": "我的二维码",
    "menu_key": "MY_CODE",
    "intro_text": "这是你的专属二维码，分享给朋友吧",
}


@pytest.fixture(scope="module")
def local_stack() -> Iterator[Any]:
    from wxfunnel_tools.localstack import LocalStack

    apps = {**DEV_APPS, DEMO_OA: {**DEV_APPS[DEMO_OA], "referral": REFERRAL_RULE}}
    with LocalStack(apps=apps) as stack:
        yield stack


def ranking_row(page: Any, promoter: str) -> dict[str, str]:
    cells = page.all(f'#promoter-ranking tr[data-promoter="{promoter}"] td[data-total]')
    return {cell.get_attribute("data-total"): cell.text for cell in cells}


def follow_through(console: Any, wechat: Any, scene: str, count: int) -> list[str]:
    ticket = record(console, scene)["ticket"]
    people = [wechat.new_openid() for _ in range(count)]
    for who in people:
        wechat.follow(who, scene, ticket)
    return people


def test_a_promoter_is_added_given_two_codes_and_ranked_by_their_total(
    page: Any, console: Any, wechat: Any
) -> None:
    """A promoter with codes of 2 and 3 followers is ranked by 5, ahead of one with a single code of 4."""
    tag = uuid.uuid4().hex[:6]
    pid, name, team = f"wang-{tag}", f"王小明{tag}", f"华东{tag}"

    page.open("#/promoters?app=demo-oa")
    page.visible("#period-show")
    page.css("#promoter-create").click()
    page.visible("#promoter-form")
    page.fill("#promoter-id", "Wang Xiaoming")
    page.fill("#promoter-name", name)
    page.fill("#promoter-team", team)
    page.css("#promoter-submit").click()
    error = page.visible('[data-field="id"] .field-error')
    assert error.text.startswith("只能用小写字母、数字、_ 和 -")
    assert page.css("#promoter-id").get_attribute("aria-invalid") == "true"
    assert page.js("return document.activeElement.id") == "promoter-id"
    page.screenshot("promoter-new")

    page.fill("#promoter-id", pid)
    page.css("#promoter-submit").click()
    page.wait(lambda d: page.js("return location.hash").startswith(f"#/promoter/demo-oa/{pid}"))
    page.wait(lambda d: page.text_of("h1") == name)
    assert "已新增" in page.text_of("#promoter-notice")
    assert team in page.text_of("#promoter-facts")

    for scene, title in ((f"wang-poster-{tag}", "王小明的海报"), (f"wang-booth-{tag}", "王小明的展台")):
        page.css("#promoter-new-code").click()
        page.visible("#new-form")
        assert page.css("#new-promoter").get_attribute("value") == pid
        assert pid in page.text_of("#new-for-promoter")
        page.fill("#new-scene", scene)
        page.fill("#new-name", title)
        page.css("#new-submit").click()
        page.wait(lambda d, title=title: page.text_of("h1") == title)
        assert name in page.text_of(".details")
        page.css(f'.details a[href^="#/promoter/demo-oa/{pid}"]').click()
        page.wait(lambda d: page.text_of("h1") == name)
    assert len(page.all("#promoter-codes .card")) == 2

    rival = f"lee-{tag}"
    admin(console, "POST", "/promoters", {"app": "demo-oa", "id": rival, "name": f"李四{tag}"})
    admin(
        console,
        "POST",
        "/qrcodes",
        {"app": "demo-oa", "scene": f"lee-{tag}", "channel": {"name": "李四的码", "promoter": rival}},
    )
    follow_through(console, wechat, f"wang-poster-{tag}", 2)
    follow_through(console, wechat, f"wang-booth-{tag}", 3)
    follow_through(console, wechat, f"lee-{tag}", 4)
    wechat.settle()

    page.open("#/promoters?app=demo-oa")
    page.wait(lambda d: page.all(f'#promoter-ranking tr[data-promoter="{pid}"]'))
    assert ranking_row(page, pid) | {"net": "-"} == {
        "referrals": "5",
        "new_followers": "5",
        "unfollows": "0",
        "net": "-",
        "ever": "5",
    }
    assert ranking_row(page, rival)["referrals"] == "4"
    rank = {
        row.get_attribute("data-promoter"): int(row.find_element("css selector", "[data-rank]").text)
        for row in page.all("#promoter-ranking tbody tr")
    }
    assert rank[pid] < rank[rival]
    team_cells = page.all(f'#team-ranking tr[data-team="{team}"] td[data-total="referrals"]')
    assert [cell.text for cell in team_cells] == ["5"]
    assert "Asia/Shanghai" in page.text_of("#stats-zone")
    page.screenshot("promoters")

    page.fill("#promoter-search", tag)
    page.wait(
        lambda d: (
            {r.get_attribute("data-promoter") for r in page.all("#promoter-ranking tbody tr")} == {pid, rival}
        )
    )

    page.css(f'#promoter-ranking tr[data-promoter="{pid}"] a').click()
    page.wait(lambda d: page.text_of("h1") == name)
    page.visible("#stats-chart")
    page.wait(lambda d: totals(page).get("new_followers") == "5")
    assert totals(page)["referrals"] == "5"
    page.wait(lambda d: len(page.all("#followers-table tbody tr")) == 5)
    assert "5" in page.text_of("#followers-count")
    # Their funnel: both codes' followers (no live code was visited, so no visits and no conversion yet).
    page.wait(lambda d: page.all('#funnel [data-funnel="new_followers"]'))
    assert page.text_of('#funnel [data-funnel="new_followers"]') == "5"
    assert page.text_of('#funnel [data-funnel="visits"]') == "0"
    assert len(page.all("#funnel-channels tbody tr")) == 2
    page.screenshot("promoter")

    page.css("#promoter-edit").click()
    page.fill("#promoter-edit-notes", "门店 3 号")
    page.css("#promoter-edit-submit").click()
    page.wait(lambda d: page.all("#promoter-notice"))
    assert "门店 3 号" in page.text_of("#promoter-facts")

    page.css(f'#promoter-facts a[href="#/team/demo-oa/{quote(team)}"]').click()
    page.wait(lambda d: page.text_of("h1") == f"团队：{team}")
    page.wait(lambda d: totals(page).get("new_followers") == "5")
    assert name in page.text_of("#team-members")
    page.screenshot("team")


def test_a_follower_who_asks_for_their_own_code_is_an_unnamed_promoter(page: Any, wechat: Any) -> None:
    follower = wechat.new_openid()
    wechat.follow_plainly(follower)
    wechat.say(follower, "我的二维码")
    wechat.settle()

    page.open("#/promoters?app=demo-oa")
    page.wait(lambda d: page.all('#promoter-ranking tr[data-promoter^="f-"]'))
    row = page.css('#promoter-ranking tr[data-promoter^="f-"]')
    assert "未命名（粉丝自助）" in row.text
    assert "粉丝自助" in row.find_element("css selector", ".badge").text
    row.find_element("css selector", "a").click()
    page.wait(lambda d: page.text_of("h1") == "未命名（粉丝自助）")
    [code] = page.all("#promoter-codes .card")
    code.find_element("css selector", "a").click()
    page.visible("#channel-not-editable")
    assert not page.all("#channel-retire")


def test_a_channel_is_edited_and_disabled_from_its_page(page: Any) -> None:
    scene = unique("edit")
    create_channel(page, scene, "待修改的渠道", tag="old-tag")
    assert page.css('.details [data-state="active"]').text == "启用"

    page.css("#channel-edit").click()
    assert page.css("#channel-edit").get_attribute("aria-expanded") == "true"
    page.fill("#edit-name", "")
    page.css("#edit-submit").click()
    error = page.visible('#channel-edit-form [data-field="channel.name"] .field-error')
    assert error.text == "必填"
    assert page.js("return document.activeElement.id") == "edit-name"

    page.fill("#edit-name", "改过名的渠道")
    page.fill("#edit-tag", "")
    page.css("#edit-submit").click()
    page.wait(lambda d: page.text_of("h1") == "改过名的渠道")
    assert "已保存" in page.text_of("#channel-notice")
    assert "old-tag" not in page.text_of(".details")

    page.css("#channel-state").click()
    page.wait(lambda d: page.all('.details [data-state="disabled"]'))
    assert "已停用" in page.text_of("#channel-notice")
    page.visible("#disabled-note")
    page.screenshot("channel-disabled")
    page.open("#/channels?app=demo-oa")
    page.wait(lambda d: page.all(f'#channel-list .card[data-scene="{scene}"]'))
    assert page.css(f'#channel-list .card[data-scene="{scene}"] .badge-state').text == "已停用"

    page.css(f'#channel-list .card[data-scene="{scene}"] a').click()
    page.visible("#channel-state")
    page.css("#channel-state").click()
    page.wait(lambda d: page.all('.details [data-state="active"]'))


def test_a_retired_channel_stays_readable_in_its_scenes_history(page: Any, console: Any, wechat: Any) -> None:
    scene = unique("booth")
    create_channel(page, scene, "春季展台")
    follow_through(console, wechat, scene, 2)
    wechat.settle()

    page.css("#channel-retire").click()
    dialog = page.visible("#retire-dialog")
    explanation = dialog.text
    assert "单独统计" in explanation and scene in explanation and "保留" in explanation
    assert page.js("return document.activeElement.id") == "retire-cancel"
    page.screenshot("channel-retire")
    page.css("#retire-cancel").click()
    page.wait(lambda d: not page.css("#retire-dialog").is_displayed())
    assert page.all('.details [data-state="active"]')

    page.css("#channel-retire").click()
    page.visible("#retire-confirm").click()
    page.wait(lambda d: page.all('.details [data-state="retired"]'))
    assert "已退役" in page.text_of("#channel-notice")
    assert not page.all("#channel-retire")
    page.visible("#retired-note")

    page.css("#channel-reassign").click()
    page.visible("#new-form")
    assert page.css("#new-scene").get_attribute("value") == scene
    assert scene in page.text_of("#new-reassign")
    page.fill("#new-name", "夏季展台")
    page.css("#new-submit").click()
    page.wait(lambda d: page.text_of("h1") == "夏季展台")
    assert "场景值已交给这个新渠道" in page.text_of("#channel-notice")
    assert "第 2 期" in page.text_of(".details")
    page.wait(lambda d: totals(page).get("new_followers") == "0")

    follow_through(console, wechat, scene, 1)
    wechat.settle()
    show_stats(page)
    assert totals(page)["new_followers"] == "1"

    past = page.visible('#history-table tr[data-generation="0"]')
    assert "春季展台" in past.text and "已退役" in past.text
    assert past.find_element("css selector", 'td[data-total="new_followers"]').text == "2"
    page.screenshot("channel-history")
    past.find_element("css selector", ".history-show").click()
    page.wait(lambda d: totals(page).get("new_followers") == "2")
    assert "春季展台" in page.text_of("#stats-generation")
    page.css("#stats-current").click()
    page.wait(lambda d: totals(page).get("new_followers") == "1")
    assert page.text_of("#stats-generation") == ""


def test_who_a_team_brought_is_listed_and_downloaded_as_a_csv_named_in_chinese(
    page: Any, console: Any, wechat: Any, downloads: Path
) -> None:
    tag = uuid.uuid4().hex[:6]
    team, pid, scene = f"华南{tag}", f"zhao-{tag}", f"zhao-{tag}"
    admin(console, "POST", "/promoters", {"app": "demo-oa", "id": pid, "name": "赵六", "team": team})
    admin(
        console,
        "POST",
        "/qrcodes",
        {"app": "demo-oa", "scene": scene, "channel": {"name": "赵六的海报", "promoter": pid}},
    )
    people = follow_through(console, wechat, scene, 3)
    wechat.unfollow(people[0])
    wechat.settle()

    page.open(f"#/team/demo-oa/{quote(team)}")
    page.wait(lambda d: len(page.all("#followers-table tbody tr")) == 3)
    assert "Asia/Shanghai" in page.text_of("#followers-zone")
    assert page.css(f'#followers-table tr[data-openid="{people[0]}"]').text.count("已取消关注") == 1
    page.css("#followers-csv").click()

    saved = wait_for_file(downloads, f"followers-demo-oa-{team}-*.csv")
    page.wait(lambda d: saved.name in page.text_of("#followers-csv-status"))
    raw = saved.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # the byte-order mark Excel needs to read Chinese
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    assert sorted(row["openid"] for row in rows) == sorted(people)
    assert {row["channel"] for row in rows} == {"赵六的海报"}
    assert {row["openid"]: row["status"] for row in rows}[people[0]] == "unsubscribed"
    page.screenshot("team-followers")

    # An export too large for one answer comes as a link to the file ({url, file}); the page downloads it.
    page.js(
        """const csv = URL.createObjectURL(new Blob(["openid\\r\\n"], {type: "text/csv"}));
           const real = window.fetch;
           window.fetch = (url, options) => String(url).startsWith("/api/followers/export")
             ? Promise.resolve(new Response(JSON.stringify({url: csv, file: "大文件-big.csv", expires_in: 900}),
                                            {headers: {"Content-Type": "application/json"}}))
             : real(url, options);"""
    )
    page.css("#followers-csv").click()
    wait_for_file(downloads, "大文件-big.csv")
    assert page.css("#followers-csv-link").get_attribute("href").startswith("blob:")


def test_a_channel_too_large_for_one_answer_is_exported_in_the_background(
    page: Any, console: Any, wechat: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The export answers export_too_large; the page starts a background export, polls it and offers its file."""
    import requests

    from wxfunnel.entry.admin import followers

    scene = f"big-{uuid.uuid4().hex[:6]}"
    made = admin(
        console, "POST", "/qrcodes", {"app": "demo-oa", "scene": scene, "channel": {"name": "大海报"}}
    )
    people = follow_through(console, wechat, scene, 2)
    monkeypatch.setattr(followers, "EXPORT_MARGIN_SECONDS", 3600.0)  # no export answer is fast enough now

    page.open("#" + made["links"]["self"].replace("/qrcodes/", "/channel/", 1))
    page.wait(lambda d: len(page.all("#followers-table tbody tr")) == 2)
    page.css("#followers-csv").click()
    page.wait(lambda d: "后台导出" in page.text_of("#followers-csv-status"))
    link = page.wait(lambda d: page.all("#followers-csv-link"), timeout=60)[0].get_attribute("href")
    assert f"followers-demo-oa-{scene}-" in page.text_of("#followers-csv-status")
    downloaded = requests.get(link, timeout=10)
    assert downloaded.status_code == 200
    rows = list(csv.DictReader(io.StringIO(downloaded.content.decode("utf-8-sig"))))
    assert sorted(row["openid"] for row in rows) == sorted(people)


def test_the_my_code_preview_shows_what_a_follower_and_a_friend_see(page: Any) -> None:
    page.open("#/my-code?app=demo-oa")
    page.visible("#mycode-form")
    assert "读取不到" in page.text_of("#mycode-note")
    page.fill("#mycode-keyword", "专属码")
    page.fill("#mycode-intro-text", "分享给朋友，一起来！")
    page.fill("#mycode-sample-name", "")
    page.fill("#mycode-default-name", "你的一位朋友")

    follower = page.text_of("#mycode-follower")
    assert "专属码" in follower and "分享给朋友，一起来！" in follower
    page.css("#mycode-follower svg[role='img']")
    assert "你由 你的一位朋友 推荐关注" in page.text_of("#mycode-friend-text")
    assert '"keyword": "专属码"' in page.text_of("#mycode-json")
    page.screenshot("my-code")


def test_the_new_pages_work_at_phone_width(page: Any, console: Any) -> None:
    tag = uuid.uuid4().hex[:6]
    admin(
        console,
        "POST",
        "/promoters",
        {"app": "demo-oa", "id": f"phone-{tag}", "name": "手机测试", "team": "手机组"},
    )
    page.driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": 375, "height": 812, "deviceScaleFactor": 1, "mobile": True},
    )
    for route, ready, name in (
        ("#/promoters?app=demo-oa", "#promoter-ranking", "promoters-375"),
        (f"#/promoter/demo-oa/phone-{tag}", "#stats-chart", "promoter-375"),
        ("#/my-code", "#mycode-preview", "my-code-375"),
    ):
        page.open(route)
        page.visible(ready)
        page.wait(lambda d: "加载中" not in page.text_of("main"))
        assert page_fits(page, 375), route
        page.screenshot(name)
