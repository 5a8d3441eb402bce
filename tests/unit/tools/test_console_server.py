"""The console server: serves the page, forwards /api calls signed here, and never hands out credentials."""

from __future__ import annotations

import http.client
import json
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wxfunnel_tools.admin_client import IMAGE_ACCEPT
from wxfunnel_tools.console import ConsoleServer, serve

SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x80\x81\xfe\xff" + bytes(range(256)) + b"\xff\xd9"


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


Answer = tuple[int, Mapping[str, str], bytes]


@dataclass
class Upstream:
    """A stand-in admin API: records what reaches it and answers with `answer`."""

    server: ThreadingHTTPServer
    seen: list[Seen] = field(default_factory=list)
    answer: Callable[[Seen], Answer] = lambda seen: (
        200,
        {"Content-Type": "application/json"},
        b'{"ok": true}',
    )

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"


def _upstream() -> Iterator[Upstream]:
    holder: dict[str, Upstream] = {}

    class Handler(BaseHTTPRequestHandler):
        def _any(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            seen = Seen(self.command, self.path, dict(self.headers.items()), self.rfile.read(length))
            upstream = holder["it"]
            upstream.seen.append(seen)
            status, headers, body = upstream.answer(seen)
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = do_PUT = do_DELETE = _any

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    holder["it"] = Upstream(server)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield holder["it"]
    server.shutdown()
    server.server_close()


@pytest.fixture
def upstream() -> Iterator[Upstream]:
    yield from _upstream()


@pytest.fixture
def elsewhere() -> Iterator[Upstream]:
    yield from _upstream()


class RecordingSigner:
    """Signs like SigV4 (an Authorization and a token header) and remembers what it was asked to sign."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, dict[str, str], bytes]] = []

    def __call__(self, method: str, url: str, headers: Mapping[str, str], body: bytes) -> Mapping[str, str]:
        self.calls.append((method, url, dict(headers), body))
        return {
            **headers,
            "Authorization": "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/us-east-1/execute-api/"
            "aws4_request, SignedHeaders=host;x-amz-date, Signature=" + SECRET[:8],
            "X-Amz-Date": "20260101T000000Z",
            "X-Amz-Security-Token": SECRET,
        }


@pytest.fixture
def signer() -> RecordingSigner:
    return RecordingSigner()


@pytest.fixture
def console(upstream: Upstream, signer: RecordingSigner) -> Iterator[ConsoleServer]:
    with serve(upstream.base, signer=signer) as running:
        yield running


@dataclass
class Got:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def call(
    console: ConsoleServer,
    method: str,
    path: str,
    *,
    body: bytes | None = None,
    headers: Mapping[str, str] | None = None,
    from_page: bool = True,
) -> Got:
    """One raw HTTP request, its path sent as given (not normalised), as the console's page sends it."""
    connection = http.client.HTTPConnection("127.0.0.1", console.port, timeout=10)
    all_headers = {"X-Wxfunnel-Console": "1"} if from_page else {}
    all_headers.update(headers or {})
    connection.request(method, path, body=body, headers=all_headers)
    response = connection.getresponse()
    got = Got(response.status, {k.lower(): v for k, v in response.getheaders()}, response.read())
    connection.close()
    return got


# --- the page


def test_serves_the_page_with_a_strict_content_security_policy(console: ConsoleServer) -> None:
    got = call(console, "GET", "/", from_page=False)

    assert got.status == 200
    assert got.headers["content-type"] == "text/html; charset=utf-8"
    assert b'<script src="app.js"' in got.body
    csp = got.headers["content-security-policy"]
    assert "script-src 'self'" in csp
    assert "connect-src 'self'" in csp
    assert got.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize(
    ("path", "content_type"),
    [("/app.js", "text/javascript"), ("/style.css", "text/css"), ("/i18n.js", "text/javascript")],
)
def test_serves_the_static_assets_with_their_types(
    console: ConsoleServer, path: str, content_type: str
) -> None:
    got = call(console, "GET", path, from_page=False)

    assert got.status == 200
    assert got.headers["content-type"].startswith(content_type)


@pytest.mark.parametrize(
    "path",
    [
        "/../server.py",
        "/%2e%2e/server.py",
        "/..%2fserver.py",
        "/%2e%2e%2fserver.py",
        "/static/../../server.py",
        "/app.js/../../server.py",
        "/..\\server.py",
        "/%5c..%5cserver.py",
        "//etc/passwd",
        "/%2fetc%2fpasswd",
        "/.gitignore",
        "/app.js%00.html",
        "/nothing-here.js",
    ],
)
def test_refuses_paths_outside_the_static_folder(console: ConsoleServer, path: str) -> None:
    got = call(console, "GET", path, from_page=False)

    assert got.status in (400, 404)
    assert b"ThreadingHTTPServer" not in got.body
    assert b"root:" not in got.body


def test_refuses_an_absolute_form_request_target(console: ConsoleServer) -> None:
    got = call(console, "GET", "http://example.com/app.js", from_page=False)

    assert got.status == 400


def test_only_answers_to_its_own_host_name(console: ConsoleServer) -> None:
    """A DNS-rebinding page reaches 127.0.0.1 under its own host name: refused."""
    got = call(console, "GET", "/api/qrcodes?app=demo-oa", headers={"Host": f"evil.example:{console.port}"})

    assert got.status == 403


def test_does_not_accept_posts_outside_the_api(console: ConsoleServer) -> None:
    assert call(console, "POST", "/index.html", body=b"x").status == 405


# --- forwarding


def test_forwards_an_api_call_signed_to_the_admin_api(
    console: ConsoleServer, upstream: Upstream, signer: RecordingSigner
) -> None:
    got = call(console, "GET", "/api/qrcodes?app=demo-oa&limit=50", headers={"Accept": "application/json"})

    assert got.status == 200
    assert got.json() == {"ok": True}
    [seen] = upstream.seen
    assert seen.method == "GET"
    assert seen.path == "/v1/qrcodes?app=demo-oa&limit=50"
    assert seen.headers["Authorization"].startswith("AWS4-HMAC-SHA256 ")
    assert seen.headers["X-Amz-Security-Token"] == SECRET
    [(method, url, headers, body)] = signer.calls
    assert (method, url, body) == ("GET", f"{upstream.base}/qrcodes?app=demo-oa&limit=50", b"")
    assert headers == {"Accept": "application/json"}


def test_forwards_a_body_exactly_as_signed(
    console: ConsoleServer, upstream: Upstream, signer: RecordingSigner
) -> None:
    payload = json.dumps({"app": "demo-oa", "scene": "春季海报", "channel": {"name": "Spring"}}).encode()
    upstream.answer = lambda seen: (201, {"Content-Type": "application/json"}, seen.body)

    got = call(console, "POST", "/api/qrcodes", body=payload, headers={"Content-Type": "application/json"})

    assert got.status == 201
    assert got.body == payload
    assert upstream.seen[0].body == payload
    assert upstream.seen[0].headers["Content-Type"] == "application/json"
    assert signer.calls[0][3] == payload


def test_keeps_percent_encoded_path_segments(console: ConsoleServer, upstream: Upstream) -> None:
    call(console, "GET", "/api/qrcodes/demo-oa/live%3D10%2F%E6%98%A5")

    assert upstream.seen[0].path == "/v1/qrcodes/demo-oa/live%3D10%2F%E6%98%A5"


def test_passes_api_errors_through_unchanged(console: ConsoleServer, upstream: Upstream) -> None:
    error = {
        "error": {"code": "validation_error", "message": "scene: at most 64 characters", "field": "scene"}
    }
    upstream.answer = lambda seen: (422, {"Content-Type": "application/json"}, json.dumps(error).encode())

    got = call(console, "POST", "/api/qrcodes", body=b"{}", headers={"Content-Type": "application/json"})

    assert got.status == 422
    assert got.json() == error


def test_passes_the_qr_image_through_byte_for_byte(console: ConsoleServer, upstream: Upstream) -> None:
    upstream.answer = lambda seen: (200, {"Content-Type": "image/jpeg"}, JPEG)

    got = call(console, "GET", "/api/qrcodes/demo-oa/123/image", headers={"Accept": "image/jpeg"})

    assert got.status == 200
    assert got.headers["content-type"] == "image/jpeg"
    assert got.body == JPEG
    assert upstream.seen[0].headers["Accept"] == IMAGE_ACCEPT


@pytest.mark.parametrize("accept", [None, "image/avif,image/webp,image/apng,*/*;q=0.8", "application/json"])
def test_an_image_is_asked_for_with_a_binary_first_accept_type(
    console: ConsoleServer, upstream: Upstream, accept: str | None
) -> None:
    """API Gateway sends the image only when the first Accept type is binary; else the base64 text."""
    upstream.answer = lambda seen: (200, {"Content-Type": "image/jpeg"}, JPEG)

    call(console, "GET", "/api/qrcodes/demo-oa/123/image", headers={"Accept": accept} if accept else {})

    assert upstream.seen[0].headers["Accept"].split(",")[0] == "image/jpeg"


def test_a_json_route_keeps_the_pages_accept(console: ConsoleServer, upstream: Upstream) -> None:
    upstream.answer = lambda seen: (200, {"Content-Type": "application/json"}, b"{}")

    call(console, "GET", "/api/qrcodes/demo-oa/123", headers={"Accept": "application/json"})

    assert upstream.seen[0].headers["Accept"] == "application/json"


def test_a_csv_export_reaches_the_page_with_its_file_name(console: ConsoleServer, upstream: Upstream) -> None:
    """GET /followers/export: the CSV bytes (byte-order mark included) and the Content-Disposition that names
    the file in Chinese (filename*) reach the page unchanged, so it can save the file under that name."""
    csv_body = "\ufeffopenid,scene,channel\r\no-1,华东一组,春季海报\r\n".encode()
    disposition = (
        'attachment; filename="followers-demo-oa-____-20261206.csv"; '
        "filename*=UTF-8''followers-demo-oa-%E5%8D%8E%E4%B8%9C%E4%B8%80%E7%BB%84-20261206.csv"
    )
    upstream.answer = lambda seen: (
        200,
        {"Content-Type": "text/csv; charset=utf-8", "Content-Disposition": disposition},
        csv_body,
    )

    got = call(
        console,
        "GET",
        "/api/followers/export?app=demo-oa&team=%E5%8D%8E%E4%B8%9C%E4%B8%80%E7%BB%84",
        headers={"Accept": "text/csv, application/json"},
    )

    assert got.status == 200
    assert got.body == csv_body
    assert got.headers["content-type"] == "text/csv; charset=utf-8"
    assert got.headers["content-disposition"] == disposition
    assert got.headers["cache-control"] == "no-store"
    [seen] = upstream.seen
    assert seen.path == "/v1/followers/export?app=demo-oa&team=%E5%8D%8E%E4%B8%9C%E4%B8%80%E7%BB%84"
    assert seen.headers["Accept"] == "text/csv, application/json"


def test_a_large_exports_link_reaches_the_page_as_json(console: ConsoleServer, upstream: Upstream) -> None:
    link = {"url": "https://bucket.s3.amazonaws.com/exports/x.csv?X-Amz-Signature=abc", "file": "f.csv"}
    upstream.answer = lambda seen: (200, {"Content-Type": "application/json"}, json.dumps(link).encode())

    got = call(console, "GET", "/api/followers/export?app=demo-oa&promoter=wang")

    assert got.status == 200
    assert got.json() == link
    assert "content-disposition" not in got.headers


def test_a_gone_image_stays_gone(console: ConsoleServer, upstream: Upstream) -> None:
    error = {"error": {"code": "gone", "message": "the QR code expired", "field": None}}
    upstream.answer = lambda seen: (410, {"Content-Type": "application/json"}, json.dumps(error).encode())

    got = call(console, "GET", "/api/qrcodes/demo-oa/123/image")

    assert got.status == 410
    assert got.json()["error"]["code"] == "gone"


# --- no credentials leave the server, and only the page can use them


def test_no_credential_reaches_the_browser(console: ConsoleServer, upstream: Upstream) -> None:
    upstream.answer = lambda seen: (
        200,
        {"Content-Type": "application/json", "X-Amz-Security-Token": "echoed", "Set-Cookie": "a=b"},
        b"{}",
    )

    got = call(console, "GET", "/api/qrcodes?app=demo-oa")

    assert got.status == 200
    exposed = json.dumps(got.headers) + got.body.decode()
    assert SECRET not in exposed
    assert "AWS4-HMAC-SHA256" not in exposed
    assert not any(name.startswith("x-amz") or name == "set-cookie" for name in got.headers)
    for path in ("/", "/app.js", "/i18n.js"):
        page = call(console, "GET", path, from_page=False)
        assert SECRET.encode() not in page.body
        assert b"AKID" not in page.body


def test_the_browser_cannot_choose_the_credentials(
    console: ConsoleServer, upstream: Upstream, signer: RecordingSigner
) -> None:
    call(
        console,
        "GET",
        "/api/qrcodes?app=demo-oa",
        headers={
            "Authorization": "AWS4-HMAC-SHA256 forged",
            "Cookie": "session=1",
            "X-Amz-Date": "19990101T000000Z",
        },
    )

    seen = upstream.seen[0].headers
    assert seen["Authorization"] != "AWS4-HMAC-SHA256 forged"
    assert seen["X-Amz-Date"] == "20260101T000000Z"
    assert "Cookie" not in seen
    assert "Authorization" not in signer.calls[0][2]


def test_a_redirect_from_the_api_is_not_followed_with_the_signature(
    console: ConsoleServer, upstream: Upstream, elsewhere: Upstream
) -> None:
    upstream.answer = lambda seen: (302, {"Location": f"{elsewhere.base}/steal"}, b"")

    got = call(console, "GET", "/api/qrcodes?app=demo-oa")

    assert got.status == 302
    assert "location" not in got.headers
    assert elsewhere.seen == []


@pytest.mark.parametrize(
    ("headers", "from_page"),
    [
        ({}, False),
        ({"Origin": "https://evil.example"}, True),
        ({"Sec-Fetch-Site": "cross-site"}, True),
        ({"Sec-Fetch-Site": "same-site"}, True),
    ],
    ids=["no-console-header", "foreign-origin", "cross-site", "same-site"],
)
def test_other_pages_cannot_use_the_console_to_sign(
    console: ConsoleServer,
    upstream: Upstream,
    signer: RecordingSigner,
    headers: dict[str, str],
    from_page: bool,
) -> None:
    got = call(console, "POST", "/api/notifications", body=b"{}", headers=headers, from_page=from_page)

    assert got.status == 403
    assert got.json()["error"]["code"] == "forbidden"
    assert signer.calls == []
    assert upstream.seen == []


def test_its_own_origin_is_accepted(console: ConsoleServer, upstream: Upstream) -> None:
    got = call(
        console,
        "GET",
        "/api/qrcodes?app=demo-oa",
        headers={"Origin": f"http://127.0.0.1:{console.port}", "Sec-Fetch-Site": "same-origin"},
    )

    assert got.status == 200


@pytest.mark.parametrize(
    "path", ["/api/../admin", "/api/qrcodes/%2e%2e/x", "/api/qrcodes/./x", "/api/", "/api"]
)
def test_refuses_api_paths_that_climb_out(
    console: ConsoleServer, upstream: Upstream, signer: RecordingSigner, path: str
) -> None:
    got = call(console, "GET", path)

    assert got.status == 400
    assert upstream.seen == []
    assert signer.calls == []


# --- malformed request targets: a 400 in the console's JSON, never a dropped connection or a traceback


def raw(console: ConsoleServer, request_line: bytes, *, from_page: bool = True) -> bytes:
    """Everything the server answers to one request whose request line is sent byte for byte."""
    headers = f"Host: 127.0.0.1:{console.port}\r\nConnection: close\r\n"
    if from_page:
        headers += "X-Wxfunnel-Console: 1\r\n"
    with socket.create_connection(("127.0.0.1", console.port), timeout=10) as connection:
        connection.sendall(request_line + b"\r\n" + headers.encode() + b"\r\n")
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
    return answer


MALFORMED_TARGETS = [
    b"/api/qr\x01codes",
    b"/api/qrcodes/\x7f",
    b"/api/qrcodes?app=demo\x1b[31m",
    b"/api/qrcodes/demo-oa/\xe6\x98\xa5",  # raw UTF-8, not percent-encoded
    b"/api/qrcodes?app=\xff",
    b"/api/%zz",
    b"/api/qrcodes/%",
    b"/api/qrcodes/%E6%98",  # a UTF-8 sequence cut short
    b"/api/qrcodes/%ff%fe",
    b"/api/qrcodes?app=%ff",
    b"/api/qrcodes%00.json",
    b"/api/qrcodes?app=demo-oa%0d%0aX-Injected:%201",
    b"/api/qrcodes#fragment",
    b"/\xff",
    b"/index.html%00",
]


@pytest.mark.parametrize("target", MALFORMED_TARGETS, ids=repr)
def test_a_malformed_request_target_is_a_400_not_a_dropped_connection(
    console: ConsoleServer, upstream: Upstream, target: bytes, capfd: pytest.CaptureFixture[str]
) -> None:
    answer = raw(console, b"GET " + target + b" HTTP/1.1")

    status_line, _, rest = answer.partition(b"\r\n")
    assert status_line == b"HTTP/1.1 400 Bad Request", answer[:300]
    error = json.loads(rest.partition(b"\r\n\r\n")[2])["error"]
    assert error["code"] == "bad_request" and error["message"].startswith("malformed request target")
    assert upstream.seen == []
    assert "Traceback" not in capfd.readouterr().err
    assert call(console, "GET", "/api/qrcodes?app=demo-oa").status == 200  # and it keeps serving


@pytest.mark.parametrize(
    ("request_line", "status", "code"),
    [
        (b"GET /api/a b HTTP/1.1", 400, "bad_request"),
        (b"GET /api/a\tb HTTP/1.1", 400, "bad_request"),
        (b"BREW /api/qrcodes HTTP/1.1", 501, "method_not_allowed"),
    ],
    ids=repr,
)
def test_the_standard_librarys_refusals_are_json_too(
    console: ConsoleServer, upstream: Upstream, request_line: bytes, status: int, code: str
) -> None:
    answer = raw(console, request_line)

    assert int(answer.split(b" ", 2)[1]) == status, answer[:200]
    assert json.loads(answer.partition(b"\r\n\r\n")[2])["error"]["code"] == code
    assert upstream.seen == []


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(suffix=st.binary(max_size=40).filter(lambda b: not set(b) & set(b" \r\n")))
def test_any_bytes_in_an_api_path_get_an_answer(
    console: ConsoleServer, upstream: Upstream, suffix: bytes, capfd: pytest.CaptureFixture[str]
) -> None:
    """Whatever follows /api/ in the request line, the server answers it: forwarded (200 from the stand-in API)
    or refused with a 4xx, never a dropped connection, a 5xx or a traceback."""
    answer = raw(console, b"GET /api/" + suffix + b" HTTP/1.1")

    assert answer.startswith(b"HTTP/1.1 "), answer[:200]
    assert int(answer.split(b" ", 2)[1]) in (200, 400, 403, 404, 405)
    assert "Traceback" not in capfd.readouterr().err


def test_a_signing_failure_is_reported_without_its_details(upstream: Upstream) -> None:
    def broken(method: str, url: str, headers: Mapping[str, str], body: bytes) -> Mapping[str, str]:
        raise RuntimeError(f"bad secret {SECRET}")

    with serve(upstream.base, signer=broken) as running:
        got = call(running, "GET", "/api/qrcodes?app=demo-oa")

    assert got.status == 502
    assert got.json()["error"]["code"] == "signing_failed"
    assert SECRET not in got.body.decode()
    assert upstream.seen == []


def test_a_page_that_left_before_the_answer_is_no_error(
    console: ConsoleServer,
    upstream: Upstream,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A navigation drops the page's pending calls: the answer finds the connection reset, and that is fine."""

    def slow(seen: Seen) -> Answer:
        time.sleep(0.3)
        return 200, {"Content-Type": "application/json"}, b"{}" * 50_000

    handled = threading.Event()  # the console finished the dropped call: it has tried to write its answer
    process = console.process_request_thread

    def tracked(request: Any, address: Any) -> None:
        try:
            process(request, address)
        finally:
            handled.set()

    monkeypatch.setattr(console, "process_request_thread", tracked)
    upstream.answer = slow
    with socket.create_connection(("127.0.0.1", console.port), timeout=5) as client:
        client.sendall(
            f"GET /api/qrcodes?app=demo-oa HTTP/1.1\r\nHost: 127.0.0.1:{console.port}\r\n"
            "X-Wxfunnel-Console: 1\r\n\r\n".encode()
        )
        client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # close with a reset
    assert handled.wait(30)
    upstream.answer = lambda seen: (200, {"Content-Type": "application/json"}, b"{}")

    assert call(console, "GET", "/api/qrcodes?app=demo-oa").status == 200
    assert "Traceback" not in capsys.readouterr().err


def _closed_port() -> int:
    """A local port nothing listens on: one the OS just handed out, closed again."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def test_an_unreachable_api_is_a_bad_gateway(signer: RecordingSigner) -> None:
    with serve(f"http://127.0.0.1:{_closed_port()}/v1", signer=signer) as running:
        got = call(running, "GET", "/api/qrcodes?app=demo-oa")

    assert got.status == 502
    assert got.json()["error"]["code"] == "upstream_unreachable"


def test_refuses_oversized_bodies_without_reading_them(console: ConsoleServer, upstream: Upstream) -> None:
    got = call(console, "POST", "/api/qrcodes", body=b"{}", headers={"Content-Length": str(1024 * 1024 + 1)})

    assert got.status == 413
    assert upstream.seen == []


def test_refuses_chunked_bodies(console: ConsoleServer, upstream: Upstream) -> None:
    got = call(
        console,
        "POST",
        "/api/qrcodes",
        body=b"2\r\n{}\r\n0\r\n\r\n",
        headers={"Transfer-Encoding": "chunked"},
    )

    assert got.status == 411
    assert upstream.seen == []


def test_the_consoles_scene_hints_state_the_grammar_of_protocol_limits() -> None:
    """The form's hint says what the API will accept: the same bounds as protocol.limits, in both languages."""
    from wxfunnel.protocol import limits
    from wxfunnel_tools.template import ROOT

    text = (ROOT / "tools" / "wxfunnel_tools" / "console" / "static" / "i18n.js").read_text(encoding="utf-8")
    hints = [line for line in text.splitlines() if '"new.scene.hint"' in line]
    assert len(hints) == 2
    chinese_characters = limits.SCENE_STR_MAX_BYTES // 3
    for hint in hints:
        for bound in (
            limits.TEMPORARY_SCENE_ID_MAX,
            limits.PERMANENT_SCENE_ID_MAX,
            limits.SCENE_STR_MAX_BYTES,
        ):
            assert str(bound) in hint
        assert str(chinese_characters) in hint and limits.SCENE_URL_MARK in hint
