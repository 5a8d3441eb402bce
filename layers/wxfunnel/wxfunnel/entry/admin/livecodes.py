"""Admin logic of live codes: create one for a channel, re-point it, switch it off, list them, print them.

A live code points at an existing channel of an Official Account (POST /qrcodes makes channels; so does a batch,
entry.admin.batch). Creating or re-pointing it stores a snapshot of the channel and of its campaign in the live
code (store.livecodes), which is what its landing page reads. Its link is `<base>/l/<app>/<code>`: the base is
PUBLIC_BASE_URL (the stack's custom domain) or the URL this request reached the API at.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from wxfunnel.core.fields import Fields
from wxfunnel.core.settings import settings
from wxfunnel.domain.campaigns import Campaign
from wxfunnel.domain.channels import Channel, timestamp
from wxfunnel.domain.livecodes import (
    ALPHABET,
    GENERATED_LENGTH,
    STATES,
    TEXT_MAX,
    TITLE_MAX,
    LiveCode,
    code_problem,
    path,
)
from wxfunnel.entry.admin import printfiles
from wxfunnel.entry.admin.errors import Conflict, NotFound, ValidationFailed, invalid
from wxfunnel.entry.admin.qrcodes import known_app, links, official_account, scene_param
from wxfunnel.protocol import limits
from wxfunnel.store import campaigns, channels, livecodes
from wxfunnel.store.livecodes import InvalidNextToken

_CREATE_FIELDS = frozenset({"app", "scene", "code", "title", "text"})
_UPDATE_FIELDS = frozenset({"scene", "title", "text", "state"})
LIST_LIMIT_DEFAULT = 50


def _fields(value: Any, where: str = "") -> Fields:
    return Fields.of(value, where, invalid)


def public_base(event: Mapping[str, Any]) -> str:
    """The base of live links: the stack's custom domain (PUBLIC_BASE_URL), else the API's URL with its stage as
    this request reached it (`https://<api>.execute-api.<region>.amazonaws.com/v1`; http on the local stack)."""
    if settings().public_base_url:
        return settings().public_base_url
    headers = {str(k).lower(): str(v) for k, v in (event.get("headers") or {}).items()}
    context = event.get("requestContext") or {}
    scheme = "https" if headers.get("x-forwarded-proto", "").lower() == "https" else "http"
    host = str(context.get("domainName") or headers.get("host") or "localhost")
    stage = str(context.get("stage") or "")
    return f"{scheme}://{host}" + (f"/{stage}" if stage else "")


def link(base: str, live: LiveCode) -> str:
    return base + path(live.app, live.code)


def _campaign_view(campaign: Campaign | None) -> dict[str, Any] | None:
    if campaign is None:
        return None
    return {"id": campaign.id, "name": campaign.name, "start": campaign.start, "end": campaign.end}


def view(live: LiveCode, base: str) -> dict[str, Any]:
    channel = live.channel
    own = f"/livecodes/{live.app}/{live.code}"
    return {
        "app": live.app,
        "code": live.code,
        "link": link(base, live),
        "scene": live.scene,
        "title": live.title,
        "text": live.text,
        "page_title": live.page_title,
        "state": live.state,
        "channel": {"name": channel.name, "campaign": channel.campaign} if channel is not None else None,
        "campaign": _campaign_view(live.campaign),
        "created_at": live.created_at,
        "updated_at": live.updated_at,
        "links": {
            "self": own,
            "png": f"{own}/qr?format=png",
            "svg": f"{own}/qr?format=svg",
            "channel": links(live.app, live.scene)["self"],
        },
    }


# --- snapshots ------------------------------------------------------------------------------------------------


def target(app: str, scene: str, field: str = "scene") -> tuple[Channel, Campaign | None]:
    """The channel a live code may point at (and its campaign): an existing channel, not a card's."""
    channel = channels.get(app, scene)
    if channel is None:
        raise invalid(
            field, f"app '{app}' has no channel with scene '{scene}' (create it with POST /qrcodes)"
        )
    if channel.kind == "card":
        raise invalid(
            field,
            f"'{scene}' belongs to a mini-program card reminder, not an operator's channel",
            rule="not_operator_channel",
            params={"kind": channel.kind},
        )
    campaign = campaigns.get(app, channel.campaign) if channel.campaign else None
    return channel, campaign


def refresh_for_scene(app: str, scene: str) -> int:
    """Refresh the snapshot of every live code pointing at `scene` (after its channel changed) → how many."""
    return livecodes.refresh_pointing_at(app, scene, timestamp(time.time()))


def refresh_for_campaign(campaign: Campaign) -> int:
    """Refresh the campaign snapshot of its live codes (after the campaign changed) → how many."""
    members = livecodes.in_campaign(campaign.app, campaign.id)
    stamp = timestamp(time.time())
    for live in members:
        livecodes.refresh(live, live.channel, campaign, stamp)
    return len(members)


# --- create, update -----------------------------------------------------------------------------------------------


def new_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(GENERATED_LENGTH))


def _texts(body: Fields) -> dict[str, str | None]:
    return {
        "title": body.text("title", max_chars=TITLE_MAX),
        "text": body.text("text", max_chars=TEXT_MAX),
    }


def _scene(body: Fields) -> str:
    value = body.get("scene")
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not limits.is_scene_key(value):
        raise invalid("scene", "is required: the scene of an existing channel")
    return value


def create_live(
    app: str, scene: str, *, code: str | None = None, title: str | None = None, text: str | None = None
) -> tuple[LiveCode, bool]:
    """Store a live code for `scene`'s channel → (live code, created). A chosen `code` that is taken by a live code
    of another scene is a 409; taken by one of this scene it is returned as it is (a repeated request)."""
    channel, campaign = target(app, scene)
    stamp = timestamp(time.time())
    for _ in range(5):
        live = LiveCode(
            app=app,
            code=code or new_code(),
            scene=scene,
            title=title,
            text=text,
            created_at=stamp,
            updated_at=stamp,
            channel=channel,
            campaign=campaign,
        )
        if livecodes.create(live):
            return live, True
        if code:
            existing = livecodes.get(app, code)
            if existing is not None and existing.scene == scene:
                return existing, False
            raise Conflict(f"code: '{code}' is taken; choose another or leave it out", field="code")
    raise Conflict("code: no free code was found; retry")  # 49 bits of randomness: never in practice


def create(body: Any, base: str) -> tuple[dict[str, Any], bool]:
    """POST /livecodes → (record, created)."""
    if not isinstance(body, Mapping):
        raise ValidationFailed("the body must be a JSON object")
    data = _fields(body)
    data.only(_CREATE_FIELDS)
    app = data.required_text("app", max_chars=64)
    official_account(app)
    scene = _scene(data)
    code = data.text("code", check=code_problem)
    live, created = create_live(app, scene, code=code, **_texts(data))
    return view(live, base), created


def _existing(app: str, code: str) -> LiveCode:
    known_app(app)
    if code_problem(code):
        raise NotFound(f"code: app '{app}' has no live code with that code", field="code")
    live = livecodes.get(app, code)
    if live is None:
        raise NotFound(f"code: app '{app}' has no live code '{code}'", field="code")
    return live


def get(app: str, code: str, base: str) -> dict[str, Any]:
    return view(_existing(app, code), base)


def update(app: str, code: str, body: Any, base: str) -> dict[str, Any]:
    """PUT /livecodes/{app}/{code}: re-point it (`scene`), change its title or text (null clears), switch it off or
    on (`state`). Fields left out stay as they are."""
    live = _existing(app, code)
    if not isinstance(body, Mapping):
        raise ValidationFailed("the body must be a JSON object")
    data = _fields(body)
    data.only(_UPDATE_FIELDS)
    changes: dict[str, Any] = {}
    if "scene" in data:
        scene = _scene(data)
        channel, campaign = target(app, scene)
        changes.update(scene=scene, channel=channel, campaign=campaign)
    texts = _texts(data)
    changes.update({key: value for key, value in texts.items() if key in data})
    if "state" in data:
        changes["state"] = data.choice("state", STATES, live.state)
    if changes:
        live = replace(live, **changes, updated_at=timestamp(time.time()))
        livecodes.put(live)
    return view(live, base)


# --- list ---------------------------------------------------------------------------------------------------------


def list_live(query: Mapping[str, str], base: str) -> dict[str, Any]:
    """GET /livecodes?app=&scene=&limit=&next_token= → a page of live codes (all of a scene's with `scene`)."""
    app = query.get("app") or ""
    if not app:
        raise invalid("app", "is required (GET /livecodes?app=<app>)")
    known_app(app)
    scene = query.get("scene")
    if scene:
        return {
            "items": [view(live, base) for live in livecodes.pointing_at(app, scene_param(app, scene))],
            "next_token": None,
        }
    limit_text = query.get("limit") or str(LIST_LIMIT_DEFAULT)
    if not (limit_text.isascii() and limit_text.isdigit()) or not 1 <= int(limit_text) <= livecodes.PAGE_MAX:
        raise invalid("limit", f"must be an integer from 1 to {livecodes.PAGE_MAX}")
    try:
        items, token = livecodes.list_page(app, int(limit_text), query.get("next_token") or None)
    except InvalidNextToken as exc:
        raise invalid("next_token", str(exc), rule="cursor") from None
    return {"items": [view(live, base) for live in items], "next_token": token}


# --- print files --------------------------------------------------------------------------------------------------


def _scale(value: str | None) -> int:
    if not value:
        return printfiles.SCALE_DEFAULT
    if not (value.isascii() and value.isdigit()) or not 1 <= int(value) <= printfiles.SCALE_MAX:
        raise invalid("scale", f"must be an integer from 1 to {printfiles.SCALE_MAX} (pixels per module)")
    return int(value)


def print_file(app: str, code: str, query: Mapping[str, str], base: str) -> tuple[bytes, str, str]:
    """GET /livecodes/{app}/{code}/qr?format=png|svg&scale= → (bytes, content type, file name)."""
    live = _existing(app, code)
    fmt = query.get("format") or "png"
    if fmt not in printfiles.CONTENT_TYPES:
        raise invalid("format", f"must be one of: {', '.join(printfiles.CONTENT_TYPES)}")
    content = printfiles.render(link(base, live), fmt, _scale(query.get("scale")))  # type: ignore[arg-type]
    return content, printfiles.CONTENT_TYPES[fmt], f"{live.code}.{fmt}"


def archive(body: Any, base: str) -> bytes:
    """POST /archives {"app", "codes": [...], "scale"?} → a ZIP of their print files and an index."""
    if not isinstance(body, Mapping):
        raise ValidationFailed("the body must be a JSON object")
    data = _fields(body)
    data.only({"app", "codes", "scale"})
    app = data.required_text("app", max_chars=64)
    official_account(app)
    codes = body.get("codes")
    if not isinstance(codes, list) or not 1 <= len(codes) <= printfiles.ARCHIVE_MAX:
        raise invalid("codes", f"must be a list of 1 to {printfiles.ARCHIVE_MAX} live codes")
    scale = data.integer("scale", default=printfiles.SCALE_DEFAULT)
    if scale is None or not 1 <= scale <= printfiles.SCALE_MAX:
        raise invalid("scale", f"must be an integer from 1 to {printfiles.SCALE_MAX}")
    known = {live.code: live for live in livecodes.all_of(app)}
    entries = []
    for index, code in enumerate(dict.fromkeys(codes)):
        live = known.get(code) if isinstance(code, str) else None
        if live is None:
            raise invalid(f"codes[{index}]", f"app '{app}' has no live code {code!r}")
        entries.append(printfiles.PrintEntry(live.code, link(base, live), live.scene, live.page_title))
    return printfiles.archive(entries, scale)
