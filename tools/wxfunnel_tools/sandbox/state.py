"""The sandbox's WeChat: apps, tokens, QR tickets, followers, media, tags, messages, menus, recorder, faults.

Everything here is plain Python guarded by one lock; `server.py` turns HTTP requests into `Request`s and
`World.handle` answers them the way WeChat would (status 200 with `{"errcode": …, "errmsg": "… rid: …"}`).

WeChat's limits here (QR expiry, menu sizes and types, openid and appid shapes) are written from WeChat's
documentation on purpose, not imported from the layer's `protocol.limits`: the sandbox stands for WeChat, so a
limit the layer gets wrong must meet WeChat's refusal in the tests, not the same mistake.
"""

from __future__ import annotations

import base64
import copy
import json
import re
import secrets
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any
from urllib.parse import parse_qs, urlsplit

from wxfunnel_tools.sandbox.png import qr_png

OFFICIAL_ACCOUNT = "official_account"
MINI_PROGRAM = "mini_program"
TOKEN_LIFETIME = 7200
CLASSIC_GRACE = 300  # an older /cgi-bin/token token keeps working this long after a new one is issued
STABLE_RENEW_BEFORE = 300  # stable_token hands out a new token in the last 5 minutes of the current one
MEDIA_LIFETIME = 3 * 86400
MEDIA_MAX_BYTES = 2 * 1024 * 1024
TEMPLATE_DEDUPE_SECONDS = 600
SESSION_SECONDS = 48 * 3600
SESSION_QUOTA = 5
TEMPORARY_SCENE_MAX = 2**32 - 1
PERMANENT_SCENE_MAX = 100_000
PERMANENT_QR_CAP = 100_000
DEFAULT_QR_EXPIRE = 60  # what WeChat used when expire_seconds was omitted (it has changed over time)
MAX_QR_EXPIRE = 2_592_000
OPENID = re.compile(r"^o[A-Za-z0-9_-]{1,63}$")
_HTTP_URL = re.compile(r"^https?://\S+$", re.IGNORECASE)
_APPID = re.compile(r"^wx[0-9a-f]{16}$")
CALLBACK_IPS = ("101.226.103.0/25", "101.226.62.0/26", "183.3.234.0/26", "127.0.0.1")
MENU_BUTTONS_MAX = 3
MENU_SUB_BUTTONS_MAX = 5
MENU_NAME_MAX_BYTES = 16  # a top-level button's name
MENU_SUB_NAME_MAX_BYTES = 60
MENU_KEY_MAX_BYTES = 128
MENU_URL_MAX_BYTES = 1024
MENU_KEY_TYPES = frozenset(
    {
        "click",
        "scancode_push",
        "scancode_waitmsg",
        "pic_sysphoto",
        "pic_photo_or_album",
        "pic_weixin",
        "location_select",
    }
)
MENU_TYPES = MENU_KEY_TYPES | {
    "view",
    "miniprogram",
    "media_id",
    "view_limited",
    "article_id",
    "article_view_limited",
}

ERRMSG: dict[int, str] = {
    -1: "system error",
    40001: "invalid credential, access_token is invalid or not latest",
    40002: "invalid grant_type",
    40003: "invalid openid",
    40004: "invalid media type",
    40006: "invalid meida size",
    40007: "invalid media_id",
    40008: "invalid message type",
    40013: "invalid appid",
    40014: "invalid access_token",
    40016: "invalid button size",
    40017: "invalid button type",
    40018: "invalid button name size",
    40019: "invalid button key size",
    40020: "invalid button url size",
    40022: "invalid sub_menu level",
    40023: "invalid sub button size",
    40024: "invalid sub button type",
    40025: "invalid sub button name size",
    40026: "invalid sub button key size",
    40027: "invalid sub button url size",
    40032: "invalid openid list size",
    40035: "invalid args",
    40037: "invalid template_id",
    40054: "invalid sub button url domain",
    40055: "invalid button url domain",
    40125: "invalid appsecret",
    40164: "invalid ip 127.0.0.1, not in whitelist",
    41001: "access_token missing",
    41002: "appid missing",
    41004: "appsecret missing",
    42001: "access_token expired",
    43004: "require subscribe",
    43019: "require remove blacklist",
    43101: "user refuse to accept the msg",
    44002: "empty post data",
    44003: "empty news data",
    44004: "empty content",
    45002: "content size out of limit",
    45008: "article size out of limit",
    45009: "reach max api daily quota limit",
    45011: "api minute-quota reach limit  mustslower  retry next minute",
    45015: "response out of time limit or subscription is canceled",
    45029: "qrcode count out of limit",
    45047: "out of response count limit",
    45056: "too many tags now, no need to add new",
    45059: "user tag count out of limit",
    45064: "no permission to use weapp in menu",
    45157: "invalid tag name",
    45158: "tag name too long",
    45159: "invalid tag id",
    46003: "menu no exist",
    47001: "data format error",
    47003: "argument invalid!",
    48001: "api unauthorized",
    48002: "api forbidden for irregularities",
}

# Customer-service message types per account kind (MP: exactly four).
CUSTOM_TYPES = {
    MINI_PROGRAM: frozenset({"text", "image", "link", "miniprogrampage"}),
    OFFICIAL_ACCOUNT: frozenset(
        {
            "text",
            "image",
            "voice",
            "video",
            "music",
            "news",
            "mpnews",
            "mpnewsarticle",
            "msgmenu",
            "wxcard",
            "miniprogrampage",
        }
    ),
}
OA_ONLY = frozenset(
    {
        "/cgi-bin/qrcode/create",
        "/cgi-bin/user/info",
        "/cgi-bin/tags/create",
        "/cgi-bin/tags/get",
        "/cgi-bin/tags/members/batchtagging",
        "/cgi-bin/message/template/send",
        "/cgi-bin/menu/create",
        "/cgi-bin/menu/get",
        "/cgi-bin/menu/delete",
    }
)
MP_ONLY = frozenset({"/cgi-bin/message/subscribe/send"})


def endpoint_path(name: str) -> str:
    """'message/custom/send' or 'stable_token' → '/cgi-bin/…'; a path starting with '/' is kept."""
    return name if name.startswith("/") else f"/cgi-bin/{name}"


def _rid() -> str:
    return f"{secrets.token_hex(4)}-{secrets.token_hex(4)}-{secrets.token_hex(4)}"


@dataclass(frozen=True, slots=True)
class App:
    appid: str
    secret: str = field(repr=False)
    kind: str


@dataclass(slots=True)
class Token:
    appid: str
    source: str  # "stable" or "classic"
    expires_at: float
    invalid: bool = False


@dataclass(frozen=True, slots=True)
class Call:
    """One request the sandbox received (admin calls excluded). `appid` is the app whose token (or appid, for
    the token endpoints) the call used; None when the token was unknown."""

    endpoint: str
    method: str
    appid: str | None
    payload: Any  # JSON body, or {"query": …} for GET, or a summary of a multipart upload
    errcode: int
    status: int
    at: float
    openid: str | None = None


@dataclass(frozen=True, slots=True)
class QrRecord:
    ticket: str
    appid: str
    scene: int | str
    permanent: bool
    url: str
    action_name: str
    created_at: float
    expires_at: float | None

    def expired(self, now: float) -> bool:
        return self.expires_at is not None and now >= self.expires_at


@dataclass(frozen=True, slots=True)
class Delivery:
    """A message WeChat would have shown the user: channel "custom", "template" or "subscribe"."""

    appid: str
    openid: str
    channel: str
    msgtype: str
    payload: Mapping[str, Any]
    at: float


@dataclass(frozen=True, slots=True)
class Media:
    media_id: str
    appid: str
    type: str
    filename: str
    content: bytes = field(repr=False)
    content_type: str
    created_at: float


@dataclass(slots=True)
class Follower:
    subscribe_time: int
    scene: int | str | None
    tag_ids: list[int] = field(default_factory=list)


@dataclass(slots=True)
class Fault:
    endpoint: str
    remaining: int
    errcode: int | None = None
    errmsg: str | None = None
    status: int | None = None
    delay: float = 0.0
    drop: bool = False
    openid: str | None = None


@dataclass(slots=True)
class Request:
    method: str
    path: str
    query: dict[str, str]
    body: bytes
    headers: Mapping[str, str]
    data: Any = None  # the parsed JSON body


@dataclass(slots=True)
class Response:
    status: int = 200
    json: Mapping[str, Any] | None = None
    body: bytes = b""
    content_type: str = "application/json; encoding=utf-8"
    drop: bool = False
    delay: float = 0.0


class Fail(Exception):
    """Answer the current request with this errcode (inside World's handlers)."""

    def __init__(self, errcode: int, detail: str = "") -> None:
        super().__init__(errcode)
        self.errcode = errcode
        self.detail = detail


def _is_openid(value: object) -> bool:
    return isinstance(value, str) and bool(OPENID.fullmatch(value))


class World:
    """The state of a fake WeChat platform; thread-safe."""

    def __init__(
        self,
        *,
        require_follow: bool = False,
        require_session: bool = False,
        require_subscription: bool = False,
    ) -> None:
        self.require_follow = require_follow
        self.require_session = require_session
        self.require_subscription = require_subscription
        self._lock = threading.RLock()
        self._offset = 0.0
        self.apps: dict[str, App] = {}
        self._tokens: dict[str, Token] = {}
        self._stable: dict[str, str] = {}
        self._calls: list[Call] = []
        self._faults: list[Fault] = []
        self._qr: dict[str, QrRecord] = {}
        self._qr_by_url: dict[str, str] = {}
        self._followers: dict[tuple[str, str], Follower] = {}
        self._sessions: dict[tuple[str, str], tuple[float, int]] = {}
        self._grants: Counter[tuple[str, str, str]] = Counter()
        self._media: dict[str, Media] = {}
        self._tags: dict[str, dict[int, str]] = {}
        self._next_tag = 100
        self._template_sent: dict[tuple[str, str, str], tuple[float, int]] = {}
        self._next_msgid = 2_000_000_000
        self._deliveries: list[Delivery] = []
        self._menus: dict[str, list[Any]] = {}
        self._routes: dict[str, tuple[str, Callable[[Request, App | None], Mapping[str, Any]]]] = {
            "/cgi-bin/token": ("GET", self._token),
            "/cgi-bin/stable_token": ("POST", self._stable_token),
            "/cgi-bin/qrcode/create": ("POST", self._qrcode_create),
            "/cgi-bin/message/custom/send": ("POST", self._custom_send),
            "/cgi-bin/message/custom/typing": ("POST", self._typing),
            "/cgi-bin/media/upload": ("POST", self._media_upload),
            "/cgi-bin/user/info": ("GET", self._user_info),
            "/cgi-bin/tags/create": ("POST", self._tags_create),
            "/cgi-bin/tags/get": ("GET", self._tags_get),
            "/cgi-bin/tags/members/batchtagging": ("POST", self._batchtagging),
            "/cgi-bin/message/template/send": ("POST", self._template_send),
            "/cgi-bin/message/subscribe/send": ("POST", self._subscribe_send),
            "/cgi-bin/getcallbackip": ("GET", self._callback_ips),
            "/cgi-bin/menu/create": ("POST", self._menu_create),
            "/cgi-bin/menu/get": ("GET", self._menu_get),
            "/cgi-bin/menu/delete": ("GET", self._menu_delete),
        }

    # --- clock, apps, tokens -------------------------------------------------------------------------------

    def now(self) -> float:
        return time.time() + self._offset

    def advance(self, seconds: float) -> None:
        """Move the sandbox clock forward (token, ticket, media and dedupe lifetimes follow it)."""
        with self._lock:
            self._offset += seconds

    def register_app(self, appid: str, secret: str, kind: str) -> App:
        if kind not in CUSTOM_TYPES:
            raise ValueError(f"kind must be {OFFICIAL_ACCOUNT} or {MINI_PROGRAM}")
        with self._lock:
            app = self.apps[appid] = App(appid, secret, kind)
            self._tags.setdefault(appid, {2: "星标组"})
            return app

    def invalidate_tokens(self, appid: str) -> None:
        """Every token of the app answers 40001 from now on (as after a forced refresh elsewhere)."""
        with self._lock:
            for token in self._tokens.values():
                if token.appid == appid:
                    token.invalid = True
            self._stable.pop(appid, None)

    def expire_tokens(self, appid: str) -> None:
        """Every token of the app answers 42001 from now on."""
        with self._lock:
            for token in self._tokens.values():
                if token.appid == appid:
                    token.expires_at = min(token.expires_at, self.now() - 1)
            self._stable.pop(appid, None)

    def tokens_of(self, appid: str) -> list[str]:
        """The tokens of an app that still work."""
        with self._lock:
            now = self.now()
            return [
                v
                for v, t in self._tokens.items()
                if t.appid == appid and not t.invalid and t.expires_at > now
            ]

    def _issue(self, appid: str, source: str) -> str:
        value = "SBX_" + secrets.token_urlsafe(96)
        self._tokens[value] = Token(appid, source, self.now() + TOKEN_LIFETIME)
        return value

    # --- recorder ------------------------------------------------------------------------------------------

    def calls(self, endpoint: str | None = None, appid: str | None = None) -> list[Call]:
        with self._lock:
            path = endpoint_path(endpoint) if endpoint else None
            return [
                c
                for c in self._calls
                if (path is None or c.endpoint == path) and (appid is None or c.appid == appid)
            ]

    def count(self, endpoint: str | None = None, appid: str | None = None) -> int:
        return len(self.calls(endpoint, appid))

    def counters(self) -> dict[tuple[str, str | None], int]:
        """Calls per (endpoint, appid)."""
        with self._lock:
            return dict(Counter((c.endpoint, c.appid) for c in self._calls))

    def token_requests(self, appid: str | None = None) -> int:
        """Calls of /cgi-bin/token and /cgi-bin/stable_token (each one a token request)."""
        return self.count("token", appid) + self.count("stable_token", appid)

    def reset_calls(self) -> None:
        with self._lock:
            self._calls.clear()

    # --- faults --------------------------------------------------------------------------------------------

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
        """The next `times` calls of `endpoint` (for `openid` only, if given) answer errcode X, HTTP `status`,
        answer after `delay` seconds, or drop the connection. Faults queue up in the order they were added."""
        if errcode is None and status is None and not drop and delay <= 0:
            raise ValueError("a fault needs errcode, status, drop or delay")
        with self._lock:
            self._faults.append(
                Fault(endpoint_path(endpoint), times, errcode, errmsg, status, delay, drop, openid)
            )

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def _take_fault(self, path: str, openids: Iterable[str]) -> Fault | None:
        targets = set(openids)
        for fault in self._faults:
            if fault.endpoint == path and (fault.openid is None or fault.openid in targets):
                fault.remaining -= 1
                if fault.remaining <= 0:
                    self._faults.remove(fault)
                return fault
        return None

    # --- followers, sessions, subscriptions ----------------------------------------------------------------

    def follow(self, appid: str, openid: str, scene: int | str | None = None) -> None:
        with self._lock:
            self._followers[(appid, openid)] = Follower(int(self.now()), scene)

    def unfollow(self, appid: str, openid: str) -> None:
        with self._lock:
            self._followers.pop((appid, openid), None)

    def is_following(self, appid: str, openid: str) -> bool:
        with self._lock:
            return (appid, openid) in self._followers

    def interact(self, appid: str, openid: str) -> None:
        """The user just messaged/followed/scanned: the customer-service window opens (48 h, 5 messages)."""
        with self._lock:
            self._sessions[(appid, openid)] = (self.now(), SESSION_QUOTA)

    def grant_subscription(self, appid: str, openid: str, template_id: str, times: int = 1) -> None:
        """The MP user accepted a subscribe-message prompt `times` times (each allows one send)."""
        with self._lock:
            self._grants[(appid, openid, template_id)] += times

    # --- QR tickets, media, deliveries ---------------------------------------------------------------------

    def qr(self, ticket: str) -> QrRecord | None:
        with self._lock:
            return self._qr.get(ticket)

    def qr_for_url(self, url: str) -> QrRecord | None:
        """The record of a QR by its content URL (http://weixin.qq.com/q/…) or by its showqrcode image URL."""
        with self._lock:
            if "showqrcode" in url and "ticket=" in url:
                return self._qr.get(parse_qs(urlsplit(url).query).get("ticket", [""])[0])
            ticket = self._qr_by_url.get(url)
            return self._qr.get(ticket) if ticket else None

    def scene_for_ticket(self, ticket: str) -> int | str | None:
        record = self.qr(ticket)
        return record.scene if record else None

    def qr_codes(self, appid: str | None = None) -> list[QrRecord]:
        with self._lock:
            return [r for r in self._qr.values() if appid is None or r.appid == appid]

    def media(self, media_id: str) -> Media | None:
        with self._lock:
            return self._media.get(media_id)

    def deliveries(self, openid: str | None = None, appid: str | None = None) -> list[Delivery]:
        with self._lock:
            return [
                d
                for d in self._deliveries
                if (openid is None or d.openid == openid) and (appid is None or d.appid == appid)
            ]

    def tags(self, appid: str) -> dict[int, str]:
        with self._lock:
            return dict(self._tags.get(appid, {}))

    def user_tags(self, appid: str, openid: str) -> list[int]:
        with self._lock:
            follower = self._followers.get((appid, openid))
            return list(follower.tag_ids) if follower else []

    def menu(self, appid: str) -> list[Any] | None:
        """The app's custom menu buttons as menu/create received them, or None when it has none."""
        with self._lock:
            buttons = self._menus.get(appid)
            return copy.deepcopy(buttons) if buttons is not None else None

    def reset(self) -> None:
        """Forget calls, faults, tickets, deliveries, followers, media and menus (apps and tokens stay)."""
        with self._lock:
            self._calls.clear()
            self._faults.clear()
            self._qr.clear()
            self._qr_by_url.clear()
            self._deliveries.clear()
            self._followers.clear()
            self._sessions.clear()
            self._grants.clear()
            self._media.clear()
            self._template_sent.clear()
            self._menus.clear()

    # --- request handling ----------------------------------------------------------------------------------

    def handle(self, request: Request) -> Response:
        """Answer one API request (showqrcode included), record it, apply any matching fault."""
        if request.path == "/cgi-bin/showqrcode":
            return self._showqrcode(request)
        route = self._routes.get(request.path)
        with self._lock:
            app = self._app_of(request)
            data, parse_error = self._parse(request)
            request.data = data
            openids = self._openids(request, data)
            fault = self._take_fault(request.path, openids)
        response = self._answer(request, route, app, data, parse_error, fault)
        errcode = int(response.json.get("errcode", 0)) if response.json else 0
        with self._lock:
            self._calls.append(
                Call(
                    endpoint=request.path,
                    method=request.method,
                    appid=app.appid if app else None,
                    payload=self._recorded_payload(request, data),
                    errcode=errcode,
                    status=response.status,
                    at=self.now(),
                    openid=next(iter(openids), None),
                )
            )
        return response

    def _answer(  # noqa: PLR0917
        self,
        request: Request,
        route: tuple[str, Callable[[Request, App | None], Mapping[str, Any]]] | None,
        app: App | None,
        data: Any,
        parse_error: int | None,
        fault: Fault | None,
    ) -> Response:
        delay = fault.delay if fault else 0.0
        if fault is not None:
            if fault.drop:
                return Response(drop=True, delay=delay)
            if fault.status is not None:
                return Response(
                    status=fault.status,
                    body=b"<html><body>upstream error</body></html>",
                    content_type="text/html",
                    delay=delay,
                )
            if fault.errcode is not None:
                return Response(json=self._error(fault.errcode, fault.errmsg), delay=delay)
        if route is None:
            return Response(
                status=404, body=b"<html><body>404 Not Found</body></html>", content_type="text/html"
            )
        method, handler = route
        if request.method != method:
            return Response(
                json=self._error(43001 if method == "GET" else 43002, f"require {method} method"), delay=delay
            )
        try:
            if parse_error is not None:
                raise Fail(parse_error)
            with self._lock:
                answer = dict(handler(request, app))
        except Fail as failure:
            return Response(json=self._error(failure.errcode, None, failure.detail), delay=delay)
        if "errmsg" in answer:
            answer = {"errcode": 0, **answer}
        return Response(json=answer, delay=delay)

    def _error(self, errcode: int, errmsg: str | None, detail: str = "") -> dict[str, Any]:
        message = errmsg or ERRMSG.get(errcode, "error")
        if detail:
            message = f"{message} {detail}"
        return {"errcode": errcode, "errmsg": f"{message} rid: {_rid()}"}

    def _app_of(self, request: Request) -> App | None:
        if request.path in {"/cgi-bin/token", "/cgi-bin/stable_token"}:
            appid = request.query.get("appid")
            if appid is None and request.body:
                try:
                    appid = json.loads(request.body).get("appid")
                except (ValueError, AttributeError):
                    appid = None
            return self.apps.get(str(appid)) if appid else None
        token = self._tokens.get(request.query.get("access_token", ""))
        return self.apps.get(token.appid) if token else None

    @staticmethod
    def _parse(request: Request) -> tuple[Any, int | None]:
        if request.method != "POST" or request.path == "/cgi-bin/media/upload":
            return None, None
        if not request.body.strip():
            return None, 44002
        try:
            return json.loads(request.body), None
        except (ValueError, UnicodeDecodeError):
            return None, 47001

    @staticmethod
    def _openids(request: Request, data: Any) -> list[str]:
        found: list[str] = []
        if "openid" in request.query:
            found.append(request.query["openid"])
        if isinstance(data, dict):
            if isinstance(data.get("touser"), str):
                found.append(data["touser"])
            if isinstance(data.get("openid_list"), list):
                found.extend(str(o) for o in data["openid_list"])
        return found

    @staticmethod
    def _recorded_payload(request: Request, data: Any) -> Any:
        if request.path == "/cgi-bin/media/upload":
            return {
                "query": {k: v for k, v in request.query.items() if k != "access_token"},
                "bytes": len(request.body),
            }
        if isinstance(data, dict) and "secret" in data:
            return {**data, "secret": "***"}
        if data is not None:
            return data
        return {k: ("***" if k == "secret" else v) for k, v in request.query.items() if k != "access_token"}

    def _auth(self, request: Request, app: App | None) -> App:
        value = request.query.get("access_token")
        if not value:
            raise Fail(41001)
        token = self._tokens.get(value)
        if token is None or token.invalid or app is None:
            raise Fail(40001)
        if token.expires_at <= self.now():
            raise Fail(42001)
        if request.path in OA_ONLY and app.kind != OFFICIAL_ACCOUNT:
            raise Fail(48001)
        if request.path in MP_ONLY and app.kind != MINI_PROGRAM:
            raise Fail(48001)
        return app

    @staticmethod
    def _body(request: Request) -> dict[str, Any]:
        data = request.data
        if not isinstance(data, dict):
            raise Fail(47001)
        return data

    # --- endpoints -----------------------------------------------------------------------------------------

    def _credentials(self, appid: Any, secret: Any, grant_type: Any) -> App:
        if grant_type != "client_credential":
            raise Fail(40002)
        if not appid:
            raise Fail(41002)
        if not secret:
            raise Fail(41004)
        app = self.apps.get(str(appid))
        if app is None:
            raise Fail(40013)
        if secret != app.secret:
            raise Fail(40125)
        return app

    def _token(self, request: Request, _: App | None) -> Mapping[str, Any]:
        q = request.query
        app = self._credentials(q.get("appid"), q.get("secret"), q.get("grant_type"))
        now = self.now()
        for token in self._tokens.values():
            if token.appid == app.appid and token.source == "classic":
                token.expires_at = min(token.expires_at, now + CLASSIC_GRACE)
        return {"access_token": self._issue(app.appid, "classic"), "expires_in": TOKEN_LIFETIME}

    def _stable_token(self, request: Request, _: App | None) -> Mapping[str, Any]:
        body = self._body(request)
        app = self._credentials(body.get("appid"), body.get("secret"), body.get("grant_type"))
        force = body.get("force_refresh", False)
        if not isinstance(force, bool):
            raise Fail(40097)
        now = self.now()
        current = self._tokens.get(self._stable.get(app.appid, ""))
        if force and current is not None:
            current.invalid = True
        if force or current is None or current.invalid or current.expires_at - now <= STABLE_RENEW_BEFORE:
            value = self._issue(app.appid, "stable")
            self._stable[app.appid] = value
            return {"access_token": value, "expires_in": TOKEN_LIFETIME}
        return {"access_token": self._stable[app.appid], "expires_in": int(current.expires_at - now)}

    def _qrcode_create(self, request: Request, app: App | None) -> Mapping[str, Any]:
        app = self._auth(request, app)
        body = self._body(request)
        action = body.get("action_name")
        if action not in {"QR_SCENE", "QR_STR_SCENE", "QR_LIMIT_SCENE", "QR_LIMIT_STR_SCENE"}:
            raise Fail(40035, "action_name")
        scene_info = (
            (body.get("action_info") or {}).get("scene")
            if isinstance(body.get("action_info"), dict)
            else None
        )
        if not isinstance(scene_info, dict):
            raise Fail(40035, "action_info.scene")
        permanent = action.startswith("QR_LIMIT_")
        scene: int | str
        if action.endswith("STR_SCENE"):
            scene = scene_info.get("scene_str")  # type: ignore[assignment]
            if not isinstance(scene, str) or not 1 <= len(scene) <= 64:
                raise Fail(40035, "scene_str")
        else:
            scene = scene_info.get("scene_id")  # type: ignore[assignment]
            limit = PERMANENT_SCENE_MAX if permanent else TEMPORARY_SCENE_MAX
            if isinstance(scene, bool) or not isinstance(scene, int) or not 1 <= scene <= limit:
                raise Fail(40035, "scene_id")
        now = self.now()
        expire_seconds: int | None = None
        if not permanent:
            expire_seconds = body.get("expire_seconds", DEFAULT_QR_EXPIRE)
            if (
                isinstance(expire_seconds, bool)
                or not isinstance(expire_seconds, int)
                or not (1 <= expire_seconds <= MAX_QR_EXPIRE)
            ):
                raise Fail(40035, "expire_seconds")
        elif sum(1 for r in self._qr.values() if r.appid == app.appid and r.permanent) >= PERMANENT_QR_CAP:
            raise Fail(45029)
        ticket = "gQ" + base64.b64encode(secrets.token_bytes(46)).decode("ascii")  # ends in "==", has + and /
        url = f"http://weixin.qq.com/q/{secrets.token_urlsafe(16)}"
        self._qr[ticket] = QrRecord(
            ticket=ticket,
            appid=app.appid,
            scene=scene,
            permanent=permanent,
            url=url,
            action_name=action,
            created_at=now,
            expires_at=None if expire_seconds is None else now + expire_seconds,
        )
        self._qr_by_url[url] = ticket
        answer: dict[str, Any] = {"ticket": ticket, "url": url}
        if expire_seconds is not None:
            answer["expire_seconds"] = expire_seconds
        return answer

    def _showqrcode(self, request: Request) -> Response:
        ticket = request.query.get("ticket", "")
        with self._lock:
            record = self._qr.get(ticket)
            found = record is not None and not record.expired(self.now())
            fault = self._take_fault("/cgi-bin/showqrcode", ())
            self._calls.append(
                Call(
                    "/cgi-bin/showqrcode",
                    request.method,
                    record.appid if record else None,
                    {"ticket": ticket},
                    0,
                    200 if found else 404,
                    self.now(),
                )
            )
        if fault is not None and (fault.drop or fault.status):
            return Response(
                status=fault.status or 500,
                drop=fault.drop,
                delay=fault.delay,
                body=b"error",
                content_type="text/html",
            )
        if not found:
            return Response(
                status=404,
                body=b"<html><body>404 Not Found</body></html>",
                content_type="text/html",
                delay=fault.delay if fault else 0.0,
            )
        assert record is not None  # found
        return Response(
            body=qr_png(record.url), content_type="image/png", delay=fault.delay if fault else 0.0
        )

    def _check_openid(self, value: Any) -> str:
        if not _is_openid(value):
            raise Fail(40003)
        return str(value)

    def _custom_send(self, request: Request, app: App | None) -> Mapping[str, Any]:
        app = self._auth(request, app)
        body = self._body(request)
        openid = self._check_openid(body.get("touser"))
        msgtype = body.get("msgtype")
        if msgtype not in CUSTOM_TYPES[app.kind]:
            raise Fail(40008)
        content = body.get(msgtype)
        if not isinstance(content, dict):
            raise Fail(47001, f"{msgtype} missing")
        self._validate_custom(app, msgtype, content)
        if (
            app.kind == OFFICIAL_ACCOUNT
            and self.require_follow
            and (app.appid, openid) not in self._followers
        ):
            raise Fail(43004)
        if self.require_session:
            opened_at, left = self._sessions.get((app.appid, openid), (-1e18, 0))
            if self.now() - opened_at > SESSION_SECONDS:
                raise Fail(45015)
            if left <= 0:
                raise Fail(45047)
            self._sessions[(app.appid, openid)] = (opened_at, left - 1)
        self._deliver(app, openid, "custom", msgtype, body)
        return {"errmsg": "ok"}

    def _validate_custom(self, app: App, msgtype: str, content: Mapping[str, Any]) -> None:
        def text(key: str, code: int = 47003) -> str:
            value = content.get(key)
            if not isinstance(value, str) or not value:
                raise Fail(code, f"{msgtype}.{key}")
            return value

        if msgtype == "text":
            if len(text("content", 44004).encode("utf-8")) > 2048:
                raise Fail(45002)
        elif msgtype in {"image", "voice"}:
            self._known_media(app, text("media_id", 40007))
        elif msgtype == "link":
            text("title")
            for key in ("url", "thumb_url"):
                if content.get(key) and not _HTTP_URL.fullmatch(str(content[key])):
                    raise Fail(47003, f"link.{key}")
            if not _HTTP_URL.fullmatch(text("url")):
                raise Fail(47003, "link.url")
        elif msgtype == "miniprogrampage":
            text("title")
            text("pagepath")
            self._known_media(app, text("thumb_media_id", 40007))
            if app.kind == MINI_PROGRAM and not _APPID.fullmatch(str(content.get("appid", ""))):
                raise Fail(47003, "miniprogrampage.appid")
        elif msgtype == "news":
            articles = content.get("articles")
            if not isinstance(articles, list) or not articles:
                raise Fail(44003)
            if len(articles) > 1:
                raise Fail(45008)

    def _known_media(self, app: App, media_id: str) -> None:
        media = self._media.get(media_id)
        if media is None or media.appid != app.appid or self.now() - media.created_at > MEDIA_LIFETIME:
            raise Fail(40007)

    def _deliver(self, app: App, openid: str, channel: str, msgtype: str, payload: Mapping[str, Any]) -> None:
        self._deliveries.append(Delivery(app.appid, openid, channel, msgtype, payload, self.now()))

    def _typing(self, request: Request, app: App | None) -> Mapping[str, Any]:
        self._auth(request, app)
        body = self._body(request)
        self._check_openid(body.get("touser"))
        if body.get("command") not in {"Typing", "CancelTyping"}:
            raise Fail(40035, "command")
        return {"errmsg": "ok"}

    def _media_upload(self, request: Request, app: App | None) -> Mapping[str, Any]:
        app = self._auth(request, app)
        media_type = request.query.get("type", "")
        allowed = {"image"} if app.kind == MINI_PROGRAM else {"image", "voice", "video", "thumb"}
        if media_type not in allowed:
            raise Fail(40004)
        content_type = request.headers.get("Content-Type", "")
        if not request.body:
            raise Fail(44002)
        if not content_type.startswith("multipart/form-data"):
            raise Fail(41005, "media data missing")
        message = BytesParser(policy=HTTP).parsebytes(
            f"Content-Type: {content_type}\r\n\r\n".encode("latin-1") + request.body
        )
        part = next(
            (p for p in message.iter_parts() if p.get_param("name", header="content-disposition") == "media"),
            None,
        )
        if part is None:
            raise Fail(41005, "media data missing")
        data = part.get_payload(decode=True) or b""
        if not isinstance(data, bytes) or not data:
            raise Fail(41005, "media data missing")
        if len(data) > MEDIA_MAX_BYTES:
            raise Fail(40006)
        if media_type == "image" and not (
            data.startswith(b"\xff\xd8\xff") or data.startswith(b"\x89PNG") or data[:4] == b"GIF8"
        ):
            raise Fail(40004, "not an image")
        media_id = secrets.token_urlsafe(48)
        now = self.now()
        self._media[media_id] = Media(
            media_id, app.appid, media_type, part.get_filename() or "", data, part.get_content_type(), now
        )
        return {"type": media_type, "media_id": media_id, "created_at": int(now)}

    def _user_info(self, request: Request, app: App | None) -> Mapping[str, Any]:
        app = self._auth(request, app)
        openid = self._check_openid(request.query.get("openid"))
        follower = self._followers.get((app.appid, openid))
        if follower is None:
            return {"subscribe": 0, "openid": openid}
        scene = follower.scene
        return {
            "subscribe": 1,
            "openid": openid,
            "language": "zh_CN",
            "subscribe_time": follower.subscribe_time,
            "remark": "",
            "groupid": 0,
            "tagid_list": list(follower.tag_ids),
            "subscribe_scene": "ADD_SCENE_QR_CODE" if scene is not None else "ADD_SCENE_SEARCH",
            "qr_scene": scene if isinstance(scene, int) else 0,
            "qr_scene_str": scene if isinstance(scene, str) else "",
        }

    def _tags_create(self, request: Request, app: App | None) -> Mapping[str, Any]:
        app = self._auth(request, app)
        tag = self._body(request).get("tag")
        name = tag.get("name") if isinstance(tag, dict) else None
        if not isinstance(name, str) or not name:
            raise Fail(45157)
        if len(name.encode("utf-8")) > 30:
            raise Fail(45158)
        tags = self._tags.setdefault(app.appid, {})
        if name in tags.values():
            raise Fail(45157)
        if len(tags) >= 100:
            raise Fail(45056)
        tag_id = self._next_tag
        self._next_tag += 1
        tags[tag_id] = name
        return {"tag": {"id": tag_id, "name": name}}

    def _tags_get(self, request: Request, app: App | None) -> Mapping[str, Any]:
        app = self._auth(request, app)
        tags = self._tags.get(app.appid, {})
        counts = Counter(t for (a, _), f in self._followers.items() if a == app.appid for t in f.tag_ids)
        return {"tags": [{"id": i, "name": n, "count": counts[i]} for i, n in sorted(tags.items())]}

    def _batchtagging(self, request: Request, app: App | None) -> Mapping[str, Any]:
        app = self._auth(request, app)
        body = self._body(request)
        openids, tag_id = body.get("openid_list"), body.get("tagid")
        if not isinstance(openids, list) or not 1 <= len(openids) <= 50:
            raise Fail(40032)
        for openid in openids:
            self._check_openid(openid)
        if not isinstance(tag_id, int) or tag_id not in self._tags.get(app.appid, {}):
            raise Fail(45159)
        for openid in openids:
            follower = self._followers.get((app.appid, openid))
            if follower is None:
                raise Fail(40003, f"{openid} is not a follower")
            if tag_id not in follower.tag_ids:
                if len(follower.tag_ids) >= 20:
                    raise Fail(45059)
                follower.tag_ids.append(tag_id)
        return {"errmsg": "ok"}

    def _template_data(self, data: Any) -> None:
        if not isinstance(data, dict) or not data:
            raise Fail(47003, "data")
        for key, value in data.items():
            if not isinstance(value, dict) or not isinstance(value.get("value"), str):
                raise Fail(47003, f"data.{key}.value invalid")

    def _template_send(self, request: Request, app: App | None) -> Mapping[str, Any]:
        app = self._auth(request, app)
        body = self._body(request)
        openid = self._check_openid(body.get("touser"))
        template_id = body.get("template_id")
        if not isinstance(template_id, str) or not re.fullmatch(r"[A-Za-z0-9_-]{1,128}", template_id):
            raise Fail(40037)
        self._template_data(body.get("data"))
        if "url" in body and not _HTTP_URL.fullmatch(str(body["url"])):
            raise Fail(47003, "url")
        if "miniprogram" in body:
            mini = body["miniprogram"]
            if not isinstance(mini, dict) or not _APPID.fullmatch(str(mini.get("appid", ""))):
                raise Fail(47003, "miniprogram.appid")
        if self.require_follow and (app.appid, openid) not in self._followers:
            raise Fail(43004)
        now = self.now()
        client_msg_id = body.get("client_msg_id")
        if isinstance(client_msg_id, str) and client_msg_id:
            key = (app.appid, openid, client_msg_id)
            seen = self._template_sent.get(key)
            if seen is not None and now - seen[0] < TEMPLATE_DEDUPE_SECONDS:
                return {"errmsg": "ok", "msgid": seen[1]}
        self._next_msgid += 1
        msgid = self._next_msgid
        if isinstance(client_msg_id, str) and client_msg_id:
            self._template_sent[(app.appid, openid, client_msg_id)] = (now, msgid)
        self._deliver(app, openid, "template", "template", body)
        return {"errmsg": "ok", "msgid": msgid}

    def _subscribe_send(self, request: Request, app: App | None) -> Mapping[str, Any]:
        app = self._auth(request, app)
        body = self._body(request)
        openid = self._check_openid(body.get("touser"))
        template_id = body.get("template_id")
        if not isinstance(template_id, str) or not template_id:
            raise Fail(40037)
        self._template_data(body.get("data"))
        if body.get("miniprogram_state", "formal") not in {"developer", "trial", "formal"}:
            raise Fail(47003, "miniprogram_state")
        if body.get("lang", "zh_CN") not in {"zh_CN", "en_US", "zh_HK", "zh_TW"}:
            raise Fail(47003, "lang")
        if self.require_subscription:
            key = (app.appid, openid, template_id)
            if self._grants[key] <= 0:
                raise Fail(43101)
            self._grants[key] -= 1
        self._deliver(app, openid, "subscribe", "subscribe", body)
        return {"errmsg": "ok"}

    def _callback_ips(self, request: Request, app: App | None) -> Mapping[str, Any]:
        self._auth(request, app)
        return {"ip_list": list(CALLBACK_IPS)}

    # --- custom menu (OA) ----------------------------------------------------------------------------------

    def _menu_create(self, request: Request, app: App | None) -> Mapping[str, Any]:
        app = self._auth(request, app)
        buttons = self._body(request).get("button")
        if not isinstance(buttons, list) or not 1 <= len(buttons) <= MENU_BUTTONS_MAX:
            raise Fail(40016)  # also a body without "button", e.g. menu/get's whole answer
        for button in buttons:
            self._check_menu_button(button, top=True)
        self._menus[app.appid] = copy.deepcopy(buttons)
        return {"errmsg": "ok"}

    def _check_menu_button(self, button: Any, *, top: bool) -> None:
        """WeChat's checks, with the top-level errcode or the sub-button one."""
        if not isinstance(button, dict):
            raise Fail(40017 if top else 40024)
        subs = button.get("sub_button")
        if isinstance(subs, list) and subs:
            if not top:
                raise Fail(40022)
            if len(subs) > MENU_SUB_BUTTONS_MAX:
                raise Fail(40023)
        name = button.get("name")
        if not isinstance(name, str) or not 1 <= len(name.encode("utf-8")) <= (
            MENU_NAME_MAX_BYTES if top else MENU_SUB_NAME_MAX_BYTES
        ):
            raise Fail(40018 if top else 40025)
        if isinstance(subs, list) and subs:
            for sub in subs:
                self._check_menu_button(sub, top=False)
            return
        kind = button.get("type")
        if kind not in MENU_TYPES:
            raise Fail(40017 if top else 40024)
        if kind in MENU_KEY_TYPES:
            key = button.get("key")
            if not isinstance(key, str) or not 1 <= len(key.encode("utf-8")) <= MENU_KEY_MAX_BYTES:
                raise Fail(40019 if top else 40026)
        if kind in {"view", "miniprogram"}:
            url = button.get("url")
            if not isinstance(url, str) or not 1 <= len(url.encode("utf-8")) <= MENU_URL_MAX_BYTES:
                raise Fail(40020 if top else 40027)
            if not _HTTP_URL.fullmatch(url):
                raise Fail(40055 if top else 40054)
        if kind == "miniprogram":
            linked = self.apps.get(str(button.get("appid")))
            if linked is None or linked.kind != MINI_PROGRAM:
                raise Fail(45064)  # the sandbox's mini programs are the ones every account is linked to
            if not isinstance(button.get("pagepath"), str) or not button["pagepath"]:
                raise Fail(40035, "pagepath")
        if kind in {"media_id", "view_limited"} and not button.get("media_id"):
            raise Fail(40007)
        if kind in {"article_id", "article_view_limited"} and not button.get("article_id"):
            raise Fail(40035, "article_id")

    def _menu_get(self, request: Request, app: App | None) -> Mapping[str, Any]:
        app = self._auth(request, app)
        buttons = self._menus.get(app.appid)
        if buttons is None:
            raise Fail(46003)
        return {"menu": {"button": [_as_read(button) for button in buttons]}}

    def _menu_delete(self, request: Request, app: App | None) -> Mapping[str, Any]:
        app = self._auth(request, app)
        self._menus.pop(app.appid, None)
        return {"errmsg": "ok"}


def _as_read(button: Mapping[str, Any]) -> dict[str, Any]:
    """A button as menu/get answers it: every button has a sub_button list, empty for an action."""
    subs = button.get("sub_button") or []
    fields = {key: value for key, value in button.items() if key != "sub_button"}
    return {**fields, "sub_button": [_as_read(sub) for sub in subs]}
