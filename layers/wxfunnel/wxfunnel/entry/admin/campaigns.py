"""Admin logic of campaigns and funnels: campaigns (create, change, list), which channels belong to one, and the
funnel — visits → new followers → still following after 1, 7 and 30 days — of a channel or a campaign.

A campaign's start and end are the account's local days; its totals and funnel cover them (domain.campaigns).
Changing a campaign, or a channel's campaign, refreshes the snapshot its live codes' pages read
(entry.admin.livecodes.refresh_*), so an end brought forward shows the "ended" page at once.
The funnel of a set of channels is domain.funnel.rollup: the same function gives a promoter's funnel from the
channels given to them.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import replace
from datetime import date
from typing import Any

from wxfunnel.core.fields import Fields
from wxfunnel.domain import funnel, stats
from wxfunnel.domain.campaigns import NAME_MAX, Campaign, period_problem
from wxfunnel.domain.channels import timestamp
from wxfunnel.domain.ids import id_problem
from wxfunnel.entry.admin.errors import Conflict, NotFound, ValidationFailed, invalid
from wxfunnel.entry.admin.livecodes import refresh_for_campaign, refresh_for_scene
from wxfunnel.entry.admin.qrcodes import known_app, links, official_account, scene_param
from wxfunnel.entry.admin.stats import channels_funnel, period
from wxfunnel.protocol import limits
from wxfunnel.store import campaigns, channels, counters

_CREATE_FIELDS = frozenset({"app", "id", "name", "start", "end", "ended_scene"})
_UPDATE_FIELDS = frozenset({"name", "start", "end", "ended_scene"})


def _fields(value: Any) -> Fields:
    if not isinstance(value, Mapping):
        raise ValidationFailed("the body must be a JSON object")
    return Fields.of(value, "", invalid)


def _day_problem(value: object) -> str | None:
    try:
        valid = isinstance(value, str) and len(value) == 10 and bool(date.fromisoformat(value))
    except ValueError:
        valid = False
    return None if valid else "must be a date YYYY-MM-DD (the account's local day)"


def _ended_scene(app: str, data: Fields) -> str | None:
    scene = data.text("ended_scene", check=lambda v: None if limits.is_scene_key(v) else "must be a scene")
    if scene is not None:
        channel = channels.get(app, scene)
        if channel is None or channel.kind == "card":
            raise invalid("ended_scene", f"app '{app}' has no channel with scene '{scene}'")
    return scene


def view(campaign: Campaign, today: str | None = None) -> dict[str, Any]:
    result: dict[str, Any] = {
        "app": campaign.app,
        "id": campaign.id,
        "name": campaign.name,
        "start": campaign.start,
        "end": campaign.end,
        "ended_scene": campaign.ended_scene,
        "created_at": campaign.created_at,
        "updated_at": campaign.updated_at,
        "links": {
            "self": f"/campaigns/{campaign.app}/{campaign.id}",
            "funnel": f"/campaigns/{campaign.app}/{campaign.id}/funnel",
        },
    }
    if today is not None:
        result["status"] = (
            "ended" if campaign.ended(today) else "upcoming" if today < campaign.start else "running"
        )
    return result


def _today(app: str) -> str:
    return stats.today(known_app(app).time_zone).isoformat()


def create(body: Any) -> tuple[dict[str, Any], bool]:
    """POST /campaigns → (record, created); the same campaign again is returned as it is (200)."""
    data = _fields(body)
    data.only(_CREATE_FIELDS)
    app = data.required_text("app", max_chars=64)
    official_account(app)
    campaign_id = data.required_text("id", check=id_problem)
    name = data.required_text("name", max_chars=NAME_MAX, blank=False)
    start = data.required_text("start", check=_day_problem)
    end = data.required_text("end", check=_day_problem)
    problem = period_problem(start, end)
    if problem:
        raise invalid("end", problem)
    ended_scene = _ended_scene(app, data)
    stamp = timestamp(time.time())
    campaign = Campaign(
        app=app,
        id=campaign_id,
        name=name,
        start=start,
        end=end,
        ended_scene=ended_scene,
        created_at=stamp,
        updated_at=stamp,
    )
    if campaigns.create(campaign):
        return view(campaign, _today(app)), True
    existing = campaigns.get(app, campaign_id)
    if existing is not None and replace(existing, created_at=stamp, updated_at=stamp) == campaign:
        return view(existing, _today(app)), False
    raise Conflict(
        f"id: app '{app}' already has a campaign '{campaign_id}' (PUT it to change it)", field="id"
    )


def _existing(app: str, campaign_id: str) -> Campaign:
    known_app(app)
    campaign = campaigns.get(app, campaign_id) if id_problem(campaign_id) is None else None
    if campaign is None:
        raise NotFound(f"campaign: app '{app}' has no campaign with that id", field="campaign")
    return campaign


def get(app: str, campaign_id: str) -> dict[str, Any]:
    campaign = _existing(app, campaign_id)
    return {**view(campaign, _today(app)), "channels": _channels_of(campaign)}


def update(app: str, campaign_id: str, body: Any) -> dict[str, Any]:
    """PUT /campaigns/{app}/{id}: change its name, period or ended page; its live codes show it at once."""
    campaign = _existing(app, campaign_id)
    data = _fields(body)
    data.only(_UPDATE_FIELDS)
    changes: dict[str, Any] = {}
    if "name" in data:
        changes["name"] = data.required_text("name", max_chars=NAME_MAX, blank=False)
    for key in ("start", "end"):
        if key in data:
            changes[key] = data.required_text(key, check=_day_problem)
    if "ended_scene" in data:
        changes["ended_scene"] = _ended_scene(app, data)
    changed = replace(campaign, **changes)
    problem = period_problem(changed.start, changed.end)
    if problem:
        raise invalid("end", problem)
    if changed != campaign:
        changed = replace(changed, updated_at=timestamp(time.time()))
        campaigns.put(changed)
        refresh_for_campaign(changed)
    return view(changed, _today(app))


def list_campaigns(query: Mapping[str, str]) -> dict[str, Any]:
    app = query.get("app") or ""
    if not app:
        raise invalid("app", "is required (GET /campaigns?app=<app>)")
    today = _today(app)
    return {"items": [view(campaign, today) for campaign in campaigns.list_all(app)]}


# --- membership ---------------------------------------------------------------------------------------------------


def _channels_of(campaign: Campaign) -> list[dict[str, Any]]:
    members = [c for c in channels.with_prefix(campaign.app, "") if c.campaign == campaign.id]
    return [{"scene": c.scene, "name": c.name, "links": links(c.app, c.scene)} for c in members]


def set_channel_campaign(app: str, segment: str, body: Any) -> dict[str, Any]:
    """PUT /channels/{app}/{scene}/campaign {"campaign": "<id>" | null}."""
    known_app(app)
    scene = scene_param(app, segment)
    data = _fields(body)
    data.only({"campaign"})
    campaign_id = data.text("campaign", check=id_problem)
    if campaign_id is not None and campaigns.get(app, campaign_id) is None:
        raise invalid("campaign", f"app '{app}' has no campaign '{campaign_id}' (POST /campaigns first)")
    if not channels.set_campaign(app, scene, campaign_id, timestamp(time.time())):
        raise NotFound(f"scene: app '{app}' has no channel with scene '{scene}'", field="scene")
    refreshed = refresh_for_scene(app, scene)
    return {"app": app, "scene": scene, "campaign": campaign_id, "live_codes_refreshed": refreshed}


# --- funnels ------------------------------------------------------------------------------------------------------


def channel_funnel(app: str, segment: str, query: Mapping[str, str]) -> dict[str, Any]:
    """GET /channels/{app}/{scene}/funnel?from=&to= (default: the last 30 days)."""
    time_zone = known_app(app).time_zone
    scene = scene_param(app, segment)
    today = stats.today(time_zone)
    start, end = period(query, today)
    channel = channels.get(app, scene)
    subject = channel.subject if channel is not None else scene  # a reassigned scene: its current channel's
    rows = counters.subject_rows(app, subject, start, end)
    result = funnel.funnel(rows, {subject}, start, end, today.isoformat())
    return {"app": app, "scene": scene, "time_zone": time_zone, **result.as_dict()}


def campaign_funnel(app: str, campaign_id: str, query: Mapping[str, str]) -> dict[str, Any]:
    """GET /campaigns/{app}/{id}/funnel?from=&to= (default: the campaign's days up to today): the campaign's
    totals, its funnel and each of its channels' visits, new followers and conversion."""
    time_zone = known_app(app).time_zone
    campaign = _existing(app, campaign_id)
    today = stats.today(time_zone).isoformat()
    if query.get("from") or query.get("to"):
        start, end = period(query, stats.today(time_zone))
    else:
        start, end = campaign.period(today)
    members = [c for c in channels.with_prefix(app, "") if c.campaign == campaign.id]
    return {
        "app": app,
        "campaign": view(campaign, today),
        "time_zone": time_zone,
        **channels_funnel(app, members, start, end, today),
    }
