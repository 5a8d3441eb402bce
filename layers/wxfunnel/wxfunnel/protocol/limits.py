"""The one definition of WeChat's value shapes: appid, openid, scenes, QR expiry, tags, texts, URLs, templates,
custom menus.

Every layer checks these values through this module: the admin API (422), the app configuration (refused on load),
the push parser (a value that is not a scene attributes nothing), the client (refused before any call), the
reminder selectors and the storage keys. Each check returns the problem as text (or None), so each caller raises
its own error type and names its own field, while the rule itself lives here once.

## What a scene is
WeChat's `qrcode/create` takes `scene_id` (temporary: a 32-bit non-zero integer; permanent: 1–100000) or
`scene_str` ("字符串类型，长度限制为1到64" [OFF: developers.weixin.qq.com/doc/service/api/qrcode/qrcodes/
api_createqrcode]). The scene comes back in the push's `EventKey` (`qrscene_<scene>` on subscribe, `<scene>` on
SCAN) inside an XML CDATA section. Decisions, with their evidence:
- **64 bytes of UTF-8, not 64 characters.** The documentation does not say which, and WeChat answers 40053
  "invalid action info" to an over-long scene_str [COMM: developers.weixin.qq.com community, 2020-09]; 64 bytes is
  within either reading, so no code wxfunnel creates can be refused or cut for length. A CJK character takes 3
  bytes: `春节海报` is 12 bytes, 21 CJK characters fit.
- **Printable characters of the Basic Multilingual Plane, inner ASCII spaces allowed.** XML 1.0 cannot carry most
  control characters at all, XML parsers turn CR and CR LF into LF, and xmltodict (like most SDKs) strips
  whitespace at the ends of a text node: a scene with a control character or an outer space would come back as
  another string and attribute nothing. Characters beyond U+FFFF (emoji) need 4-byte UTF-8, which WeChat's round
  trip is not documented to keep [UNCONFIRMED]: refused rather than risked. Invisible format characters (Cf, e.g. a
  zero-width joiner) are refused too: an operator could not tell two such scenes apart.
- **A leading `~` is reserved** for the URL form of a scene (see `scene_segment`): any other character is fine in a
  scene, `#` and `/` included, because no storage key is ever split on them and URLs carry scenes encoded.
- An integer scene is stored and pushed as its decimal text, so `123` (scene_id) and `"123"` (scene_str) are the same
  scene to the callback.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from typing import Any, Final

# --- accounts and users ---------------------------------------------------------------------------------------

APPID: Final = re.compile(r"wx[0-9a-f]{16}")
# An openid (also a Mini Program's) is 28 URL-safe base64 characters today; 64 leaves room without letting a hostile
# value grow the keys it goes into (profile, touch, delivery, the outbox's message group).
OPENID: Final = re.compile(r"[A-Za-z0-9_-]{1,64}")
ENCODING_AES_KEY: Final = re.compile(r"[A-Za-z0-9]{43}")
TOKEN: Final = re.compile(r"[A-Za-z0-9]{3,32}")  # the console's Token (令牌)


def appid_problem(value: object) -> str | None:
    if not isinstance(value, str) or not APPID.fullmatch(value):
        return "must look like wx followed by 16 hex digits"
    return None


def openid_problem(value: object) -> str | None:
    if not isinstance(value, str) or not OPENID.fullmatch(value):
        return "must be an openid: 1 to 64 letters, digits, '_' or '-'"
    return None


# --- scenes ---------------------------------------------------------------------------------------------------

SCENE_STR_MAX_BYTES: Final = 64
TEMPORARY_SCENE_ID_MAX: Final = 2**32 - 1  # "32位非0整型"
PERMANENT_SCENE_ID_MAX: Final = 100_000
PERMANENT_QR_CAP: Final = 100_000  # permanent codes per account, never given back
QR_SCENE_PREFIX: Final = "qrscene_"  # EventKey of a subscribe through a parametric code
SCENE_URL_MARK: Final = "~"  # a URL path segment `~<base64url>` names any scene
SCENE_KEY_MAX_BYTES: Final = 256  # what a read accepts as a scene key (see is_scene_key)
SCENE_RULE: Final = (
    "a scene is an integer (temporary 1-4294967295, permanent 1-100000) or a text of 1 to 64 bytes of UTF-8 "
    "(a Chinese character takes 3) made of printable characters, no emoji, no spaces at either end, "
    "not starting with ~"
)


def _char_problem(char: str) -> str | None:
    code = ord(char)
    if 0xD800 <= code <= 0xDFFF:
        return "must be valid Unicode text (it contains a lone surrogate)"
    if code > 0xFFFF:
        return f"must not contain emoji or other characters beyond U+FFFF (found U+{code:X})"
    if not char.isprintable():
        return f"must not contain control or invisible characters (found U+{code:04X})"
    return None


def scene_str_problem(value: str) -> str | None:
    """Why `value` cannot be a scene_str (see the module docstring), or None."""
    if not value:
        return "must not be empty"
    if not value.isascii() or not value.isprintable():
        for char in value:
            problem = _char_problem(char)
            if problem:
                return problem
    size = len(value.encode("utf-8")) if not value.isascii() else len(value)
    if size > SCENE_STR_MAX_BYTES:
        return (
            f"must be at most {SCENE_STR_MAX_BYTES} bytes of UTF-8 (got {size}; a Chinese character takes 3)"
        )
    if value[0] == " " or value[-1] == " ":
        return "must not start or end with a space (WeChat's push would arrive without it)"
    if value.startswith(SCENE_URL_MARK):
        return f"must not start with {SCENE_URL_MARK} (reserved for scenes in URLs)"
    return None


def scene_id_problem(value: int, *, permanent: bool) -> str | None:
    limit = PERMANENT_SCENE_ID_MAX if permanent else TEMPORARY_SCENE_ID_MAX
    if not 1 <= value <= limit:
        kind = "permanent" if permanent else "temporary"
        return f"must be an integer from 1 to {limit} for a {kind} code (got {value})"
    return None


def scene_problem(value: object, *, permanent: bool = False) -> str | None:
    """Why `value` (an int scene_id or a str scene_str) cannot be the scene of a new QR code, or None."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        return "must be an integer (scene_id) or a string (scene_str)"
    if isinstance(value, int):
        return scene_id_problem(value, permanent=permanent)
    return scene_str_problem(value)


def is_scene(text: object) -> bool:
    """Whether `text` names a scene as stored and pushed (an integer scene as its decimal text)."""
    return isinstance(text, str) and scene_str_problem(text) is None


def is_scene_key(text: object) -> bool:
    """Whether `text` can name a stored scene: what reads accept (a scene stored before today's grammar included).

    Creation follows the grammar (`scene_problem`); a read only needs a bounded key, and answers 404 for the rest.
    """
    if not isinstance(text, str) or not text:
        return False
    try:
        return len(text.encode("utf-8")) <= SCENE_KEY_MAX_BYTES
    except UnicodeEncodeError:
        return False


def scene_prefix_problem(value: str) -> str | None:
    """Why `value` cannot select scenes by prefix (a scene's start: it may end with a space), or None."""
    trimmed = value.rstrip(" ")
    if not trimmed:
        return "must not be empty or blank"
    problem = scene_str_problem(trimmed)
    if problem is None and len(value.encode("utf-8")) > SCENE_STR_MAX_BYTES:
        return f"must be at most {SCENE_STR_MAX_BYTES} bytes of UTF-8"
    return problem


def scene_of_event_key(event_key: str | None, *, subscribe: bool) -> str | None:
    """The scene an EventKey carries, or None when it carries none.

    On subscribe only a parametric code's key (`qrscene_<scene>`) is a scene; other keys (e.g. `last_trade_no_…`)
    are not. The prefix is sliced off the front only: a scene may itself contain `qrscene_`.
    """
    if not event_key:
        return None
    if subscribe:
        if not event_key.startswith(QR_SCENE_PREFIX):
            return None
        event_key = event_key[len(QR_SCENE_PREFIX) :]
    return event_key if is_scene(event_key) else None


def scene_segment(scene: str) -> str:
    """A scene as one URL path segment: itself when made of unreserved ASCII, else `~` + base64url of UTF-8.

    API Gateway and proxies disagree on encoded slashes (`%2F`) inside a path segment; base64url never needs one.
    """
    if re.fullmatch(r"[A-Za-z0-9_.-]+", scene):
        return scene
    encoded = base64.urlsafe_b64encode(scene.encode("utf-8")).decode("ascii").rstrip("=")
    return SCENE_URL_MARK + encoded


def scene_from_segment(segment: str) -> str | None:
    """The scene a (percent-decoded) path segment names, `~<base64url>` or the scene itself; None for no key."""
    if segment.startswith(SCENE_URL_MARK):
        data = segment[len(SCENE_URL_MARK) :]
        try:
            scene = base64.urlsafe_b64decode(data + "=" * (-len(data) % 4)).decode("utf-8")
        except (binascii.Error, ValueError):
            return None
        return scene if is_scene_key(scene) else None
    return segment if is_scene_key(segment) else None


# --- QR codes -------------------------------------------------------------------------------------------------

QR_EXPIRE_SECONDS_MAX: Final = 2_592_000  # 30 days
# Always sent: WeChat's own default for a temporary code has changed over time (30 s, 60 s).
QR_DEFAULT_EXPIRE_SECONDS: Final = 604_800  # 7 days


def expire_seconds_problem(value: object, *, minimum: int = 1) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= QR_EXPIRE_SECONDS_MAX:
        return f"must be an integer from {minimum} to {QR_EXPIRE_SECONDS_MAX} (30 days)"
    return None


# --- texts, URLs, media ---------------------------------------------------------------------------------------

HTTP_URL: Final = re.compile(r"https?://\S+", re.IGNORECASE)
URL_MAX: Final = 1024
CUSTOM_TEXT_MAX_BYTES: Final = 2048  # customer-service text; WeChat answers 45002 above this
TITLE_MAX: Final = 64
MEDIA_MAX_BYTES: Final = 2 * 1024 * 1024  # images uploaded as temporary media
MEDIA_REUSE_SECONDS: Final = 3 * 86400 - 3600  # temporary media lives 3 days; stop reusing it an hour before
NEWS_ARTICLES_MAX: Final = 8  # on events; one article when replying to a user's message


def url_problem(value: object) -> str | None:
    if not isinstance(value, str) or not HTTP_URL.fullmatch(value):
        return "must be an http(s) URL"
    if len(value) > URL_MAX:
        return f"must be at most {URL_MAX} characters"
    return None


def utf8_bytes_problem(value: str, maximum: int) -> str | None:
    size = len(value.encode("utf-8", "surrogatepass"))
    if size > maximum:
        return f"must be at most {maximum} bytes of UTF-8 (got {size})"
    return None


def page_path_problem(value: object) -> str | None:
    """A Mini Program page path such as `pages/live/index?id=1` (no leading slash)."""
    if not isinstance(value, str) or not 0 < len(value) <= URL_MAX or value.startswith("/"):
        return "must be a Mini Program page path such as pages/live/index?id=1"
    return None


# --- tags -----------------------------------------------------------------------------------------------------

TAG_NAME_MAX_BYTES: Final = 30
TAG_BATCH: Final = 50  # openids per batchtagging call


def tag_name_problem(value: object) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return "must be a non-empty, non-blank text"
    return utf8_bytes_problem(value, TAG_NAME_MAX_BYTES)


# --- template (OA) and subscribe (MP) messages ------------------------------------------------------------------

TEMPLATE_ID_MAX: Final = 128
TEMPLATE_KEY: Final = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,31}")  # thing1, time2, character_string3 …
TEMPLATE_ENTRIES_MAX: Final = 20
TEMPLATE_VALUE_MAX: Final = 1024


def template_key_problem(value: object) -> str | None:
    if not isinstance(value, str) or not TEMPLATE_KEY.fullmatch(value):
        return "must be a keyword name: 1-32 characters of A-Z a-z 0-9 _, starting with a letter"
    return None


# --- custom menu (OA) -----------------------------------------------------------------------------------------
# menu/create's body [OFF: developers.weixin.qq.com/doc/service/api/custommenu/api_createcustommenu]: 1-3 buttons,
# each either an action (`type`, with the fields of its type) or a group (`name` + `sub_button` with 1-5 actions;
# `type` and `sub_button` are mutually exclusive); no third level. menu/get answers the same shape with an empty
# `sub_button` on every action, which is accepted here so that a menu read back can be put again.
# A CLICK (or scan, picture, location) button's `key` comes back as the push's EventKey, inside XML CDATA, and the
# rules answer it by exact match: it follows the scene's character rule (printable, no emoji, no outer spaces),
# or a key WeChat accepts could arrive as another string and match nothing.

MENU_BUTTONS_MAX: Final = 3
MENU_SUB_BUTTONS_MAX: Final = 5
MENU_NAME_MAX_BYTES: Final = 16  # a top-level button; WeChat's clients show about 4 Chinese characters
MENU_SUB_NAME_MAX_BYTES: Final = 60  # a sub-button (40 on older pages); clients show about 7
MENU_KEY_MAX_BYTES: Final = 128
MENU_URL_MAX_BYTES: Final = 1024
# The fields each button type needs (and the only ones it may have, besides type, name and an empty sub_button).
MENU_KEY_TYPES: Final = (
    "click",
    "scancode_push",
    "scancode_waitmsg",
    "pic_sysphoto",
    "pic_photo_or_album",
    "pic_weixin",
    "location_select",
)
MENU_FIELDS: Final[Mapping[str, tuple[str, ...]]] = {
    **{kind: ("key",) for kind in MENU_KEY_TYPES},
    "view": ("url",),
    "miniprogram": ("appid", "pagepath", "url"),  # url: what clients without mini programs open
    "media_id": ("media_id",),  # a permanent material
    "view_limited": ("media_id",),
    "article_id": ("article_id",),  # a published article
    "article_view_limited": ("article_id",),
}


def menu_key_problem(value: object) -> str | None:
    """Why `value` cannot be a menu button's key (the EventKey of its CLICK push), or None."""
    if not isinstance(value, str) or not value:
        return f"must be a text of 1 to {MENU_KEY_MAX_BYTES} bytes"
    for char in value:
        problem = _char_problem(char)
        if problem:
            return problem
    if value[0] == " " or value[-1] == " ":
        return "must not start or end with a space (the CLICK push would arrive without it)"
    return utf8_bytes_problem(value, MENU_KEY_MAX_BYTES)


def menu_url_problem(value: object) -> str | None:
    if not isinstance(value, str) or not HTTP_URL.fullmatch(value):
        return "must be an http(s) URL"
    return utf8_bytes_problem(value, MENU_URL_MAX_BYTES)


def _menu_name_problem(value: object, maximum: int) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return "must be a non-empty, non-blank text"
    for char in value:
        if not char.isprintable():  # emoji are fine in a name: it is shown, never matched
            return f"must not contain control or invisible characters (found U+{ord(char):04X})"
    problem = utf8_bytes_problem(value, maximum)
    return f"{problem}; a Chinese character takes 3" if problem else None


def _menu_id_problem(value: object) -> str | None:
    if not isinstance(value, str) or not value or any(char.isspace() for char in value):
        return "must be a non-empty id without spaces"
    return None


_MENU_FIELD_PROBLEMS: Final = {
    "key": menu_key_problem,
    "url": menu_url_problem,
    "appid": appid_problem,
    "pagepath": page_path_problem,
    "media_id": _menu_id_problem,
    "article_id": _menu_id_problem,
}


def _menu_count_problem(value: object, maximum: int) -> str:
    if not isinstance(value, list):
        return f"must be a list of 1 to {maximum} buttons"
    return f"must have 1 to {maximum} buttons (got {len(value)})"


def _menu_button_problem(button: object, path: str, *, top: bool) -> str | None:
    if not isinstance(button, Mapping):
        return f"{path}: must be a JSON object"
    problem = _menu_name_problem(button.get("name"), MENU_NAME_MAX_BYTES if top else MENU_SUB_NAME_MAX_BYTES)
    if problem:
        return f"{path}.name: {problem}"
    subs = button.get("sub_button")
    if "sub_button" in button and subs != []:
        if not top:
            return f"{path}.sub_button: a sub-button cannot have sub-buttons (two levels at most)"
        return _menu_group_problem(button, subs, path)
    kind = button.get("type")
    if kind is None:
        needed = f"a type, or sub_button with 1 to {MENU_SUB_BUTTONS_MAX} buttons" if top else "a type"
        return f"{path}: needs {needed}"
    if not isinstance(kind, str) or kind not in MENU_FIELDS:
        return f"{path}.type: must be one of {', '.join(MENU_FIELDS)} (got {kind!r})"
    fields = MENU_FIELDS[kind]
    for field in button:
        if field not in {"type", "name", "sub_button", *fields}:
            return f"{path}.{field}: not a field of a {kind} button (it has {', '.join(fields)})"
    for field in fields:
        if field not in button:
            return f"{path}.{field}: required for a {kind} button"
        problem = _MENU_FIELD_PROBLEMS[field](button[field])
        if problem:
            return f"{path}.{field}: {problem}"
    return None


def _menu_group_problem(button: Mapping[str, Any], subs: object, path: str) -> str | None:
    if "type" in button:
        return f"{path}: has both type and sub_button (a button either acts or opens its sub-buttons)"
    for field in button:
        if field not in {"name", "sub_button"}:
            return f"{path}.{field}: not a field of a button with sub-buttons (it has name and sub_button)"
    if not isinstance(subs, list) or not 1 <= len(subs) <= MENU_SUB_BUTTONS_MAX:
        return f"{path}.sub_button: {_menu_count_problem(subs, MENU_SUB_BUTTONS_MAX)}"
    for index, sub in enumerate(subs, 1):
        problem = _menu_button_problem(sub, f"{path}.sub_button[{index}]", top=False)
        if problem:
            return problem
    return None


def menu_problem(menu: object) -> str | None:
    """The first reason `menu` (menu/create's body, `{"button": [...]}`) cannot be a custom menu, as
    "<path>: <problem>" with buttons counted from 1 as an operator reads them (`button[1].sub_button[2].name:
    must be at most 60 bytes of UTF-8 (got 61); a Chinese character takes 3`), or None."""
    if not isinstance(menu, Mapping):
        return 'menu: must be a JSON object {"button": [...]}'
    for field in menu:
        if field != "button":
            hint = " (put the menu itself, not menu/get's whole answer)" if field == "menu" else ""
            return f"{field}: not a field of a menu, which has only button{hint}"
    buttons = menu.get("button")
    if not isinstance(buttons, list) or not 1 <= len(buttons) <= MENU_BUTTONS_MAX:
        return f"button: {_menu_count_problem(buttons, MENU_BUTTONS_MAX)}"
    for index, button in enumerate(buttons, 1):
        problem = _menu_button_problem(button, f"button[{index}]", top=True)
        if problem:
            return problem
    return None
