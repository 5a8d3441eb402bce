"""Admin logic of promoters: records, their statistics over all their channels, the leaderboard and teams.

A promoter's and a team's statistics are their own counters (written by the callback with the channel's, in the
same transaction), so a query reads the period's days and never the followers or the app's history. Renaming a
promoter, or moving them to another team, is carried onto their channels (which show the name to the followers
they bring and count for the team); what was counted before stays where it was counted.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from wxfunnel.core.fields import Fields
from wxfunnel.domain import reports, stats
from wxfunnel.domain.channels import timestamp
from wxfunnel.domain.promoters import (
    FOLLOWER_PREFIX,
    NAME_MAX,
    REFERRER_PREFIX,
    TEAM_MAX,
    Promoter,
    promoter_id_problem,
    team_name_ok,
    team_problem,
)
from wxfunnel.entry.admin.errors import Conflict, NotFound, invalid
from wxfunnel.entry.admin.qrcodes import known_app, view
from wxfunnel.entry.admin.stats import channels_funnel, period, subject_report
from wxfunnel.protocol import limits
from wxfunnel.store import channels, counters, promoters

NOTES_MAX = 1000
_FIELDS = frozenset({"app", "id", "name", "openid", "team", "notes"})
_UPDATE_FIELDS = frozenset({"name", "openid", "team", "notes"})


def _details(fields: Fields, promoter: Promoter, *, partial: bool) -> Promoter:
    """`promoter` with the details `fields` give (all of them, or with `partial` only the fields present)."""
    changes: dict[str, Any] = {}
    if not partial or "name" in fields:
        changes["name"] = fields.required_text("name", max_chars=NAME_MAX, blank=False)
    for key, check, limit in (
        ("openid", limits.openid_problem, None),
        ("team", team_problem, TEAM_MAX),
        ("notes", None, NOTES_MAX),
    ):
        if not partial or key in fields:
            changes[key] = fields.text(key, max_chars=limit, check=check)
    return replace(promoter, **changes)


def view_of(promoter: Promoter) -> dict[str, Any]:
    return {
        "app": promoter.app,
        "id": promoter.id,
        "name": promoter.name,
        "openid": promoter.openid,
        "team": promoter.team,
        "notes": promoter.notes,
        "referrals": promoter.referrals,
        "created_at": promoter.created_at,
        "updated_at": promoter.updated_at,
        "links": {
            "self": f"/promoters/{promoter.app}/{promoter.id}",
            "stats": f"/promoters/{promoter.app}/{promoter.id}/stats",
            "funnel": f"/promoters/{promoter.app}/{promoter.id}/funnel",
            "followers": f"/followers?app={promoter.app}&promoter={promoter.id}",
        },
    }


def create(body: Any, now: float | None = None) -> dict[str, Any]:
    """POST /promoters {app, id, name, openid?, team?, notes?} → 201 with the record; 409 if the id is taken."""
    now = time.time() if now is None else now
    fields = Fields.of(body, "", invalid)
    fields.only(_FIELDS)
    app = fields.required_text("app", max_chars=64)
    known_app(app)
    promoter_id = fields.required_text("id", check=promoter_id_problem)
    if promoter_id.startswith((FOLLOWER_PREFIX, REFERRER_PREFIX)):
        raise invalid(
            "id",
            f"must not start with {FOLLOWER_PREFIX} or {REFERRER_PREFIX} "
            "(kept for followers' own codes and legacy referrers)",
        )
    blank = Promoter(app=app, id=promoter_id, name="", created_at=timestamp(now), updated_at=timestamp(now))
    promoter = _details(fields, blank, partial=False)
    if not promoters.create(promoter):
        raise Conflict(f"id: app '{app}' already has a promoter '{promoter_id}'", field="id")
    return view_of(promoter)


def _stored(app: str, promoter_id: str) -> Promoter:
    known_app(app)
    if (
        promoter_id_problem(promoter_id) is not None
    ):  # never echoed: it may be anything a caller put in the path
        raise NotFound(f"id: app '{app}' has no promoter with that id", field="id")
    promoter = promoters.get(app, promoter_id)
    if promoter is None:
        raise NotFound(f"id: app '{app}' has no promoter '{promoter_id}'", field="id")
    return promoter


def _their_channels(app: str, promoter_id: str) -> list[Any]:
    return [channel for channel in channels.with_prefix(app, "") if channel.credited_promoter == promoter_id]


def get(app: str, promoter_id: str) -> dict[str, Any]:
    """GET /promoters/{app}/{id} → the record and their channels."""
    promoter = _stored(app, promoter_id)
    now = time.time()
    return {
        **view_of(promoter),
        "channels": [view(channel, now) for channel in _their_channels(app, promoter_id)],
    }


def update(app: str, promoter_id: str, body: Any, now: float | None = None) -> dict[str, Any]:
    """PATCH /promoters/{app}/{id}: the fields given change; their channels follow (name shown, team counted)."""
    now = time.time() if now is None else now
    fields = Fields.of(body, "", invalid)
    fields.only(_UPDATE_FIELDS)
    before = _stored(app, promoter_id)
    after = replace(_details(fields, before, partial=True), updated_at=timestamp(now))
    promoters.save(after)
    if (after.name, after.openid, after.team) != (before.name, before.openid, before.team):
        for channel in _their_channels(app, promoter_id):
            channels.update_info(
                replace(channel, referrer=after.referrer, team=after.team, updated_at=timestamp(now))
            )
    return view_of(after)


def list_promoters(query: Mapping[str, str]) -> dict[str, Any]:
    """GET /promoters?app=&team= → every promoter of the app (of the team), by name."""
    app = query.get("app") or ""
    if not app:
        raise invalid("app", "is required (GET /promoters?app=<app>)")
    known_app(app)
    team = query.get("team")
    found = [p for p in promoters.all_of(app) if team is None or p.team == team]
    found.sort(key=lambda p: (p.name, p.id))
    return {"items": [view_of(p) for p in found]}


def stats_of(app: str, promoter_id: str, query: Mapping[str, str]) -> dict[str, Any]:
    """GET /promoters/{app}/{id}/stats → their days over the period, all their channels together."""
    promoter = _stored(app, promoter_id)
    return {"app": app, "promoter": view_of(promoter), **subject_report(app, promoter.id, query, "promoter")}


def funnel_of(app: str, promoter_id: str, query: Mapping[str, str]) -> dict[str, Any]:
    """GET /promoters/{app}/{id}/funnel?from=&to= (default: the last 30 days): visits of their channels' live codes
    → new followers → still following, all their current channels together and each one's own."""
    promoter = _stored(app, promoter_id)
    time_zone = known_app(app).time_zone
    today = stats.today(time_zone)
    start, end = period(query, today)
    members = _their_channels(app, promoter.id)
    return {
        "app": app,
        "promoter": view_of(promoter),
        "time_zone": time_zone,
        **channels_funnel(app, members, start, end, today.isoformat()),
    }


def ranking(app: str, query: Mapping[str, str]) -> dict[str, Any]:
    """GET /promoters/{app}/ranking → every promoter ranked over the period, and the teams."""
    time_zone = known_app(app).time_zone
    start, end = period(query, stats.today(time_zone))
    everyone = promoters.all_of(app)
    ranked = reports.rank_promoters(counters.app_rows(app, start, end, kind="promoter"), everyone, start, end)
    teams = reports.rank_teams(counters.app_rows(app, start, end, kind="team"), everyone, start, end)
    return {
        "app": app,
        "time_zone": time_zone,
        "from": start,
        "to": end,
        "rule": "credited followers (a new follower counts once, for the channel of their first follow, never for "
        "themselves, never again when they return), then new followers, then name",
        "promoters": [
            {"rank": index + 1, **view_of(score.promoter), "totals": score.totals.as_dict()}
            for index, score in enumerate(ranked)
        ],
        "teams": [
            {
                "rank": index + 1,
                "team": score.team,
                "promoters": score.promoters,
                "totals": score.totals.as_dict(),
            }
            for index, score in enumerate(teams)
        ],
    }


def team_stats(app: str, team: str, query: Mapping[str, str]) -> dict[str, Any]:
    """GET /teams/{app}/{team}/stats → the team's days over the period."""
    known_app(app)
    if not team_name_ok(team):
        # never echoed: it may be anything a caller put in the path
        raise NotFound(f"team: app '{app}' has no team with that name", field="team")
    report = subject_report(app, team, query, "team")
    members = [view_of(p) for p in promoters.all_of(app) if p.team == team]
    return {"app": app, "team": team, "promoters": members, **report}
