"""Channels: what each parametric QR scene of an Official Account means (name, welcome, tag, referrer), purely.

A scene holds one channel. A temporary code is reused while more than a configured share of its life remains
(`reusable`), so a scene keeps one live code rather than a new one per request; a permanent code is reserved
before WeChat is asked for it (store.channels) and is pending (no ticket) until WeChat answers.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from wxfunnel.domain.jobs import MessageSpec

SceneType = Literal["int", "str"]
ChannelKind = Literal["channel", "card"]
TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def timestamp(epoch: float) -> str:
    """A record's time as stored and shown (`created_at`, `updated_at`, `expires_at`): ISO 8601, UTC, seconds."""
    return datetime.fromtimestamp(epoch, UTC).strftime(TIMESTAMP_FORMAT)


@dataclass(frozen=True, slots=True)
class Referrer:
    """Who recommended followers of a channel (a name shown to them, and the referrer's openid when known)."""

    name: str
    openid: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Channel:
    app: str
    scene: str
    scene_type: SceneType
    permanent: bool
    kind: ChannelKind
    ticket: str = ""  # "" while a permanent code is reserved but not yet created
    url: str = ""
    image_url: str = ""
    expire_seconds: int | None = None
    expires_at: int | None = None  # epoch seconds; None for a permanent code
    name: str
    welcome_message: str | None = None
    tag: str | None = None
    referrer: Referrer | None = None
    notes: str | None = None
    created_at: str
    updated_at: str
    # Campaigns and welcome sequences (domain.campaigns, docs/admin-api.md): the campaign the channel belongs to,
    # and the customer-service messages sent after the passive welcome, in order.
    campaign: str | None = None
    welcome_sequence: tuple[MessageSpec, ...] = ()
    # The promoter a channel is given to (a batch's `promoter` column); issue 12's promoters own this field.
    promoter: str | None = None

    @property
    def scene_value(self) -> int | str:
        """The scene as WeChat's `qrcode/create` wants it (scene_id or scene_str)."""
        return int(self.scene) if self.scene_type == "int" else self.scene

    @property
    def pending(self) -> bool:
        return not self.ticket

    def expired(self, now: float) -> bool:
        return self.expires_at is not None and now >= self.expires_at

    def remaining_share(self, now: float) -> float:
        """The share of a temporary code's life still ahead (1.0 for a permanent one)."""
        if self.expires_at is None or not self.expire_seconds:
            return 1.0
        return max(0.0, (self.expires_at - now) / self.expire_seconds)

    def with_code(
        self, ticket: str, url: str, image_url: str, now: float, expire_seconds: int | None = None
    ) -> Channel:
        """This channel holding the code WeChat issued at `now`: permanent, or expiring `expire_seconds` later (from
        our own request's time: WeChat's answer says nothing about when it counts from)."""
        return replace(
            self,
            ticket=ticket,
            url=url,
            image_url=image_url,
            expire_seconds=expire_seconds,
            expires_at=int(now) + expire_seconds if expire_seconds else None,
            updated_at=timestamp(now),
        )

    def reusable(self, now: float, min_remaining_share: float) -> bool:
        """A code to hand out again: created, and permanent or with more than this share of its life left."""
        return not self.pending and (self.permanent or self.remaining_share(now) > min_remaining_share)

    def status(self, now: float) -> str:
        if self.pending:
            return "pending"
        return "expired" if self.expired(now) else "active"
