"""Live codes (活码), purely: a stable link printed as a QR code whose page shows a channel's current follow-QR.

WeChat's temporary codes expire within 30 days and permanent ones are capped and cannot be re-pointed. A live code
is the operator's own link (`/l/<app>/<code>`): opened in WeChat, it shows a page with the channel's current
temporary QR code, which the user long-presses to follow. The printed code never expires, spends no permanent
quota, and can be re-pointed at another channel.

The landing page reads one item per visit: the live code holds a snapshot of its channel (with the channel's
current code) and of the channel's campaign, refreshed when either changes through the admin API and when the
landing page renews the code (store.livecodes). What a visit shows is decided here (`page_for`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Final, Literal

from wxfunnel.domain.campaigns import Campaign
from wxfunnel.domain.channels import Channel

# Generated codes: 10 characters without look-alikes (0/o, 1/l/i), about 49 bits, never guessed in practice.
# An operator may choose a code of their own (letters, digits, '_' and '-'): it is as public as the poster.
CODE: Final = re.compile(r"[A-Za-z0-9_-]{4,32}")
ALPHABET: Final = "abcdefghjkmnpqrstuvwxyz23456789"
GENERATED_LENGTH: Final = 10
TITLE_MAX: Final = 64
TEXT_MAX: Final = 300
# A live code's channel gets codes of the longest life WeChat allows: renewed half-way, about every 15 days.
LIVE_EXPIRE_SECONDS: Final = 2_592_000

LiveState = Literal["active", "disabled"]
STATES: Final = ("active", "disabled")


def code_problem(value: object) -> str | None:
    if not isinstance(value, str) or not CODE.fullmatch(value):
        return "must be 4 to 32 letters, digits, '_' or '-'"
    return None


def path(app: str, code: str) -> str:
    """The live link's path under the API's base URL (or the custom domain)."""
    return f"/l/{app}/{code}"


@dataclass(frozen=True, slots=True, kw_only=True)
class LiveCode:
    """A live code: a stable link whose page shows the current QR code of the channel it points at."""

    app: str
    code: str
    scene: str  # the channel it points at (re-pointable)
    title: str | None = None  # shown on the page (default: the channel's name)
    text: str | None = None  # a short text under the title
    state: LiveState = "active"
    created_at: str
    updated_at: str
    channel: Channel | None = None  # snapshot of the channel (its current code included)
    campaign: Campaign | None = None  # snapshot of the channel's campaign

    @property
    def page_title(self) -> str:
        return self.title or (self.channel.name if self.channel is not None else "")


class Page(StrEnum):
    """What a visit to a live code shows."""

    NOT_FOUND = "not_found"  # no such code (or app): 404
    DISABLED = "disabled"  # the operator switched it off: 410
    UNAVAILABLE = "unavailable"  # its channel is gone: 404
    ENDED = "ended"  # its campaign ended: 410, or 200 with the campaign's ended_scene QR
    FOLLOW = "follow"  # the channel's current QR code: 200, the visit is counted


def page_for(live: LiveCode | None, today: str) -> Page:
    if live is None:
        return Page.NOT_FOUND
    if live.state == "disabled":
        return Page.DISABLED
    if live.campaign is not None and live.campaign.ended(today):
        return Page.ENDED
    if live.channel is None or live.channel.kind == "card":
        return Page.UNAVAILABLE
    return Page.FOLLOW
