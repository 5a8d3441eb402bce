"""What the sender does for each kind of job: one function per `JobKind`, each calling the WeChat API once or twice.

A function returns `Done` (its outcome) or raises: `Retry` (may succeed later), `Undeliverable` (retrying cannot
help), or a WeChat error, whose own `retryable` decides (entry.sender). They catch a WeChat error only where it
changes what is sent: the window-closed template fallback.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

import requests

from wxfunnel import client as wechat
from wxfunnel.client import errors
from wxfunnel.config.base import AccountKind
from wxfunnel.config.loader import load_app
from wxfunnel.config.rules import (
    DEFAULT_FOLLOW_TITLE,
    ImageAction,
    LinkAction,
    MiniProgramPageAction,
    TemplateSpec,
    TextAction,
)
from wxfunnel.domain.channels import Channel, timestamp
from wxfunnel.domain.followers import Status
from wxfunnel.domain.jobs import (
    CustomMessage,
    EraseUser,
    Job,
    JobKind,
    MessageSpec,
    OwnCode,
    PromoterName,
    QrCode,
    ReferralNotice,
    Reminder,
    Tag,
)
from wxfunnel.domain.promoters import Promoter, Referrer
from wxfunnel.entry import channel_codes
from wxfunnel.entry.wechat import client_for
from wxfunnel.protocol import limits
from wxfunnel.store import channels, followers, promoters
from wxfunnel.store.media import MediaCache

_IMAGE_TIMEOUTS = (3.05, 10)
OWN_CODE_NAME = "粉丝"  # an unnamed follower's code, as the operator's channel list shows it


class Retry(Exception):
    """The job may succeed later (the cause is kept for the DLQ when attempts run out)."""


class Undeliverable(Exception):
    """Retrying cannot help: the job goes to the DLQ with this reason."""

    def __init__(self, reason: str, errcode: int | None = None, errmsg: str = "") -> None:
        super().__init__(f"{reason}: {errmsg}" if errmsg else reason)
        self.reason = reason
        self.errcode = errcode
        self.errmsg = errmsg


@dataclass(frozen=True, slots=True)
class Done:
    """How a job ended."""

    outcome: str  # sent | skipped | template_fallback | subscribe_fallback


def _now() -> int:
    return int(time.time())


# --- media ----------------------------------------------------------------------------------------------------


def _fetch_image(url: str) -> bytes:
    """Download a rule's image (jpg/png ≤ 2 MB) to upload it as temporary media."""
    try:
        response = requests.get(url, timeout=_IMAGE_TIMEOUTS)
    except requests.RequestException as exc:
        raise Retry(f"image download failed ({type(exc).__name__})") from None
    if response.status_code >= 500:
        raise Retry(f"image host answered HTTP {response.status_code}")
    if response.status_code != 200 or not response.content:
        raise Undeliverable("image_unavailable", errmsg=f"image host answered HTTP {response.status_code}")
    if len(response.content) > limits.MEDIA_MAX_BYTES:
        raise Undeliverable(
            "image_too_large",
            errmsg=f"{len(response.content)} bytes (WeChat allows {limits.MEDIA_MAX_BYTES})",
        )
    return response.content


def _cached_media(client: wechat.WeChatClient, name: str, load: Callable[[], tuple[bytes, str]]) -> str:
    """The media_id of an image known by `name`: from the cache, else loaded (bytes, file name) and uploaded
    (cached by content too), so a repeated reply neither downloads nor uploads it again."""
    cache = MediaCache()
    cached = cache.get(client.app.name, name)
    if cached is not None:
        return cached
    content, filename = load()
    media_id = client.upload_image(content, filename)
    cache.put(client.app.name, name, media_id, time.time() + limits.MEDIA_REUSE_SECONDS)
    return media_id


def _upload(client: wechat.WeChatClient, url: str) -> str:
    """The media_id of a rule's image, known by its URL."""
    filename = url.rsplit("/", 1)[-1].split("?", 1)[0] or "image.jpg"
    name = filename if "." in filename else f"{filename}.jpg"
    key = "url:" + hashlib.sha256(url.encode("utf-8")).hexdigest()
    return _cached_media(client, key, lambda: (_fetch_image(url), name))


def _qr_media(sender: wechat.WeChatClient, oa: str, ticket: str) -> str:
    """The media_id of a QR code's image (downloaded from the OA's showqrcode), known by its ticket."""
    key = "qr:" + hashlib.sha256(ticket.encode("utf-8")).hexdigest()
    return _cached_media(sender, key, lambda: (client_for(oa).fetch_qrcode_image(ticket)[0], "qrcode.jpg"))


# --- customer-service messages and their fallback ---------------------------------------------------------------


def _message(client: wechat.WeChatClient, spec: MessageSpec) -> wechat.CustomMessage:
    """A job's message as the client's outbound message; media uploaded on the way."""
    match spec:
        case TextAction():
            return wechat.TextMessage(spec.content)
        case LinkAction() if client.app.is_official_account:
            # An Official Account's customer-service API has no link card: a one-article news is one.
            return wechat.NewsMessage(spec.title, spec.description, spec.url, spec.thumb_url)
        case LinkAction():
            return wechat.LinkMessage(spec.title, spec.description, spec.url, spec.thumb_url)
        case ImageAction():
            return wechat.ImageMessage(_upload(client, spec.image_url))
        case MiniProgramPageAction():
            thumb = spec.thumb_media_id or _upload(client, spec.thumb_url or "")
            return wechat.MiniProgramPageMessage(
                spec.title, spec.appid or client.app.appid, spec.page_path, thumb
            )


def client_msg_id(job: Job) -> str:
    """WeChat de-duplicates template messages by this id for 10 minutes."""
    return hashlib.sha256(job.key.encode("utf-8")).hexdigest()[:32]


def _template_fallback(job: Job, template: TemplateSpec, client: wechat.WeChatClient) -> Done:
    """45015/45047: send the rule's template instead: a template message on an OA, a subscribe message on an MP
    (delivered only while the user has a grant left for that template, else 43101, which is permanent)."""
    data = dict(template.data)
    if client.app.kind is AccountKind.MINI_PROGRAM:
        client.send_subscribe_message(job.openid, template.template_id, data, page=template.page)
        return Done("subscribe_fallback")
    client.send_template(
        job.openid, template.template_id, data, url=template.url, client_msg_id=client_msg_id(job)
    )
    return Done("template_fallback")


def _send(
    job: Job,
    fallback: TemplateSpec | None,
    message: Callable[[wechat.WeChatClient], wechat.CustomMessage],
) -> Done:
    client = client_for(job.app)
    try:
        client.send_custom(job.openid, message(client))
    except (errors.OutsideWindow, errors.UserQuotaExhausted):
        if fallback is None:
            raise
        return _template_fallback(job, fallback, client)
    return Done("sent")


def custom_message(job: Job) -> Done:
    payload = job.payload
    assert isinstance(payload, CustomMessage)
    return _send(job, payload.window_closed_template, lambda client: _message(client, payload.message))


# --- QR codes ---------------------------------------------------------------------------------------------------


def live_code(app: str, scene: str, expire_seconds: int, fresh: Callable[[float], Channel]) -> Channel:
    """The channel of `scene` holding a usable code (entry.channel_codes: reused, renewed once, or created on
    `fresh(now)`); a code still being made is retried."""
    try:
        return channel_codes.current_code(app, scene, expire_seconds=expire_seconds, new_channel=fresh)
    except channel_codes.CodePending as exc:
        raise Retry(str(exc)) from None


def _qr_channel(job: Job, qr: QrCode) -> Channel:
    """The OA channel record for the job's scene with a usable QR: reused, renewed or created (OA token)."""
    card = job.kind is JobKind.CARD_QR

    def fresh(now: float) -> Channel:
        return Channel(
            app=qr.oa,
            scene=qr.scene,
            scene_type="str",
            permanent=False,
            kind="card" if card else "channel",
            name=f"{'card' if card else 'follow'} {qr.scene}",
            welcome_message=qr.opt_in_text if card else None,
            notes=f"created by wxfunnel for {job.app}",
            created_at=timestamp(now),
            updated_at=timestamp(now),
        )

    return live_code(qr.oa, qr.scene, qr.expire_seconds, fresh)


def _qr_message(qr: QrCode, channel: Channel) -> Callable[[wechat.WeChatClient], wechat.CustomMessage]:
    def build(sender: wechat.WeChatClient) -> wechat.CustomMessage:
        if qr.send_as == "image":
            return wechat.ImageMessage(_qr_media(sender, qr.oa, channel.ticket))
        return wechat.LinkMessage(
            qr.title or DEFAULT_FOLLOW_TITLE,
            qr.description,
            channel.image_url,
            qr.thumb_url or channel.image_url,
        )

    return build


def card_qr(job: Job) -> Done:
    """A card's context → a temporary QR_STR_SCENE on the OA (OA token), sent back by the MP (MP token)."""
    qr = job.payload
    assert isinstance(qr, QrCode)
    channel = _qr_channel(job, qr)
    if not load_app(job.app).is_official_account:
        # The MP user's own opt-in, so an MP reminder (subscribe message) can select them by scene too.
        followers.record_touch(job.app, job.openid, qr.scene, _now())
    return _send(job, qr.window_closed_template, _qr_message(qr, channel))


def follow_qr(job: Job) -> Done:
    """A keyword's "follow the OA" reply: the OA's QR for a fixed scene (the channel's code while live)."""
    qr = job.payload
    assert isinstance(qr, QrCode)
    return _send(job, qr.window_closed_template, _qr_message(qr, _qr_channel(job, qr)))


# --- followers --------------------------------------------------------------------------------------------------


def tag(job: Job) -> Done:
    payload = job.payload
    assert isinstance(payload, Tag)
    client = client_for(job.app)
    client.tag_users(client.tag_id(payload.tag), [job.openid])
    return Done("sent")


def erase_user(job: Job) -> Done:
    """Delete what wxfunnel stores about a follower who left (profile, opt-ins) once the unfollow is in."""
    payload = job.payload
    assert isinstance(payload, EraseUser)
    follower = followers.get_follower(job.app, job.openid)
    if follower is None or follower.status_at < payload.at:
        raise Retry("the unfollow is not stored yet")  # the callback enqueues before its transaction commits
    if follower.status is Status.SUBSCRIBED:
        return Done("skipped")  # they followed again since
    followers.erase(job.app, job.openid)
    return Done("sent")


# --- reminders --------------------------------------------------------------------------------------------------


def template(job: Job) -> Done:
    """A reminder to an OA follower (template message), skipped if they no longer follow."""
    reminder = job.payload
    assert isinstance(reminder, Reminder)
    follower = followers.get_follower(job.app, job.openid)
    if follower is None or follower.status is not Status.SUBSCRIBED:
        return Done("skipped")
    client_for(job.app).send_template(
        job.openid,
        reminder.template_id,
        dict(reminder.data),
        url=reminder.url,
        miniprogram=reminder.miniprogram,
        client_msg_id=client_msg_id(job),
    )
    return Done("sent")


def subscribe_message(job: Job) -> Done:
    """A reminder to an MP user (subscribe message; 43101 when they have no subscription quota left)."""
    reminder = job.payload
    assert isinstance(reminder, Reminder)
    client_for(job.app).send_subscribe_message(
        job.openid, reminder.template_id, dict(reminder.data), page=reminder.page
    )
    return Done("sent")


# --- referrals by followers ---------------------------------------------------------------------------------


def _promoter_of(job: Job, promoter_id: str, now: int) -> Promoter:
    """The follower's promoter record, created on their first request (unnamed until they give a name)."""
    stored = promoters.get(job.app, promoter_id)
    if stored is not None:
        return stored
    fresh = Promoter(
        app=job.app,
        id=promoter_id,
        name="",
        openid=job.openid,
        created_at=timestamp(now),
        updated_at=timestamp(now),
    )
    if promoters.create(fresh):
        return fresh
    return promoters.get(job.app, promoter_id) or fresh  # created concurrently


def own_code(job: Job) -> Done:
    """A follower's own code: they become a promoter; their referral channel's code is made or reused and sent to
    them as an image (an image message needs an upload: the media is cached by content)."""
    code = job.payload
    assert isinstance(code, OwnCode)
    promoter = _promoter_of(job, code.promoter, _now())

    def fresh(now: float) -> Channel:
        return Channel(
            app=job.app,
            scene=code.scene,
            scene_type="str",
            permanent=False,
            kind="referral",
            name=f"{promoter.name or OWN_CODE_NAME}的推荐码",
            referrer=Referrer(promoter.name, job.openid),
            promoter=promoter.id,
            team=promoter.team,
            notes="a follower's own code",
            created_at=timestamp(now),
            updated_at=timestamp(now),
        )

    channel = live_code(job.app, code.scene, code.expire_seconds, fresh)
    client = client_for(job.app)
    client.send_custom(job.openid, wechat.ImageMessage(_qr_media(client, job.app, channel.ticket)))
    return Done("sent")


def name_promoter(job: Job) -> Done:
    """The name a follower gave themselves: on their promoter record and on their code's channel, which shows it."""
    named = job.payload
    assert isinstance(named, PromoterName)
    now = _now()
    if not promoters.rename(job.app, named.promoter, named.name, timestamp(now)):
        promoters.save(
            Promoter(
                app=job.app,
                id=named.promoter,
                name=named.name,
                openid=job.openid,
                created_at=timestamp(now),
                updated_at=timestamp(now),
            )
        )
    channel = channels.get(job.app, named.scene)
    if channel is not None:  # its name and referrer only: a code renewed meanwhile is kept
        channels.update_info(
            replace(
                channel,
                name=f"{named.name}的推荐码",
                referrer=Referrer(named.name, job.openid),
                updated_at=timestamp(now),
            )
        )
    return Done("sent")


def referral_notice(job: Job) -> Done:
    """Tell a referrer a friend followed through their code; never retried when it cannot reach them (the window
    is closed, their quota is used, they left): it is news, not an obligation."""
    notice = job.payload
    assert isinstance(notice, ReferralNotice)
    promoter = promoters.get(job.app, notice.promoter)
    count = promoter.referrals if promoter is not None else 1
    text = notice.text.replace("{count}", str(count)).replace("{name}", promoter.name if promoter else "")
    try:
        client_for(job.app).send_custom(job.openid, wechat.TextMessage(text))
    except (errors.OutsideWindow, errors.UserQuotaExhausted, errors.RecipientUnavailable):
        return Done("skipped")
    return Done("sent")


HANDLERS: dict[JobKind, Callable[[Job], Done]] = {
    JobKind.CUSTOM_MESSAGE: custom_message,
    JobKind.CARD_QR: card_qr,
    JobKind.FOLLOW_QR: follow_qr,
    JobKind.TAG: tag,
    JobKind.ERASE_USER: erase_user,
    JobKind.TEMPLATE: template,
    JobKind.SUBSCRIBE_MESSAGE: subscribe_message,
    JobKind.OWN_CODE: own_code,
    JobKind.NAME_PROMOTER: name_promoter,
    JobKind.REFERRAL_NOTICE: referral_notice,
}
