"""Campaigns, purely: a named period that channels belong to, with its own totals and funnel.

A campaign runs from `start` to `end`, both the account's local days (its `time_zone`) and both included. Its
totals and funnel cover those days (up to today while it runs). After its end its live codes show an "ended" page
instead of a QR code; with `ended_scene` that page also shows the QR of that channel (the account's default
follow channel, say), so a poster that outlives its campaign still brings followers, counted elsewhere.
Before its start its live codes already work: posters go up before a campaign begins.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Final

NAME_MAX: Final = 64
MAX_DAYS: Final = 366


@dataclass(frozen=True, slots=True, kw_only=True)
class Campaign:
    """A campaign: a named period of local days, and the channel its live codes show after it."""

    app: str
    id: str
    name: str
    start: str  # yyyy-mm-dd, the account's local day, included
    end: str  # yyyy-mm-dd, included
    ended_scene: str | None = None  # after the end: this channel's QR on the ended page
    created_at: str
    updated_at: str

    def ended(self, today: str) -> bool:
        return today > self.end

    def period(self, today: str) -> tuple[str, str]:
        """The days its totals cover as of `today`: from its start to its end, or to today while it runs."""
        return self.start, max(self.start, min(self.end, today))


def period_problem(start: str, end: str) -> str | None:
    """Why [start, end] cannot be a campaign's period (both already yyyy-mm-dd), or None."""
    first, last = date.fromisoformat(start), date.fromisoformat(end)
    if last < first:
        return "must not be before start"
    if last - first >= timedelta(days=MAX_DAYS):
        return f"a campaign spans at most {MAX_DAYS} days"
    return None
