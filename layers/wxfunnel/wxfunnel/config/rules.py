"""Per-account rules (welcomes, keyword replies, the card rule, the fallback), validated when an app loads.

The schema is documented in docs/rules.md. A bad rule set raises `InvalidAppConfig` naming the rule
("rules.keywords[2].match: ..."), so a broken configuration is refused on load, never half-applied to a user.
Every value the sender would later send is checked here with the same limits the client checks before a call
(URLs, appids, text sizes, scenes), so a rule WeChat would refuse is refused when the configuration is put.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import parse_qsl, quote

from wxfunnel.config.base import app_name_problem, invalid_rule
from wxfunnel.core.fields import Fields
from wxfunnel.protocol import limits

_CONTEXT_VALUE = re.compile(r"^[A-Za-z0-9_.-]+$")  # a card context value may not carry the separators & and =
_PLACEHOLDER = re.compile(r"\{(\w+)\}")
CARD_EXPIRE_SECONDS_MIN = 60
TEXT_MAX_CHARS = 600  # welcomes and other texts of the rules
DEFAULT_CARD_TITLE = "扫码关注，开启提醒"
DEFAULT_FOLLOW_TITLE = "关注公众号"
DEFAULT_OPT_IN_TEXT = "提醒已开启：届时我们会通过本公众号通知你。"
DEFAULT_REFERRER_NAME = "你的好友"
DEFAULT_NAME_REPLY = "好的，你推荐的朋友会看到：{name}"
DEFAULT_OWN_CODE_PREFIX = "my_"
OWN_CODE_TOKEN_CHARS = 16  # the follower token after the prefix (domain.promoters.follower_token)
NAME_MAX_CHARS = 32  # a name a follower gives themselves (shown to the friends they bring)

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
        "referral",
    }
)
MP_KEYS = frozenset({"keywords", "card", "fallback"})


# --- values ------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TemplateSpec:
    """What is sent instead of a customer-service message when the 48 h window is closed: a template message on an
    Official Account (`url` opens from it), a subscribe message on a Mini Program (`page` opens from it)."""

    template_id: str
    data: Mapping[str, Any]
    url: str | None = None
    page: str | None = None

    def to_wire(self) -> dict[str, Any]:
        return {"template_id": self.template_id, "data": dict(self.data), "url": self.url, "page": self.page}


@dataclass(frozen=True, slots=True)
class TextAction:
    """Answer with a text."""

    content: str


@dataclass(frozen=True, slots=True)
class LinkAction:
    """Answer with a link card."""

    title: str
    description: str
    url: str
    thumb_url: str


@dataclass(frozen=True, slots=True)
class ImageAction:
    """Answer with an image from a URL."""

    image_url: str  # fetched and uploaded as temporary media by the sender


@dataclass(frozen=True, slots=True)
class MiniProgramPageAction:
    """Answer with a mini-program card opening `page_path`."""

    title: str
    page_path: str
    appid: str | None = None  # None: the account's own appid
    thumb_url: str | None = None
    thumb_media_id: str | None = None


@dataclass(frozen=True, slots=True)
class Article:
    """One article of a news action."""

    title: str
    description: str
    url: str
    pic_url: str


@dataclass(frozen=True, slots=True)
class NewsAction:
    """Answer with news articles (a passive reply)."""

    articles: tuple[Article, ...]


@dataclass(frozen=True, slots=True)
class FollowQrAction:
    """Send a follow-QR of an Official Account (a temporary QR_STR_SCENE for `scene`)."""

    oa: str
    scene: str
    send_as: SendAs = "link"
    title: str = DEFAULT_FOLLOW_TITLE
    description: str = ""
    thumb_url: str | None = None
    expire_seconds: int = limits.QR_DEFAULT_EXPIRE_SECONDS


Action = TextAction | LinkAction | ImageAction | MiniProgramPageAction | NewsAction | FollowQrAction


@dataclass(frozen=True, slots=True)
class KeywordRule:
    """What a text matching `pattern` (exact, prefix or regex) is answered with."""

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
    expire_seconds: int = limits.QR_DEFAULT_EXPIRE_SECONDS
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
        return scene if limits.is_scene(scene) else None


@dataclass(frozen=True, slots=True)
class Fallback:
    """What a message no rule answers gets: nothing, a text, or a hand-off to customer service."""

    kind: FallbackKind = "none"
    text: str | None = None
    kf_account: str | None = None


@dataclass(frozen=True, slots=True)
class ReferralRule:
    """A follower asks for their own code (a keyword, or a menu button's CLICK key) and shares it; the friends who
    follow through it are told who recommended them. Credit is informational: no reward for a follow."""

    keyword: str | None = None  # the text that asks for the code, e.g. 我的二维码
    menu_key: str | None = None  # or the custom menu CLICK key, e.g. MY_CODE
    scene_prefix: str = DEFAULT_OWN_CODE_PREFIX  # the code's scene: prefix + an opaque token of the follower
    expire_seconds: int = (
        limits.QR_EXPIRE_SECONDS_MAX
    )  # a temporary code, reused while > half its life is left
    intro_text: str | None = None  # sent before the image
    name_keyword: str | None = None  # "我的名字 小明" names them to their friends
    name_reply: str = DEFAULT_NAME_REPLY
    default_name: str = DEFAULT_REFERRER_NAME  # shown when they never gave a name
    notify_referrer: str | None = (
        None  # told to the referrer when a friend follows, {name} and {count} filled
    )

    def asks_for_code(self, text: str) -> bool:
        return self.keyword is not None and text.strip() == self.keyword

    def name_in(self, text: str) -> str | None:
        """The name a text gives ("我的名字 小明" → 小明), or None when it gives none."""
        if self.name_keyword is None or not text.strip().startswith(self.name_keyword):
            return None
        name = text.strip()[len(self.name_keyword) :].strip()
        return name[:NAME_MAX_CHARS] if name and name.isprintable() else None


@dataclass(frozen=True, slots=True)
class Rules:
    """An app's rules as its configuration states them: keywords, fallback, welcomes, card, referrals."""

    keywords: tuple[KeywordRule, ...] = ()
    fallback: Fallback = Fallback()
    # Official Account
    welcome: str | None = None
    channel_welcome_default: str | None = None
    referral_text: str | None = None
    card_opt_in_text: str = DEFAULT_OPT_IN_TEXT
    tag_followers_by_channel: bool = True
    referral: ReferralRule | None = None
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


def _fields(value: Any, path: str) -> Fields:
    return Fields.of(value, path, invalid_rule)


def _url(data: Fields, key: str, *, required: bool = True) -> str | None:
    return data.text(key, required=required, check=limits.url_problem)


def _title(data: Fields, key: str = "title", *, default: str | None = None) -> str:
    value = data.text(key, required=default is None, max_chars=limits.TITLE_MAX, blank=False, default=default)
    assert value is not None
    return value


def _expire(data: Fields) -> int:
    value = data.integer(
        "expire_seconds",
        default=limits.QR_DEFAULT_EXPIRE_SECONDS,
        check=lambda v: limits.expire_seconds_problem(v, minimum=CARD_EXPIRE_SECONDS_MIN),
    )
    assert value is not None
    return value


def _oa(data: Fields) -> str:
    return data.required_text(
        "oa", check=lambda v: "must name a configured Official Account app" if app_name_problem(v) else None
    )


def _template(data: Fields | None, *, official_account: bool) -> TemplateSpec | None:
    if data is None:
        return None
    data.only({"template_id", "data", "url", "page"})
    if official_account and data.get("page") is not None:
        raise data.fail("page", "an Official Account sends a template message, which opens `url`")
    if not official_account and data.get("url") is not None:
        raise data.fail("url", "a Mini Program sends a subscribe message, which opens `page`")
    template_id = data.required_text("template_id", max_chars=limits.TEMPLATE_ID_MAX, blank=False)
    page = data.text("page", check=limits.page_path_problem) if data.get("page") is not None else None
    values = data.child("data") or _fields({}, data.where("data"))
    if len(values) > limits.TEMPLATE_ENTRIES_MAX:
        raise data.fail("data", f"must have at most {limits.TEMPLATE_ENTRIES_MAX} entries")
    for key in values:
        item = values.get(key)
        ok = isinstance(item, str) or (isinstance(item, Mapping) and isinstance(item.get("value"), str))
        if not ok:
            raise values.fail(key, 'must be a string or {"value": "..."}')
        problem = limits.template_key_problem(key)
        if problem:
            raise values.fail(key, problem)
    return TemplateSpec(
        template_id=template_id,
        data={key: values.get(key) for key in values},
        url=_url(data, "url", required=False),
        page=page,
    )


_OA_REPLIES = ("text", "news", "image")
_MP_REPLIES = ("text", "link", "image", "miniprogrampage", "follow_qr")


def _text_content(data: Fields) -> str:
    return data.required_text("content", max_bytes=limits.CUSTOM_TEXT_MAX_BYTES, blank=False)


def _action(data: Fields, allowed: tuple[str, ...]) -> Action:
    kind = data.choice("type", allowed, default="")
    common = {"type"}
    if kind == "text":
        data.only(common | {"content"})
        return TextAction(_text_content(data))
    if kind == "link":
        data.only(common | {"title", "description", "url", "thumb_url"})
        return LinkAction(
            title=_title(data),
            description=data.text("description", default="") or "",
            url=_url(data, "url") or "",
            thumb_url=_url(data, "thumb_url") or "",
        )
    if kind == "image":
        data.only(common | {"image_url"})
        return ImageAction(_url(data, "image_url") or "")
    if kind == "miniprogrampage":
        data.only(common | {"title", "appid", "page_path", "thumb_url", "thumb_media_id"})
        action = MiniProgramPageAction(
            title=_title(data),
            page_path=data.required_text("page_path", check=limits.page_path_problem),
            appid=data.text("appid", check=limits.appid_problem),
            thumb_url=_url(data, "thumb_url", required=False),
            thumb_media_id=data.text("thumb_media_id", max_chars=128, blank=False),
        )
        if not (action.thumb_url or action.thumb_media_id):
            raise data.fail(
                "thumb_url", "is required unless thumb_media_id is given (the card's cover image)"
            )
        return action
    if kind == "news":
        data.only(common | {"articles"})
        articles = []
        for article in data.children("articles", minimum=1, maximum=limits.NEWS_ARTICLES_MAX):
            article.only({"title", "description", "url", "pic_url"})
            articles.append(
                Article(
                    title=_title(article),
                    description=article.text("description", default="") or "",
                    url=_url(article, "url") or "",
                    pic_url=_url(article, "pic_url", required=False) or "",
                )
            )
        return NewsAction(tuple(articles))
    data.only(common | {"oa", "scene", "as", "title", "description", "thumb_url", "expire_seconds"})
    return FollowQrAction(
        oa=_oa(data),
        scene=data.required_text("scene", check=limits.scene_str_problem),
        send_as=data.choice("as", ("link", "image"), "link"),  # type: ignore[arg-type]
        title=_title(data, default=DEFAULT_FOLLOW_TITLE),
        description=data.text("description", default="") or "",
        thumb_url=_url(data, "thumb_url", required=False),
        expire_seconds=_expire(data),
    )


def _keywords(rules: Fields, *, official_account: bool) -> tuple[KeywordRule, ...]:
    allowed = _OA_REPLIES if official_account else _MP_REPLIES
    if rules.get("keywords") is not None and not isinstance(rules.get("keywords"), list):
        raise rules.fail("keywords", "must be a list")
    parsed = []
    for data in rules.children("keywords"):
        data.only({"match", "pattern", "reply", "window_closed_template"})
        match = data.choice("match", ("exact", "prefix", "regex"), "exact")
        pattern = data.required_text("pattern", max_chars=256)
        compiled = None
        if match == "regex":
            try:
                compiled = re.compile(pattern)
            except re.error as exc:
                raise data.fail("pattern", f"invalid regular expression ({exc})") from None
        reply = data.child("reply", required=True)
        assert reply is not None
        parsed.append(
            KeywordRule(
                match=match,  # type: ignore[arg-type]
                pattern=pattern,
                reply=_action(reply, allowed),
                window_closed_template=_template(
                    data.child("window_closed_template"), official_account=official_account
                ),
                compiled=compiled,
            )
        )
    return tuple(parsed)


def _fallback(data: Fields | None) -> Fallback:
    if data is None:
        return Fallback()
    data.only({"type", "text", "kf_account"})
    kind = data.choice("type", ("none", "text", "transfer_customer_service"), "none")
    return Fallback(
        kind=kind,  # type: ignore[arg-type]
        text=data.text("text", required=kind == "text", max_bytes=limits.CUSTOM_TEXT_MAX_BYTES, blank=False),
        kf_account=data.text("kf_account", max_chars=64),
    )


def _card_keys(data: Fields) -> tuple[str, ...]:
    keys = data.get("keys")
    if (
        not isinstance(keys, list)
        or not keys
        or not all(isinstance(k, str) and _CONTEXT_VALUE.fullmatch(k) for k in keys)
    ):
        raise data.fail("keys", "must be a non-empty list of query keys (letters, digits, _ . -)")
    if len(set(keys)) != len(keys):
        raise data.fail("keys", "must not repeat a key")
    return tuple(keys)


def _card(data: Fields | None) -> CardRule | None:
    if data is None:
        return None
    data.only(
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
        }
    )
    keys = _card_keys(data)
    sources = data.get("scene_from") or ["page_query", "session_from"]
    if isinstance(sources, str):
        sources = [sources]
    if not isinstance(sources, list) or any(s not in ("page_query", "session_from") for s in sources):
        raise data.fail("scene_from", "must be page_query, session_from or a list of them")
    prefix = data.text("prefix", default="", check=limits.scene_prefix_problem) or ""
    # The longest scene the card can make: the prefix, each key with its "=" and a one-character value, the "&"s.
    shortest = len(prefix.encode("utf-8")) + sum(len(k) + 2 for k in keys) + len(keys) - 1
    if shortest > limits.SCENE_STR_MAX_BYTES:
        raise data.fail(
            "keys", f"prefix and keys leave no room for values within {limits.SCENE_STR_MAX_BYTES} bytes"
        )
    return CardRule(
        oa=_oa(data),
        keys=keys,
        scene_from=tuple(sources),
        prefix=prefix,
        send_as=data.choice("as", ("link", "image"), "link"),  # type: ignore[arg-type]
        title=_title(data, default=DEFAULT_CARD_TITLE),
        description=data.text("description", default="") or "",
        thumb_url=_url(data, "thumb_url", required=False),
        expire_seconds=_expire(data),
        opt_in_text=data.text("opt_in_text", max_chars=TEXT_MAX_CHARS),
        window_closed_template=_template(data.child("window_closed_template"), official_account=False),
    )


def _referral(data: Fields | None) -> ReferralRule | None:
    if data is None:
        return None
    data.only(
        {
            "keyword",
            "menu_key",
            "scene_prefix",
            "expire_seconds",
            "intro_text",
            "name_keyword",
            "name_reply",
            "default_name",
            "notify_referrer",
        }
    )
    keyword = data.text("keyword", max_chars=64, blank=False)
    menu_key = data.text("menu_key", check=limits.menu_key_problem)
    if keyword is None and menu_key is None:
        raise data.fail("keyword", "is required (or menu_key): how a follower asks for their own code")
    prefix = data.text("scene_prefix", default=DEFAULT_OWN_CODE_PREFIX, check=limits.scene_prefix_problem)
    assert prefix is not None
    if len(prefix.encode("utf-8")) + OWN_CODE_TOKEN_CHARS > limits.SCENE_STR_MAX_BYTES:
        raise data.fail(
            "scene_prefix",
            f"leaves no room for the {OWN_CODE_TOKEN_CHARS}-character token within {limits.SCENE_STR_MAX_BYTES} "
            "bytes",
        )
    expire = data.integer(
        "expire_seconds",
        default=limits.QR_EXPIRE_SECONDS_MAX,
        check=lambda v: limits.expire_seconds_problem(v, minimum=CARD_EXPIRE_SECONDS_MIN),
    )
    assert expire is not None
    return ReferralRule(
        keyword=keyword,
        menu_key=menu_key,
        scene_prefix=prefix,
        expire_seconds=expire,
        intro_text=data.text("intro_text", max_bytes=limits.CUSTOM_TEXT_MAX_BYTES, blank=False),
        name_keyword=data.text("name_keyword", max_chars=32, blank=False),
        name_reply=data.text("name_reply", max_chars=TEXT_MAX_CHARS, default=DEFAULT_NAME_REPLY) or "",
        default_name=data.text("default_name", max_chars=32, default=DEFAULT_REFERRER_NAME)
        or DEFAULT_REFERRER_NAME,
        notify_referrer=data.text("notify_referrer", max_chars=TEXT_MAX_CHARS, blank=False),
    )


def parse_rules(extra: Mapping[str, Any], *, official_account: bool) -> Rules:
    """Validate the rule keys of one app's configuration (everything beside the core keys)."""
    allowed = OA_KEYS if official_account else MP_KEYS
    unknown = sorted(set(extra) - allowed)
    if unknown:
        kind = "an Official Account" if official_account else "a Mini Program"
        raise invalid_rule(unknown[0], f"is not a rule of {kind} (allowed: {', '.join(sorted(allowed))})")
    rules = _fields(extra, "")
    fallback = _fallback(rules.child("fallback"))
    if not official_account:
        return Rules(
            keywords=_keywords(rules, official_account=False),
            fallback=fallback,
            card=_card(rules.child("card")),
        )
    texts = {
        key: rules.text(key, max_chars=TEXT_MAX_CHARS)
        for key in ("welcome", "channel_welcome_default", "referral_text", "card_opt_in_text")
    }
    return Rules(
        keywords=_keywords(rules, official_account=True),
        fallback=fallback,
        welcome=texts["welcome"],
        channel_welcome_default=texts["channel_welcome_default"],
        referral_text=texts["referral_text"],
        card_opt_in_text=texts["card_opt_in_text"] or DEFAULT_OPT_IN_TEXT,
        tag_followers_by_channel=rules.boolean("tag_followers_by_channel", True),
        referral=_referral(rules.child("referral")),
    )


# --- for other callers: a channel's welcome sequence (entry.admin.welcome) -------------------------------------

# What an Official Account's customer-service API sends after a follow (a link goes out as a one-article news).
WELCOME_MESSAGE_TYPES = ("text", "image", "link", "miniprogrampage")


def parse_message(data: Fields, allowed: tuple[str, ...] = WELCOME_MESSAGE_TYPES) -> Action:
    """One message in the rules' own vocabulary (a keyword reply's shape), errors raised as `data` raises them."""
    return _action(data, allowed)
