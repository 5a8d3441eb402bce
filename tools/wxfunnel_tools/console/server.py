"""Serves the operator console on 127.0.0.1 and forwards its `/api/...` calls to the admin API, signed here.

The browser never holds AWS credentials: it calls `/api/<path>` on this server, which signs the request
with the operator's credentials (a `Signer`) and forwards it to `<admin_base_url>/<path>`.

A local server that signs whatever reaches it would let any web page the operator visits use those
credentials, so API calls are only accepted from the console's own page: the Host must be this server
(no DNS rebinding), a cross-site Origin or Sec-Fetch-Site is refused, and the call must carry the
`X-Wxfunnel-Console` header, which a page of another origin cannot add without a CORS preflight that
this server never grants.
"""

from __future__ import annotations

import json
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from ipaddress import ip_address
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import unquote, unquote_to_bytes, urlsplit

from wxfunnel_tools.admin_client import accept_for
from wxfunnel_tools.httpbody import BodyRefused, read_body

STATIC_DIR = Path(__file__).resolve().parent / "static"
API_PREFIX = "/api"
CONSOLE_HEADER = "X-Wxfunnel-Console"
MAX_BODY_BYTES = 1 << 20
UPSTREAM_TIMEOUT_SECONDS = 30

Signer = Callable[[str, str, Mapping[str, str], bytes], Mapping[str, str]]
"""sign(method, url, headers, body) -> the headers to send: the given ones plus the authentication headers."""

_FORWARDED_REQUEST_HEADERS = ("Accept", "Content-Type")
_FORWARDED_RESPONSE_HEADERS = ("Content-Type", "Content-Disposition", "Cache-Control", "ETag")
_CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".json": "application/json",
}
_SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' blob: data:; script-src 'self'; style-src 'self'; "
        "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A signed request is never replayed elsewhere: urllib would copy its Authorization to the new host."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def _opener(admin_base_url: str) -> urllib.request.OpenerDirector:
    host = urlsplit(admin_base_url).hostname or ""
    try:
        loopback = host == "localhost" or ip_address(host).is_loopback
    except ValueError:
        loopback = False
    # The local stack is on this machine: an HTTP(S)_PROXY from the environment must not intercept it.
    proxies = urllib.request.ProxyHandler({}) if loopback else urllib.request.ProxyHandler()
    return urllib.request.build_opener(proxies, _NoRedirects())


class ConsoleServer(ThreadingHTTPServer):
    """The console's HTTP server; `with serve(...) as console:` runs it in a thread, at `console.url`."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], admin_base_url: str, signer: Signer, *, quiet: bool) -> None:
        super().__init__(address, _Handler)
        self.admin_base_url = admin_base_url.rstrip("/")
        self.signer = signer
        self.quiet = quiet
        self.static_dir = STATIC_DIR
        self.opener = _opener(self.admin_base_url)
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    @property
    def url(self) -> str:
        host = str(self.server_address[0])
        return f"http://{f'[{host}]' if ':' in host else host}:{self.port}/"

    def allowed_hosts(self) -> set[str]:
        host = str(self.server_address[0])
        names = {host, f"[{host}]"} if ":" in host else {host}
        if host in ("127.0.0.1", "::1", "localhost"):
            names |= {"127.0.0.1", "localhost", "[::1]"}
        return {f"{name}:{self.port}" for name in names}

    def start(self) -> ConsoleServer:
        self._thread = threading.Thread(
            target=self.serve_forever, kwargs={"poll_interval": 0.05}, name="wxfunnel-console", daemon=True
        )
        self._thread.start()
        return self

    def __enter__(self) -> ConsoleServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._thread is not None:
            self.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self.server_close()


def serve(
    admin_base_url: str, host: str = "127.0.0.1", port: int = 0, *, signer: Signer, quiet: bool = True
) -> ConsoleServer:
    """Bind the console server (port 0: any free port). Start it with `with` or `.serve_forever()`."""
    return ConsoleServer((host, port), admin_base_url, signer, quiet=quiet)


_HEX_DIGITS = frozenset("0123456789abcdefABCDEF")


def malformed_target(target: str) -> str | None:
    """Why a request target is malformed, or None. `target` is the request line's, each byte one character (the
    server decodes it as Latin-1): only printable ASCII, no fragment, every % followed by two hex digits, and what
    the path and each query field encode is UTF-8 without control characters. Such a target would otherwise reach
    the upstream request (a control character or a raw byte there makes http.client raise)."""
    if not target or any(not "!" <= character <= "~" for character in target):
        return "a control character, a space or a byte outside ASCII"
    if "#" in target:
        return "a fragment"
    if any(len(piece) < 2 or not _HEX_DIGITS.issuperset(piece[:2]) for piece in target.split("%")[1:]):
        return "a % not followed by two hex digits"
    path, _, query = target.partition("?")
    for part in (path, *query.replace("+", " ").replace("=", "&").split("&")):
        try:
            decoded = unquote_to_bytes(part).decode("utf-8")
        except UnicodeDecodeError:
            return "percent-encoded bytes that are not UTF-8"
        if any(character < " " or character == "\x7f" for character in decoded):
            return "a percent-encoded control character"
    return None


def _error(code: str, message: str) -> bytes:
    return json.dumps({"error": {"code": code, "message": message, "field": None}}).encode("utf-8")


class _Handler(BaseHTTPRequestHandler):
    server: ConsoleServer
    protocol_version = "HTTP/1.1"
    server_version = "wxfunnel-console"
    sys_version = ""

    def do_GET(self) -> None:
        self._dispatch(head=False)

    def do_HEAD(self) -> None:
        self._dispatch(head=True)

    def do_POST(self) -> None:
        self._dispatch(head=False)

    def do_PUT(self) -> None:
        self._dispatch(head=False)

    def do_PATCH(self) -> None:
        self._dispatch(head=False)

    def do_DELETE(self) -> None:
        self._dispatch(head=False)

    def log_message(self, format: str, *args: Any) -> None:
        if not self.server.quiet:
            sys.stderr.write(f"console: {self.address_string()} {format % args}\n")

    # --- routing

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """The standard library's own refusals (a malformed request line or header, an unknown method) in the
        console's JSON shape; the connection closes after the answer, as it does for those."""
        self.close_connection = True
        status = HTTPStatus(code)
        if status == HTTPStatus.NOT_IMPLEMENTED:
            kind = "method_not_allowed"  # a method the server does not know
        else:
            kind = "bad_request" if status < HTTPStatus.INTERNAL_SERVER_ERROR else "server_error"
        self._send(
            status, _error(kind, message or status.phrase), "application/json", head=self.command == "HEAD"
        )

    def _dispatch(self, *, head: bool) -> None:
        malformed = malformed_target(self.path)
        if malformed is not None:
            self.close_connection = True  # a body it may carry is not read
            self._fail(HTTPStatus.BAD_REQUEST, "bad_request", f"malformed request target: {malformed}")
            return
        target = urlsplit(self.path)
        if target.scheme or target.netloc or not target.path.startswith("/"):
            self._fail(HTTPStatus.BAD_REQUEST, "bad_request", "bad request target")
            return
        if self.headers.get("Host", "") not in self.server.allowed_hosts():
            self._fail(HTTPStatus.FORBIDDEN, "forbidden", "unexpected Host header")
            return
        if target.path == API_PREFIX or target.path.startswith(API_PREFIX + "/"):
            self._forward(target.path[len(API_PREFIX) :], target.query)
        elif self.command in ("GET", "HEAD"):
            self._static(target.path, head=head)
        else:
            self._fail(HTTPStatus.METHOD_NOT_ALLOWED, "method_not_allowed", self.command)

    def _static(self, path: str, *, head: bool) -> None:
        file = self._static_file(path)
        if file is None:
            self._send(HTTPStatus.NOT_FOUND, b"not found", "text/plain; charset=utf-8", head=head)
            return
        content_type = _CONTENT_TYPES.get(file.suffix, "application/octet-stream")
        self._send(HTTPStatus.OK, file.read_bytes(), content_type, head=head)

    def _static_file(self, path: str) -> Path | None:
        """The file under static/ that `path` names, or None: no `..`, no hidden file, nothing outside."""
        relative = unquote(path).lstrip("/") or "index.html"
        parts = relative.split("/")
        if (
            "\\" in relative
            or "\x00" in relative
            or any(part in ("", "..") or part[0] == "." for part in parts)
        ):
            return None
        root = self.server.static_dir.resolve()
        candidate = root.joinpath(*parts).resolve()
        if not candidate.is_relative_to(root) or not candidate.is_file():
            return None
        return candidate

    # --- forwarding

    def _refusal(self) -> str | None:
        """Why this API call does not come from the console's own page, or None."""
        origin = self.headers.get("Origin")
        if origin is not None and origin != f"http://{self.headers.get('Host', '')}":
            return "cross-origin request"
        if self.headers.get("Sec-Fetch-Site", "same-origin") not in ("same-origin", "none"):
            return "cross-site request"
        if self.headers.get(CONSOLE_HEADER) != "1":
            return f"missing {CONSOLE_HEADER} header"
        return None

    def _read_body(self) -> bytes:
        """The request body; BodyRefused when it is chunked, malformed or larger than MAX_BODY_BYTES."""
        return read_body(self.headers, self.rfile, MAX_BODY_BYTES)

    def _forward(self, api_path: str, query: str) -> None:
        refusal = self._refusal()
        if refusal is not None:
            self.close_connection = True
            self._fail(HTTPStatus.FORBIDDEN, "forbidden", refusal)
            return
        segments = api_path.split("/")[1:]
        if not segments or any(unquote(segment) in ("", ".", "..") for segment in segments):
            self.close_connection = True
            self._fail(HTTPStatus.BAD_REQUEST, "bad_request", "bad API path")
            return
        try:
            body = self._read_body()
        except BodyRefused as refused:
            # The unread body is still on the connection: close it rather than parse it as a request.
            self.close_connection = True
            self._fail(refused.status, "bad_request", refused.message)
            return
        url = self.server.admin_base_url + api_path + (f"?{query}" if query else "")
        headers = {name: value for name in _FORWARDED_REQUEST_HEADERS if (value := self.headers.get(name))}
        if accept_for(api_path) != "application/json":
            # A browser's own Accept (image/avif,image/webp,…) would get the base64 text from API Gateway.
            headers["Accept"] = accept_for(api_path)
        try:
            signed = dict(self.server.signer(self.command, url, headers, body))
        except Exception as exc:
            # Only the exception's type: its text could quote credential material.
            self.log_error("signing failed: %s", type(exc).__name__)
            message = f"could not sign the request ({type(exc).__name__}): check the AWS credentials"
            self._fail(HTTPStatus.BAD_GATEWAY, "signing_failed", message)
            return
        request = urllib.request.Request(url, data=body or None, headers=signed, method=self.command)
        try:
            with self.server.opener.open(request, timeout=UPSTREAM_TIMEOUT_SECONDS) as response:
                self._relay(response.status, response.headers, response.read())
        except urllib.error.HTTPError as exc:
            self._relay(exc.code, exc.headers, exc.read())
        except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
            reason = getattr(exc, "reason", exc)
            self._fail(
                HTTPStatus.BAD_GATEWAY, "upstream_unreachable", f"the admin API did not answer: {reason}"
            )

    def _relay(self, status: int, headers: Any, body: bytes) -> None:
        passed = {name: value for name in _FORWARDED_RESPONSE_HEADERS if (value := headers.get(name))}
        content_type = passed.pop("Content-Type", "application/octet-stream")
        passed.setdefault("Cache-Control", "no-store")
        self._send(status, body, content_type, extra=passed)

    def _fail(self, status: HTTPStatus, code: str, message: str) -> None:
        self._send(status, _error(code, message), "application/json")

    def _send(
        self,
        status: int,
        body: bytes,
        content_type: str,
        *,
        head: bool = False,
        extra: Mapping[str, str] | None = None,
    ) -> None:
        headers = {"Cache-Control": "no-store", **_SECURITY_HEADERS, **(extra or {})}
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            if not head:
                self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            # The page moved on before the answer came (a navigation drops its pending calls): nobody to tell.
            self.close_connection = True
