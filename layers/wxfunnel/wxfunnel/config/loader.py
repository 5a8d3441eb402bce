"""Loading an app's configuration: its SSM SecureString (Powertools Parameters, decrypted, cached per container).

A broken document is refused with InvalidAppConfig (the reason is logged, never a secret); an unknown name with
UnknownApp, remembered for as long as a configuration is cached, so a flood of requests to names that do not
exist cannot throttle SSM for the real apps.
"""

from __future__ import annotations

import json
from functools import cache
from time import monotonic

from aws_lambda_powertools.utilities.parameters import SSMProvider
from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError

from wxfunnel.config.app import AppConfig, parse_app_config
from wxfunnel.config.base import APP_NAME, InvalidAppConfig, UnknownApp
from wxfunnel.core.aws import ssm
from wxfunnel.core.observability import logger
from wxfunnel.core.settings import settings

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


def app_names() -> list[str]:
    """The names of the apps configured under the stack's prefix (GetParametersByPath, values left encrypted: the
    names only), sorted; cached like the configurations."""
    prefix = settings().apps_parameter_prefix
    found = _provider().get_multiple(
        prefix.rstrip("/"), decrypt=False, max_age=settings().parameters_max_age_seconds, recursive=False
    )
    return sorted(name.lstrip("/") for name in found if APP_NAME.fullmatch(name.lstrip("/")))


def _reset_container() -> None:
    _cache.clear()
    _unknown.clear()
