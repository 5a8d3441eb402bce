"""Channels: what each parametric QR scene of an Official Account means (name, welcome, tag, promoter), purely.

A scene holds one channel. A temporary code is reused while more than a configured share of its life remains
(`reusable`), so a scene keeps one live code rather than a new one per request; a permanent code is reserved
before WeChat is asked for it (store.channels) and is pending (no ticket) until WeChat answers.

Lifecycle (`state`): a channel is `active`; `disabled`, its followers are still attributed and counted but get the account's
default welcome and no tag; `retired`, the same until its scene is given to a new channel. A permanent code cannot be
re-pointed at WeChat and is never given back, so a new campaign reuses a retired scene: the new channel is the next
*generation* of the scene and counts under its own subject (`subject`), so the old channel's history stays apart and
readable as a past channel.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Final, Literal

from wxfunnel.domain.promoters import Referrer, referrer_promoter_id

if TYPE_CHECKING:
    from wxfunnel.domain.jobs import MessageSpec

SceneType = Literal["int", "str"]
ChannelKind = Literal["channel", "card", "referral"]  # referral: a follower's own code
ChannelState = Literal["active", "disabled", "retired"]
STATES: Final = ("active", "disabled", "retired")
TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
# Between a scene and its generation in a counter subject: a control character, which no scene can contain.
GENERATION_MARK: Final = "\x1f"


def timestamp(epoch: float) -> str:
    """A record's time as stored and shown (`created_at`, `updated_at`, `expires_at`): ISO 8601, UTC, seconds."""
    return datetime.fromtimestamp(epoch, UTC).strftime(TIMESTAMP_FORMAT)


@lru_cache(maxsize=256)
def epoch_of(stamp: str) -> int:
    """The epoch seconds of a record's time (`timestamp`'s inverse); ValueError for another shape. Cached: a
    reassigned channel's list asks for its `since` twice a row (strptime costs ~7 µs)."""
    return int(datetime.strptime(stamp, TIMESTAMP_FORMAT).replace(tzinfo=UTC).timestamp())


@dataclass(frozen=True, slots=True, kw_only=True)
class Channel:
    """A channel: a scene of an app, its current QR code, and who and what it counts for."""

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
    promoter: str | None = None  # the promoter credited for followers through it (see credited_promoter)
    team: str | None = None  # the promoter's team when the channel was given to them
    state: ChannelState = "active"
    generation: int = 0  # how many channels held this scene before (a retired scene reassigned)
    # Campaigns and welcome sequences (domain.campaigns, docs/admin-api.md): the campaign the channel belongs to,
    # and the customer-service messages sent after the passive welcome, in order.
    campaign: str | None = None
    welcome_sequence: tuple[MessageSpec, ...] = ()

    @property
    def subject(self) -> str:
        """What this channel's followers are counted under: the scene, or the scene of this generation."""
        return subject_of(self.scene, self.generation)

    @property
    def since(self) -> int | None:
        """When this channel began to count its scene's pushes: a reassigned scene's channel from its creation (what
        came through the scene before belongs to a past channel), None for a scene's first channel (everything)."""
        return epoch_of(self.created_at) if self.generation else None

    def counts_touch(self, at: int) -> bool:
        """Whether a push through the scene at `at` (CreateTime) came through this channel, not a past one."""
        since = self.since
        return since is None or at >= since

    @property
    def credited_promoter(self) -> str | None:
        """The promoter credited for its followers: its own, or the one a legacy `referrer` maps to."""
        if self.promoter:
            return self.promoter
        return referrer_promoter_id(self.referrer) if self.referrer is not None else None

    @property
    def greets(self) -> bool:
        """Whether followers through it get its own welcome and tag (a disabled or retired channel does not)."""
        return self.state == "active"

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

    def code_status(self, now: float) -> str:
        """The code's own status: pending (a permanent code not yet confirmed by WeChat), expired or active."""
        if self.pending:
            return "pending"
        return "expired" if self.expired(now) else "active"


def subject_of(scene: str, generation: int) -> str:
    """The counter subject of a scene's channel of `generation` (the scene itself for the first one)."""
    return scene if generation == 0 else f"{scene}{GENERATION_MARK}{generation}"


def scene_of_subject(subject: str) -> tuple[str, int]:
    """(scene, generation) of a counter subject."""
    scene, _, generation = subject.partition(GENERATION_MARK)
    return scene, int(generation) if generation.isdigit() else 0
