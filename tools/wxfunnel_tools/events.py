"""Regenerates the WeChat-facing sample events in events/ for `sam local invoke -e events/<x>.json`.

They are signed for the development apps of devapps.py with the current time, because the callback refuses pushes
outside its replay window (10 minutes by default): run `make events` right before invoking. The apps' configuration
is written beside them (events/apps/<app>.json) for the stack the invocation reads (`wxfunnel config put demo-oa
events/apps/demo-oa.json --stack-name …`; a staging stack: their tokens are public), or sign for your own app with
`wxfunnel events sign`.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

from wxfunnel_tools.devapps import DEMO_MP, DEMO_OA, DEV_APPS, demo_apps
from wxfunnel_tools.pushes import callback_event, message, signed_push, verify_event
from wxfunnel_tools.template import ROOT

OA_ID = DEV_APPS[DEMO_OA]["original_id"]
MP_ID = DEV_APPS[DEMO_MP]["original_id"]


def wechat_events(now: int | None = None) -> dict[str, dict[str, Any]]:
    now = int(time.time()) if now is None else now
    oa, mp = DEV_APPS[DEMO_OA], DEV_APPS[DEMO_MP]
    pushes = {
        "callback-oa-text-plain.json": (
            DEMO_OA,
            oa,
            message(
                "text",
                openid="oUserPlain0001",
                to_user=OA_ID,
                create_time=now,
                msg_id=now * 10,
                Content="666",
            ),
            "xml",
            "plain",
        ),
        "callback-oa-subscribe-qr-safe.json": (
            DEMO_OA,
            oa,
            message(
                "event",
                openid="oUserSafe0002",
                to_user=OA_ID,
                create_time=now,
                Event="subscribe",
                EventKey="qrscene_spring-poster",
                Ticket="gQH47joAAAAAAAAAASxodHRwOi8vd2VpeGluLnFxLmNvbS9xL2taZ2Z3",
            ),
            "xml",
            "safe",
        ),
        "callback-mp-miniprogrampage-json.json": (
            DEMO_MP,
            mp,
            message(
                "miniprogrampage",
                openid="oMpUser0003",
                to_user=MP_ID,
                create_time=now,
                msg_id=now * 10 + 1,
                Title="Live #10",
                AppId=mp["appid"],
                PagePath="pages/live/index?live_id=10&user_id=5",
                ThumbUrl="",
                ThumbMediaId="",
            ),
            "json",
            "plain",
        ),
        "callback-mp-text-safe-json.json": (
            DEMO_MP,
            mp,
            message(
                "text",
                openid="oMpUser0004",
                to_user=MP_ID,
                create_time=now,
                msg_id=now * 10 + 2,
                Content="666",
            ),
            "json",
            "safe",
        ),
    }
    events = {"verify.json": verify_event(DEMO_OA, oa["token"], timestamp=now)}
    for name, (app_name, config, fields, fmt, mode) in pushes.items():
        query, body = signed_push(config, fields, fmt=fmt, mode=mode, timestamp=now)  # type: ignore[arg-type]
        events[name] = callback_event(app_name, query, body)
    return events


def write_events(events: dict[str, dict[str, Any]], folder: Path) -> None:
    """Each event (or app configuration, under apps/) as indented JSON: `name` is its path under `folder`."""
    for name, event in events.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(event, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        print(path)


def app_configurations() -> dict[str, dict[str, Any]]:
    """apps/<app>.json: the development apps the events are signed for, with the demo's rules."""
    return {f"apps/{name}.json": document for name, document in demo_apps().items()}


def main(argv: list[str] | None = None) -> None:
    """Writes the WeChat-facing events (signed now) and the admin ones: `python -m wxfunnel_tools.events [folder]`."""
    from wxfunnel_tools.admin_events import admin_events

    args = sys.argv[1:] if argv is None else argv
    folder = Path(args[0]) if args else ROOT / "events"
    write_events({**wechat_events(), **admin_events(), **app_configurations()}, folder)


if __name__ == "__main__":
    main()
