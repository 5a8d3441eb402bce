"""Admin logic of statistics: a channel's days, the whole app's days, channels ranked and referrers ranked.

Days are the account's local days (yyyy-mm-dd in its `time_zone`, named in every answer); a period is at most
STATS_MAX_DAYS long and defaults to the last 30 days up to the account's today. The cost
of the counter reads follows the period (store.counters), never the app's history: the app-wide report reads the
period's counter rows through the day index, and the app's channel records for their names and referrers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from typing import Any

from wxfunnel.domain import funnel, reports, stats
from wxfunnel.domain.channels import Channel, subject_of
from wxfunnel.entry.admin.errors import invalid
from wxfunnel.entry.admin.qrcodes import known_app, links, scene_param
from wxfunnel.store import channels, counters

STATS_DEFAULT_DAYS = 30
STATS_MAX_DAYS = 366


def _day(query: Mapping[str, str], key: str) -> date | None:
    value = query.get(key)
    if not value:
        return None
    try:
        if len(value) != 10:
            raise ValueError(value)
        return date.fromisoformat(value)
    except ValueError:
        raise invalid(key, "must be a date YYYY-MM-DD (the account's local day)") from None


def period(query: Mapping[str, str], today: date) -> tuple[str, str]:
    """The [from, to] days of a statistics query; default: the last 30 days up to `today` (the account's)."""
    end = _day(query, "to")
    start = _day(query, "from")
    if end is None:
        end = max(today, start) if start else today
    if start is None:
        start = end - timedelta(days=STATS_DEFAULT_DAYS - 1)
    if start > end:
        raise invalid("from", "must not be after 'to'")
    if (end - start).days + 1 > STATS_MAX_DAYS:
        raise invalid("from", f"the period must span at most {STATS_MAX_DAYS} days")
    return start.isoformat(), end.isoformat()


def _generation(app: str, scene: str, query: Mapping[str, str]) -> int:
    """The generation asked for (a past channel of a reassigned scene), else the scene's current one."""
    value = query.get("generation")
    if value:
        if not (value.isascii() and value.isdigit()) or int(value) > 10_000:
            raise invalid("generation", "must be a whole number (see GET /qrcodes/{app}/{scene}/history)")
        return int(value)
    current = channels.get(app, scene)
    return current.generation if current is not None else 0


def subject_report(
    app: str, subject: str, query: Mapping[str, str], kind: counters.Kind = "channel"
) -> dict[str, Any]:
    """One subject's days over the period the query asks for (a channel's, a promoter's or a team's counters), in
    the account's days: `time_zone`, `from`, `to`, `days`, `totals`."""
    time_zone = known_app(app).time_zone
    start, end = period(query, stats.today(time_zone))
    result = reports.channel_period(
        counters.subject_rows(app, subject, start, end, kind), subject, start, end
    )
    return {
        "time_zone": time_zone,
        "from": start,
        "to": end,
        "days": result.days(),
        "totals": result.totals.as_dict(),
    }


def channel_stats(app: str, segment: str, query: Mapping[str, str]) -> dict[str, Any]:
    known_app(app)
    scene = scene_param(app, segment)
    generation = _generation(app, scene, query)
    report = subject_report(app, subject_of(scene, generation), query)
    return {"app": app, "scene": scene, "generation": generation, **report}


def app_stats(app: str, query: Mapping[str, str]) -> dict[str, Any]:
    time_zone = known_app(app).time_zone
    start, end = period(query, stats.today(time_zone))
    rows = counters.app_rows(app, start, end)
    # Every channel record: names for the period's rows, and every referrer ranked (0 when they brought nobody).
    records = {channel.scene: channel for channel in channels.with_prefix(app, "")}
    result = reports.app_report(rows, records, start, end)
    return {
        "app": app,
        "time_zone": time_zone,
        "from": start,
        "to": end,
        "totals": result.period.totals.as_dict(),
        "days": result.period.days(),
        "channels": [
            {
                "scene": entry.scene,
                "name": entry.name,
                "totals": entry.totals.as_dict(),
                # Paths of a channel that exists (the direct follows and deleted channels have none).
                **({"links": links(app, entry.scene)} if entry.name is not None else {}),
                **({"generation": entry.generation} if entry.generation else {}),
            }
            for entry in result.channels
        ],
        "referrers": [
            {"name": score.name, "openid": score.openid, "scene": score.scene, "referrals": score.referrals}
            for score in result.referrers
        ],
    }


def channels_funnel(app: str, members: Sequence[Channel], start: str, end: str, today: str) -> dict[str, Any]:
    """The funnel of a set of channels (a campaign's, a promoter's) over [start, end]: their statistics `totals`,
    the funnel (visits, new followers, conversion, retention) and each channel's own, best first. One read of the
    app's counters of the period (ByDay): the cost grows with the days and the channels, never with followers."""
    subjects = {channel.subject for channel in members}
    rows = [row for row in counters.app_rows(app, start, end) if row.scene in subjects]
    result = funnel.rollup(rows, members, start, end, today)
    totals = stats.Counts()
    for row in rows:
        totals.add(row.counts)
    own = {channel.scene: funnel.funnel(rows, {channel.subject}, start, end, today) for channel in members}
    ordered = sorted(members, key=lambda c: (-own[c.scene].new_followers, -own[c.scene].visits, c.scene))
    return {
        "totals": totals.as_dict(),
        **result.as_dict(),
        "channels": [
            {
                "scene": channel.scene,
                "name": channel.name,
                "visits": own[channel.scene].visits,
                "new_followers": own[channel.scene].new_followers,
                "conversion": own[channel.scene].conversion,
                "links": links(app, channel.scene),
            }
            for channel in ordered
        ],
    }
