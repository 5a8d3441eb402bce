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
from datetime import UTC, date, datetime, timedelta
from typing import Any

from wxfunnel import stats
from wxfunnel.channels import (
    TIMESTAMP_FORMAT,
    Channel,
    ChannelExists,
    ChannelRepository,
    InvalidNextToken,
    QuotaExhausted,
    Referrer,
    is_scene_key,
    timestamp,
)
from wxfunnel.client import client_for
from wxfunnel.client import errors as wechat
from wxfunnel.client.api import (
    DEFAULT_EXPIRE_SECONDS,
    EXPIRE_SECONDS_MAX,
    PERMANENT_SCENE_ID_MAX,
    SCENE_STR_MAX,
    TEMPORARY_SCENE_ID_MAX,
)
from wxfunnel.config import AccountKind, UnknownApp, load_app
from wxfunnel.errors import Conflict, Gone, NotFound, ValidationFailed
from wxfunnel.observability import logger
from wxfunnel.rules import SCENE_MAX
from wxfunnel.settings import settings

NAME_MAX = 64
WELCOME_MAX = 600
TAG_MAX_BYTES = 30
NOTES_MAX = 1000
OPENID_MAX = 128
LIST_LIMIT_DEFAULT = 50
LIST_LIMIT_MAX = 100
STATS_DEFAULT_DAYS = 30
STATS_MAX_DAYS = 366
PENDING_STALE_SECONDS = (
    60  # a reservation older than this was left by a crashed request (the timeout is 15 s)
)
_REQUEST_FIELDS = frozenset({"app", "scene", "permanent", "expire_seconds", "channel"})
_CHANNEL_FIELDS = frozenset({"name", "welcome_message", "tag", "referrer", "notes"})
_REFERRER_FIELDS = frozenset({"name", "openid"})


@dataclass(frozen=True, slots=True)
class ChannelInfo:
    """What the operator says a scene means: shown to followers (welcome, referrer) and used to tag them."""

    name: str
    welcome_message: str | None = None
    tag: str | None = None
    referrer: Referrer | None = None
    notes: str | None = None


@dataclass(frozen=True, slots=True)
class QrRequest:
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


def _invalid(field: str, rule: str) -> ValidationFailed:
    return ValidationFailed(f"{field}: {rule}", field=field)


def _encodable(field: str, value: str) -> str:
    """JSON may carry lone surrogates ("\\ud800"); they are no text WeChat or DynamoDB can store."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise _invalid(field, "must be valid Unicode text (it contains a lone surrogate)") from None
    return value


def _unknown_fields(data: Mapping[str, Any], allowed: frozenset[str], path: str) -> None:
    unknown = sorted(set(data) - allowed)
    if unknown:
        where = f"{path}.{unknown[0]}" if path else unknown[0]
        raise _invalid(where, f"is not a known field (allowed: {', '.join(sorted(allowed))})")


def _text(
    data: Mapping[str, Any], key: str, path: str, *, required: bool, max_chars: int | None = None
) -> str | None:
    field = f"{path}.{key}" if path else key
    value = data.get(key)
    if value is None or value == "":
        if required:
            raise _invalid(field, "is required")
        return None
    if not isinstance(value, str):
        raise _invalid(field, "must be a string")
    _encodable(field, value)
    if required and not value.strip():
        raise _invalid(field, "must not be blank")
    if max_chars is not None and len(value) > max_chars:
        raise _invalid(field, f"must be at most {max_chars} characters (got {len(value)})")
    return value


def _scene(value: Any, permanent: bool) -> int | str:
    if value is None:
        raise _invalid("scene", "is required (an integer scene_id or a string scene_str)")
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise _invalid(
            "scene", "must be an integer (scene_id) or a string (scene_str), not a boolean or a number"
        )
    if isinstance(value, int):
        limit = PERMANENT_SCENE_ID_MAX if permanent else TEMPORARY_SCENE_ID_MAX
        if not 1 <= value <= limit:
            kind = "permanent" if permanent else "temporary"
            raise _invalid(
                "scene", f"an integer scene of a {kind} code must be from 1 to {limit} (got {value})"
            )
        return value
    if not 1 <= len(value) <= SCENE_STR_MAX:
        raise _invalid(
            "scene", f"a string scene must be 1 to {SCENE_STR_MAX} characters long (got {len(value)})"
        )
    if any(ord(char) < 32 or ord(char) == 127 for char in value):
        raise _invalid("scene", "a string scene must not contain control characters")
    return _encodable("scene", value)


def _expire_seconds(data: Mapping[str, Any], permanent: bool) -> int | None:
    value = data.get("expire_seconds")
    if permanent:
        if value is not None:
            raise _invalid(
                "expire_seconds", "applies to temporary codes only; omit it when permanent is true"
            )
        return None
    if value is None:
        return DEFAULT_EXPIRE_SECONDS
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= EXPIRE_SECONDS_MAX:
        raise _invalid("expire_seconds", f"must be an integer from 1 to {EXPIRE_SECONDS_MAX} (30 days)")
    return value


def _referrer(value: Any) -> Referrer | None:
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise _invalid("channel.referrer", 'must be an object {"name": ..., "openid": ...}')
    _unknown_fields(value, _REFERRER_FIELDS, "channel.referrer")
    name = _text(value, "name", "channel.referrer", required=True, max_chars=NAME_MAX) or ""
    openid = _text(value, "openid", "channel.referrer", required=False, max_chars=OPENID_MAX)
    if openid is not None and not all(char.isascii() and (char.isalnum() or char in "_-") for char in openid):
        raise _invalid("channel.referrer.openid", "must be an openid (letters, digits, '_' or '-')")
    return Referrer(name=name, openid=openid)


def _channel_info(value: Any) -> ChannelInfo:
    if value is None:
        raise _invalid("channel", "is required (at least a name)")
    if not isinstance(value, Mapping):
        raise _invalid("channel", "must be an object")
    _unknown_fields(value, _CHANNEL_FIELDS, "channel")
    name = _text(value, "name", "channel", required=True, max_chars=NAME_MAX) or ""
    welcome = _text(value, "welcome_message", "channel", required=False, max_chars=WELCOME_MAX)
    tag = _text(value, "tag", "channel", required=False)
    if tag is not None:
        size = len(tag.encode("utf-8"))
        if size > TAG_MAX_BYTES:
            raise _invalid("channel.tag", f"must be at most {TAG_MAX_BYTES} bytes of UTF-8 (got {size})")
        if not tag.strip():
            raise _invalid("channel.tag", "must not be blank")
    notes = _text(value, "notes", "channel", required=False, max_chars=NOTES_MAX)
    return ChannelInfo(name, welcome, tag, _referrer(value.get("referrer")), notes)


def parse_request(body: Any) -> QrRequest:
    """The POST /qrcodes body, validated; ValidationFailed names the first field at fault and its rule."""
    if not isinstance(body, Mapping):
        raise ValidationFailed("the body must be a JSON object")
    _unknown_fields(body, _REQUEST_FIELDS, "")
    app = _text(body, "app", "", required=True, max_chars=64) or ""
    permanent = body.get("permanent", False)
    if permanent is None:
        permanent = False
    if not isinstance(permanent, bool):
        raise _invalid("permanent", "must be true or false")
    scene = _scene(body.get("scene"), permanent)
    expire_seconds = _expire_seconds(body, permanent)
    return QrRequest(app, scene, permanent, expire_seconds, _channel_info(body.get("channel")))


def _official_account(app: str) -> None:
    try:
        kind = load_app(app).kind
    except UnknownApp:
        raise _invalid("app", f"no app named '{app}' is configured") from None
    if kind is not AccountKind.OFFICIAL_ACCOUNT:
        raise _invalid("app", f"'{app}' is a {kind.value}; parametric QR codes belong to an official_account")


# --- views -------------------------------------------------------------------------------------------------


def _status(channel: Channel, now: float) -> str:
    if channel.pending:
        return "pending"
    return "expired" if channel.expired(now) else "active"


def view(channel: Channel, now: float | None = None) -> dict[str, Any]:
    """A channel record as the admin API shows it."""
    now = time.time() if now is None else now
    referrer = channel.referrer
    return {
        "app": channel.app,
        "scene": channel.scene,
        "scene_type": channel.scene_type,
        "permanent": channel.permanent,
        "kind": channel.kind,
        "status": _status(channel, now),
        "ticket": channel.ticket or None,
        "url": channel.url or None,
        "image_url": channel.image_url or None,
        "expire_seconds": channel.expire_seconds,
        "expires_at": timestamp(channel.expires_at) if channel.expires_at is not None else None,
        "created_at": channel.created_at,
        "updated_at": channel.updated_at,
        "channel": {
            "name": channel.name,
            "welcome_message": channel.welcome_message,
            "tag": channel.tag,
            "referrer": {"name": referrer.name, "openid": referrer.openid} if referrer else None,
            "notes": channel.notes,
        },
    }


# --- create ------------------------------------------------------------------------------------------------


def _with_info(channel: Channel, info: ChannelInfo, now: float) -> Channel:
    updated = replace(
        channel,
        name=info.name,
        welcome_message=info.welcome_message,
        tag=info.tag,
        referrer=info.referrer,
        notes=info.notes,
    )
    return updated if updated == channel else replace(updated, updated_at=timestamp(now))


def _check_compatible(existing: Channel, request: QrRequest) -> None:
    if existing.kind == "card":
        raise Conflict(
            f"scene: '{existing.scene}' belongs to a mini-program card reminder; choose another scene",
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
        and not existing.pending
        and existing.scene_type == request.scene_type
        and existing.remaining_share(now) > settings().qr_reuse_min_remaining_share
    )


def _stale(channel: Channel, now: float) -> bool:
    try:
        updated = datetime.strptime(channel.updated_at, TIMESTAMP_FORMAT).replace(tzinfo=UTC).timestamp()
    except ValueError:
        return True
    return now - updated > PENDING_STALE_SECONDS


def _new_channel(request: QrRequest, now: float, existing: Channel | None) -> Channel:
    info = request.channel
    return Channel(
        app=request.app,
        scene=request.scene_key,
        scene_type="int" if isinstance(request.scene, int) else "str",
        permanent=request.permanent,
        kind="channel",
        ticket="",
        url="",
        image_url="",
        expire_seconds=None,
        expires_at=None,
        name=info.name,
        welcome_message=info.welcome_message,
        tag=info.tag,
        referrer=info.referrer,
        notes=info.notes,
        created_at=existing.created_at if existing else timestamp(now),
        updated_at=timestamp(now),
    )


def _complete_permanent(repository: ChannelRepository, pending: Channel, restore: Channel | None) -> Channel:
    """Ask WeChat for the reserved permanent code; give the reservation back if WeChat refuses."""
    try:
        qr = client_for(pending.app).create_qrcode(pending.scene_value, permanent=True)
    except wechat.WeChatError:
        repository.release_permanent(pending, restore)
        raise
    channel = replace(pending, ticket=qr.ticket, url=qr.url, image_url=qr.image_url)
    repository.put(channel)
    return channel


def _create_permanent(
    repository: ChannelRepository, request: QrRequest, now: float, existing: Channel | None
) -> Channel:
    pending = _new_channel(request, now, existing)
    cap = settings().permanent_qr_cap
    try:
        repository.reserve_permanent(pending, cap, replacing=existing)
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
    return _complete_permanent(repository, pending, existing)


def _create_temporary(
    repository: ChannelRepository, request: QrRequest, now: float, existing: Channel | None
) -> Channel:
    qr = client_for(request.app).create_qrcode(
        request.scene, permanent=False, expire_seconds=request.expire_seconds
    )
    seconds = qr.expire_seconds or request.expire_seconds or DEFAULT_EXPIRE_SECONDS
    channel = replace(
        _new_channel(request, now, existing),
        ticket=qr.ticket,
        url=qr.url,
        image_url=qr.image_url,
        expire_seconds=seconds,
        expires_at=int(now) + seconds,  # from our own request time: WeChat's answer says nothing about when
    )
    repository.put(channel)
    return channel


def create(body: Any, now: float | None = None) -> tuple[dict[str, Any], bool]:
    """POST /qrcodes → (record, created): created is False when a stored code was returned or only updated."""
    request = parse_request(body)
    _official_account(request.app)
    now = time.time() if now is None else now
    repository = ChannelRepository()
    existing = repository.get(request.app, request.scene_key)
    if existing is not None:
        _check_compatible(existing, request)
        if existing.permanent and existing.pending:
            if not _stale(existing, now):
                raise Conflict(
                    "scene: another request is creating this scene right now; retry", field="scene"
                )
            channel = _complete_permanent(repository, _with_info(existing, request.channel, now), None)
            return {**view(channel, now), "reused": False}, True
        if existing.permanent or _reusable(existing, request, now):
            channel = _with_info(existing, request.channel, now)
            if channel != existing:
                repository.put(channel)
            return {**view(channel, now), "reused": True}, False
    if request.permanent:
        channel = _create_permanent(repository, request, now, existing)
    else:
        channel = _create_temporary(repository, request, now, existing)
    logger.info(
        "QR code created",
        extra={"app": request.app, "scene": request.scene_key, "permanent": request.permanent},
    )
    return {**view(channel, now), "reused": False}, True


# --- read --------------------------------------------------------------------------------------------------


def _known_app(app: str) -> None:
    load_app(app)  # UnknownApp → 404


def _scene_param(app: str, scene: str) -> str:
    """A scene from the path; one no channel can have (too long, not text) is simply not there."""
    if not is_scene_key(scene):
        raise NotFound(
            f"scene: app '{app}' has no channel with that scene (a scene is 1 to {SCENE_MAX} characters)",
            field="scene",
        )
    return scene


def get(app: str, scene: str) -> dict[str, Any]:
    _known_app(app)
    channel = ChannelRepository().get(app, _scene_param(app, scene))
    if channel is None:
        raise NotFound(f"app '{app}' has no channel with scene '{scene}'")
    return view(channel)


def _limit(value: str | None) -> int:
    if value is None or value == "":
        return LIST_LIMIT_DEFAULT
    # ASCII digits only: str.isdigit() also accepts "²" or "١", which int() refuses or reads differently.
    if not (value.isascii() and value.isdigit()) or not 1 <= int(value) <= LIST_LIMIT_MAX:
        raise _invalid("limit", f"must be an integer from 1 to {LIST_LIMIT_MAX}")
    return int(value)


def list_channels(query: Mapping[str, str]) -> dict[str, Any]:
    """GET /qrcodes?app=&limit=&next_token= → one page of channel records, in scene order."""
    app = query.get("app") or ""
    if not app:
        raise _invalid("app", "is required (GET /qrcodes?app=<app>)")
    limit = _limit(query.get("limit"))
    _known_app(app)
    try:
        page = ChannelRepository().list(app, limit, query.get("next_token") or None)
    except InvalidNextToken as exc:
        raise _invalid("next_token", str(exc)) from None
    now = time.time()
    return {"items": [view(channel, now) for channel in page.items], "next_token": page.next_token}


def image(app: str, scene: str, now: float | None = None) -> tuple[bytes, str]:
    """The QR image → (bytes, content type); Gone when the code expired or WeChat forgot its ticket."""
    _known_app(app)
    channel = ChannelRepository().get(app, _scene_param(app, scene))
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


# --- statistics --------------------------------------------------------------------------------------------


def _day(query: Mapping[str, str], key: str) -> date | None:
    value = query.get(key)
    if not value:
        return None
    try:
        if len(value) != 10:
            raise ValueError(value)
        return date.fromisoformat(value)
    except ValueError:
        raise _invalid(key, "must be a date YYYY-MM-DD (UTC)") from None


def period(query: Mapping[str, str], today: date | None = None) -> tuple[str, str]:
    """The [from, to] days of a statistics query; default: the last 30 days up to today (UTC)."""
    today = today or datetime.now(UTC).date()
    end = _day(query, "to")
    start = _day(query, "from")
    if end is None:
        end = max(today, start) if start else today
    if start is None:
        start = end - timedelta(days=STATS_DEFAULT_DAYS - 1)
    if start > end:
        raise _invalid("from", "must not be after 'to'")
    if (end - start).days + 1 > STATS_MAX_DAYS:
        raise _invalid("from", f"the period must span at most {STATS_MAX_DAYS} days")
    return start.isoformat(), end.isoformat()


def channel_stats(app: str, scene: str, query: Mapping[str, str]) -> dict[str, Any]:
    _known_app(app)
    _scene_param(app, scene)
    start, end = period(query)
    result = stats.channel_stats(app, scene, start, end)
    return {
        "app": app,
        "scene": scene,
        "from": start,
        "to": end,
        "days": result.days(),
        "totals": result.totals.as_dict(),
    }


def app_stats(app: str, query: Mapping[str, str]) -> dict[str, Any]:
    _known_app(app)
    start, end = period(query)
    result = stats.app_stats(app, start, end)
    return {
        "app": app,
        "from": start,
        "to": end,
        "totals": result.period.totals.as_dict(),
        "days": result.period.days(),
        "channels": [
            {"scene": entry.scene, "name": entry.name, "totals": entry.totals.as_dict()}
            for entry in result.channels
        ],
        "referrers": [
            {"name": score.name, "openid": score.openid, "scene": score.scene, "referrals": score.referrals}
            for score in result.referrers
        ],
    }
