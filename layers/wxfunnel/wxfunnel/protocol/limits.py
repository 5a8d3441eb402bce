"""The one definition of WeChat's value shapes: appid, openid, scenes, QR expiry, tags, texts, URLs, templates.

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
from typing import Final

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
        return f"an integer scene of a {kind} code must be from 1 to {limit} (got {value})"
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


# --- custom menu ---------------------------------------------------------------------------------------------

MENU_KEY_MAX_BYTES: Final = 128  # a click button's key (it arrives as the CLICK event's EventKey)


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
        return "keys must be 1-32 characters of A-Z a-z 0-9 _, starting with a letter"
    return None
