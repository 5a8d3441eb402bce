"""`wxfunnel simulate`: a WeChat user against a callback URL — the push WeChat would send, signed (and sealed in
compatible/safe mode) for the app, posted, its passive reply opened and checked, and the WeChat API calls it caused.

What happens, in WeChat's order:
1. The app's settings (Token, EncodingAESKey, appid, 消息加解密方式) come from the development apps of `devapps.py`
   (what `make dev` runs with) or from `--config FILE` (the app's JSON, validated like `config validate`). The
   mode defaults to the app's `message_mode`; `--mode` overrides it (e.g. to see a plaintext push refused).
2. WeChat's own state changes first: a follow makes the WeChat sandbox know the user follows the Official Account
   (so `tags/members/batchtagging` and `user/info` work for them afterwards), an unfollow forgets it, a message, scan
   or menu click opens the 48-hour customer-service window. Against a stack that talks to real WeChat (`--url` to a
   deployed stack) there is no sandbox to tell (`--no-sandbox`, the default for a URL that is not on this machine).
3. The push is built by `pushes.py` with the layer's own crypto (the same builder the tests and `events/` use), with
   the current time, a fresh nonce and MsgId, and posted as WeChat posts it.
4. The answer is read as WeChat reads it: at most 5 s is WeChat's deadline (slower answers are reported), an
   encrypted reply must carry a valid MsgSignature over the echoed nonce and decrypt with the app's key, the reply
   must be in the push's format and mode. Its content is printed (`--json` for scripts).
5. Jobs: the callback never calls WeChat itself; it queues jobs that the sender runs a moment later. What the local
   stack makes observable is the sandbox's recorder, so the simulator lists the WeChat API calls the sandbox
   receives after the push (token requests left out) until none has arrived for a second, or `--wait` seconds
   pass (default 3; `--wait 0` does not wait). On a busy stack other users' calls show up too.

Everything that comes back (HTTP answers, the sandbox's records) is treated as hostile: bounded, parsed with the
layer's hardened reader, and printed with control characters escaped.
"""

from __future__ import annotations

import argparse
import json
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from wxfunnel_tools.template import use_layer

use_layer()
from wxfunnel.config.app import AppConfig, parse_app_config  # noqa: E402
from wxfunnel.config.base import APP_NAME, APP_NAME_RULE, AccountKind, InvalidAppConfig  # noqa: E402
from wxfunnel.protocol import crypto, limits  # noqa: E402
from wxfunnel.protocol.documents import MalformedBody, parse_document, read_envelope  # noqa: E402

DEFAULT_OPENID = "o_simulated_user"
DEFAULT_WAIT_SECONDS = 3.0
SETTLE_SECONDS = 1.0  # no new call for this long after the last one: the jobs are done
WECHAT_DEADLINE_SECONDS = 5.0
MAX_REPLY_BYTES = 256 * 1024
CALL_PAYLOAD_CHARS = 200
TOKEN_ENDPOINTS = frozenset({"/cgi-bin/token", "/cgi-bin/stable_token"})
# 消息加解密方式 in the configuration's words → in pushes.py's
MODES = {"plaintext": "plain", "compatible": "compat", "safe": "safe"}

OA, MP = AccountKind.OFFICIAL_ACCOUNT, AccountKind.MINI_PROGRAM
REFUSALS = {
    400: "the callback could not read the push: is --url this app's callback URL (/wechat/<app>)?",
    403: "the callback refused the signature: the app's Token or EncodingAESKey (or --mode) differ from its "
    "configuration there",
    404: "no app of that name at that URL: is it configured there (`wxfunnel config put`)?",
}


class SimulationError(Exception):
    """The simulation cannot run as asked; the message says why and what to do (printed as is, exit status 1)."""


# --- the app -------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class App:
    name: str
    document: Mapping[str, Any]
    config: AppConfig


def load_app(name: str, config_path: str | None) -> App:
    """The app to simulate for: a development app, or the JSON file given (validated like `config validate`)."""
    from wxfunnel_tools.devapps import DEV_APPS

    if not APP_NAME.fullmatch(name):
        raise SimulationError(f"invalid app name {name!r}: {APP_NAME_RULE}")
    if config_path:
        from wxfunnel_tools.cli import Failure, _read_config

        try:
            document: Mapping[str, Any] = _read_config(config_path, name)
        except Failure as exc:
            raise SimulationError(str(exc)) from None
    elif name in DEV_APPS:
        document = DEV_APPS[name]
    else:
        known = ", ".join(sorted(DEV_APPS))
        raise SimulationError(
            f"no app {name!r}: the development apps are {known}; for another app pass --config FILE "
            "(its JSON, as stored with `wxfunnel config put`)"
        )
    try:
        config = parse_app_config(name, dict(document))
    except InvalidAppConfig as exc:
        raise SimulationError(f"app {name!r}: {exc}") from None
    return App(name, document, config)


def push_mode(config: AppConfig, override: str | None) -> str:
    """The push's 消息加解密方式 in the configuration's words: the override, else the app's message_mode."""
    mode = override or config.message_mode
    if mode != "plaintext" and not config.encoding_aes_key:
        raise SimulationError(f"{mode} mode needs the app's encoding_aes_key")
    return mode


# --- what the user does ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Action:
    name: str
    summary: str
    kinds: frozenset[AccountKind]
    example: str
    arguments: Callable[[argparse.ArgumentParser], None]
    fields: Callable[[argparse.Namespace, App, Mapping[str, Any] | None], dict[str, Any]]
    sandbox: str  # what WeChat's own state does: "follow", "unfollow", "interact" or "" (nothing)


def _scene_arguments(parser: argparse.ArgumentParser, *, required: bool) -> None:
    source = parser.add_mutually_exclusive_group(required=required)
    source.add_argument(
        "--scene", help="the QR code's scene: digits for an integer scene, anything else a string scene"
    )
    source.add_argument(
        "--qr",
        metavar="URL",
        help="the QR code the user scans: its content URL (http://weixin.qq.com/q/…) or image URL, as the "
        "admin API or a sent link gives it; the sandbox says its scene and ticket",
    )


def _follow_arguments(parser: argparse.ArgumentParser) -> None:
    _scene_arguments(parser, required=False)


def _scan_arguments(parser: argparse.ArgumentParser) -> None:
    _scene_arguments(parser, required=True)


def _no_arguments(parser: argparse.ArgumentParser) -> None:
    return None


def _text_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("content", help="what the user types")


def _card_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--pagepath",
        required=True,
        help="the card's page path with its query, e.g. 'pages/live/index?live_id=10&user_id=5'",
    )
    parser.add_argument("--title", default="小程序卡片", help="the card's title (default: 小程序卡片)")


def _click_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("key", help="the menu button's key (its EventKey)")


def _view_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("link", help="the menu button's URL (its EventKey)")


def _enter_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--session-from", help="the contact button's session-from (the SessionFrom WeChat passes on)"
    )


def _scene_value(text: str) -> int | str:
    scene: int | str = int(text) if text.isascii() and text.isdigit() else text
    problem = limits.scene_problem(scene)
    if problem:
        raise SimulationError(f"--scene {text!r} {problem} ({limits.SCENE_RULE})")
    return scene


def _event(event: str, **fields: Any) -> dict[str, Any]:
    return {"Event": event, **fields}


def _follow_fields(args: argparse.Namespace, app: App, qr: Mapping[str, Any] | None) -> dict[str, Any]:
    if qr is not None:
        return _event("subscribe", EventKey=limits.QR_SCENE_PREFIX + str(qr["scene"]), Ticket=qr["ticket"])
    if args.scene is not None:
        return _event("subscribe", EventKey=limits.QR_SCENE_PREFIX + str(_scene_value(args.scene)))
    return _event("subscribe")


def _scan_fields(args: argparse.Namespace, app: App, qr: Mapping[str, Any] | None) -> dict[str, Any]:
    if qr is not None:
        return _event("SCAN", EventKey=str(qr["scene"]), Ticket=qr["ticket"])
    return _event("SCAN", EventKey=str(_scene_value(args.scene)))


def _unfollow_fields(args: argparse.Namespace, app: App, qr: Mapping[str, Any] | None) -> dict[str, Any]:
    return _event("unsubscribe")


def _checked_text(value: str, what: str, maximum: int | None = None) -> str:
    if not value:
        raise SimulationError(f"{what} is empty (WeChat sends no empty message)")
    problem = limits.utf8_bytes_problem(value, maximum) if maximum else None
    if problem:
        raise SimulationError(f"{what} {problem}")
    if any(not char.isprintable() and char not in "\n\t" for char in value):
        raise SimulationError(f"{what} contains control characters, which WeChat never sends")
    return value


def _text_fields(args: argparse.Namespace, app: App, qr: Mapping[str, Any] | None) -> dict[str, Any]:
    return {"Content": _checked_text(args.content, "the text")}


def _card_fields(args: argparse.Namespace, app: App, qr: Mapping[str, Any] | None) -> dict[str, Any]:
    problem = limits.page_path_problem(args.pagepath)
    if problem:
        raise SimulationError(f"--pagepath {problem}")
    return {
        "Title": _checked_text(args.title, "--title"),
        "AppId": app.config.appid,
        "PagePath": args.pagepath,
        "ThumbUrl": "",
        "ThumbMediaId": "",
    }


def _click_fields(args: argparse.Namespace, app: App, qr: Mapping[str, Any] | None) -> dict[str, Any]:
    return _event("CLICK", EventKey=_checked_text(args.key, "the menu key", limits.MENU_KEY_MAX_BYTES))


def _view_fields(args: argparse.Namespace, app: App, qr: Mapping[str, Any] | None) -> dict[str, Any]:
    problem = limits.url_problem(args.link)
    if problem:
        raise SimulationError(f"the menu URL {problem}")
    return _event("VIEW", EventKey=args.link)


def _enter_fields(args: argparse.Namespace, app: App, qr: Mapping[str, Any] | None) -> dict[str, Any]:
    if args.session_from is None:
        return _event("user_enter_tempsession", SessionFrom="")
    return _event("user_enter_tempsession", SessionFrom=_checked_text(args.session_from, "--session-from"))


_BOTH = frozenset({OA, MP})
ACTIONS: tuple[Action, ...] = (
    Action(
        "follow",
        "the user follows the Official Account, through a QR code's scene or directly",
        frozenset({OA}),
        "wxfunnel simulate follow --app demo-oa --scene spring-poster",
        _follow_arguments,
        _follow_fields,
        "follow",
    ),
    Action(
        "scan",
        "a follower scans a parametric QR code again (WeChat's SCAN event)",
        frozenset({OA}),
        "wxfunnel simulate scan --app demo-oa --scene spring-poster",
        _scan_arguments,
        _scan_fields,
        "interact",
    ),
    Action(
        "unfollow",
        "the user unfollows the Official Account",
        frozenset({OA}),
        "wxfunnel simulate unfollow --app demo-oa",
        _no_arguments,
        _unfollow_fields,
        "unfollow",
    ),
    Action(
        "text",
        "the user sends a text: to the Official Account, or in a Mini Program's customer-service chat",
        _BOTH,
        "wxfunnel simulate text 666 --app demo-mp --mode safe --data-format json",
        _text_arguments,
        _text_fields,
        "interact",
    ),
    Action(
        "card",
        "the user sends a mini-program card (miniprogrampage) into the Mini Program's customer-service chat",
        frozenset({MP}),
        "wxfunnel simulate card --app demo-mp --pagepath 'pages/live/index?live_id=10&user_id=5'",
        _card_arguments,
        _card_fields,
        "interact",
    ),
    Action(
        "click",
        "the user taps a CLICK button of the Official Account's menu",
        frozenset({OA}),
        "wxfunnel simulate click my_code --app demo-oa",
        _click_arguments,
        _click_fields,
        "interact",
    ),
    Action(
        "view",
        "the user taps a VIEW (link) button of the Official Account's menu",
        frozenset({OA}),
        "wxfunnel simulate view https://example.com/live --app demo-oa",
        _view_arguments,
        _view_fields,
        "",
    ),
    Action(
        "enter",
        "the user opens the Mini Program's customer-service chat (user_enter_tempsession)",
        frozenset({MP}),
        "wxfunnel simulate enter --app demo-mp --session-from 'live_id=10&user_id=5'",
        _enter_arguments,
        _enter_fields,
        "interact",
    ),
)
_BY_NAME = {action.name: action for action in ACTIONS}
_MESSAGE_TYPES = {"text": "text", "card": "miniprogrampage"}  # the rest are events


# --- arguments -------------------------------------------------------------------------------------------------


def _common_options() -> argparse.ArgumentParser:
    from wxfunnel_tools.cli import DEFAULT_LOCAL_PORT, DEFAULT_SANDBOX_PORT

    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--app", required=True, help="the app's name (its callback URL ends in /wechat/<app>)"
    )
    common.add_argument(
        "--config",
        metavar="FILE",
        help="the app's JSON configuration (default: the development app of that name, as `make dev` runs it)",
    )
    common.add_argument(
        "--openid", default=DEFAULT_OPENID, help=f"the user's openid (default: {DEFAULT_OPENID})"
    )
    common.add_argument(
        "--mode",
        choices=sorted(MODES),
        help="消息加解密方式 of the push (default: the app's message_mode)",
    )
    common.add_argument(
        "--data-format",
        choices=["xml", "json"],
        default="xml",
        help="数据格式 of the push (default: xml; json for a Mini Program configured with JSON)",
    )
    common.add_argument(
        "--url",
        help=f"the callback URL (default: the local stack's, http://127.0.0.1:{DEFAULT_LOCAL_PORT}/v1/wechat/<app>)",
    )
    sandbox = common.add_mutually_exclusive_group()
    sandbox.add_argument(
        "--sandbox",
        metavar="URL",
        help=f"the WeChat sandbox to tell and watch (default: http://127.0.0.1:{DEFAULT_SANDBOX_PORT}, that of "
        "`make dev`, when the callback URL is on this machine)",
    )
    sandbox.add_argument(
        "--no-sandbox",
        action="store_true",
        help="tell no sandbox and watch no calls (a stack on real WeChat)",
    )
    common.add_argument(
        "--wait",
        type=float,
        default=DEFAULT_WAIT_SECONDS,
        help=f"seconds to watch for the WeChat API calls the push causes (default: {DEFAULT_WAIT_SECONDS:g})",
    )
    common.add_argument("--json", action="store_true", help="print one JSON document (for scripts)")
    return common


def arguments(parser: argparse.ArgumentParser) -> None:
    """`wxfunnel simulate ACTION …`: one subcommand per thing a WeChat user does."""
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.description = (
        "Play a WeChat user against a callback URL (the local stack of `make dev` by default): the push is built,\n"
        "signed and encrypted as WeChat would for the app, the sandbox is told about follows, and the decoded\n"
        "passive reply and the WeChat API calls it caused are printed."
    )
    parser.epilog = "examples:\n" + "\n".join(f"  {action.example}" for action in ACTIONS)
    common = _common_options()
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    for action in ACTIONS:
        kinds = " or ".join(
            sorted("Official Account" if kind is OA else "Mini Program" for kind in action.kinds)
        )
        sub = actions.add_parser(
            action.name,
            parents=[common],
            help=action.summary,
            description=f"{action.summary[0].upper()}{action.summary[1:]}. For: {kinds}.",
            epilog=f"example:\n  {action.example}",
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        action.arguments(sub)


# --- the exchange ----------------------------------------------------------------------------------------------


@dataclass(slots=True)
class Outcome:
    action: str
    app: str
    appid: str
    openid: str
    url: str
    mode: str
    data_format: str
    told_sandbox: str = ""
    status: int = 0
    seconds: float = 0.0
    encrypted: bool = False
    reply: dict[str, Any] | None = None  # the passive reply's fields; None for "success"/empty or no answer
    problems: list[str] = field(default_factory=list)
    calls: list[dict[str, Any]] | None = None  # None: not observed (no sandbox)

    def to_json(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "app": self.app,
            "appid": self.appid,
            "openid": self.openid,
            "url": self.url,
            "mode": self.mode,
            "data_format": self.data_format,
            "sandbox": self.told_sandbox,
            "status": self.status,
            "seconds": round(self.seconds, 3),
            "encrypted": self.encrypted,
            "reply": self.reply,
            "problems": self.problems,
            "calls": self.calls,
        }


def open_reply(
    app: App, body: bytes, *, mode: str, data_format: str, nonce: str, openid: str
) -> tuple[dict[str, Any] | None, bool, list[str]]:
    """(the reply's fields or None for an acknowledgement, whether it was encrypted, what WeChat would object to)."""
    problems: list[str] = []
    stripped = body.strip()
    if not stripped or stripped == b"success":
        return None, False, problems
    try:
        fmt, document = parse_document(body)
        envelope = read_envelope(document)
    except MalformedBody as exc:
        return None, False, [f"the reply is not a WeChat document: {exc}"]
    if fmt.value != data_format:
        problems.append(
            f"a {data_format.upper()} push must be answered in {data_format.upper()}, not {fmt.value}"
        )
    if envelope is None:
        if mode == "safe":
            problems.append("in safe mode WeChat takes only an encrypted reply (or success)")
        return _checked_reply(app, document, openid, problems), False, problems
    if mode == "plaintext":
        problems.append("a plaintext push must be answered in plaintext")
    if not app.config.encoding_aes_key:
        return None, True, [*problems, "the reply is encrypted but the app has no encoding_aes_key"]
    signature, stamp, echoed = (document.get(key) for key in ("MsgSignature", "TimeStamp", "Nonce"))
    if not all(isinstance(value, str) and value for value in (signature, stamp, echoed)):
        return None, True, [*problems, "the encrypted reply lacks MsgSignature, TimeStamp or Nonce"]
    if echoed != nonce:
        problems.append("the encrypted reply does not echo the push's nonce")
    box = crypto.MessageCrypto(
        app.config.token, app.config.appid, app.config.encoding_aes_key, app.config.previous_encoding_aes_key
    )
    try:
        plaintext = box.verify_and_decrypt(
            envelope.encrypt, str(signature), str(stamp), str(echoed)
        ).plaintext
        inner_format, inner = parse_document(plaintext)
    except crypto.CryptoError as exc:
        return None, True, [*problems, f"the encrypted reply does not open: {exc.reason}"]
    except MalformedBody as exc:
        return None, True, [*problems, f"the decrypted reply is not a WeChat document: {exc}"]
    if inner_format is not fmt:
        problems.append("the decrypted reply is not in the envelope's format")
    return _checked_reply(app, inner, openid, problems), True, problems


def _checked_reply(app: App, document: dict[str, Any], openid: str, problems: list[str]) -> dict[str, Any]:
    if document.get("ToUserName") != openid:
        problems.append("the reply's ToUserName is not the user's openid")
    if app.config.original_id and document.get("FromUserName") != app.config.original_id:
        problems.append("the reply's FromUserName is not the account's original id")
    if not isinstance(document.get("MsgType"), str):
        problems.append("the reply has no MsgType")
    return document


def _items(value: Any) -> list[Any]:
    if isinstance(value, Mapping) and "item" in value:
        value = value["item"]
    return value if isinstance(value, list) else [value]


def describe_reply(reply: Mapping[str, Any] | None) -> str:
    """One line saying what the user sees."""
    if reply is None:
        return "success (nothing shown to the user)"
    kind = str(reply.get("MsgType", "?"))
    if kind == "text":
        return f"text: {reply.get('Content', '')}"
    if kind == "news":
        titles = [
            str(item.get("Title", "")) for item in _items(reply.get("Articles")) if isinstance(item, Mapping)
        ]
        return f"news ({len(titles)} article(s)): " + " | ".join(titles)
    if kind == "transfer_customer_service":
        return "transfer_customer_service (handed to WeChat's customer-service agents)"
    if kind in {"image", "voice", "video", "music"}:
        inner = reply.get(kind.capitalize())
        detail = (inner.get("MediaId") or inner.get("Title")) if isinstance(inner, Mapping) else None
        return f"{kind}: {detail or ''}"
    return kind


def _printable(text: str) -> str:
    """Text from outside, safe for a terminal: control and format characters escaped."""
    return "".join(
        char if char.isprintable() or char == " " else char.encode("unicode_escape").decode("ascii")
        for char in text
    )


def _compact(value: Any, limit: int = CALL_PAYLOAD_CHARS) -> str:
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)
    return text if len(text) <= limit else text[: limit - 1] + "…"


# --- the sandbox -----------------------------------------------------------------------------------------------


def _sandbox_base(args: argparse.Namespace, url: str) -> str | None:
    from wxfunnel_tools.admin_client import is_loopback
    from wxfunnel_tools.cli import DEFAULT_SANDBOX_PORT

    if args.no_sandbox:
        return None
    if args.sandbox:
        _check_http_url(args.sandbox, "--sandbox")
        return str(args.sandbox).rstrip("/")
    return f"http://127.0.0.1:{DEFAULT_SANDBOX_PORT}" if is_loopback(url) else None


class Sandbox:
    """The WeChat sandbox standing in for WeChat: told what the user did, asked what the stack then called.
    Its answers are checked like any other input; a sandbox that does not answer is a SimulationError."""

    def __init__(self, base: str) -> None:
        from wxfunnel_tools.sandbox import RemoteSandbox

        self.base = base
        self._remote = RemoteSandbox(base)

    def _ask(self, question: Callable[[], Any]) -> Any:
        import requests

        try:
            return question()
        except (requests.RequestException, ValueError, TypeError, KeyError) as exc:
            raise SimulationError(
                f"the WeChat sandbox at {self.base} did not answer ({type(exc).__name__}): is `make dev` running? "
                "Give --sandbox URL, or --no-sandbox for a stack that talks to real WeChat"
            ) from None

    def qr(self, app: App, url: str) -> dict[str, Any]:
        """The scene and ticket of the QR code behind `url` (content or image URL), if the user could scan it."""
        record = self._ask(lambda: self._remote.qr_for_url(url))
        if not isinstance(record, Mapping):
            raise SimulationError(
                f"the sandbox knows no QR code {url!r} (create one with `wxfunnel qr create`)"
            )
        if record.get("appid") != app.config.appid:
            raise SimulationError(f"that QR code belongs to another account, not {app.name}")
        expires_at = record.get("expires_at")
        if isinstance(expires_at, int | float) and expires_at <= time.time():
            raise SimulationError("that QR code has expired: WeChat shows the user an error, not the account")
        scene, ticket = record.get("scene"), record.get("ticket")
        if isinstance(scene, bool) or not isinstance(scene, int | str) or not isinstance(ticket, str):
            raise SimulationError("the sandbox's QR record has no scene and ticket")
        return {"scene": scene, "ticket": ticket}

    def tell(self, action: Action, app: App, openid: str, scene: int | str | None) -> str:
        """WeChat's own state changes before its push; returns what changed, in words."""
        appid = app.config.appid
        if action.name == "scan" and not self._ask(lambda: self._remote.is_following(appid, openid)):
            raise SimulationError(
                f"{openid} does not follow {app.name} in the sandbox: WeChat sends SCAN only to followers "
                "(a non-follower who scans follows: `wxfunnel simulate follow --scene …`)"
            )
        if action.sandbox == "follow":
            self._ask(lambda: self._remote.follow(appid, openid, scene))
            self._ask(lambda: self._remote.interact(appid, openid))
            return f"{openid} now follows {app.name}"
        if action.sandbox == "unfollow":
            self._ask(lambda: self._remote.unfollow(appid, openid))
            return f"{openid} no longer follows {app.name}"
        if action.sandbox == "interact":
            self._ask(lambda: self._remote.interact(appid, openid))
            return f"{openid}'s 48-hour customer-service window with {app.name} is open"
        return ""

    def count(self) -> int:
        return int(self._ask(self._remote.count))

    def watch(self, since: int, wait: float) -> list[dict[str, Any]]:
        """The calls recorded after the first `since` (token requests left out), once none came for
        SETTLE_SECONDS or `wait` seconds passed."""
        deadline = time.monotonic() + max(0.0, wait)
        last_change: float | None = None
        seen = since
        while time.monotonic() < deadline:
            time.sleep(0.1)
            count = self.count()
            if count != seen:
                seen, last_change = count, time.monotonic()
            elif last_change is not None and time.monotonic() - last_change >= SETTLE_SECONDS:
                break
        calls = self._ask(self._remote.calls)
        if not isinstance(calls, list):
            return []
        return [
            dict(call)
            for call in calls[since:]
            if isinstance(call, Mapping) and str(call.get("endpoint")) not in TOKEN_ENDPOINTS
        ]


# --- running it --------------------------------------------------------------------------------------------------


def _check_http_url(url: str, what: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise SimulationError(f"{what} must be an http(s) URL, got {url!r}")


def _post(url: str, query: Mapping[str, str], body: bytes, data_format: str) -> tuple[int, bytes, float, str]:
    """POST as WeChat does; (status, body read up to MAX_REPLY_BYTES + 1, seconds, an error or "")."""
    import requests

    content_type = "application/json" if data_format == "json" else "text/xml"
    started = time.monotonic()
    try:
        with requests.post(
            url,
            params=dict(query),
            data=body,
            headers={"Content-Type": content_type, "User-Agent": "Mozilla/4.0"},
            timeout=(5, 30),
            allow_redirects=False,
            stream=True,
        ) as response:
            answer = response.raw.read(MAX_REPLY_BYTES + 1, decode_content=True)
            return response.status_code, answer, time.monotonic() - started, ""
    except requests.RequestException as exc:
        # The exception's text repeats the signed query string: name the failure, not the request.
        where = urlsplit(url)
        return 0, b"", time.monotonic() - started, f"{type(exc).__name__} ({where.scheme}://{where.netloc})"


def simulate(args: argparse.Namespace) -> Outcome:
    """Run one simulated user action; raises SimulationError when it cannot run at all."""
    from wxfunnel_tools.cli import DEFAULT_LOCAL_PORT
    from wxfunnel_tools.pushes import message, signed_push

    action = _BY_NAME[args.action]
    app = load_app(args.app, args.config)
    if app.config.kind not in action.kinds:
        kind = "an Official Account" if app.config.kind is OA else "a Mini Program"
        able = "Official Accounts" if OA in action.kinds else "Mini Programs"
        raise SimulationError(f"{args.action} is for {able}; {app.name} is {kind}")
    problem = limits.openid_problem(args.openid)
    if problem:
        raise SimulationError(f"--openid {problem}")
    if args.data_format == "json" and app.config.kind is OA:
        raise SimulationError("an Official Account's pushes are XML only (JSON is a Mini Program's 数据格式)")
    if not 0 <= args.wait <= 60:
        raise SimulationError("--wait must be from 0 to 60 seconds")
    mode = push_mode(app.config, args.mode)
    url = args.url or f"http://127.0.0.1:{DEFAULT_LOCAL_PORT}/v1/wechat/{app.name}"
    _check_http_url(url, "--url")
    base = _sandbox_base(args, url)
    sandbox = Sandbox(base) if base else None

    qr: dict[str, Any] | None = None
    if getattr(args, "qr", None):
        if sandbox is None:
            raise SimulationError(
                "--qr asks the sandbox which scene a code carries: give --sandbox, or --scene"
            )
        qr = sandbox.qr(app, args.qr)
    fields = action.fields(args, app, qr)
    scene = qr["scene"] if qr else (_scene_value(args.scene) if getattr(args, "scene", None) else None)

    outcome = Outcome(args.action, app.name, app.config.appid, args.openid, url, mode, args.data_format)
    since = 0
    if sandbox is not None:
        outcome.told_sandbox = sandbox.tell(action, app, args.openid, scene)
        since = sandbox.count()

    msg_type = _MESSAGE_TYPES.get(action.name, "event")
    now = int(time.time())
    document = message(
        msg_type,
        openid=args.openid,
        to_user=app.config.original_id or app.config.appid,
        create_time=now,
        msg_id=None if msg_type == "event" else secrets.randbits(63),
        **fields,
    )
    nonce = str(secrets.randbelow(10**10))
    query, body = signed_push(
        app.document,
        document,
        fmt=args.data_format,
        mode=MODES[mode],  # type: ignore[arg-type]
        timestamp=now,
        nonce=nonce,
    )
    status, answer, outcome.seconds, error = _post(url, query, body, args.data_format)
    outcome.status = status
    if error:
        outcome.problems.append(
            f"the callback did not answer: {error}; is the stack running and --url right?"
        )
        return outcome
    if outcome.seconds > WECHAT_DEADLINE_SECONDS:
        outcome.problems.append(
            f"the answer took {outcome.seconds:.1f} s: WeChat gives up after {WECHAT_DEADLINE_SECONDS:g} s and retries"
        )
    if len(answer) > MAX_REPLY_BYTES:
        outcome.problems.append(f"the answer is larger than {MAX_REPLY_BYTES} bytes")
    elif status != 200:
        snippet = answer[:300].decode("utf-8", "replace")
        outcome.problems.append(f"HTTP {status}: {snippet}")
        if status in REFUSALS:
            outcome.problems.append(REFUSALS[status])
    else:
        outcome.reply, outcome.encrypted, problems = open_reply(
            app, answer, mode=mode, data_format=args.data_format, nonce=nonce, openid=args.openid
        )
        outcome.problems.extend(problems)
    if sandbox is not None and status == 200:
        outcome.calls = sandbox.watch(since, args.wait)
    return outcome


def render(outcome: Outcome, names: Mapping[str, str]) -> str:
    """The outcome for a person: the push, the reply, the calls."""
    lines = [
        f"→ {outcome.action} by {outcome.openid} to {outcome.app}: POST {outcome.url}",
        f"  {outcome.mode} mode, {outcome.data_format.upper()}",
    ]
    if outcome.told_sandbox:
        lines.append(f"  WeChat sandbox: {outcome.told_sandbox}")
    if outcome.status:
        sealed = ", encrypted (MsgSignature checked, decrypted)" if outcome.encrypted else ""
        lines.append(f"← HTTP {outcome.status} in {outcome.seconds:.2f} s{sealed}")
        if outcome.status == 200 and not any(p.startswith("the reply is not") for p in outcome.problems):
            lines.append(f"  reply: {_printable(describe_reply(outcome.reply))}")
    lines.extend(f"  ! {_printable(problem)}" for problem in outcome.problems)
    if outcome.calls is None:
        if outcome.status == 200:
            lines.append("WeChat API calls: not observed (no sandbox; a deployed stack's sender logs them)")
    elif not outcome.calls:
        lines.append("WeChat API calls it caused: none seen")
    else:
        lines.append("WeChat API calls it caused (recorded by the sandbox):")
        for call in outcome.calls:
            endpoint = str(call.get("endpoint", "?")).removeprefix("/cgi-bin/")
            appid = str(call.get("appid"))
            errcode = call.get("errcode")
            result = "ok" if errcode == 0 and call.get("status") == 200 else f"errcode {errcode}"
            payload = call.get("payload")
            shown = _printable(_compact(payload)) if payload else ""
            lines.append(
                f"  {_printable(endpoint):<28} {names.get(appid, _printable(appid)):<10} {result:<12} {shown}".rstrip()
            )
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    from wxfunnel_tools.cli import Failure
    from wxfunnel_tools.devapps import DEV_APPS

    try:
        outcome = simulate(args)
    except SimulationError as exc:
        raise Failure(str(exc)) from None
    if args.json:
        print(json.dumps(outcome.to_json(), ensure_ascii=False, indent=2))
    else:
        names = {str(document["appid"]): name for name, document in DEV_APPS.items()}
        print(render(outcome, {**names, outcome.appid: outcome.app}))
    return 0 if outcome.status == 200 and not outcome.problems else 1
