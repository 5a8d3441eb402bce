"""Steps the browser tests share: what an operator does on the console's pages, and reading what the page shows."""

from __future__ import annotations

import json
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any

from wxfunnel.protocol.limits import scene_segment


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:6]}"


def create_channel(page: Any, scene: str, name: str, **extra: str) -> None:
    """Fill and submit the create form; wait for the channel page."""
    page.open(f"#/new?app=demo-oa&t={uuid.uuid4().hex[:4]}")
    page.visible("#new-form")
    page.fill("#new-scene", scene)
    page.fill("#new-name", name)
    for field, value in extra.items():
        page.fill(f"#new-{field}", value)
    page.css("#new-submit").click()
    page.wait(lambda d: page.js("return location.hash").startswith("#/channel/"))
    page.wait(lambda d: page.text_of("h1") == name)


def record(console: Any, scene: str) -> dict[str, Any]:
    """The channel record, read through the console server as the page reads it."""
    request = urllib.request.Request(
        f"{console.url}api/qrcodes/demo-oa/{scene_segment(scene)}", headers={"X-Wxfunnel-Console": "1"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        result: dict[str, Any] = json.loads(response.read())
        return result


def totals(page: Any) -> dict[str, str]:
    """The totals shown, read in one go (the page may be replacing them with a newer answer meanwhile)."""
    shown: dict[str, str] = page.js(
        """return Object.fromEntries([...document.querySelectorAll('#totals [data-total]')]
             .map((el) => [el.dataset.total, el.textContent.trim()]));"""
    )
    return shown


def show_stats(page: Any) -> None:
    """Ask for the statistics again (the period form's button) and wait for the new answer."""
    page.js("document.getElementById('totals').setAttribute('data-stale', '1')")
    page.css("#period-show").click()
    page.wait(lambda d: page.all("#totals:not([data-stale])"))


def admin(console: Any, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    """An admin API call through the console server, as the page makes it (setting up what a test needs)."""
    headers = {"X-Wxfunnel-Console": "1", "Accept": "application/json"}
    data = None
    if body is not None:
        headers["Content-Type"] = "application/json"
        data = json.dumps(body).encode("utf-8")
    request = urllib.request.Request(f"{console.url}api{path}", data=data, headers=headers, method=method)
    with urllib.request.urlopen(request, timeout=10) as response:
        result: dict[str, Any] = json.loads(response.read())
        return result


def page_fits(page: Any, width: int) -> bool:
    """Nothing on the page is wider than the screen (no sideways scrolling of the page itself)."""
    return bool(page.js("return document.documentElement.scrollWidth") <= width)


def wait_for_file(folder: Path, pattern: str, timeout: float = 20.0) -> Path:
    """The downloaded file matching `pattern`, once Chromium finished writing it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done = [f for f in folder.glob(pattern) if not f.name.endswith(".crdownload")]
        if done and not list(folder.glob("*.crdownload")):
            return done[0]
        time.sleep(0.1)
    raise AssertionError(f"no download {pattern} in {folder}: {sorted(f.name for f in folder.iterdir())}")
