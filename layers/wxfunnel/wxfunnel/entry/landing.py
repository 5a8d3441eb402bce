"""The public landing page of a live code (GET /l/{app}/{code}): the channel's current follow-QR, each visit counted.

Opened in WeChat from a printed live code, the page shows the channel's title, text and current temporary QR code
(WeChat's own image, long-pressed to follow). What a visit costs:
- a live code whose code has life left (every visit but one per half-life): one eventually consistent GetItem of the
  live code (its snapshot holds the channel, its code and its campaign) and, for a counted visit, one UpdateItem
  of the channel's sharded visit counter. No WeChat call; the app's configuration comes from the container's cache.
- the one visit that finds the code past half its life renews it through entry.channel_codes (single-flight across
  every container; the WeChat client is imported only then) and writes the new code into the snapshot.

Counting: one visit per visitor, live code and local day of the account. The page sets a first-party cookie
`wxf_<code>=<day>` that expires at the account's next midnight; a visitor who carries today's is not counted
again. Nothing about the visitor is stored (the counter's shard is random), and crawlers (by User-Agent) see the
page without being counted.

Safety: nothing of the request is ever written into the page or its headers (the cookie's name is the validated
code); a code or app that is not of their grammar answers 404 before any read; the Content-Security-Policy allows
no script at all, the page's one stylesheet by its hash and images only from WeChat's QR host. Responses are never
stored by caches (`no-store`): a cached page would skip the count and could show a code that was renewed since;
a cached notice would outlive the code's creation, its switching on or its campaign's extension.
"""

from __future__ import annotations

import base64
import hashlib
import html
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from wxfunnel.config.base import APP_NAME, InvalidAppConfig, UnknownApp
from wxfunnel.config.loader import load_app
from wxfunnel.core.observability import logger, metrics
from wxfunnel.core.settings import settings
from wxfunnel.domain import stats
from wxfunnel.domain.channels import Channel
from wxfunnel.domain.livecodes import CODE, LIVE_EXPIRE_SECONDS, LiveCode, Page, page_for
from wxfunnel.store import livecodes, visits

COOKIE_PREFIX = "wxf_"
COOKIE_HEADER_MAX = 8192  # more than any browser sends for this site; a longer header is read only this far
RETRY_AFTER_SECONDS = 5
RENEWAL_WAIT_SECONDS = 3.0  # how long a visit waits for another visit's renewal of an expired code, then 503
# Link previews, search engines, monitors and scripts: shown the page, never counted.
CRAWLER = re.compile(
    r"bot|crawl|spider|slurp|preview|fetch|scan|monitor|curl|wget|python|java/|go-http|okhttp|httpclient|"
    r"libwww|headless|lighthouse|facebookexternalhit|whatsapp|telegram|discord|skype|embedly|pingdom",
    re.IGNORECASE,
)

STYLE = (
    "*{box-sizing:border-box}"
    "body{margin:0;background:#f2f3f5;color:#1d2129;font:16px/1.5 -apple-system,BlinkMacSystemFont,"
    '"PingFang SC","Hiragino Sans GB","Microsoft YaHei",sans-serif}'
    "main{max-width:420px;margin:0 auto;padding:24px 16px;text-align:center}"
    ".card{background:#fff;border-radius:12px;padding:24px 16px;box-shadow:0 1px 3px rgba(0,0,0,.08)}"
    "h1{font-size:20px;margin:0 0 8px;overflow-wrap:anywhere}"
    ".text{margin:0 0 16px;color:#4e5969;overflow-wrap:anywhere;white-space:pre-line}"
    ".qr{display:block;width:100%;max-width:260px;height:auto;aspect-ratio:1;margin:0 auto;"
    "-webkit-touch-callout:default}"
    ".hint{margin:16px 0 0;font-weight:600;color:#07c160}"
    ".en{margin:4px 0 0;font-size:13px;color:#86909c}"
)
_STYLE_HASH = "sha256-" + base64.b64encode(hashlib.sha256(STYLE.encode("utf-8")).digest()).decode("ascii")


@dataclass(frozen=True, slots=True)
class Visit:
    """What a visit brings that the page uses (and nothing is ever echoed back)."""

    app: str
    code: str
    user_agent: str = ""
    cookie: str = ""  # the Cookie header(s), "" when none
    secure: bool = False  # reached over https (the cookie is then Secure)


@dataclass(frozen=True, slots=True)
class Answer:
    """The landing page's HTTP answer."""

    status: int
    body: str
    headers: dict[str, str] = field(default_factory=dict)


# --- the page -----------------------------------------------------------------------------------------------------


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _headers(*, cache: str = "private, no-store", secure: bool = False) -> dict[str, str]:
    headers = {
        "Content-Type": "text/html; charset=utf-8",
        "Content-Security-Policy": (
            f"default-src 'none'; img-src {_origin(settings().wechat_mp_base)}; style-src '{_STYLE_HASH}'; "
            "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
        ),
        "Cache-Control": cache,
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
        "Referrer-Policy": "no-referrer",
    }
    if secure:
        headers["Strict-Transport-Security"] = "max-age=31536000"
    return headers


def _document(title: str, *parts: str) -> str:
    return (
        '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        '<meta name="referrer" content="no-referrer">'
        f"<title>{html.escape(title)}</title><style>{STYLE}</style></head>"
        f'<body><main><div class="card">{"".join(parts)}</div></main></body></html>'
    )


def _qr(channel: Channel, hint: str, english: str) -> str:
    return (
        f'<img class="qr" src="{html.escape(channel.image_url, quote=True)}" alt="关注公众号的二维码" '
        'width="260" height="260" referrerpolicy="no-referrer">'
        f'<p class="hint">{hint}</p><p class="en">{english}</p>'
    )


def follow_page(live: LiveCode, channel: Channel) -> str:
    title = live.page_title or "关注公众号"
    parts = [f"<h1>{html.escape(title)}</h1>"]
    if live.text:
        parts.append(f'<p class="text">{html.escape(live.text)}</p>')
    parts.append(_qr(channel, "长按识别二维码，关注公众号", "Long-press the QR code to follow"))
    return _document(title, *parts)


_NOTICES: dict[Page, tuple[int, str, str]] = {
    Page.NOT_FOUND: (404, "这个二维码不存在", "This code does not exist."),
    Page.UNAVAILABLE: (404, "这个二维码已失效", "This code no longer leads anywhere."),
    Page.DISABLED: (410, "这个二维码已停用", "This code has been switched off."),
    Page.ENDED: (410, "活动已结束", "This campaign has ended."),
}


def notice(page: Page) -> Answer:
    status, chinese, english = _NOTICES[page]
    body = _document(chinese, f"<h1>{chinese}</h1>", f'<p class="en">{english}</p>')
    # Not cached either: a code printed a minute ago may not be readable yet (eventually consistent), a switched-off
    # code can be switched on and an ended campaign extended; each must show at the next visit.
    return Answer(status, body, _headers(cache="no-store"))


def try_again() -> Answer:
    body = _document(
        "请稍后再试",
        "<h1>请稍后再试</h1>",
        '<p class="en">The code is being renewed: reload in a moment.</p>',
    )
    headers = _headers(cache="no-store")
    headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return Answer(503, body, headers)


def _ended(live: LiveCode, visit: Visit, now: float) -> Answer:
    """The campaign is over: a notice, with the QR of its `ended_scene` channel when it names one."""
    campaign = live.campaign
    assert campaign is not None
    if not campaign.ended_scene:
        return notice(Page.ENDED)
    fallback = _current_code(live.app, campaign.ended_scene, None, now)
    if fallback is None:
        return notice(Page.ENDED)
    body = _document(
        "活动已结束",
        "<h1>活动已结束</h1>",
        '<p class="text">长按下方二维码，继续关注我们</p>',
        _qr(fallback, "长按识别二维码，关注公众号", "This campaign has ended; long-press to follow us"),
    )
    return Answer(200, body, _headers(secure=visit.secure))


# --- codes --------------------------------------------------------------------------------------------------------


def _current_code(app: str, scene: str, expire_seconds: int | None, now: float) -> Channel | None:
    """The scene's channel with a code to show, renewed if needed (None: no such channel). Deferred imports: the
    WeChat client and requests are loaded only by the visit that renews a code, never at cold start."""
    from wxfunnel.client.errors import WeChatError  # noqa: PLC0415 (deferred: see the docstring)
    from wxfunnel.entry import channel_codes  # noqa: PLC0415

    try:
        channel = channel_codes.current_code(
            app,
            scene,
            expire_seconds=expire_seconds or LIVE_EXPIRE_SECONDS,
            wait_seconds=RENEWAL_WAIT_SECONDS,
            clock=lambda: now,
        )
    except channel_codes.NoChannel:
        return None
    except (channel_codes.CodePending, WeChatError) as exc:
        logger.warning("no QR code to show yet", extra={"app": app, "error": type(exc).__name__})
        raise _TryAgain from None
    metrics.add_metric(name="LandingCodesRenewed", unit="Count", value=1)
    return channel


class _TryAgain(Exception):
    """The page cannot show a code right now (503, Retry-After)."""


# --- counting -----------------------------------------------------------------------------------------------------


def _cookie_name(code: str) -> str:
    return COOKIE_PREFIX + code


def counted_today(cookie_header: str, code: str, today: str) -> bool:
    """Whether the visitor's cookies say this code was counted for them today."""
    wanted = _cookie_name(code)
    for pair in cookie_header[:COOKIE_HEADER_MAX].split(";"):
        name, _, value = pair.strip().partition("=")
        if name == wanted and value.strip().strip('"') == today:
            return True
    return False


def is_crawler(user_agent: str) -> bool:
    return not user_agent.strip() or CRAWLER.search(user_agent[:512]) is not None


def _seconds_to_midnight(now: float, time_zone: str) -> int:
    local = datetime.fromtimestamp(now, stats.zone(time_zone))
    midnight = datetime.combine(local.date() + timedelta(days=1), datetime.min.time(), local.tzinfo)
    return max(60, int(midnight.timestamp() - now))


def visit_cookie(code: str, today: str, max_age: int, secure: bool) -> str:
    attributes = f"; Max-Age={max_age}; HttpOnly; SameSite=Lax" + ("; Secure" if secure else "")
    return f"{_cookie_name(code)}={today}{attributes}"


# --- a visit ------------------------------------------------------------------------------------------------------


def visit(request: Visit, now: float | None = None) -> Answer:
    """One GET of a live code's page."""
    now = time.time() if now is None else now
    if not APP_NAME.fullmatch(request.app) or not CODE.fullmatch(request.code):
        return notice(Page.NOT_FOUND)  # nothing read for what cannot exist
    live = livecodes.visit(request.app, request.code)
    if live is None:
        return notice(Page.NOT_FOUND)
    try:
        app = load_app(request.app)
    except UnknownApp:
        return notice(Page.NOT_FOUND)
    except InvalidAppConfig:
        return try_again()  # the operator's configuration is broken: logged by the loader
    if not app.is_official_account:
        return notice(Page.NOT_FOUND)
    today = stats.day_of(int(now), app.time_zone)
    page = page_for(live, today)
    try:
        if page is Page.ENDED:
            return _ended(live, request, now)
        if page is not Page.FOLLOW:
            return notice(page)
        channel = live.channel
        assert channel is not None
        if not channel.reusable(now, settings().qr_reuse_min_remaining_share):
            renewed = _current_code(live.app, live.scene, channel.expire_seconds, now)
            if renewed is None:
                return notice(Page.UNAVAILABLE)
            livecodes.store_channel(live, renewed)
            channel = renewed
    except _TryAgain:
        return try_again()
    answer = Answer(200, follow_page(live, channel), _headers(secure=request.secure))
    if not is_crawler(request.user_agent) and not counted_today(request.cookie, live.code, today):
        visits.count(live.app, channel.subject, today)  # the scene's current channel (generation) counts it
        max_age = _seconds_to_midnight(now, app.time_zone)
        answer.headers["Set-Cookie"] = visit_cookie(live.code, today, max_age, request.secure)
        metrics.add_metric(name="LandingVisits", unit="Count", value=1)
    return answer


# --- API Gateway ----------------------------------------------------------------------------------------------


def _header(event: Mapping[str, Any], name: str) -> str:
    """A request header by name, case-insensitively; repeated headers joined (Cookie with "; ")."""
    values: list[str] = []
    for key, items in (event.get("multiValueHeaders") or {}).items():
        if str(key).lower() == name:
            values.extend(str(item) for item in items or ())
    if not values:
        values = [str(v) for k, v in (event.get("headers") or {}).items() if str(k).lower() == name]
    return "; ".join(values)


def handle(event: Mapping[str, Any]) -> dict[str, Any]:
    """An API Gateway (REST, proxy) event → its response."""
    if event.get("httpMethod") != "GET":
        answer = Answer(405, "", {"Allow": "GET", "Cache-Control": "no-store"})
    else:
        parameters = event.get("pathParameters") or {}
        request = Visit(
            app=str(parameters.get("app") or ""),
            code=str(parameters.get("code") or ""),
            user_agent=_header(event, "user-agent"),
            cookie=_header(event, "cookie"),
            secure=_header(event, "x-forwarded-proto").lower() == "https",
        )
        answer = visit(request)
        logger.info(
            "live code visited",
            extra={"app": request.app if answer.status != 404 else None, "status": answer.status},
        )
    return {
        "statusCode": answer.status,
        "headers": answer.headers,
        "body": answer.body,
        "isBase64Encoded": False,
    }
