"""Fixtures of the browser tests: the local stack, the console in front of it, and headless Chromium driving it."""

from __future__ import annotations

import base64
import os
import shutil
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from wxfunnel_tools.devapps import DEMO_OA, DEV_APPS
from wxfunnel_tools.pushes import message, signed_push

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / ".screenshots"
CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
CHROMIUM_FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--lang=zh-CN",
)


SKIP_VARIABLE = "WXFUNNEL_SKIP_BROWSER"
# Where Chromium saves downloads (the console's CSV exports): one folder per test session, emptied per test.
DOWNLOADS = Path(tempfile.mkdtemp(prefix="wxfunnel-downloads-"))


def _missing_browser() -> str | None:
    """Why the browser tests cannot run here, or None."""
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install -e '.[dev]')"
    for binary in (CHROMIUM, CHROMEDRIVER):
        if not binary.exists():
            return f"{binary} is missing: run tools/install-browser.sh (Debian packages chromium, chromium-driver)"
    return None


@pytest.fixture(scope="module")
def local_stack() -> Iterator[Any]:
    from wxfunnel_tools.localstack import LocalStack

    with LocalStack() as stack:
        yield stack


@pytest.fixture(scope="module")
def console(local_stack: Any) -> Iterator[Any]:
    """The console server in front of the local stack, signing as `wxfunnel console --local` does."""
    from wxfunnel_tools.console import serve, signer_for

    signer = signer_for(local_stack.url)
    with serve(local_stack.url, signer=signer) as running:
        yield running


@pytest.fixture(scope="session")
def driver() -> Iterator[Any]:
    reason = _missing_browser()
    if reason and os.environ.get(SKIP_VARIABLE) == "1":
        pytest.skip(f"{reason} ({SKIP_VARIABLE}=1)")
    if reason:
        pytest.fail(
            f"the browser tests cannot run: {reason}; set {SKIP_VARIABLE}=1 to skip them", pytrace=False
        )
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    # Selenium Manager must not look for or download a browser: the binaries are given, and it is told to stay offline.
    saved = os.environ.get("SE_OFFLINE")
    os.environ["SE_OFFLINE"] = "true"
    profile = tempfile.mkdtemp(prefix="wxfunnel-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    options.add_argument("--window-size=1280,900")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})  # the page's console, kept for a failure
    options.add_experimental_option(
        "prefs",
        {
            "download.default_directory": str(DOWNLOADS),
            "download.prompt_for_download": False,
            "download.directory_upgrade": True,
            "safebrowsing.enabled": False,
        },
    )
    browser = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
    browser.set_page_load_timeout(30)
    try:
        yield browser
    finally:
        browser.quit()
        shutil.rmtree(profile, ignore_errors=True)
        shutil.rmtree(DOWNLOADS, ignore_errors=True)
        if saved is None:
            os.environ.pop("SE_OFFLINE", None)
        else:
            os.environ["SE_OFFLINE"] = saved


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """Keep what a failed test's page showed: .screenshots/failed-<test>.png and its console log."""
    report = yield
    shown = item.funcargs.get("page") if hasattr(item, "funcargs") else None
    if report.when == "call" and report.failed and isinstance(shown, Page):
        try:
            shown.screenshot(f"failed-{item.name}")
            messages = [str(message) for message in shown.driver.get_log("browser")]
            calls = shown.js(
                """return performance.getEntriesByType('resource')
                     .filter((e) => e.name.includes('/api/'))
                     .map((e) => `${Math.round(e.startTime)} ms +${Math.round(e.duration)} ms ${e.name}`);"""
            )
            (SCREENSHOTS / f"console-failed-{item.name}.log").write_text(
                "\n".join([*messages, "API calls of the page:", *calls]), encoding="utf-8"
            )
        except Exception as exc:  # the browser may be what failed: the report stays as it is
            report.sections.append(("screenshot", f"no screenshot: {exc}"))
    return report


@pytest.fixture
def page(driver: Any, console: Any) -> Iterator[Page]:
    """The console open in Chromium, in Chinese (the default), at desktop width."""
    driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
    driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": ""})
    driver.get(console.url)
    driver.execute_script("localStorage.clear()")
    driver.refresh()
    yield Page(driver, console.url)


@pytest.fixture
def downloads(driver: Any) -> Path:
    """The folder Chromium downloads into, empty at the start of the test."""
    DOWNLOADS.mkdir(exist_ok=True)
    for file in DOWNLOADS.iterdir():
        file.unlink()
    driver.execute_cdp_cmd(
        "Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(DOWNLOADS)}
    )
    return DOWNLOADS


@dataclass
class Page:
    driver: Any
    url: str

    def open(self, route: str) -> None:
        self.driver.get(self.url + route)

    def wait(self, condition: Callable[[Any], Any], timeout: float = 20.0) -> Any:
        """Until `condition` holds; an element the page re-rendered meanwhile (stale) or has not drawn yet is
        looked up again at the next poll."""
        from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
        from selenium.webdriver.support.ui import WebDriverWait

        ignored = (StaleElementReferenceException, NoSuchElementException)
        return WebDriverWait(self.driver, timeout, poll_frequency=0.1, ignored_exceptions=ignored).until(
            condition
        )

    def css(self, selector: str) -> Any:
        from selenium.webdriver.common.by import By

        return self.driver.find_element(By.CSS_SELECTOR, selector)

    def all(self, selector: str) -> list[Any]:
        from selenium.webdriver.common.by import By

        return list(self.driver.find_elements(By.CSS_SELECTOR, selector))

    def visible(self, selector: str, timeout: float = 20.0) -> Any:
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support import expected_conditions as ec

        return self.wait(ec.visibility_of_element_located((By.CSS_SELECTOR, selector)), timeout)

    def text_of(self, selector: str) -> str:
        return str(self.css(selector).text)

    def fill(self, selector: str, value: str) -> None:
        element = self.css(selector)
        element.clear()
        element.send_keys(value)

    def js(self, script: str, *args: Any) -> Any:
        return self.driver.execute_script(script, *args)

    def screenshot(self, name: str) -> Path:
        """A full-page PNG in .screenshots/ for a person to look at (not compared with anything)."""
        SCREENSHOTS.mkdir(exist_ok=True)
        size = self.driver.execute_cdp_cmd("Page.getLayoutMetrics", {})["cssContentSize"]
        shot = self.driver.execute_cdp_cmd(
            "Page.captureScreenshot",
            {
                "format": "png",
                "captureBeyondViewport": True,
                "clip": {"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1},
            },
        )
        path = SCREENSHOTS / f"console-{name}.png"
        path.write_bytes(base64.b64decode(shot["data"]))
        return path


# --- WeChat users, through the real callback over HTTP


class WeChatUsers:
    """Users of the demo Official Account: each action is a signed plaintext XML push POSTed to the callback.

    Each push carries a later CreateTime than the one before (whole seconds, as WeChat's): a test's follow and
    unfollow are seconds apart as a person's are, not in one second, where the unfollow is taken to come first
    (wxfunnel.domain.followers)."""

    def __init__(self, stack: Any) -> None:
        self.stack = stack
        self.app = DEV_APPS[DEMO_OA]
        self.clock = int(time.time())

    def _next_time(self) -> int:
        self.clock = max(self.clock + 1, int(time.time()))
        return self.clock

    @staticmethod
    def new_openid() -> str:
        return f"oBrowser{uuid.uuid4().hex[:12]}"

    def push(self, who: str, msg_type: str = "event", **fields: Any) -> None:
        query, body = signed_push(
            self.app,
            message(
                msg_type, openid=who, to_user=self.app["original_id"], create_time=self._next_time(), **fields
            ),
        )
        request = urllib.request.Request(
            f"{self.stack.callback_url(DEMO_OA)}?{urlencode(query)}",
            data=body,
            method="POST",
            headers={"Content-Type": "text/xml"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 200

    def follow(self, who: str, scene: str, ticket: str) -> None:
        """Scans the channel's QR code and follows (the sandbox then knows them as a follower too)."""
        self.stack.sandbox.follow(self.app["appid"], who, scene)
        self.push(who, Event="subscribe", EventKey=f"qrscene_{scene}", Ticket=ticket)

    def scan(self, who: str, scene: str, ticket: str) -> None:
        """Scans the channel's QR code while already following."""
        self.push(who, Event="SCAN", EventKey=scene, Ticket=ticket)

    def follow_plainly(self, who: str) -> None:
        """Follows without a code (searching the account's name)."""
        self.stack.sandbox.follow(self.app["appid"], who)
        self.push(who, Event="subscribe", EventKey="")

    def say(self, who: str, text: str) -> None:
        """Sends the account a text message."""
        self.push(who, "text", Content=text, MsgId=self.clock * 1000 + len(text))

    def unfollow(self, who: str) -> None:
        self.stack.sandbox.unfollow(self.app["appid"], who)
        self.push(who, Event="unsubscribe", EventKey="")

    def settle(self) -> None:
        """Wait until the queued work (welcome messages, reminders) is done."""
        self.stack.drain(timeout=30)


@pytest.fixture
def wechat(local_stack: Any) -> WeChatUsers:
    return WeChatUsers(local_stack)
