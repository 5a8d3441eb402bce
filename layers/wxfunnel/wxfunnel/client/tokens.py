"""The access-token lease: one token per app shared by every container through one DynamoDB item.

The shared item (the token and, while someone refreshes it, a lease) is kept by a `TokenTable` the caller injects
(store.tokens in the functions; any object with the same methods in tests). The rules:

- A container keeps the token in memory until `refresh_at` (REFRESH_AHEAD seconds before expiry) or until a
  call says it is invalid; otherwise it reads the item (one consistent GetItem).
- Refreshing is single-flight across containers: the refresher must first win a conditional write that takes
  a short lease (LEASE_SECONDS) *and* finds the token it saw still stored. Losers re-read after small sleeps,
  bounded by WAIT_SECONDS; while a refresh-ahead is in flight they keep using the stored, still valid token.
- A token WeChat rejected (40001/40014/42001) is replaced only if it is still the stored one (compare-and-swap
  on the token value); if another container already replaced it, that replacement is used. Only the lease
  holder asks `stable_token` with force_refresh=true: one rejected token costs one forced refresh in total.
- `stable_token` is the default; `AppConfig.token_endpoint == "classic"` selects `/cgi-bin/token`.
"""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from wxfunnel.client import http
from wxfunnel.client.errors import WeChatUnavailable
from wxfunnel.config.app import AppConfig
from wxfunnel.core.observability import logger

REFRESH_AHEAD = 300.0  # seconds before expiry when a refresh starts (WeChat renews stable tokens then too)
HARD_MARGIN = 30.0  # a token this close to expiry is never used
LEASE_SECONDS = 10.0  # longer than one token request with failover (2 s connect x 2 + 5 s read)
WAIT_SECONDS = 12.0  # how long a container waits for someone else's refresh before giving up


@dataclass(frozen=True, slots=True)
class AccessToken:
    """A token in a container's memory: used until refresh_at, never within HARD_MARGIN of expires_at."""

    value: str = field(repr=False)
    expires_at: float
    refresh_at: float

    def fresh(self, now: float) -> bool:
        return now < self.refresh_at

    def usable(self, now: float) -> bool:
        return now < self.expires_at - HARD_MARGIN


Fetcher = Callable[[AppConfig, bool], tuple[str, int]]


class StoredToken(Protocol):
    @property
    def value(self) -> str: ...
    @property
    def expires_at(self) -> float: ...
    @property
    def refresh_at(self) -> float: ...


class TokenTable(Protocol):
    """Where the shared token and its lease live (conditional writes: see store.tokens)."""

    def read(self, appid: str) -> tuple[StoredToken | None, float | None]: ...
    def acquire(self, appid: str, holder: str, expected: str | None, now: float, until: float) -> bool: ...
    def store(
        self,
        appid: str,
        holder: str,
        *,
        value: str,
        expires_at: float,
        refresh_at: float,
        fetched_at: float,
        source: str,
    ) -> bool: ...
    def release(self, appid: str, holder: str) -> None: ...


def fetch_token(app: AppConfig, force_refresh: bool) -> tuple[str, int]:
    """Ask WeChat for a token → (access_token, expires_in).

    stable: https://developers.weixin.qq.com/doc/offiaccount/Basic_Information/getStableAccessToken.html
    classic: https://developers.weixin.qq.com/doc/offiaccount/Basic_Information/Get_access_token.html
    """
    if app.token_endpoint == "classic":
        body = http.call(
            "GET",
            "/cgi-bin/token",
            params={"grant_type": "client_credential", "appid": app.appid, "secret": app.secret},
        )
    else:
        body = http.call(
            "POST",
            "/cgi-bin/stable_token",
            json_body={
                "grant_type": "client_credential",
                "appid": app.appid,
                "secret": app.secret,
                "force_refresh": force_refresh,
            },
        )
    token, expires_in = body.get("access_token"), body.get("expires_in")
    if not isinstance(token, str) or not token or not isinstance(expires_in, int) or expires_in <= 0:
        raise WeChatUnavailable("the token endpoint answered without access_token/expires_in")
    return token, expires_in


class TokenLease:
    """The access token of one app for one container (one instance per WeChatClient)."""

    def __init__(self, app: AppConfig, table: TokenTable, fetch: Fetcher = fetch_token) -> None:
        self._app = app
        self._table = table
        self._fetch = fetch
        self._holder = uuid.uuid4().hex
        self._memory: AccessToken | None = None
        self._lock = threading.Lock()

    def current(self) -> str:
        """A valid token: from memory, else the shared item, else a single-flight refresh."""
        token = self._memory
        if token is not None and token.fresh(time.time()):
            return token.value
        with self._lock:
            token = self._memory
            if token is None or not token.fresh(time.time()):
                token = self._obtain(failed=None)
                self._memory = token
            return token.value

    def replace(self, failed: str) -> str:
        """A token other than `failed`, which WeChat just rejected (compare-and-swap on the stored value)."""
        with self._lock:
            token = self._memory
            if token is not None and token.value != failed and token.usable(time.time()):
                return token.value
            self._memory = None
            token = self._obtain(failed=failed)
            self._memory = token
            return token.value

    def _obtain(self, failed: str | None) -> AccessToken:
        deadline = time.monotonic() + WAIT_SECONDS
        delay = 0.02
        appid = self._app.appid
        while True:
            record, lease_until = self._table.read(appid)
            stored = AccessToken(record.value, record.expires_at, record.refresh_at) if record else None
            now = time.time()
            good = stored if stored is not None and stored.value != failed else None
            if good is not None and good.fresh(now):
                return good
            if lease_until is None or lease_until <= now:
                expected = stored.value if stored is not None else None
                if self._table.acquire(appid, self._holder, expected, now, now + LEASE_SECONDS):
                    return self._refresh(force=failed is not None and expected in (None, failed))
                continue
            if good is not None and good.usable(now):
                return good  # someone refreshes ahead of expiry; the stored token still works meanwhile
            if time.monotonic() > deadline:
                raise WeChatUnavailable(
                    f"timed out waiting for another container's {self._app.name} token refresh"
                )
            time.sleep(delay * (0.5 + random.random()))  # noqa: S311 (jitter, not crypto)
            delay = min(delay * 2, 0.25)

    def _refresh(self, *, force: bool) -> AccessToken:
        started = time.time()
        try:
            value, expires_in = self._fetch(self._app, force)
        except Exception:
            self._table.release(self._app.appid, self._holder)
            raise
        expires_at = started + expires_in
        token = AccessToken(value, expires_at, expires_at - min(REFRESH_AHEAD, expires_in / 2))
        stored = self._table.store(
            self._app.appid,
            self._holder,
            value=token.value,
            expires_at=token.expires_at,
            refresh_at=token.refresh_at,
            fetched_at=started,
            source=self._app.token_endpoint,
        )
        if not stored:
            # Our lease ran out and someone else took it; our token is still valid, theirs will be stored.
            logger.warning("token lease lost before the new token was stored", extra={"app": self._app.name})
        logger.info(
            "access token refreshed",
            extra={
                "app": self._app.name,
                "endpoint": self._app.token_endpoint,
                "forced": force,
                "expires_in": expires_in,
            },
        )
        return token
