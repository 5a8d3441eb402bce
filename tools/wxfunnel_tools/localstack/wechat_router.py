"""Real WeChat for one app of the local stack (`wxfunnel local --real-wechat NAME=FILE`), for the tunnel walkthrough
with WeChat's test account: a small HTTP router that the functions use as their WeChat API and image host, and that
sends the chosen app's calls to WeChat and every other app's to the sandbox.

The functions of the local stack share one process and so one WECHAT_API_BASE: the choice is made per request, by
what the request carries.
- A token request names its app: GET /cgi-bin/token?appid=…, POST /cgi-bin/stable_token {"appid": …}.
- Every other API call carries an access_token: those WeChat issued to the chosen app (read from the token answers
  the router relayed) go to WeChat, all others to the sandbox.
- showqrcode carries a ticket: those WeChat issued (read from the chosen app's qrcode/create answers) go to WeChat's
  image host.
The local stack starts with empty storage each run, so every token and ticket of the chosen app passes through the
router before it is used. Secrets and tokens travel in query strings and bodies: the router logs paths only.
"""

from __future__ import annotations

import json
import logging
import threading
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from wxfunnel_tools.admin_client import is_loopback
from wxfunnel_tools.httpbody import BodyRefused, read_body
from wxfunnel_tools.localstack.terminal import ACCESS_LOGGER

MP_PREFIX = "/mp"  # WECHAT_MP_BASE is the router's base + /mp, as with the sandbox
MAX_BODY_BYTES = 10 * 1024 * 1024  # media uploads (WeChat takes images up to 10 MB on an official account)
UPSTREAM_TIMEOUT_SECONDS = 10.0
_TOKEN_PATHS = frozenset({"/cgi-bin/token", "/cgi-bin/stable_token"})
_RELAYED_HEADERS = ("Content-Type", "Content-Disposition")

access_log = logging.getLogger(ACCESS_LOGGER)
log = logging.getLogger("wxfunnel_tools.local")


@dataclass(frozen=True, slots=True)
class Upstreams:
    """WeChat's hosts (the template's parameter defaults); tests give a stand-in."""

    api: str = "https://api.weixin.qq.com"
    backup: str = "https://api2.weixin.qq.com"
    mp: str = "https://mp.weixin.qq.com"


@dataclass(frozen=True, slots=True)
class RealWeChat:
    """The app of the local stack whose WeChat API calls go to WeChat: its name and configuration."""

    app: str
    config: Mapping[str, Any]
    upstreams: Upstreams = Upstreams()

    @property
    def appid(self) -> str:
        return str(self.config["appid"])


class _Unreachable(Exception):
    """No upstream could be connected to: the client is to see a lost connection, as with WeChat itself."""


def _opener(base: str) -> urllib.request.OpenerDirector:
    # A proxy from the environment may be how this machine reaches WeChat, never how it reaches a loopback stand-in.
    proxies = urllib.request.ProxyHandler({}) if is_loopback(base) else urllib.request.ProxyHandler()
    return urllib.request.build_opener(proxies, _NoRedirects())


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


class WeChatRouter(ThreadingHTTPServer):
    """The router on 127.0.0.1 (port 0: any free one); use `api_base` and `mp_base` as the WeChat bases."""

    daemon_threads = True
    request_queue_size = 256

    def __init__(
        self, real: RealWeChat, sandbox_api: str, sandbox_mp: str, *, host: str = "127.0.0.1", port: int = 0
    ) -> None:
        super().__init__((host, port), _Handler)
        self.real = real
        self.sandbox_api = sandbox_api.rstrip("/")
        self.sandbox_mp = sandbox_mp.rstrip("/")
        self._tokens: set[str] = set()
        self._tickets: set[str] = set()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    @property
    def api_base(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def mp_base(self) -> str:
        return self.api_base + MP_PREFIX

    def start(self) -> WeChatRouter:
        self._thread = threading.Thread(
            target=self.serve_forever, name="wechat-router", kwargs={"poll_interval": 0.1}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None:
            self.shutdown()
            self._thread.join()
            self._thread = None
        self.server_close()

    # --- which way a request goes

    def is_real(self, path: str, query: Mapping[str, str], body: bytes) -> bool:
        """Whether this request (path without the /mp prefix) belongs to the real app."""
        if path == "/cgi-bin/token":
            return query.get("appid") == self.real.appid
        if path == "/cgi-bin/stable_token":
            try:
                document = json.loads(body)
            except ValueError:
                return False
            return isinstance(document, dict) and document.get("appid") == self.real.appid
        with self._lock:
            if path == "/cgi-bin/showqrcode":
                return query.get("ticket", "") in self._tickets
            return query.get("access_token", "") in self._tokens

    def learn(self, path: str, answer: bytes) -> None:
        """Remember the token or the QR ticket WeChat just issued to the real app."""
        if path not in _TOKEN_PATHS and path != "/cgi-bin/qrcode/create":
            return
        try:
            document = json.loads(answer)
        except ValueError:
            return
        if not isinstance(document, dict):
            return
        with self._lock:
            if path in _TOKEN_PATHS and isinstance(document.get("access_token"), str):
                self._tokens.add(document["access_token"])
            elif isinstance(document.get("ticket"), str):
                self._tickets.add(document["ticket"])

    def forward(
        self, method: str, target: str, body: bytes, headers: Mapping[str, str], *, image: bool, real: bool
    ) -> tuple[int, dict[str, str], bytes]:
        """(status, headers, body) of the upstream's answer; _Unreachable when none could be connected to."""
        if real:
            bases = (
                [self.real.upstreams.mp] if image else [self.real.upstreams.api, self.real.upstreams.backup]
            )
        else:
            bases = [self.sandbox_mp if image else self.sandbox_api]
        for base in dict.fromkeys(bases):
            request = urllib.request.Request(
                base.rstrip("/") + target,
                data=body if method != "GET" else None,
                method=method,
                headers=headers,
            )
            try:
                with _opener(base).open(request, timeout=UPSTREAM_TIMEOUT_SECONDS) as response:
                    return response.status, _relayed(response.headers), response.read()
            except urllib.error.HTTPError as error:
                return error.code, _relayed(error.headers), error.read()
            except (
                urllib.error.URLError
            ) as exc:  # raised before the request was sent: the next host may take it
                log.warning("WeChat router: %s unreachable (%s)", base, type(exc.reason).__name__)
            except (
                OSError
            ) as exc:  # lost while waiting for the answer: it may have been executed, never resend
                log.warning("WeChat router: %s %s: %s", base, path_of(target), type(exc).__name__)
                raise _Unreachable(type(exc).__name__) from None
        raise _Unreachable("no upstream could be reached")


def path_of(target: str) -> str:
    """A request target without its query (which carries tokens and secrets)."""
    return target.split("?", 1)[0]


def _relayed(headers: Any) -> dict[str, str]:
    return {name: value for name in _RELAYED_HEADERS if (value := headers.get(name))}


class _Handler(BaseHTTPRequestHandler):
    server: WeChatRouter
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        return  # the request line holds access tokens and secrets

    def do_GET(self) -> None:
        self._route()

    do_POST = do_GET

    def _route(self) -> None:
        router = self.server
        split = urlsplit(self.path)
        image = split.path.startswith(MP_PREFIX + "/")
        path = split.path[len(MP_PREFIX) :] if image else split.path
        try:
            body = read_body(self.headers, self.rfile, MAX_BODY_BYTES, chunked=True)
        except BodyRefused as refused:
            self.close_connection = True
            self._answer(int(refused.status), {"Content-Type": "text/plain"}, refused.message.encode())
            return
        query = dict(parse_qsl(split.query, keep_blank_values=True))
        real = router.is_real(path, query, body)
        headers = {name: value for name in ("Content-Type",) if (value := self.headers.get(name))}
        target = path + (f"?{split.query}" if split.query else "")
        try:
            status, answer_headers, answer = router.forward(
                self.command, target, body, headers, image=image, real=real
            )
        except _Unreachable:
            self.close_connection = True  # the client sees what it would see of WeChat: a lost connection
            return
        if real and status == 200:
            router.learn(path, answer)
        where = "WeChat" if real else "sandbox"
        access_log.info("WeChat router: %s %s -> %s %d", self.command, path, where, status)
        self._answer(status, answer_headers, answer)

    def _answer(self, status: int, headers: Mapping[str, str], body: bytes) -> None:
        try:
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True


def describe(real: RealWeChat, callback_url: str) -> str:
    """What `wxfunnel local` prints about the real app: where its calls go and what to configure at WeChat."""
    return "\n".join(
        [
            f"Real WeChat: {real.app} (appid {real.appid}) calls {real.upstreams.api}; every other app the sandbox.",
            "  In the test account's page (接口配置信息) set, once a tunnel forwards to this machine:",
            f"    URL    https://<tunnel host>{urlsplit(callback_url).path}   (here {callback_url})",
            "    Token  the `token` of its configuration file (not printed)",
            "  The test account pushes plaintext only and has no IP whitelist.",
            "",
        ]
    )
