"""The console speaks the operator's language: refusals in Chinese by their rule, next to their field; the account
picked from GET /apps; times on the account's clock with its zone named; QR files named in Chinese.

Headless Chromium against a local stack whose apps are the demo's plus one with an unusable configuration.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from steps import create_channel, record, unique, wait_for_file

from wxfunnel_tools.devapps import DEV_APPS

pytestmark = [pytest.mark.xdist_group("browser")]

BROKEN_APP = "broken-app"
BEIJING = ZoneInfo("Asia/Shanghai")
# The browser's own clock is neither UTC nor the account's, so a time shown right can only be the account's.
BROWSER_ZONE = "America/Los_Angeles"


@pytest.fixture(scope="module")
def local_stack() -> Iterator[Any]:
    from wxfunnel_tools.localstack import LocalStack

    broken = {
        "kind": "official_account",
        "appid": "wx0c0c0c0c0c0c0c0c",
        "secret": "broken-app-secret",
        "token": "t",  # too short: WeChat's consoles ask for 3 to 32 characters
    }
    with LocalStack(apps={**DEV_APPS, BROKEN_APP: broken}) as stack:
        yield stack


@pytest.fixture
def elsewhere(page: Any) -> Iterator[Any]:
    """The page with the browser's clock in another zone than the account's (and than UTC)."""
    page.driver.execute_cdp_cmd("Emulation.setTimezoneOverride", {"timezoneId": BROWSER_ZONE})
    page.driver.refresh()
    try:
        yield page
    finally:
        page.driver.execute_cdp_cmd("Emulation.setTimezoneOverride", {"timezoneId": ""})


def field_error(page: Any, form: str, name: str) -> Any:
    return page.visible(f'{form} [data-field="{name}"] .field-error')


def label_of(page: Any, form: str, name: str) -> str:
    return str(page.text_of(f'{form} [data-field="{name}"] label'))


def beijing(iso_or_epoch: str | int) -> str:
    """'2026-11-21 09:05（中国标准时间）': how the console shows a time of a Chinese account."""
    if isinstance(iso_or_epoch, int):
        moment = datetime.fromtimestamp(iso_or_epoch, UTC)
    else:
        moment = datetime.fromisoformat(iso_or_epoch.replace("Z", "+00:00"))
    return f"{moment.astimezone(BEIJING):%Y-%m-%d %H:%M}（中国标准时间）"


def submit_new(page: Any, **values: str) -> None:
    page.open(f"#/new?app=demo-oa&t={uuid.uuid4().hex[:4]}")
    page.visible("#new-form")
    for name, value in values.items():
        if name == "kind":
            page.css(f'#new-form input[name="kind"][value="{value}"]').click()
        elif name == "scene_type":
            page.css(f'#new-form input[name="scene_type"][value="{value}"]').click()
        else:
            page.fill(f"#new-{name}", value)
    page.css("#new-submit").click()


def test_a_refusal_is_said_in_chinese_next_to_its_field(page: Any) -> None:
    submit_new(page, scene=unique("ok"), name="名" * 65)

    error = field_error(page, "#new-form", "channel.name")
    assert error.text == "最多 64 个字符（当前 65）"
    assert label_of(page, "#new-form", "channel.name") == "渠道名称"
    assert page.css("#new-name").get_attribute("aria-invalid") == "true"
    assert page.text_of("#new-form .form-error") == "请修正标出的字段后重试。"
    page.screenshot("validation-name")

    page.fill("#new-name", "表情测试")
    page.fill("#new-scene", "春节海报😀")
    page.css("#new-submit").click()
    page.wait(lambda d: "表情" in field_error(page, "#new-form", "scene").text)
    assert field_error(page, "#new-form", "scene").text == "不能包含表情符号（emoji）或其他生僻字符"
    assert label_of(page, "#new-form", "scene") == "场景值"
    assert not page.css('#new-form [data-field="channel.name"] .field-error').is_displayed()

    page.fill("#new-scene", "春节海报")
    page.fill("#new-tag", "春季标签" * 3)
    page.css("#new-submit").click()
    assert field_error(page, "#new-form", "channel.tag").text == "最多 30 字节（中文每字 3 字节，当前 36）"

    # A channel without a name: the API names "channel", shown by its first field, saying which field it means.
    page.fill("#new-tag", "")
    page.fill("#new-name", "")
    page.css("#new-submit").click()
    assert field_error(page, "#new-form", "channel.name").text == "渠道信息：必填（至少填写渠道名称）"

    page.css("#lang-toggle").click()
    page.wait(lambda d: page.text_of("h1") == "New channel QR code")
    page.fill("#new-scene", unique("en"))
    page.fill("#new-name", "n" * 70)
    page.css("#new-submit").click()
    assert field_error(page, "#new-form", "channel.name").text == "At most 64 characters (now 70)"


def test_a_permanent_codes_number_scene_out_of_range_and_a_conflict_are_explained_in_chinese(
    page: Any,
) -> None:
    # The integer range of a permanent scene: the API names it integer_range {1, 100000}, the console words it.
    submit_new(page, kind="permanent", scene_type="int", scene="200000", name="永久码")
    error = field_error(page, "#new-form", "scene")
    assert error.text.startswith("数字场景值必须是 1 到 100000 之间的整数")

    scene = str(90000 + uuid.uuid4().int % 9000)
    submit_new(page, kind="permanent", scene_type="int", scene=scene, name="永久码")
    page.wait(lambda d: page.text_of("h1") == "永久码")
    submit_new(page, kind="temporary", scene_type="int", scene=scene, name="临时码")
    conflict = field_error(page, "#new-form", "scene")
    assert conflict.text.startswith("与现有数据冲突")
    assert f"'{scene}' already has a permanent code" in conflict.text  # the server's own words, for support


def test_a_period_ending_before_it_starts_is_refused_next_to_its_start(page: Any) -> None:
    page.open("#/referrers?app=demo-oa")
    page.visible("#totals")  # the first answer is in (it sets the period's dates)
    page.js(
        """document.getElementById('period-from').value = '2026-02-01';
           document.getElementById('period-to').value = '2026-01-01';"""
    )
    page.css("#period-show").click()
    assert field_error(page, "form.period", "from").text == "开始日期不能晚于结束日期"


def test_the_app_picker_lists_the_configured_apps_and_remembers_the_choice(page: Any) -> None:
    page.open("#/reminders")
    page.visible("#reminder-form")
    options = {
        option.get_attribute("value"): (option.text, option.get_attribute("disabled") is not None)
        for option in page.all("#reminder-app option")
    }
    assert options == {
        "demo-oa": ("demo-oa · 公众号 · Asia/Shanghai", False),
        "demo-mp": ("demo-mp · 小程序 · Asia/Shanghai", False),
        BROKEN_APP: (f"{BROKEN_APP} · 配置无法使用", True),
    }
    hint = page.text_of('#reminder-form [data-field="app"] .hint')
    assert f"{BROKEN_APP} 的配置无法使用" in hint and "token" in hint
    assert page.css("#reminder-url").is_displayed() and not page.css("#reminder-page").is_displayed()

    from selenium.webdriver.support.ui import Select

    Select(page.css("#reminder-app")).select_by_value("demo-mp")
    page.wait(lambda d: page.css("#reminder-page").is_displayed())
    assert not page.css("#reminder-url").is_displayed()
    assert not page.css("#reminder-scenes").is_displayed()
    assert "卡片" in page.text_of("#reminder-cards")
    page.screenshot("app-picker")

    page.driver.refresh()
    page.visible("#reminder-form")
    assert Select(page.css("#reminder-app")).first_selected_option.get_attribute("value") == "demo-mp"

    # A page for Official Accounts lists the Mini Program and the broken app, but neither can be chosen.
    page.open("#/channels")
    page.visible("#app-input")
    assert Select(page.css("#app-input")).first_selected_option.get_attribute("value") == "demo-oa"
    enabled = [
        o.get_attribute("value") for o in page.all("#app-input option") if o.get_attribute("disabled") is None
    ]
    assert enabled == ["demo-oa"]
    assert "此页只适用于公众号" in page.text_of('#app-input option[value="demo-mp"]')


def test_without_the_apps_route_the_account_is_typed(page: Any) -> None:
    """A stack deployed before GET /apps answers API Gateway's 403: the console keeps a text field and says why."""
    script = page.driver.execute_cdp_cmd(
        "Page.addScriptToEvaluateOnNewDocument",
        {
            "source": """const real = window.fetch;
               window.fetch = (url, options) => String(url).startsWith('/api/apps')
                 ? Promise.resolve(new Response(JSON.stringify({message: 'Missing Authentication Token'}),
                                                {status: 403, headers: {'Content-Type': 'application/json'}}))
                 : real(url, options);"""
        },
    )
    try:
        page.open("#/channels?app=demo-oa")
        page.driver.refresh()
        page.wait(lambda d: page.all("#channel-list .card") or "还没有" in page.text_of("#channel-count"))
        typed = page.css("#app-input")
        assert typed.tag_name == "input" and typed.get_attribute("value") == "demo-oa"
        note = page.text_of('#app-toolbar [data-field="app"] .hint')
        assert "GET /apps" in note and "Missing Authentication Token" in note
    finally:
        page.driver.execute_cdp_cmd(
            "Page.removeScriptToEvaluateOnNewDocument", {"identifier": script["identifier"]}
        )


def test_times_are_the_accounts_with_its_zone_named(elsewhere: Any, console: Any, wechat: Any) -> None:
    page = elsewhere
    assert page.js("return Intl.DateTimeFormat().resolvedOptions().timeZone") == BROWSER_ZONE
    scene = unique("时区")
    create_channel(page, scene, "时区测试")
    channel = record(console, scene)
    page.wait(lambda d: page.all(".details time"))
    shown = [el.text for el in page.all(".details time")]
    assert shown == [beijing(channel["expires_at"]), beijing(channel["created_at"])]

    follower = wechat.new_openid()
    wechat.follow(follower, scene, channel["ticket"])
    followed_at = wechat.clock  # the push's CreateTime, in UTC seconds: when WeChat says they followed
    wechat.settle()
    page.driver.refresh()
    row = page.visible(f'#followers-table tr[data-openid="{follower}"]')
    assert beijing(followed_at).split("（")[0] in row.text
    assert "Asia/Shanghai（中国标准时间）" in page.text_of("#followers-zone")
    assert "Asia/Shanghai（中国标准时间）" in page.text_of("#stats-zone")

    page.open("#/channels?app=demo-oa")
    card = page.visible(f'#channel-list .card[data-scene="{scene}"]')
    assert beijing(channel["expires_at"]) in card.text


def test_a_downloaded_qr_code_keeps_its_chinese_name(page: Any, downloads: Path) -> None:
    tag = uuid.uuid4().hex[:4]
    for scene, name, file in (
        (f"春节海报{tag}", "春季海报", f"wxfunnel-demo-oa-春节海报{tag}-春季海报.*"),
        (f"店铺A/二楼{tag}", "二楼收银台", f"wxfunnel-demo-oa-店铺A_二楼{tag}-二楼收银台.*"),
    ):
        create_channel(page, scene, name)
        page.visible("#qr-download").click()
        saved = wait_for_file(downloads, file)
        assert saved.stat().st_size > 0
        assert saved.read_bytes()[:3] in (b"\xff\xd8\xff", b"\x89PN")  # the image itself
