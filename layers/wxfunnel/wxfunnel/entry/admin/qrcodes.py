"""Admin logic of QR codes and channels: validate, reuse or create the WeChat code, keep its channel record.

Rules (docs/admin-api.md): the app must be an Official Account; an integer scene is 1..4294967295 for a
temporary code and 1..100000 for a permanent one, a string scene 1..64 characters; expire_seconds 1..2592000,
temporary only. A live temporary code with more than QR_REUSE_MIN_REMAINING_SHARE of its life left is returned
again instead of creating another; a permanent scene is created once (its channel metadata can be updated any
number of times) and counts against PERMANENT_QR_CAP. A scene holds one channel: a permanent code is never
replaced by a temporary one, and a mini-program card's scene is not an operator channel.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from wxfunnel.client import errors as wechat
from wxfunnel.config.app import AppConfig
from wxfunnel.config.base import AccountKind, UnknownApp
from wxfunnel.config.loader import load_app
from wxfunnel.core.fields import Fields
from wxfunnel.core.observability import logger
from wxfunnel.core.settings import settings
from wxfunnel.domain.channels import Channel, epoch_of, timestamp
from wxfunnel.domain.promoters import Referrer, promoter_id_problem
from wxfunnel.entry.admin.errors import Conflict, Gone, NotFound, ValidationFailed, invalid
from wxfunnel.entry.wechat import client_for
from wxfunnel.protocol import limits
from wxfunnel.store import channels, livecodes, promoters
from wxfunnel.store.channels import ChannelExists, InvalidNextToken, QuotaExhausted

NAME_MAX = 64
WELCOME_MAX = 600
TAG_MAX_BYTES = 30
NOTES_MAX = 1000
OPENID_MAX = 128
LIST_LIMIT_DEFAULT = 50
LIST_LIMIT_MAX = 100
PENDING_STALE_SECONDS = (
    60  # a reservation older than this was left by a crashed request (the timeout is 15 s)
)
_REQUEST_FIELDS = frozenset({"app", "scene", "permanent", "expire_seconds", "channel"})
_CHANNEL_FIELDS = frozenset({"name", "welcome_message", "tag", "referrer", "notes", "promoter"})
_UPDATE_FIELDS = frozenset({"channel", "state"})
_REFERRER_FIELDS = frozenset({"name", "openid"})


@dataclass(frozen=True, slots=True)
class ChannelInfo:
    """What the operator says a scene means: shown to followers (welcome, referrer) and used to tag them."""

    name: str
    welcome_message: str | None = None
    tag: str | None = None
    referrer: Referrer | None = None
    notes: str | None = None
    promoter: str | None = None  # a promoter's id: their name and openid become the channel's referrer


@dataclass(frozen=True, slots=True)
class QrRequest:
    """A checked request for a channel's QR code."""

    app: str
    scene: int | str
    permanent: bool
    expire_seconds: int | None  # None for a permanent code
    channel: ChannelInfo

    @property
    def scene_key(self) -> str:
        return str(self.scene)

    @property
    def scene_type(self) -> str:
        return "int" if isinstance(self.scene, int) else "str"


# --- validation --------------------------------------------------------------------------------------------


def _fields(value: Any, path: str) -> Fields:
    return Fields.of(value, path, invalid)


def _scene(value: Any, permanent: bool) -> int | str:
    if value is None:
        raise invalid("scene", "is required (an integer scene_id or a string scene_str)")
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise invalid(
            "scene", "must be an integer (scene_id) or a string (scene_str), not a boolean or a number"
        )
    problem = limits.scene_problem(value, permanent=permanent)
    if problem:
        raise invalid("scene", f"{problem} ({limits.SCENE_RULE})", problem=problem)
    return value


def _expire_seconds(body: Fields, permanent: bool) -> int | None:
    if permanent:
        if body.get("expire_seconds") is not None:
            raise invalid(
                "expire_seconds",
                "applies to temporary codes only; omit it when permanent is true",
                rule="temporary_only",
            )
        return None
    return body.integer(
        "expire_seconds", default=limits.QR_DEFAULT_EXPIRE_SECONDS, check=limits.expire_seconds_problem
    )


def _referrer(data: Fields | None) -> Referrer | None:
    if data is None:
        return None
    data.only(_REFERRER_FIELDS)
    return Referrer(
        name=data.required_text("name", max_chars=NAME_MAX, blank=False),
        openid=data.text("openid", check=limits.openid_problem),
    )


def _channel_info(body: Fields) -> ChannelInfo:
    data = body.child("channel", required=True, what="at least a name")
    assert data is not None
    data.only(_CHANNEL_FIELDS)
    return ChannelInfo(
        name=data.required_text("name", max_chars=NAME_MAX, blank=False),
        welcome_message=data.text("welcome_message", max_chars=WELCOME_MAX),
        tag=data.text("tag", check=limits.tag_name_problem),
        referrer=_referrer(data.child("referrer")),
        notes=data.text("notes", max_chars=NOTES_MAX),
        promoter=data.text("promoter", check=promoter_id_problem),
    )


def parse_request(body: Any) -> QrRequest:
    """The POST /qrcodes body, validated; ValidationFailed names the first field at fault and its rule."""
    if not isinstance(body, Mapping):
        raise ValidationFailed("the body must be a JSON object")
    fields = _fields(body, "")
    fields.only(_REQUEST_FIELDS)
    app = fields.required_text("app", max_chars=64)
    permanent = fields.boolean("permanent", False)
    scene = _scene(body.get("scene"), permanent)
    expire_seconds = _expire_seconds(fields, permanent)
    return QrRequest(app, scene, permanent, expire_seconds, _channel_info(fields))


def official_account(app: str, field: str = "app") -> None:
    """A 422 naming `field` unless `app` is a configured Official Account (the only kind with parametric QR codes,
    hence channels and live codes)."""
    try:
        kind = load_app(app).kind
    except UnknownApp:
        raise invalid(field, f"no app named '{app}' is configured") from None
    if kind is not AccountKind.OFFICIAL_ACCOUNT:
        raise invalid(
            field,
            f"'{app}' is a {kind.value}; parametric QR codes and live codes belong to an official_account",
            rule="account_kind",
            params={"kind": kind.value},
        )


# --- views -------------------------------------------------------------------------------------------------


def links(app: str, scene: str) -> dict[str, str]:
    """The admin API's paths of a channel, its scene in URL form (limits.scene_segment): clients follow these
    instead of putting a scene into a URL themselves."""
    segment = limits.scene_segment(scene)
    return {
        "self": f"/qrcodes/{app}/{segment}",
        "image": f"/qrcodes/{app}/{segment}/image",
        "stats": f"/channels/{app}/{segment}/stats",
    }


def view(channel: Channel, now: float | None = None) -> dict[str, Any]:
    """A channel record as the admin API shows it."""
    now = time.time() if now is None else now
    referrer = channel.referrer
    return {
        "app": channel.app,
        "scene": channel.scene,
        "scene_type": channel.scene_type,
        "links": links(channel.app, channel.scene),
        "permanent": channel.permanent,
        "kind": channel.kind,
        "status": channel.code_status(now),
        "ticket": channel.ticket or None,
        "url": channel.url or None,
        "image_url": channel.image_url or None,
        "expire_seconds": channel.expire_seconds,
        "expires_at": timestamp(channel.expires_at) if channel.expires_at is not None else None,
        "created_at": channel.created_at,
        "updated_at": channel.updated_at,
        "state": channel.state,
        "generation": channel.generation,
        "channel": {
            "name": channel.name,
            "welcome_message": channel.welcome_message,
            "tag": channel.tag,
            "referrer": {"name": referrer.name, "openid": referrer.openid} if referrer else None,
            "notes": channel.notes,
            "promoter": channel.credited_promoter,
            "team": channel.team,
            "campaign": channel.campaign,
        },
    }


# --- create ------------------------------------------------------------------------------------------------


def given_to(channel: Channel, promoter_id: str | None, *, field: str = "channel.promoter") -> Channel:
    """The channel given to a promoter, who must exist (POST /promoters): their name and openid as its referrer,
    their team; None: to no promoter (a referrer given by hand stays)."""
    if promoter_id is None:
        return replace(channel, promoter=None, team=None)
    promoter = promoters.get(channel.app, promoter_id)
    if promoter is None:
        raise invalid(field, f"app '{channel.app}' has no promoter '{promoter_id}' (POST /promoters first)")
    return replace(channel, promoter=promoter.id, team=promoter.team, referrer=promoter.referrer)


def _with_info(channel: Channel, info: ChannelInfo, now: float) -> Channel:
    if info.promoter is not None and info.referrer is not None:
        raise invalid(
            "channel.referrer", "give a promoter or a referrer, not both (a promoter names the referrer)"
        )
    updated = replace(
        channel,
        name=info.name,
        welcome_message=info.welcome_message,
        tag=info.tag,
        referrer=info.referrer,
        notes=info.notes,
    )
    updated = given_to(updated, info.promoter)
    return updated if updated == channel else replace(updated, updated_at=timestamp(now))


def _check_compatible(existing: Channel, request: QrRequest) -> None:
    if existing.kind == "card":
        raise Conflict(
            f"scene: '{existing.scene}' belongs to a mini-program card reminder; choose another scene",
            field="scene",
        )
    if existing.kind == "referral":
        raise Conflict(
            f"scene: '{existing.scene}' is a follower's own referral code; choose another scene",
            field="scene",
        )
    if existing.permanent and not request.permanent:
        raise Conflict(
            f"scene: '{existing.scene}' already has a permanent code; use it or choose another scene",
            field="scene",
        )
    if existing.permanent and existing.scene_type != request.scene_type:
        raise Conflict(
            f"scene: '{existing.scene}' already has a permanent code with a {existing.scene_type} scene",
            field="scene",
        )


def _reusable(existing: Channel, request: QrRequest, now: float) -> bool:
    return (
        not request.permanent
        and not existing.permanent
        and existing.scene_type == request.scene_type
        and existing.reusable(now, settings().qr_reuse_min_remaining_share)
    )


def _stale(channel: Channel, now: float) -> bool:
    try:
        updated = epoch_of(channel.updated_at)
    except ValueError:
        return True
    return now - updated > PENDING_STALE_SECONDS


def _new_channel(
    request: QrRequest, now: float, existing: Channel | None, generation: int | None = None
) -> Channel:
    """The channel a request describes; `generation` given: the next generation of a retired scene, else a new code
    of the existing channel (same generation, so its followers keep counting under the same subject)."""
    reassigned = generation is not None
    if generation is None:
        generation = existing.generation if existing else 0
    base = Channel(
        app=request.app,
        scene=request.scene_key,
        scene_type="int" if isinstance(request.scene, int) else "str",
        permanent=request.permanent,
        kind="channel",
        name=request.channel.name,
        generation=generation,
        created_at=existing.created_at if existing and not reassigned else timestamp(now),
        updated_at=timestamp(now),
    )
    channel = _with_info(base, request.channel, now)
    return channel if reassigned else _kept(channel, existing)


def _kept(channel: Channel, existing: Channel | None) -> Channel:
    """A new code for a scene keeps what its channel has beyond this request's fields (set by other routes): its
    campaign, welcome sequence and state (a new code does not switch a disabled channel back on), and its promoter
    unless the request names one. A reassigned scene's new generation keeps nothing of the retired channel."""
    if existing is None:
        return channel
    kept = replace(
        channel, campaign=existing.campaign, welcome_sequence=existing.welcome_sequence, state=existing.state
    )
    if channel.promoter is None and channel.referrer is None:
        kept = replace(kept, promoter=existing.promoter, team=existing.team)
    return kept


def _complete_permanent(pending: Channel, restore: Channel | None, now: float) -> Channel:
    """Ask WeChat for the reserved permanent code; give the reservation back if WeChat refuses."""
    try:
        qr = client_for(pending.app).create_qrcode(pending.scene_value, permanent=True)
    except wechat.WeChatError:
        channels.release_permanent(pending, restore)
        raise
    channel = pending.with_code(qr.ticket, qr.url, qr.image_url, now)
    channels.put(channel)
    return channel


def _create_permanent(request: QrRequest, now: float, existing: Channel | None) -> Channel:
    pending = _new_channel(request, now, existing)
    cap = settings().permanent_qr_cap
    try:
        channels.reserve_permanent(pending, cap, replacing=existing)
    except QuotaExhausted:
        raise Conflict(
            f"permanent: all {cap} permanent QR codes of '{request.app}' are used (WeChat never frees them); "
            "create a temporary code or reuse an existing permanent scene",
            field="permanent",
        ) from None
    except ChannelExists:
        raise Conflict(
            "scene: another request is creating this scene right now; retry", field="scene"
        ) from None
    logger.info("permanent QR code reserved", extra={"app": request.app, "scene": request.scene_key})
    return _complete_permanent(pending, existing, now)


def _temporary_code(request: QrRequest, channel: Channel, now: float) -> Channel:
    qr = client_for(request.app).create_qrcode(
        request.scene, permanent=False, expire_seconds=request.expire_seconds
    )
    seconds = qr.expire_seconds or request.expire_seconds or limits.QR_DEFAULT_EXPIRE_SECONDS
    return channel.with_code(qr.ticket, qr.url, qr.image_url, now, seconds)


def _create_temporary(request: QrRequest, now: float, existing: Channel | None) -> Channel:
    channel = _temporary_code(request, _new_channel(request, now, existing), now)
    channels.put(channel)
    return channel


def _reassign(request: QrRequest, retired: Channel, now: float) -> Channel:
    """A retired scene given to a new channel: its next generation, counted apart; the retired channel is kept
    as a past channel. A permanent code stays the same code (WeChat cannot re-point it, the quota is not spent
    again); a temporary scene gets a new temporary code."""
    if request.permanent != retired.permanent:
        kind = "permanent" if retired.permanent else "temporary"
        raise Conflict(
            f"permanent: the retired scene '{retired.scene}' has a {kind} code; ask for the same",
            field="permanent",
        )
    channel = _new_channel(request, now, retired, retired.generation + 1)
    if retired.permanent:
        channel = replace(channel, ticket=retired.ticket, url=retired.url, image_url=retired.image_url)
    else:
        channel = _temporary_code(request, channel, now)
    try:
        channels.reassign(retired, channel, retired_at=now)
    except ChannelExists:
        raise Conflict("scene: the scene changed meanwhile; retry", field="scene") from None
    livecodes.refresh_pointing_at(request.app, channel.scene, timestamp(now))
    logger.info("retired scene reassigned", extra={"app": request.app, "scene": request.scene_key})
    return channel


def create(body: Any, now: float | None = None) -> tuple[dict[str, Any], bool]:
    """POST /qrcodes → (record, created): created is False when a stored code was returned or only updated."""
    request = parse_request(body)
    official_account(request.app)
    now = time.time() if now is None else now
    existing = channels.get(request.app, request.scene_key)
    if existing is not None and existing.state == "retired" and existing.kind == "channel":
        return {**view(_reassign(request, existing, now), now), "reused": False, "reassigned": True}, True
    if existing is not None:
        _check_compatible(existing, request)
        if existing.permanent and existing.pending:
            if not _stale(existing, now):
                raise Conflict(
                    "scene: another request is creating this scene right now; retry", field="scene"
                )
            channel = _complete_permanent(_with_info(existing, request.channel, now), None, now)
            return {**view(channel, now), "reused": False}, True
        if existing.permanent or _reusable(existing, request, now):
            channel = _with_info(existing, request.channel, now)
            if channel != existing:
                channels.update_info(channel)
            return {**view(channel, now), "reused": True}, False
    if request.permanent:
        channel = _create_permanent(request, now, existing)
    else:
        channel = _create_temporary(request, now, existing)
    logger.info(
        "QR code created",
        extra={"app": request.app, "scene": request.scene_key, "permanent": request.permanent},
    )
    return {**view(channel, now), "reused": False}, True


# --- lifecycle -----------------------------------------------------------------------------------------------


def _current_info(channel: Channel) -> dict[str, Any]:
    referrer = channel.referrer
    return {
        "name": channel.name,
        "welcome_message": channel.welcome_message,
        "tag": channel.tag,
        "notes": channel.notes,
        **({"promoter": channel.promoter} if channel.promoter else {}),
        **(
            {"referrer": {"name": referrer.name, "openid": referrer.openid}}
            if referrer and not channel.promoter
            else {}
        ),
    }


def _operator_channel(app: str, segment: str) -> Channel:
    official_account(app)
    scene = scene_param(app, segment)
    channel = channels.get(app, scene)
    if channel is None:
        raise NotFound(f"app '{app}' has no channel with scene '{scene}'", field="scene")
    if channel.kind != "channel":
        raise Conflict(
            f"scene: '{scene}' is a {channel.kind} code, which the operator does not edit", field="scene"
        )
    return channel


def update(app: str, segment: str, body: Any, now: float | None = None) -> dict[str, Any]:
    """PATCH /qrcodes/{app}/{scene}: change a channel's details (only the fields given) or its state
    (active, disabled); a retired channel is given a new life by POST /qrcodes with its scene."""
    now = time.time() if now is None else now
    fields = _fields(body, "")
    fields.only(_UPDATE_FIELDS)
    channel = _operator_channel(app, segment)
    state = fields.choice(
        "state", ("active", "disabled"), channel.state if channel.state != "retired" else ""
    )
    if channel.state == "retired":
        raise Conflict(
            "state: the channel is retired; POST /qrcodes with its scene gives it to a new channel",
            field="state",
        )
    given = fields.child("channel")
    updated = channel
    if given is not None:
        merged = _current_info(channel)
        if "promoter" in given:
            merged.pop("referrer", None)
        if "referrer" in given:
            merged.pop("promoter", None)
        merged.update({key: given.get(key) for key in given})
        updated = _with_info(channel, _channel_info(_fields({"channel": merged}, "")), now)
    told = updated != channel  # what the operator says about the channel changed
    if state != updated.state:
        updated = replace(updated, state=state, updated_at=timestamp(now))  # type: ignore[arg-type]
    if updated != channel:
        # Only what changed is written: a code renewed since the channel was read, and its lease, stay.
        if told:
            channels.update_info(updated, state=updated.state != channel.state)
        else:
            channels.update_state(updated)
        livecodes.refresh_pointing_at(app, updated.scene, timestamp(now))
    return view(updated, now)


def retire(app: str, segment: str, now: float | None = None) -> dict[str, Any]:
    """POST /qrcodes/{app}/{scene}/retire: the channel ends; its followers and statistics stay readable, and
    POST /qrcodes with the scene gives the code to a new channel counted apart (permanent codes are never freed)."""
    now = time.time() if now is None else now
    channel = _operator_channel(app, segment)
    if channel.state != "retired":
        channel = replace(channel, state="retired", updated_at=timestamp(now))
        channels.update_state(channel)
        livecodes.refresh_pointing_at(app, channel.scene, timestamp(now))
    return view(channel, now)


def history(app: str, segment: str) -> dict[str, Any]:
    """GET /qrcodes/{app}/{scene}/history: the scene's current channel and the ones it had before (newest first),
    each with its own statistics link."""
    official_account(app)
    scene = scene_param(app, segment)
    now = time.time()
    current = channels.get(app, scene)
    past = channels.past(app, scene)
    if current is None and not past:
        raise NotFound(f"app '{app}' has no channel with scene '{scene}'", field="scene")

    def entry(channel: Channel, retired_at: str | None) -> dict[str, Any]:
        record = view(channel, now)
        stats = f"{record['links']['stats']}?generation={channel.generation}"
        return {**record, "retired_at": retired_at, "links": {**record["links"], "stats": stats}}

    return {
        "current": entry(current, None) if current is not None else None,
        "past": [entry(channel, retired_at) for channel, retired_at in past],
    }


# --- read --------------------------------------------------------------------------------------------------


def known_app(app: str) -> AppConfig:
    return load_app(app)  # UnknownApp → 404


def scene_param(app: str, segment: str) -> str:
    """The scene a path segment names (`~<base64url>` or the scene itself); one no channel can have is not there."""
    scene = limits.scene_from_segment(segment)
    if scene is None:
        raise NotFound(f"scene: app '{app}' has no channel with that scene", field="scene")
    return scene


def get(app: str, segment: str) -> dict[str, Any]:
    known_app(app)
    scene = scene_param(app, segment)
    channel = channels.get(app, scene)
    if channel is None:
        raise NotFound(f"app '{app}' has no channel with scene '{scene}'")
    return view(channel)


def _limit(value: str | None) -> int:
    if value is None or value == "":
        return LIST_LIMIT_DEFAULT
    # ASCII digits only: str.isdigit() also accepts "²" or "١", which int() refuses or reads differently.
    if not (value.isascii() and value.isdigit()) or not 1 <= int(value) <= LIST_LIMIT_MAX:
        raise invalid("limit", f"must be an integer from 1 to {LIST_LIMIT_MAX}")
    return int(value)


def list_channels(query: Mapping[str, str]) -> dict[str, Any]:
    """GET /qrcodes?app=&limit=&next_token= → one page of channel records, in scene order."""
    app = query.get("app") or ""
    if not app:
        raise invalid("app", "is required (GET /qrcodes?app=<app>)")
    limit = _limit(query.get("limit"))
    known_app(app)
    try:
        page = channels.list_page(app, limit, query.get("next_token") or None)
    except InvalidNextToken as exc:
        raise invalid("next_token", str(exc), rule="cursor") from None
    now = time.time()
    return {"items": [view(channel, now) for channel in page.items], "next_token": page.next_token}


def image(app: str, segment: str, now: float | None = None) -> tuple[bytes, str]:
    """The QR image → (bytes, content type); Gone when the code expired or WeChat forgot its ticket."""
    known_app(app)
    scene = scene_param(app, segment)
    channel = channels.get(app, scene)
    if channel is None:
        raise NotFound(f"app '{app}' has no channel with scene '{scene}'")
    if channel.pending:
        raise NotFound(f"the code of scene '{scene}' is still being created; retry in a minute")
    now = time.time() if now is None else now
    if channel.expired(now):
        assert channel.expires_at is not None
        raise Gone(
            f"the code of scene '{scene}' expired at {timestamp(channel.expires_at)}; POST /qrcodes for a new one"
        )
    try:
        return client_for(app).fetch_qrcode_image(channel.ticket)
    except wechat.QrTicketNotFound:
        raise Gone(
            f"WeChat no longer knows the ticket of scene '{scene}'; POST /qrcodes for a new one"
        ) from None
