"""Drive a sandbox that runs in another process (the local stack) through its /__sandbox__/ admin API."""

from __future__ import annotations

from typing import Any

import requests


class RemoteSandbox:
    """The admin methods of a sandbox at `api_base` (e.g. "http://127.0.0.1:8901"), over HTTP."""

    def __init__(self, api_base: str, timeout: float = 5.0) -> None:
        self.api_base = api_base.rstrip("/")
        self.mp_base = self.api_base + "/mp"
        self._timeout = timeout

    def _post(self, action: str, **payload: Any) -> Any:
        response = requests.post(f"{self.api_base}/__sandbox__/{action}", json=payload, timeout=self._timeout)
        response.raise_for_status()
        return response.json()

    def _get(self, action: str, **params: Any) -> Any:
        query = {k: v for k, v in params.items() if v is not None}
        response = requests.get(f"{self.api_base}/__sandbox__/{action}", params=query, timeout=self._timeout)
        if response.status_code == 404 and action == "qr":
            return None
        response.raise_for_status()
        return response.json()

    def register_app(self, appid: str, secret: str, kind: str) -> None:
        self._post("apps", appid=appid, secret=secret, kind=kind)

    def fail_next(
        self,
        endpoint: str,
        *,
        errcode: int | None = None,
        errmsg: str | None = None,
        status: int | None = None,
        delay: float = 0.0,
        drop: bool = False,
        times: int = 1,
        openid: str | None = None,
    ) -> None:
        self._post(
            "faults",
            endpoint=endpoint,
            errcode=errcode,
            errmsg=errmsg,
            status=status,
            delay=delay,
            drop=drop,
            times=times,
            openid=openid,
        )

    def clear_faults(self) -> None:
        self._post("faults/clear")

    def invalidate_tokens(self, appid: str) -> None:
        self._post("invalidate", appid=appid)

    def expire_tokens(self, appid: str) -> None:
        self._post("expire", appid=appid)

    def follow(self, appid: str, openid: str, scene: int | str | None = None) -> None:
        self._post("follow", appid=appid, openid=openid, scene=scene)

    def unfollow(self, appid: str, openid: str) -> None:
        self._post("unfollow", appid=appid, openid=openid)

    def is_following(self, appid: str, openid: str) -> bool:
        return bool(self._get("following", appid=appid, openid=openid)["following"])

    def interact(self, appid: str, openid: str) -> None:
        self._post("interact", appid=appid, openid=openid)

    def grant_subscription(self, appid: str, openid: str, template_id: str, times: int = 1) -> None:
        self._post("grant", appid=appid, openid=openid, template_id=template_id, times=times)

    def advance(self, seconds: float) -> None:
        self._post("advance", seconds=seconds)

    def reset(self) -> None:
        self._post("reset")

    def reset_calls(self) -> None:
        self._post("calls/reset")

    def calls(self, endpoint: str | None = None, appid: str | None = None) -> list[dict[str, Any]]:
        return list(self._get("calls", endpoint=endpoint, appid=appid)["calls"])

    def count(self, endpoint: str | None = None, appid: str | None = None) -> int:
        return int(self._get("calls", endpoint=endpoint, appid=appid)["count"])

    def qr(self, ticket: str) -> dict[str, Any] | None:
        result: dict[str, Any] | None = self._get("qr", ticket=ticket)
        return result

    def qr_for_url(self, url: str) -> dict[str, Any] | None:
        result: dict[str, Any] | None = self._get("qr", url=url)
        return result

    def scene_for_ticket(self, ticket: str) -> int | str | None:
        record = self.qr(ticket)
        return record["scene"] if record else None

    def deliveries(self, openid: str | None = None, appid: str | None = None) -> list[dict[str, Any]]:
        return list(self._get("deliveries", openid=openid, appid=appid)["deliveries"])

    def menu(self, appid: str) -> list[Any] | None:
        result: list[Any] | None = self._get("menu", appid=appid)["menu"]
        return result
