"""The live-code admin API as API Gateway calls it, shared by the live-code test files (the `admin` fixture is in
conftest.py)."""

from __future__ import annotations

from typing import Any

from wxfunnel_tools.apigw import proxy_event, response_headers
from wxfunnel_tools.devapps import DEV_APPS
from wxfunnel_tools.template import load_handler
from wxfunnel_tools.testing import admin_call, lambda_context

OA = "demo-oa"
OA_GH = DEV_APPS[OA]["original_id"]
PHONE = "Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 MicroMessenger/8.0.47"


class Admin:
    """LiveCodeFunction and QrCodeFunction as API Gateway calls them, with a SigV4-authenticated caller."""

    def __init__(self) -> None:
        self.livecodes = load_handler("LiveCodeFunction")
        self.qrcodes = load_handler("QrCodeFunction")
        self.landing = load_handler("LandingFunction")

    def call(
        self,
        method: str,
        resource: str,
        path: str,
        body: Any = None,
        *,
        params: dict[str, str] | None = None,
        query: dict[str, str] | None = None,
        content_type: str = "application/json",
        handler: Any = None,
    ) -> tuple[int, Any, dict[str, Any]]:
        handler = handler or self.livecodes
        status, data, response = admin_call(
            handler,
            "QrCodeFunction" if handler is self.qrcodes else "LiveCodeFunction",
            method,
            resource,
            path,
            body=body,
            params=params,
            query=query,
            content_type=content_type,
        )
        return status, data, response_headers(response)

    def channel(self, scene: str, **channel: Any) -> dict[str, Any]:
        body = {"app": OA, "scene": scene, "channel": {"name": f"Channel {scene}", **channel}}
        status, record, _ = self.call("POST", "/qrcodes", "/qrcodes", body, handler=self.qrcodes)
        assert status == 201, record
        return record

    def reassign(self, scene: str, name: str) -> dict[str, Any]:
        """Retire the scene's channel and give the scene to a new one (its next generation)."""
        path = f"/qrcodes/{OA}/{scene}/retire"
        status, retired, _ = self.call(
            "POST",
            "/qrcodes/{app}/{scene}/retire",
            path,
            params={"app": OA, "scene": scene},
            handler=self.qrcodes,
        )
        assert status == 200, retired
        body = {"app": OA, "scene": scene, "channel": {"name": name}}
        status, reassigned, _ = self.call("POST", "/qrcodes", "/qrcodes", body, handler=self.qrcodes)
        assert status == 201 and reassigned["reassigned"] is True, reassigned
        return reassigned

    def live(self, scene: str, **fields: Any) -> dict[str, Any]:
        status, record, _ = self.call(
            "POST", "/livecodes", "/livecodes", {"app": OA, "scene": scene, **fields}
        )
        assert status == 201, record
        return record

    def put_live(self, code: str, body: dict[str, Any]) -> tuple[int, Any]:
        status, record, _ = self.call(
            "PUT",
            "/livecodes/{app}/{code}",
            f"/livecodes/{OA}/{code}",
            body,
            params={"app": OA, "code": code},
        )
        return status, record

    def campaign(self, **fields: Any) -> tuple[int, Any]:
        status, record, _ = self.call("POST", "/campaigns", "/campaigns", {"app": OA, **fields})
        return status, record

    def visit(self, code: str, cookie: str | None = None) -> dict[str, Any]:
        headers = {"User-Agent": PHONE}
        if cookie:
            headers["Cookie"] = cookie
        event = proxy_event(
            "GET",
            "/l/{app}/{code}",
            f"/l/{OA}/{code}",
            path_parameters={"app": OA, "code": code},
            headers=headers,
        )
        return dict(self.landing(event, lambda_context("LandingFunction")))

    def image_of(self, page: dict[str, Any]) -> str:
        body = page["body"]
        start = body.index('<img class="qr" src="') + len('<img class="qr" src="')
        return body[start : body.index('"', start)].replace("&amp;", "&")
