"""The sandbox's HTTP side: a ThreadingHTTPServer for the WeChat API, /mp/…/showqrcode and /__sandbox__/."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from dataclasses import asdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from wxfunnel_tools.sandbox.state import Request, Response, World

MP_PREFIX = "/mp"
ADMIN_PREFIX = "/__sandbox__/"


class ClosedPort:
    """A local TCP port that refuses connections (bound, never listening): a WeChat base that is down."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.bind((host, 0))
        self.url = f"http://{host}:{self._socket.getsockname()[1]}"

    def close(self) -> None:
        self._socket.close()


def refusing_base(host: str = "127.0.0.1") -> ClosedPort:
    """A base URL whose connections are refused (keep the object alive while it is used; `.close()` after)."""
    return ClosedPort(host)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    request_queue_size = 256
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], sandbox: Sandbox) -> None:
        super().__init__(address, _Handler)
        self.sandbox = sandbox


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        return

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def _serve(self) -> None:
        split = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        query = dict(parse_qsl(split.query, keep_blank_values=True))
        path = split.path
        sandbox = self.server.sandbox
        if path.startswith(ADMIN_PREFIX):
            self._send(sandbox.admin(self.command, path[len(ADMIN_PREFIX) :], query, body))
            return
        if path.startswith(MP_PREFIX + "/"):
            path = path[len(MP_PREFIX) :]
            if path != "/cgi-bin/showqrcode":
                self._send(Response(status=404, body=b"not found", content_type="text/html"))
                return
        elif path == "/cgi-bin/showqrcode":  # only the mp host serves images
            self._send(Response(status=404, body=b"not found", content_type="text/html"))
            return
        request = Request(self.command, path, query, body, {k: v for k, v in self.headers.items()})
        self._send(sandbox.handle(request))

    def _send(self, response: Response) -> None:
        if response.delay > 0:
            time.sleep(response.delay)
        if response.drop:
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        payload = (
            json.dumps(response.json, ensure_ascii=False).encode("utf-8")
            if response.json is not None
            else response.body
        )
        try:
            self.send_response(response.status)
            self.send_header("Content-Type", response.content_type)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True


class Sandbox(World):
    """A local WeChat API: the `World` state and admin methods, served over HTTP by `Sandbox.start()`."""

    def __init__(
        self,
        *,
        require_follow: bool = False,
        require_session: bool = False,
        require_subscription: bool = False,
    ) -> None:
        super().__init__(
            require_follow=require_follow,
            require_session=require_session,
            require_subscription=require_subscription,
        )
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._dead: ClosedPort | None = None

    @classmethod
    def start(
        cls,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        require_follow: bool = False,
        require_session: bool = False,
        require_subscription: bool = False,
    ) -> Sandbox:
        """Serve a new sandbox on host:port (port 0: any free port) in a daemon thread."""
        sandbox = cls(
            require_follow=require_follow,
            require_session=require_session,
            require_subscription=require_subscription,
        )
        sandbox._server = _Server((host, port), sandbox)
        sandbox._thread = threading.Thread(
            target=sandbox._server.serve_forever,
            name="wechat-sandbox",
            kwargs={"poll_interval": 0.1},
            daemon=True,
        )
        sandbox._thread.start()
        return sandbox

    @property
    def address(self) -> tuple[str, int]:
        if self._server is None:
            raise RuntimeError("the sandbox is not started")
        host, port = self._server.server_address[:2]
        return str(host), int(port)

    @property
    def api_base(self) -> str:
        """Use as WECHAT_API_BASE (and WECHAT_API_BACKUP_BASE)."""
        host, port = self.address
        return f"http://{host}:{port}"

    @property
    def mp_base(self) -> str:
        """Use as WECHAT_MP_BASE (serves /cgi-bin/showqrcode only)."""
        return self.api_base + MP_PREFIX

    @property
    def admin_url(self) -> str:
        return self.api_base + ADMIN_PREFIX.rstrip("/")

    @property
    def dead_base(self) -> str:
        """A base URL that refuses connections, for failover tests (closed when the sandbox stops)."""
        if self._dead is None:
            self._dead = ClosedPort(self.address[0])
        return self._dead.url

    def register_dev_apps(self) -> None:
        """Register the development apps of wxfunnel_tools.devapps (demo-oa, demo-mp)."""
        from wxfunnel_tools.devapps import DEV_APPS

        for document in DEV_APPS.values():
            self.register_app(document["appid"], document["secret"], document["kind"])

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._dead is not None:
            self._dead.close()
            self._dead = None

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()

    # --- /__sandbox__/ admin API (for a sandbox running in another process) -------------------------------

    def admin(self, method: str, action: str, query: dict[str, str], body: bytes) -> Response:
        world = self
        try:
            data: dict[str, Any] = json.loads(body) if body.strip() else {}
            if not isinstance(data, dict):
                raise ValueError("the body must be a JSON object")
            args = {**query, **data}
            result: Any = None
            match method, action:
                case "POST", "apps":
                    world.register_app(args["appid"], args["secret"], args["kind"])
                case "POST", "faults":
                    world.fail_next(
                        args["endpoint"],
                        errcode=_int(args.get("errcode")),
                        errmsg=args.get("errmsg"),
                        status=_int(args.get("status")),
                        delay=float(args.get("delay") or 0),
                        drop=bool(args.get("drop")),
                        times=int(args.get("times") or 1),
                        openid=args.get("openid"),
                    )
                case "POST", "faults/clear":
                    world.clear_faults()
                case "POST", "invalidate":
                    world.invalidate_tokens(args["appid"])
                case "POST", "expire":
                    world.expire_tokens(args["appid"])
                case "POST", "follow":
                    world.follow(args["appid"], args["openid"], args.get("scene"))
                case "POST", "unfollow":
                    world.unfollow(args["appid"], args["openid"])
                case "POST", "interact":
                    world.interact(args["appid"], args["openid"])
                case "POST", "grant":
                    world.grant_subscription(
                        args["appid"], args["openid"], args["template_id"], int(args.get("times") or 1)
                    )
                case "POST", "advance":
                    world.advance(float(args["seconds"]))
                case "POST", "reset":
                    world.reset()
                case "POST", "calls/reset":
                    world.reset_calls()
                case "GET", "calls":
                    calls = world.calls(args.get("endpoint"), args.get("appid"))
                    result = {"count": len(calls), "calls": [asdict(c) for c in calls]}
                case "GET", "qr":
                    record = world.qr(args["ticket"]) if "ticket" in args else world.qr_for_url(args["url"])
                    if record is None:
                        return Response(status=404, json={"error": "unknown ticket"})
                    result = asdict(record)
                case "GET", "deliveries":
                    result = {
                        "deliveries": [
                            asdict(d) for d in world.deliveries(args.get("openid"), args.get("appid"))
                        ]
                    }
                case "GET", "following":
                    result = {"following": world.is_following(args["appid"], args["openid"])}
                case "GET", "menu":
                    result = {"menu": world.menu(args["appid"])}
                case _:
                    return Response(status=404, json={"error": f"no admin action {method} {action}"})
        except (KeyError, ValueError, TypeError) as exc:
            return Response(status=400, json={"error": f"{type(exc).__name__}: {exc}"})
        return Response(json=result if result is not None else {"ok": True})


def _int(value: Any) -> int | None:
    return None if value is None or value == "" else int(value)
