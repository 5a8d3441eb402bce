"""What every part of the configuration shares: account kinds, app names and the errors of a configuration."""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Final

# An app's short name: in its callback URL (/wechat/<app>), its SSM parameter and every key of its data.
APP_NAME: Final = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
APP_NAME_RULE: Final = "must name an app: 1-64 of a-z 0-9 _ -, starting with a letter or digit"


class AccountKind(StrEnum):
    OFFICIAL_ACCOUNT = "official_account"
    MINI_PROGRAM = "mini_program"


def app_name_problem(value: object) -> str | None:
    if not isinstance(value, str) or not APP_NAME.fullmatch(value):
        return APP_NAME_RULE
    return None


class UnknownApp(LookupError):
    """No configuration exists for the app named in the URL."""


class InvalidAppConfig(ValueError):
    """The stored configuration is unusable; the message names the problem, never a secret value."""


def invalid_rule(path: str, problem: str) -> InvalidAppConfig:
    """The error of a rule at `path` (e.g. `keywords[2].match`), as `Fields` raises it."""
    return InvalidAppConfig(f"rules.{path}: {problem}")


def invalid_field(path: str, problem: str) -> InvalidAppConfig:
    """The error of a core key (appid, token …)."""
    return InvalidAppConfig(f"field '{path}' {problem}")
