"""A channel's current temporary QR code: reused while it has life left, renewed once however many ask at once.

The one place that creates or renews a channel's temporary code with the OA token, for the sender (card and
follow-QR jobs) and the landing page of live codes. The rule for reuse is the channel's own
(`Channel.reusable`: more than QR_REUSE_MIN_REMAINING_SHARE of its life left, or permanent). A renewal is
single-flight: the request that wins a conditional write on the channel record (`store.channels.claim_renewal`, a
lease of LEASE_SECONDS) asks WeChat for the new code; the others keep handing out the current code, which is still
valid since renewal starts half-way through its life, or, when it has expired, wait up to `wait_seconds` for the
winner's. A lease left by a crashed request lapses, and the next request renews.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable

from wxfunnel.core.observability import logger
from wxfunnel.core.settings import settings
from wxfunnel.domain.channels import Channel
from wxfunnel.entry.wechat import client_for
from wxfunnel.store import channels

LEASE_SECONDS = 20  # longer than one WeChat call at its worst (9 s) and the storage around it
POLL_SECONDS = 0.2


class CodePending(Exception):
    """No usable code yet: a permanent code is still being created, or another request's renewal did not finish
    within the wait. Asking again shortly works."""


class NoChannel(LookupError):
    """The scene has no channel record (and the caller creates none)."""


def current_code(
    app: str,
    scene: str,
    *,
    expire_seconds: int,
    new_channel: Callable[[float], Channel] | None = None,
    wait_seconds: float = 3.0,
    clock: Callable[[], float] = time.time,
) -> Channel:
    """The channel of `scene` holding a code to hand out: reused, renewed (valid `expire_seconds`) or, with
    `new_channel`, created with its first code. Raises NoChannel, CodePending or a WeChat error. `clock` is the
    time a code's life is judged by (the caller's own, so one request sees one time)."""
    deadline = time.monotonic() + wait_seconds
    while True:
        now = clock()
        channel = channels.get(app, scene)
        if channel is None:
            if new_channel is None:
                raise NoChannel(scene)
            created = _with_new_code(new_channel(now), expire_seconds, now)
            if channels.create(created):
                return created
            continue  # another request created the channel first: use theirs
        if channel.reusable(now, settings().qr_reuse_min_remaining_share):
            return channel
        if channel.permanent:
            raise CodePending("the operator's permanent code for this scene is still being created")
        holder = uuid.uuid4().hex
        # The lease is about requests running at the same time: real time, whatever clock judges the code's life.
        if channels.claim_renewal(channel, time.time(), LEASE_SECONDS, holder):
            return _renew(channel, expire_seconds, now, holder)
        if channel.ticket and not channel.expired(now):
            return channel  # another request is renewing it; until then the current code still works
        if time.monotonic() >= deadline:
            raise CodePending("another request is renewing this scene's code")
        time.sleep(POLL_SECONDS)


def _with_new_code(channel: Channel, expire_seconds: int, now: float) -> Channel:
    code = client_for(channel.app).create_qrcode(
        channel.scene_value, permanent=False, expire_seconds=expire_seconds
    )
    return channel.with_code(code.ticket, code.url, code.image_url, now, expire_seconds)


def _renew(channel: Channel, expire_seconds: int, now: float, holder: str) -> Channel:
    try:
        renewed = _with_new_code(channel, expire_seconds, now)
    except Exception:
        channels.release_renewal(channel, holder)
        raise
    channels.store_code(renewed)
    logger.info("temporary QR code renewed", extra={"app": channel.app, "scene": channel.scene})
    return renewed
