"""Regenerates the QR-code admin API's sample events in events/ for `sam local invoke QrCodeFunction -e …`.

`make events` (wxfunnel_tools.events) writes one API Gateway proxy event per QrCodeFunction route, for the
development Official Account of devapps.py, as an IAM-authenticated operator would send it.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from wxfunnel_tools.apigw import proxy_event
from wxfunnel_tools.devapps import DEMO_OA

SCENE = "spring-poster"
OPERATOR = "wxfunnel-operator"
_JSON = {"Content-Type": "application/json"}


def _scene_path(scene: str) -> str:
    return quote(scene, safe="")  # API Gateway hands the scene over percent-encoded, as it was in the URL


def admin_events() -> dict[str, dict[str, Any]]:
    scene = _scene_path(SCENE)
    create_body = {
        "app": DEMO_OA,
        "scene": SCENE,
        "permanent": False,
        "expire_seconds": 604800,
        "channel": {
            "name": "Spring poster",
            "welcome_message": "Welcome! Thanks for scanning our spring poster.",
            "tag": "spring",
            "referrer": {"name": "Alice"},
            "notes": "Printed 2,000 copies for the subway campaign",
        },
    }
    scene_params = {"app": DEMO_OA, "scene": scene}
    return {
        "qrcodes-create.json": proxy_event(
            "POST",
            "/qrcodes",
            "/qrcodes",
            body=json.dumps(create_body, ensure_ascii=False),
            headers=_JSON,
            iam_user=OPERATOR,
        ),
        "qrcodes-list.json": proxy_event(
            "GET", "/qrcodes", "/qrcodes", query={"app": DEMO_OA, "limit": "50"}, iam_user=OPERATOR
        ),
        "qrcodes-get.json": proxy_event(
            "GET",
            "/qrcodes/{app}/{scene}",
            f"/qrcodes/{DEMO_OA}/{scene}",
            path_parameters=scene_params,
            iam_user=OPERATOR,
        ),
        "qrcodes-image.json": proxy_event(
            "GET",
            "/qrcodes/{app}/{scene}/image",
            f"/qrcodes/{DEMO_OA}/{scene}/image",
            path_parameters=scene_params,
            headers={"Accept": "image/jpeg"},
            iam_user=OPERATOR,
        ),
        "channel-stats.json": proxy_event(
            "GET",
            "/channels/{app}/{scene}/stats",
            f"/channels/{DEMO_OA}/{scene}/stats",
            path_parameters=scene_params,
            iam_user=OPERATOR,
        ),
        "app-stats.json": proxy_event(
            "GET",
            "/channels/{app}/stats",
            f"/channels/{DEMO_OA}/stats",
            path_parameters={"app": DEMO_OA},
            iam_user=OPERATOR,
        ),
        "followers-export-start.json": proxy_event(
            "POST",
            "/followers/exports",
            "/followers/exports",
            query={"app": DEMO_OA, "scene": SCENE},
            iam_user=OPERATOR,
        ),
    }


if __name__ == "__main__":
    from wxfunnel_tools.events import main

    main()
