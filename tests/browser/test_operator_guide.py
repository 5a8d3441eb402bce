"""The operator guide's screenshots (docs/operator-guide.md, docs/images/), taken by playing the guide's campaign in
headless Chromium against a fresh local stack, and the cheap checks that the guide and its images agree.

The campaign is always the same (fixed names, scenes, promoters and followers; 1024 px wide; no caret; a fixed
request id), so a new set of images differs from the last only where the console or the day changed. Plain test
runs write them to .screenshots/guide/; `WXFUNNEL_GUIDE_SCREENSHOTS=1` writes docs/images/ to commit:

    WXFUNNEL_GUIDE_SCREENSHOTS=1 .venv/bin/python -m pytest tests/browser/test_operator_guide.py
"""

from __future__ import annotations

import base64
import os
import re
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from steps import admin, record, show_stats, totals, wait_for_file

pytestmark = [pytest.mark.xdist_group("browser")]

ROOT = Path(__file__).resolve().parents[2]
GUIDE = ROOT / "docs" / "operator-guide.md"
IMAGES = ROOT / "docs" / "images"
WIDTH = 1024
MAX_BYTES = 150 * 1024
WRITE_VARIABLE = "WXFUNNEL_GUIDE_SCREENSHOTS"
# Every screenshot the guide shows, in the order the campaign takes them.
SHOTS = (
    "guide-new-channel",
    "guide-validation",
    "guide-channel",
    "guide-print",
    "guide-live-codes",
    "guide-channels",
    "guide-promoter-new",
    "guide-promoters",
    "guide-promoter",
    "guide-my-code",
    "guide-stats",
    "guide-followers",
    "guide-manage",
    "guide-retire",
    "guide-reminder",
    "guide-reminder-progress",
)
REQUEST_ID = "9b2f4c1e-5d7a-4e3b-8c6f-0a1b2c3d4e5f"


def guide_images() -> list[str]:
    """The images the guide shows, as written in it (paths relative to docs/)."""
    return re.findall(r"!\[[^\]]*\]\(([^)\s]+)\)", GUIDE.read_text(encoding="utf-8"))


def png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n", f"{path.name} is not a PNG"
    width, height = struct.unpack(">II", head[16:24])
    return width, height


# --- the cheap checks: no browser ------------------------------------------------------------------------------


def test_every_image_the_guide_shows_exists() -> None:
    shown = guide_images()
    assert shown, "the guide shows no screenshot"
    missing = [image for image in shown if not (GUIDE.parent / image).is_file()]
    assert missing == []


def test_every_screenshot_in_docs_images_is_in_the_guide_and_taken_by_the_campaign() -> None:
    committed = sorted(path.name for path in IMAGES.glob("*.png"))
    shown = sorted(Path(image).name for image in guide_images())
    assert committed == shown
    assert committed == sorted(f"{shot}.png" for shot in SHOTS)


def test_the_screenshots_are_small() -> None:
    for path in IMAGES.glob("*.png"):
        width, _ = png_size(path)
        assert width == WIDTH, path.name
        assert path.stat().st_size <= MAX_BYTES, f"{path.name}: {path.stat().st_size} bytes"


# --- the campaign --------------------------------------------------------------------------------------------


class Camera:
    """Takes the guide's screenshots: 1024 px wide, the part of the page that matters, no blinking caret."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self.folder = IMAGES if os.environ.get(WRITE_VARIABLE) == "1" else ROOT / ".screenshots" / "guide"
        self.folder.mkdir(parents=True, exist_ok=True)
        self.taken: list[str] = []

    def shoot(self, name: str, selector: str = "main", *, top: str | None = None, height: int = 760) -> Path:
        """The region from `top` (else `selector`) down to the end of `selector`, at most `height` px tall;
        `selector` "viewport" is the window as it is (a modal dialog lives in the window, not in the page)."""
        assert name in SHOTS, name
        page = self.page
        page.js("document.documentElement.style.caretColor = 'transparent'")
        if selector == "viewport":
            height = int(page.js("return window.innerHeight"))
            clip = {"x": 0, "y": 0, "width": WIDTH, "height": height, "scale": 1}
        else:
            page.js(
                "if (document.activeElement && document.activeElement.blur) document.activeElement.blur()"
            )
            box = page.js(
                """const rect = (sel) => document.querySelector(sel).getBoundingClientRect();
                   const [start, end] = [rect(arguments[0]), rect(arguments[1])];
                   return {top: start.top + window.scrollY, bottom: end.bottom + window.scrollY};""",
                top or selector,
                selector,
            )
            margin = 0 if (top or selector) == "main" else 16  # main has its own padding
            y = max(0, int(box["top"]) - margin)
            height = min(height, int(box["bottom"]) + 16 - y)
            clip = {"x": 0, "y": y, "width": WIDTH, "height": height, "scale": 1}
        shot = page.driver.execute_cdp_cmd(
            "Page.captureScreenshot",
            {"format": "png", "captureBeyondViewport": selector != "viewport", "clip": clip},
        )
        path = self.folder / f"{name}.png"
        path.write_bytes(base64.b64decode(shot["data"]))
        assert png_size(path)[0] == WIDTH
        assert path.stat().st_size <= MAX_BYTES, f"{name}: {path.stat().st_size} bytes"
        self.taken.append(name)
        return path


@pytest.fixture
def camera(page: Any) -> Iterator[Camera]:
    page.driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": WIDTH, "height": 768, "deviceScaleFactor": 1, "mobile": False},
    )
    # A fixed request id on the reminder form (the console draws one per form from crypto.randomUUID).
    script = page.driver.execute_cdp_cmd(
        "Page.addScriptToEvaluateOnNewDocument",
        {"source": f"crypto.randomUUID = () => '{REQUEST_ID}';"},
    )
    page.driver.refresh()
    try:
        yield Camera(page)
    finally:
        page.driver.execute_cdp_cmd(
            "Page.removeScriptToEvaluateOnNewDocument", {"identifier": script["identifier"]}
        )
        page.driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


def follow(console: Any, wechat: Any, scene: str, people: list[str]) -> None:
    ticket = record(console, scene)["ticket"]
    for who in people:
        wechat.follow(who, scene, ticket)


def test_the_guides_campaign(camera: Camera, console: Any, wechat: Any, downloads: Path) -> None:
    page = camera.page

    # 1. A channel: the form filled in, then a refused scene, then the channel's page and its printed sheet.
    page.open("#/new?app=demo-oa")
    page.visible("#new-form")
    page.fill("#new-scene", "春节海报")
    page.fill("#new-name", "春节地铁海报")
    page.fill("#new-welcome", "欢迎关注！春节活动详情请点菜单“活动”。")
    page.fill("#new-tag", "春节")
    page.fill("#new-notes", "地铁 2 号线 A 口，印 200 张")
    camera.shoot("guide-new-channel", "#new-form", top="main")

    # Too long for WeChat: 20 Chinese characters take 60 of the 64 bytes (an emoji would be refused too, but
    # headless Chromium has no emoji font to show it with).
    too_long = "2027春节地铁二号线人民广场站A口灯箱海报第一批"
    assert len(too_long.encode("utf-8")) == 65
    page.fill("#new-scene", too_long)
    page.css("#new-submit").click()
    error = page.visible('#new-form [data-field="scene"] .field-error')
    assert error.text == "最多 64 字节（中文每字 3 字节）"
    camera.shoot("guide-validation", '#new-form [data-field="scene"]', top="#new-form", height=520)

    page.fill("#new-scene", "春节海报")
    page.css("#new-submit").click()
    page.wait(lambda d: page.text_of("h1") == "春节地铁海报")
    page.visible("#qr-image")
    page.visible("#stats-chart")
    assert (
        page.css("#qr-download")
        .get_attribute("download")
        .startswith("wxfunnel-demo-oa-春节海报-春节地铁海报.")
    )
    camera.shoot("guide-channel", "#manage", top="main")

    page.driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print"})
    try:
        camera.shoot("guide-print", "#qr", top="body", height=560)
    finally:
        page.driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": ""})

    # The channel's live code (活码): the operator's own link, printed, showing the channel's current code.
    page.fill("#live-title", "春节活动，扫码关注")
    page.css("#live-create").click()
    live = page.visible("#live-codes .live-code")
    assert live.get_attribute("data-state") == "active"
    assert "春节活动，扫码关注" in live.text
    camera.shoot("guide-live-codes", "#live-form", top="#live-title-h", height=560)

    admin(
        console,
        "POST",
        "/qrcodes",
        {"app": "demo-oa", "scene": "地铁广告", "channel": {"name": "地铁灯箱广告"}},
    )
    admin(
        console,
        "POST",
        "/qrcodes",
        {
            "app": "demo-oa",
            "scene": 1001,
            "permanent": True,
            "channel": {"name": "门店收银台立牌", "tag": "门店"},
        },
    )
    page.open("#/channels?app=demo-oa")
    page.wait(lambda d: len(page.all("#channel-list .card")) == 3)
    camera.shoot("guide-channels", "#channel-list", top="body")

    # 2. Promoters and teams: one added from the form, the others by the API; their codes; follows rank them.
    page.open("#/promoters/new?app=demo-oa")
    page.visible("#promoter-form")
    page.fill("#promoter-id", "wang-xiaoming")
    page.fill("#promoter-name", "王小明")
    page.fill("#promoter-team", "华东一组")
    page.fill("#promoter-openid", "oGuidePromoterWang01")
    camera.shoot("guide-promoter-new", "#promoter-form", top="main", height=900)
    page.css("#promoter-submit").click()
    page.wait(lambda d: page.text_of("h1") == "王小明")
    for pid, name, team in (("li-hua", "李华", "华东一组"), ("zhao-lei", "赵磊", "华南一组")):
        admin(console, "POST", "/promoters", {"app": "demo-oa", "id": pid, "name": name, "team": team})
    codes = {
        "wang-poster": ("王小明的海报", "wang-xiaoming"),
        "wang-booth": ("王小明的展台", "wang-xiaoming"),
        "li-poster": ("李华的海报", "li-hua"),
        "zhao-poster": ("赵磊的海报", "zhao-lei"),
    }
    for scene, (name, pid) in codes.items():
        admin(
            console,
            "POST",
            "/qrcodes",
            {"app": "demo-oa", "scene": scene, "channel": {"name": name, "promoter": pid}},
        )
    people = [f"oGuideFollower{n:04d}" for n in range(1, 15)]
    follow(console, wechat, "春节海报", people[0:4])
    follow(console, wechat, "wang-poster", people[4:7])
    follow(console, wechat, "wang-booth", people[7:9])
    follow(console, wechat, "li-poster", people[9:12])
    follow(console, wechat, "zhao-poster", people[12:13])
    wechat.scan(people[0], "春节海报", record(console, "春节海报")["ticket"])
    wechat.unfollow(people[3])
    wechat.settle()

    page.open("#/promoters?app=demo-oa")
    page.wait(lambda d: page.all('#promoter-ranking tr[data-promoter="wang-xiaoming"] td[data-rank]'))
    ranks = [row.get_attribute("data-promoter") for row in page.all("#promoter-ranking tbody tr")]
    assert ranks == ["wang-xiaoming", "li-hua", "zhao-lei"]
    camera.shoot("guide-promoters", "#teams", top="main", height=900)

    page.css('#promoter-ranking tr[data-promoter="wang-xiaoming"] a').click()
    page.wait(lambda d: page.text_of("h1") == "王小明")
    page.wait(lambda d: totals(page).get("referrals") == "5")
    camera.shoot("guide-promoter", "#stats", top="main", height=900)

    page.open("#/my-code?app=demo-oa")
    page.visible("#mycode-preview")
    camera.shoot("guide-my-code", "#mycode-preview", top="main", height=720)

    # 3. The channel's numbers and the people it brought, downloaded as a CSV.
    page.open("#/channels?app=demo-oa")
    page.visible('#channel-list .card[data-scene="春节海报"] a').click()
    page.wait(lambda d: page.text_of("h1") == "春节地铁海报")
    page.visible("#stats-chart")
    page.js(  # two weeks up to the account's today
        """const [from, to] = ['period-from', 'period-to'].map((id) => document.getElementById(id));
           from.value = to.value; from.stepDown(13);"""
    )
    show_stats(page)
    assert totals(page) == {
        "new_followers": "4",
        "returning_followers": "0",
        "scans": "1",
        "unfollows": "1",
        "net": "3",
        "referrals": "0",
    }
    camera.shoot("guide-stats", "#stats", top="#stats-title", height=760)

    page.wait(lambda d: len(page.all("#followers-table tbody tr")) == 4)
    page.css("#followers-csv").click()
    saved = wait_for_file(downloads, "*.csv")
    page.wait(lambda d: saved.name in page.text_of("#followers-csv-status"))
    camera.shoot("guide-followers", "#followers-table", top=".followers-section h2", height=560)

    # 4. Edit, disable, retire: the management panel and the retire confirmation.
    page.open("#/channels?app=demo-oa")
    page.visible('#channel-list .card[data-scene="地铁广告"] a').click()
    page.wait(lambda d: page.text_of("h1") == "地铁灯箱广告")
    page.css("#channel-edit").click()
    page.visible("#channel-edit-form")
    camera.shoot("guide-manage", "#manage", height=900)
    page.css("#channel-edit-form .cancel").click()
    page.css("#channel-retire").click()
    page.visible("#retire-dialog")
    page.js("window.scrollTo(0, 0)")
    camera.shoot("guide-retire", "viewport")
    page.css("#retire-cancel").click()

    # 5. A reminder to the poster's followers, and its progress.
    page.open("#/reminders?app=demo-oa&scene=春节海报")
    page.visible("#reminder-form")
    page.wait(lambda d: page.all('input[name="scenes"][value="春节海报"]'))
    page.fill("#reminder-template", "TEMPLATE_SPRING_START")
    page.fill(".data-row .data-value", "春节活动今晚 8 点开始")
    page.css("#data-add").click()
    page.all(".data-row .data-key")[-1].send_keys("time2")
    page.all(".data-row .data-value")[-1].send_keys("2月1日 20:00")
    page.fill("#reminder-url", "https://example.com/spring")
    assert REQUEST_ID in page.text_of("#request-id")
    page.js(  # the chosen channel in view in its scrolling list
        "document.querySelector('input[name=\"scenes\"]:checked').scrollIntoView({block: 'nearest'})"
    )
    camera.shoot("guide-reminder", "#reminder-form", top="main", height=1400)
    page.css("#reminder-submit").click()
    page.visible("#notification-status.status-done", timeout=60)
    assert page.css('[data-count="sent"]').text == "3"
    assert page.css('[data-count="skipped"]').text == "1"  # the one who unfollowed
    camera.shoot("guide-reminder-progress", "#notification", top="main", height=600)

    assert camera.taken == list(SHOTS)
