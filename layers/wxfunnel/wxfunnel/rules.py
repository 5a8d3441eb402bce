"""The per-account rules (welcome texts, keyword replies, card handling, fallback), validated when an app loads."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from wxfunnel.config import AppConfig

RULE_KEYS = frozenset({"welcome"})


@dataclass(frozen=True, slots=True)
class Rules:
    welcome: str | None = None


def parse_rules(extra: dict[str, Any]) -> Rules:
    from wxfunnel.config import InvalidAppConfig  # noqa: PLC0415

    unknown = sorted(set(extra) - RULE_KEYS)
    if unknown:
        raise InvalidAppConfig(f"unknown field(s): {', '.join(unknown)}")
    welcome = extra.get("welcome")
    if welcome is not None and not isinstance(welcome, str):
        raise InvalidAppConfig("rule 'welcome' must be a string")
    return Rules(welcome=welcome)


def rules_for(config: AppConfig) -> Rules:
    return parse_rules(dict(config.extra))
