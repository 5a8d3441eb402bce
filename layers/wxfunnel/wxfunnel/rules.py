"""Per-account rules (welcomes, keyword replies, the card rule, the fallback), validated when an app loads.

The schema is documented in docs/rules.md. A bad rule set raises `InvalidAppConfig` naming the rule
("rules.keywords[2].match: ..."), so a broken configuration is refused on load, never half-applied to a user.
Parsing is cached per configuration object (configs are frozen and cached per container already).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import parse_qsl, quote

if TYPE_CHECKING:
    from wxfunnel.config import AppConfig

SCENE_MAX = 64
SCENE_CHARS = re.compile(r"^[A-Za-z0-9_=&.-]+$")
_CONTEXT_VALUE = re.compile(r"^[A-Za-z0-9_.-]+$")  # a card context value may not carry the separators & and =
_PLACEHOLDER = re.compile(r"\{(\w+)\}")
QR_MAX_EXPIRE_SECONDS = 2_592_000
DEFAULT_CARD_EXPIRE_SECONDS = 604_800
DEFAULT_CARD_TITLE = "扫码关注，开启提醒"
DEFAULT_OPT_IN_TEXT = "提醒已开启：届时我们会通过本公众号通知你。"

MatchKind = Literal["exact", "prefix", "regex"]
SendAs = Literal["link", "image"]
SceneSource = Literal["page_query", "session_from"]
FallbackKind = Literal["none", "text", "transfer_customer_service"]

OA_KEYS = frozenset(
    {
        "welcome",
        "channel_welcome_default",
        "referral_text",
        "card_opt_in_text",
        "keywords",
        "tag_followers_by_channel",
        "fallback",
    }
)
MP_KEYS = frozenset({"keywords", "card", "fallback"})


def _invalid(path: str, problem: str) -> Exception:
    from wxfunnel.config import InvalidAppConfig  # noqa: PLC0415  (config imports rules while validating)

    return InvalidAppConfig(f"rules.{path}: {problem}")


# --- values ------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TemplateSpec:
    """What is sent instead of a customer-service message when the 48 h window is closed: a template message on an
    Official Account (`url` opens from it), a subscribe message on a Mini Program (`page` opens from it)."""

    template_id: str
    data: Mapping[str, Any]
    url: str | None = None
    page: str | None = None

    def to_payload(self) -> dict[str, Any]:
        return {"template_id": self.template_id, "data": dict(self.data), "url": self.url, "page": self.page}


@dataclass(frozen=True, slots=True)
class TextAction:
    content: str


@dataclass(frozen=True, slots=True)
class LinkAction:
    title: str
    description: str
    url: str
    thumb_url: str


@dataclass(frozen=True, slots=True)
class ImageAction:
    image_url: str  # fetched and uploaded as temporary media by the sender


@dataclass(frozen=True, slots=True)
class MiniProgramPageAction:
    title: str
    page_path: str
    appid: str | None = None  # None: the account's own appid
    thumb_url: str | None = None
    thumb_media_id: str | None = None


@dataclass(frozen=True, slots=True)
class Article:
    title: str
    description: str
    url: str
    pic_url: str


@dataclass(frozen=True, slots=True)
class NewsAction:
    articles: tuple[Article, ...]


@dataclass(frozen=True, slots=True)
class FollowQrAction:
    """Send a follow-QR of an Official Account (a temporary QR_STR_SCENE for `scene`)."""

    oa: str
    scene: str
    send_as: SendAs = "link"
    title: str = "关注公众号"
    description: str = ""
    thumb_url: str | None = None
    expire_seconds: int = DEFAULT_CARD_EXPIRE_SECONDS


Action = TextAction | LinkAction | ImageAction | MiniProgramPageAction | NewsAction | FollowQrAction


@dataclass(frozen=True, slots=True)
class KeywordRule:
    match: MatchKind
    pattern: str
    reply: Action
    window_closed_template: TemplateSpec | None = None
    compiled: re.Pattern[str] | None = field(default=None, compare=False)

    def matches(self, text: str) -> re.Match[str] | bool:
        """A regex match (its groups fill `{1}`/`{name}` placeholders), True for other hits, else False."""
        text = text.strip()
        if self.match == "exact":
            return text == self.pattern
        if self.match == "prefix":
            return text.startswith(self.pattern)
        assert self.compiled is not None
        return self.compiled.fullmatch(text) or False


@dataclass(frozen=True, slots=True)
class CardRule:
    """A mini-program card or a contact session with a context → an OA QR whose scene encodes the context."""

    oa: str
    keys: tuple[str, ...]
    scene_from: tuple[SceneSource, ...] = ("page_query", "session_from")
    prefix: str = ""
    send_as: SendAs = "link"
    title: str = DEFAULT_CARD_TITLE
    description: str = ""
    thumb_url: str | None = None
    expire_seconds: int = DEFAULT_CARD_EXPIRE_SECONDS
    opt_in_text: str | None = None  # stored on the card's channel record; the OA replies it on scan/follow
    window_closed_template: TemplateSpec | None = None

    def scene_for(self, source: SceneSource, value: str) -> str | None:
        """The scene for a card's PagePath (page_query) or a session-from value; None without a context."""
        if source not in self.scene_from:
            return None
        if source == "page_query":
            if "?" not in value:
                return None
            value = value.split("?", 1)[1]
        query = value
        pairs = dict(parse_qsl(query.split("#", 1)[0], keep_blank_values=False))
        parts = []
        for key in self.keys:
            found = pairs.get(key)
            if not found or not _CONTEXT_VALUE.fullmatch(found):
                return None
            parts.append(f"{key}={found}")
        scene = self.prefix + "&".join(parts)
        if len(scene) > SCENE_MAX or not SCENE_CHARS.fullmatch(scene):
            return None
        return scene


@dataclass(frozen=True, slots=True)
class Fallback:
    kind: FallbackKind = "none"
    text: str | None = None
    kf_account: str | None = None


@dataclass(frozen=True, slots=True)
class Rules:
    keywords: tuple[KeywordRule, ...] = ()
    fallback: Fallback = Fallback()
    # Official Account
    welcome: str | None = None
    channel_welcome_default: str | None = None
    referral_text: str | None = None
    card_opt_in_text: str = DEFAULT_OPT_IN_TEXT
    tag_followers_by_channel: bool = True
    # Mini Program
    card: CardRule | None = None

    def keyword_for(self, text: str) -> tuple[KeywordRule, re.Match[str] | None] | None:
        """The first keyword rule matching `text` (rules apply in the configured order)."""
        for rule in self.keywords:
            hit = rule.matches(text)
            if hit:
                return rule, hit if isinstance(hit, re.Match) else None
        return None


def fill(template: str, match: re.Match[str] | None, *, url: bool = False) -> str:
    """Replace `{0}`, `{1}` … and `{name}` by a regex rule's groups (URL-quoted in URLs); keep other text."""
    if match is None:
        return template

    def group(found: re.Match[str]) -> str:
        name = found.group(1)
        try:
            value = match.group(int(name) if name.isdigit() else name) or ""
        except IndexError:  # not a group of this pattern: literal text
            return found.group(0)
        return quote(value, safe="") if url else value

    return _PLACEHOLDER.sub(group, template)


# --- parsing -----------------------------------------------------------------------------------------


def _mapping(value: Any, path: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise _invalid(path, "must be an object")
    return value


def _string(
    data: Mapping[str, Any],
    key: str,
    path: str,
    *,
    required: bool = True,
    limit: int = 2048,
    default: str | None = None,
) -> str | None:
    value = data.get(key)
    if value is None or value == "":
        if required:
            raise _invalid(f"{path}.{key}", "is required")
        return default
    if not isinstance(value, str):
        raise _invalid(f"{path}.{key}", "must be a string")
    if len(value) > limit:
        raise _invalid(f"{path}.{key}", f"is longer than {limit} characters")
    return value


def _required(data: Mapping[str, Any], key: str, path: str, limit: int = 2048) -> str:
    value = _string(data, key, path, limit=limit)
    assert value is not None
    return value


def _url(data: Mapping[str, Any], key: str, path: str, *, required: bool = True) -> str | None:
    value = _string(data, key, path, required=required)
    if value is not None and not value.startswith(("http://", "https://")):
        raise _invalid(f"{path}.{key}", "must be an http(s) URL")
    return value


def _choice(data: Mapping[str, Any], key: str, path: str, allowed: Sequence[str], default: str) -> str:
    value = data.get(key, default)
    if value not in allowed:
        raise _invalid(f"{path}.{key}", f"must be one of: {', '.join(allowed)}")
    return str(value)


def _unknown(data: Mapping[str, Any], allowed: set[str] | frozenset[str], path: str) -> None:
    extra = sorted(set(data) - set(allowed))
    if extra:
        raise _invalid(path, f"unknown field(s): {', '.join(extra)}")


def _expire(data: Mapping[str, Any], path: str) -> int:
    value = data.get("expire_seconds", DEFAULT_CARD_EXPIRE_SECONDS)
    if isinstance(value, bool) or not isinstance(value, int) or not 60 <= value <= QR_MAX_EXPIRE_SECONDS:
        raise _invalid(f"{path}.expire_seconds", f"must be an integer from 60 to {QR_MAX_EXPIRE_SECONDS}")
    return value


def _app_name(data: Mapping[str, Any], key: str, path: str) -> str:
    from wxfunnel.config import APP_NAME  # noqa: PLC0415

    value = _required(data, key, path, limit=64)
    if not APP_NAME.fullmatch(value):
        raise _invalid(f"{path}.{key}", "must name a configured Official Account app")
    return value


def _scene(value: str, path: str) -> str:
    if len(value) > SCENE_MAX or not SCENE_CHARS.fullmatch(value):
        raise _invalid(path, f"must be 1-{SCENE_MAX} characters of A-Z a-z 0-9 _ = & . -")
    return value


def _template(value: Any, path: str, *, official_account: bool) -> TemplateSpec | None:
    if value is None:
        return None
    data = _mapping(value, path)
    _unknown(data, {"template_id", "data", "url", "page"}, path)
    if official_account and data.get("page") is not None:
        raise _invalid(f"{path}.page", "an Official Account sends a template message, which opens `url`")
    if not official_account and data.get("url") is not None:
        raise _invalid(f"{path}.url", "a Mini Program sends a subscribe message, which opens `page`")
    template_id = _required(data, "template_id", path, limit=128)
    page = data.get("page")
    if page is not None and (not isinstance(page, str) or not 0 < len(page) <= 1024 or page.startswith("/")):
        raise _invalid(f"{path}.page", "must be a Mini Program page path such as pages/live/index?id=1")
    fields = _mapping(data.get("data", {}), f"{path}.data")
    for key, item in fields.items():
        ok = isinstance(item, str) or (isinstance(item, Mapping) and isinstance(item.get("value"), str))
        if not ok:
            raise _invalid(f"{path}.data.{key}", 'must be a string or {"value": "..."}')
    return TemplateSpec(
        template_id=template_id, data=dict(fields), url=_url(data, "url", path, required=False), page=page
    )


_OA_REPLIES = ("text", "news", "image")
_MP_REPLIES = ("text", "link", "image", "miniprogrampage", "follow_qr")


def _action(value: Any, path: str, allowed: Sequence[str]) -> Action:
    data = _mapping(value, path)
    kind = _choice(data, "type", path, allowed, default="")
    common = {"type"}
    if kind == "text":
        _unknown(data, common | {"content"}, path)
        return TextAction(_required(data, "content", path))
    if kind == "link":
        _unknown(data, common | {"title", "description", "url", "thumb_url"}, path)
        return LinkAction(
            title=_required(data, "title", path, 64),
            description=_string(data, "description", path, required=False, default="") or "",
            url=_url(data, "url", path) or "",
            thumb_url=_url(data, "thumb_url", path) or "",
        )
    if kind == "image":
        _unknown(data, common | {"image_url"}, path)
        return ImageAction(_url(data, "image_url", path) or "")
    if kind == "miniprogrampage":
        _unknown(data, common | {"title", "appid", "page_path", "thumb_url", "thumb_media_id"}, path)
        action = MiniProgramPageAction(
            title=_required(data, "title", path, 64),
            page_path=_required(data, "page_path", path, 512),
            appid=_string(data, "appid", path, required=False, limit=32),
            thumb_url=_url(data, "thumb_url", path, required=False),
            thumb_media_id=_string(data, "thumb_media_id", path, required=False, limit=128),
        )
        if not (action.thumb_url or action.thumb_media_id):
            raise _invalid(f"{path}.thumb_url", "a miniprogrampage needs thumb_url or thumb_media_id")
        return action
    if kind == "news":
        _unknown(data, common | {"articles"}, path)
        items = data.get("articles")
        if not isinstance(items, list) or not 1 <= len(items) <= 8:
            raise _invalid(f"{path}.articles", "must be a list of 1 to 8 articles")
        articles = []
        for index, item in enumerate(items):
            where = f"{path}.articles[{index}]"
            article = _mapping(item, where)
            _unknown(article, {"title", "description", "url", "pic_url"}, where)
            articles.append(
                Article(
                    title=_required(article, "title", where, 64),
                    description=_string(article, "description", where, required=False, default="") or "",
                    url=_url(article, "url", where) or "",
                    pic_url=_url(article, "pic_url", where, required=False) or "",
                )
            )
        return NewsAction(tuple(articles))
    _unknown(
        data, common | {"oa", "scene", "as", "title", "description", "thumb_url", "expire_seconds"}, path
    )
    return FollowQrAction(
        oa=_app_name(data, "oa", path),
        scene=_scene(_required(data, "scene", path, SCENE_MAX), f"{path}.scene"),
        send_as=_choice(data, "as", path, ("link", "image"), "link"),  # type: ignore[arg-type]
        title=_string(data, "title", path, required=False, limit=64, default="关注公众号") or "",
        description=_string(data, "description", path, required=False, default="") or "",
        thumb_url=_url(data, "thumb_url", path, required=False),
        expire_seconds=_expire(data, path),
    )


def _keywords(value: Any, *, official_account: bool) -> tuple[KeywordRule, ...]:
    allowed = _OA_REPLIES if official_account else _MP_REPLIES
    if value is None:
        return ()
    if not isinstance(value, list):
        raise _invalid("keywords", "must be a list")
    rules = []
    for index, item in enumerate(value):
        path = f"keywords[{index}]"
        data = _mapping(item, path)
        _unknown(data, {"match", "pattern", "reply", "window_closed_template"}, path)
        match = _choice(data, "match", path, ("exact", "prefix", "regex"), "exact")
        pattern = _required(data, "pattern", path, 256)
        compiled = None
        if match == "regex":
            try:
                compiled = re.compile(pattern)
            except re.error as exc:
                raise _invalid(f"{path}.pattern", f"invalid regular expression ({exc})") from None
        rules.append(
            KeywordRule(
                match=match,  # type: ignore[arg-type]
                pattern=pattern,
                reply=_action(data.get("reply"), f"{path}.reply", allowed),
                window_closed_template=_template(
                    data.get("window_closed_template"),
                    f"{path}.window_closed_template",
                    official_account=official_account,
                ),
                compiled=compiled,
            )
        )
    return tuple(rules)


def _fallback(value: Any) -> Fallback:
    if value is None:
        return Fallback()
    data = _mapping(value, "fallback")
    _unknown(data, {"type", "text", "kf_account"}, "fallback")
    kind = _choice(data, "type", "fallback", ("none", "text", "transfer_customer_service"), "none")
    text = _string(data, "text", "fallback", required=kind == "text")
    return Fallback(
        kind=kind,  # type: ignore[arg-type]
        text=text,
        kf_account=_string(data, "kf_account", "fallback", required=False, limit=64),
    )


def _card(value: Any) -> CardRule | None:
    if value is None:
        return None
    path = "card"
    data = _mapping(value, path)
    _unknown(
        data,
        {
            "oa",
            "scene_from",
            "keys",
            "prefix",
            "as",
            "title",
            "description",
            "thumb_url",
            "expire_seconds",
            "opt_in_text",
            "window_closed_template",
        },
        path,
    )
    keys = data.get("keys")
    if (
        not isinstance(keys, list)
        or not keys
        or not all(isinstance(k, str) and _CONTEXT_VALUE.fullmatch(k) for k in keys)
    ):
        raise _invalid(f"{path}.keys", "must be a non-empty list of query keys (letters, digits, _ . -)")
    if len(set(keys)) != len(keys):
        raise _invalid(f"{path}.keys", "must not repeat a key")
    sources = data.get("scene_from", ["page_query", "session_from"])
    if isinstance(sources, str):
        sources = [sources]
    if (
        not isinstance(sources, list)
        or not sources
        or any(s not in ("page_query", "session_from") for s in sources)
    ):
        raise _invalid(f"{path}.scene_from", "must be page_query, session_from or a list of them")
    prefix = _string(data, "prefix", path, required=False, limit=SCENE_MAX, default="") or ""
    if prefix:
        _scene(prefix, f"{path}.prefix")
    if len(prefix) + sum(len(k) + 2 for k in keys) > SCENE_MAX:
        raise _invalid(
            f"{path}.keys", f"prefix and keys leave no room for values within {SCENE_MAX} characters"
        )
    return CardRule(
        oa=_app_name(data, "oa", path),
        keys=tuple(keys),
        scene_from=tuple(sources),
        prefix=prefix,
        send_as=_choice(data, "as", path, ("link", "image"), "link"),  # type: ignore[arg-type]
        title=_string(data, "title", path, required=False, limit=64, default=DEFAULT_CARD_TITLE) or "",
        description=_string(data, "description", path, required=False, default="") or "",
        thumb_url=_url(data, "thumb_url", path, required=False),
        expire_seconds=_expire(data, path),
        opt_in_text=_string(data, "opt_in_text", path, required=False, limit=600),
        window_closed_template=_template(
            data.get("window_closed_template"), f"{path}.window_closed_template", official_account=False
        ),
    )


def parse_rules(extra: Mapping[str, Any], *, official_account: bool) -> Rules:
    """Validate the rule keys of one app's configuration (everything beside the core keys)."""
    allowed = OA_KEYS if official_account else MP_KEYS
    unknown = sorted(set(extra) - allowed)
    if unknown:
        kind = "an Official Account" if official_account else "a Mini Program"
        raise _invalid(unknown[0], f"is not a rule of {kind} (allowed: {', '.join(sorted(allowed))})")
    fallback = _fallback(extra.get("fallback"))
    if not official_account:
        return Rules(
            keywords=_keywords(extra.get("keywords"), official_account=False),
            fallback=fallback,
            card=_card(extra.get("card")),
        )
    texts = {
        key: _string(extra, key, key, required=False, limit=600)
        for key in ("welcome", "channel_welcome_default", "referral_text", "card_opt_in_text")
    }
    tag = extra.get("tag_followers_by_channel", True)
    if not isinstance(tag, bool):
        raise _invalid("tag_followers_by_channel", "must be true or false")
    return Rules(
        keywords=_keywords(extra.get("keywords"), official_account=True),
        fallback=fallback,
        welcome=texts["welcome"],
        channel_welcome_default=texts["channel_welcome_default"],
        referral_text=texts["referral_text"],
        card_opt_in_text=texts["card_opt_in_text"] or DEFAULT_OPT_IN_TEXT,
        tag_followers_by_channel=tag,
    )


_parsed: dict[int, tuple[AppConfig, Rules]] = {}


def rules_for(config: AppConfig) -> Rules:
    """The parsed rules of an app, cached per configuration object (configs are frozen and cached on load)."""
    cached = _parsed.get(id(config))
    if cached is not None and cached[0] is config:
        return cached[1]
    rules = parse_rules(config.extra, official_account=config.is_official_account)
    if len(_parsed) > 64:
        _parsed.clear()
    _parsed[id(config)] = (config, rules)
    return rules


def _reset_container() -> None:
    _parsed.clear()
