"""Promoters: the people who bring followers (a shop assistant with three posters, a follower sharing their own code).

A promoter owns channels (`Channel.promoter`) and may belong to a team. Credit is informational — WeChat's rules
forbid rewarding a follow — and follows one rule (domain.followers.credit_referral): a new follower is credited once,
to the promoter of the channel of their first follow, never to themselves, and never again when they come back or
scan another code. Rankings order by credited followers (referrals), then new followers through their channels,
then name, then id, so equal scores always come out in the same order.

Ids: an operator's promoter has the id the operator gives (`[a-z0-9][a-z0-9_-]{0,63}`); a follower who asks for their
own code becomes the promoter `f-<token>`, where the token is an opaque digest of the app and their openid (stable,
never the openid itself); a channel made before promoters existed, with only a `referrer`, maps to `r-<digest>` of the
referrer's openid (or name), so old referral codes rank like new ones.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Final

from wxfunnel.config.rules import OWN_CODE_TOKEN_CHARS
from wxfunnel.domain.ids import id_problem

TEAM_MAX: Final = 64
NAME_MAX: Final = 64
FOLLOWER_PREFIX: Final = "f-"
REFERRER_PREFIX: Final = "r-"


@dataclass(frozen=True, slots=True)
class Referrer:
    """Who recommended a channel's followers, as the channel carries it: the name shown to them and, when known,
    the referrer's openid (so a referrer following through their own code is never credited)."""

    name: str
    openid: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Promoter:
    """A promoter: the follows their channels bring are credited to them (and their team)."""

    app: str
    id: str
    name: str
    openid: str | None = (
        None  # their follower openid, when they follow the account (never credited themselves)
    )
    team: str | None = None
    notes: str | None = None
    referrals: int = 0  # followers credited to them, ever (kept by the callback, exactly once per follower)
    created_at: str
    updated_at: str

    @property
    def referrer(self) -> Referrer:
        """How their channels name them to the followers they bring."""
        return Referrer(name=self.name, openid=self.openid)


RESERVED_IDS: Final = frozenset({"ranking"})  # a path of the admin API beside promoters' ids


def team_problem(value: object) -> str | None:
    """A team's name: printable, non-blank text. U+FFFD is what a broken escape or byte sequence decodes to: no team
    name is made of it."""
    if not isinstance(value, str) or not value.strip() or not value.isprintable() or "\ufffd" in value:
        return "must be a printable, non-blank text"
    return None


def team_name_ok(value: str) -> bool:
    """Whether a team named in a path or a query can exist at all (else it is unknown, and never echoed)."""
    return team_problem(value) is None and len(value) <= TEAM_MAX


def promoter_id_problem(value: object) -> str | None:
    problem = id_problem(value)
    if problem:
        return problem
    if value in RESERVED_IDS:
        return f"must not be {value} (a word the admin API uses)"
    return None


def follower_token(appid: str, openid: str) -> str:
    """The opaque, stable token of a follower's own code (their scene and promoter id derive from it)."""
    return hashlib.sha256(f"{appid}:{openid}".encode()).hexdigest()[:OWN_CODE_TOKEN_CHARS]


def follower_promoter_id(appid: str, openid: str) -> str:
    return FOLLOWER_PREFIX + follower_token(appid, openid)


def referrer_promoter_id(referrer: Referrer) -> str:
    """The promoter a channel's legacy `referrer` maps to (by openid when known, else by name)."""
    basis = f"openid:{referrer.openid}" if referrer.openid else f"name:{referrer.name}"
    return REFERRER_PREFIX + hashlib.sha256(basis.encode("utf-8")).hexdigest()[:12]


def ranking_key(promoter_id: str, name: str, referrals: int, new_followers: int) -> tuple[int, int, str, str]:
    """The leaderboard's order: credited followers, then new followers, then name, then id (ties are stable)."""
    return (-referrals, -new_followers, name, promoter_id)
