"""One app's configuration, parsed once into an `AppConfig`: the account's keys and its rules.

Each WeChat account is an *app*: one SSM SecureString holding JSON (`loader` reads it). The core keys are checked
here with the shapes of `protocol.limits`; everything else is a rule (`rules`), parsed in the same step, so a
configuration is usable as a whole or refused as a whole with a message that names the field and no secret.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from wxfunnel.config.base import AccountKind, InvalidAppConfig, invalid_field
from wxfunnel.config.rules import Rules, parse_rules
from wxfunnel.core.fields import Fields
from wxfunnel.protocol import limits

CORE_KEYS: Final = frozenset(
    {
        "kind",
        "appid",
        "secret",
        "token",
        "encoding_aes_key",
        "previous_encoding_aes_key",
        "original_id",
        "token_endpoint",
        "message_mode",
        "time_zone",
    }
)
# WeChat's 消息加解密方式. In compatible and safe mode every push carries the encrypted envelope and msg_signature, so
# a push without them is refused: a plaintext body is signed by nothing but the query string, which anyone who saw
# one request could replay with a body of their choosing.
MESSAGE_MODES: Final = ("plaintext", "compatible", "safe")
TOKEN_ENDPOINTS: Final = ("stable", "classic")
DEFAULT_TIME_ZONE: Final = "Asia/Shanghai"  # statistics days start at midnight in the account's time zone
SECRET_MAX_CHARS: Final = 128


@dataclass(frozen=True, slots=True)
class AppConfig:
    """One connected account (OA or MP): its credentials, callback settings and rules, parsed once."""

    name: str
    kind: AccountKind
    appid: str
    secret: str = field(repr=False)
    token: str = field(repr=False)
    encoding_aes_key: str | None = field(default=None, repr=False)
    previous_encoding_aes_key: str | None = field(default=None, repr=False)
    original_id: str | None = None
    token_endpoint: str = "stable"
    message_mode: str = "plaintext"
    time_zone: str = DEFAULT_TIME_ZONE
    rules: Rules = field(default_factory=Rules, repr=False)

    @property
    def is_official_account(self) -> bool:
        return self.kind is AccountKind.OFFICIAL_ACCOUNT

    @property
    def requires_encryption(self) -> bool:
        return self.message_mode != "plaintext"


def _shape(problem_of: Any, what: str) -> Any:
    """A limits check with the configuration's wording ("must be …")."""

    def check(value: object) -> str | None:
        return what if problem_of(value) else None

    return check


def parse_app_config(name: str, data: Any) -> AppConfig:
    """Validate one app's JSON document; raises InvalidAppConfig with a precise, secret-free message."""
    if not isinstance(data, Mapping):
        raise InvalidAppConfig("the configuration must be a JSON object")
    core = Fields(data, "", invalid_field)
    kind_text = core.required_text("kind")
    try:
        kind = AccountKind(kind_text)
    except ValueError:
        allowed = ", ".join(k.value for k in AccountKind)
        raise invalid_field("kind", f"must be one of: {allowed}") from None
    appid = core.required_text(
        "appid", check=_shape(limits.appid_problem, "must look like wx followed by 16 hex digits")
    )
    secret = core.required_text("secret")
    if len(secret) > SECRET_MAX_CHARS:
        raise invalid_field("secret", f"is longer than {SECRET_MAX_CHARS} characters")
    token = core.required_text("token")
    if not limits.TOKEN.fullmatch(token):
        raise invalid_field("token", "must be 3 to 32 letters or digits (as the WeChat console requires)")
    keys: dict[str, str | None] = {}
    for key_name in ("encoding_aes_key", "previous_encoding_aes_key"):
        value = core.text(key_name)
        if value is not None and not limits.ENCODING_AES_KEY.fullmatch(value):
            raise invalid_field(key_name, f"must be exactly 43 letters or digits (got {len(value)})")
        keys[key_name] = value
    if keys["previous_encoding_aes_key"] and not keys["encoding_aes_key"]:
        raise invalid_field("previous_encoding_aes_key", "needs 'encoding_aes_key' as well")
    token_endpoint = core.text("token_endpoint") or "stable"
    if token_endpoint not in TOKEN_ENDPOINTS:
        raise invalid_field("token_endpoint", "must be 'stable' or 'classic'")
    message_mode = core.text("message_mode") or ("safe" if keys["encoding_aes_key"] else "plaintext")
    if message_mode not in MESSAGE_MODES:
        raise invalid_field("message_mode", f"must be one of: {', '.join(MESSAGE_MODES)}")
    if message_mode != "plaintext" and not keys["encoding_aes_key"]:
        raise invalid_field("message_mode", f"{message_mode!r} needs 'encoding_aes_key'")
    time_zone = core.text("time_zone") or DEFAULT_TIME_ZONE
    try:
        ZoneInfo(time_zone)
    except (ValueError, ZoneInfoNotFoundError):
        raise invalid_field("time_zone", "must be an IANA time zone such as Asia/Shanghai") from None
    extra = {k: v for k, v in data.items() if k not in CORE_KEYS}
    return AppConfig(
        name=name,
        kind=kind,
        appid=appid,
        secret=secret,
        token=token,
        encoding_aes_key=keys["encoding_aes_key"],
        previous_encoding_aes_key=keys["previous_encoding_aes_key"],
        original_id=core.text("original_id"),
        token_endpoint=token_endpoint,
        message_mode=message_mode,
        time_zone=time_zone,
        rules=parse_rules(extra, official_account=kind is AccountKind.OFFICIAL_ACCOUNT),
    )
