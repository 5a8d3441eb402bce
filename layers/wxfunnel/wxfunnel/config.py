"""App settings: one SSM SecureString JSON per WeChat account, validated on load and cached per container."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cache
from time import monotonic
from typing import Any

from aws_lambda_powertools.utilities.parameters import SSMProvider
from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError

from wxfunnel.aws import ssm
from wxfunnel.observability import logger
from wxfunnel.settings import settings

APP_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
_APPID = re.compile(r"^wx[0-9a-f]{16}$")
_AES_KEY = re.compile(r"^[A-Za-z0-9]{43}$")
_TOKEN = re.compile(r"^[A-Za-z0-9]{3,32}$")
CORE_KEYS = frozenset(
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
    }
)
# WeChat's 消息加解密方式. In compatible and safe mode every push carries the encrypted envelope and msg_signature, so
# a push without them is refused: a plaintext body is signed by nothing but the query string, which anyone who saw
# one request could replay with a body of their choosing.
MESSAGE_MODES = ("plaintext", "compatible", "safe")


class AccountKind(StrEnum):
    OFFICIAL_ACCOUNT = "official_account"
    MINI_PROGRAM = "mini_program"


class UnknownApp(LookupError):
    """No configuration exists for the app named in the URL."""


class InvalidAppConfig(ValueError):
    """The stored configuration is unusable; the message names the problem, never a secret value."""


@dataclass(frozen=True, slots=True)
class AppConfig:
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
    extra: Mapping[str, Any] = field(default_factory=dict, repr=False)

    @property
    def is_official_account(self) -> bool:
        return self.kind is AccountKind.OFFICIAL_ACCOUNT

    @property
    def requires_encryption(self) -> bool:
        return self.message_mode != "plaintext"


def _text(data: Mapping[str, Any], key: str, *, required: bool) -> str | None:
    value = data.get(key)
    if value is None or value == "":
        if required:
            raise InvalidAppConfig(f"missing required field '{key}'")
        return None
    if not isinstance(value, str):
        raise InvalidAppConfig(f"field '{key}' must be a string")
    return value


def parse_app_config(name: str, data: Any) -> AppConfig:
    """Validate one app's JSON document; raises InvalidAppConfig with a precise, secret-free message."""
    if not isinstance(data, Mapping):
        raise InvalidAppConfig("the configuration must be a JSON object")
    kind_text = _text(data, "kind", required=True) or ""
    try:
        kind = AccountKind(kind_text)
    except ValueError:
        allowed = ", ".join(k.value for k in AccountKind)
        raise InvalidAppConfig(f"field 'kind' must be one of: {allowed}") from None
    appid = _text(data, "appid", required=True) or ""
    if not _APPID.fullmatch(appid):
        raise InvalidAppConfig("field 'appid' must look like wx followed by 16 hex digits")
    secret = _text(data, "secret", required=True) or ""
    if len(secret) > 128:
        raise InvalidAppConfig("field 'secret' is longer than 128 characters")
    token = _text(data, "token", required=True) or ""
    if not _TOKEN.fullmatch(token):
        raise InvalidAppConfig(
            "field 'token' must be 3 to 32 letters or digits (as the WeChat console requires)"
        )
    keys: dict[str, str | None] = {}
    for key_name in ("encoding_aes_key", "previous_encoding_aes_key"):
        value = _text(data, key_name, required=False)
        if value is not None and not _AES_KEY.fullmatch(value):
            raise InvalidAppConfig(
                f"field '{key_name}' must be exactly 43 letters or digits (got {len(value)})"
            )
        keys[key_name] = value
    if keys["previous_encoding_aes_key"] and not keys["encoding_aes_key"]:
        raise InvalidAppConfig("field 'previous_encoding_aes_key' needs 'encoding_aes_key' as well")
    original_id = _text(data, "original_id", required=False)
    token_endpoint = _text(data, "token_endpoint", required=False) or "stable"
    if token_endpoint not in {"stable", "classic"}:
        raise InvalidAppConfig("field 'token_endpoint' must be 'stable' or 'classic'")
    message_mode = _text(data, "message_mode", required=False) or (
        "safe" if keys["encoding_aes_key"] else "plaintext"
    )
    if message_mode not in MESSAGE_MODES:
        raise InvalidAppConfig(f"field 'message_mode' must be one of: {', '.join(MESSAGE_MODES)}")
    if message_mode != "plaintext" and not keys["encoding_aes_key"]:
        raise InvalidAppConfig(f"field 'message_mode' {message_mode!r} needs 'encoding_aes_key'")
    extra = {k: v for k, v in data.items() if k not in CORE_KEYS}
    config = AppConfig(
        name=name,
        kind=kind,
        appid=appid,
        secret=secret,
        token=token,
        encoding_aes_key=keys["encoding_aes_key"],
        previous_encoding_aes_key=keys["previous_encoding_aes_key"],
        original_id=original_id,
        token_endpoint=token_endpoint,
        message_mode=message_mode,
        extra=extra,
    )
    _validate_extensions(config)
    return config


def _validate_extensions(config: AppConfig) -> None:
    """Rules live beside the core keys; they are validated by the rules module so a bad rule fails on load."""
    from wxfunnel import rules  # noqa: PLC0415  (rules import config: keep the cycle out of import time)

    rules.rules_for(config)


_cache: dict[str, tuple[str, AppConfig]] = {}
# Names SSM does not know, with when to ask again (monotonic seconds). Without it every request to an unknown app
# costs a decrypted GetParameter, and a flood of them throttles SSM for the real apps. All entries live equally
# long, so insertion order is expiry order: the oldest is evicted first.
_unknown: dict[str, float] = {}
_UNKNOWN_MAX = 1024


def _known_unknown(name: str, now: float) -> bool:
    while _unknown:
        oldest, expires = next(iter(_unknown.items()))
        if expires > now:
            break
        _unknown.pop(oldest, None)
    return name in _unknown


def _remember_unknown(name: str, now: float) -> None:
    if len(_unknown) >= _UNKNOWN_MAX:
        _unknown.pop(next(iter(_unknown)), None)
    _unknown[name] = now + settings().parameters_max_age_seconds


@cache
def _provider() -> SSMProvider:
    return SSMProvider(boto3_client=ssm())


def load_app(name: str) -> AppConfig:
    """The configuration of app `name` (Powertools Parameters, decrypted and cached for a few minutes).

    An unknown name is remembered as long: an app created meanwhile answers once that time has passed.
    """
    if not APP_NAME.fullmatch(name):
        raise UnknownApp(name)
    now = monotonic()
    if _known_unknown(name, now):
        raise UnknownApp(name)
    path = f"{settings().apps_parameter_prefix}{name}"
    try:
        raw = _provider().get(path, decrypt=True, max_age=settings().parameters_max_age_seconds)
    except GetParameterError as exc:
        if "ParameterNotFound" in repr(exc.__cause__) or "ParameterNotFound" in str(exc):
            _remember_unknown(name, now)
            raise UnknownApp(name) from None
        raise
    text = str(raw)
    cached = _cache.get(name)
    if cached is not None and cached[0] == text:
        return cached[1]
    try:
        document = json.loads(text)
    except json.JSONDecodeError:
        logger.error("app configuration is not valid JSON", extra={"app": name})
        raise InvalidAppConfig("the configuration is not valid JSON") from None
    try:
        config = parse_app_config(name, document)
    except InvalidAppConfig as exc:
        logger.error("app configuration rejected", extra={"app": name, "reason": str(exc)})
        raise
    _cache[name] = (text, config)
    return config


def _reset_container() -> None:
    _cache.clear()
    _unknown.clear()
