"""Followers: what a subscribe, SCAN or unsubscribe push does to one follower of an Official Account, purely.

One follower per app and openid holds the status and the first/last scene; the transition of each push is computed
here and written by the callback with a version condition (store.followers), so concurrent pushes of one user are
applied one after the other. Deliveries can arrive out of order: `status_at` (the push's CreateTime) orders them,
and a push older than the stored status changes nothing. Referral credit is decided here too (`credit_referral`).

Within one second. CreateTime counts whole seconds, so an unsubscribe and a subscribe or SCAN of one user can carry
the same CreateTime, and WeChat may deliver (and retry) them in either order. Within one second the unsubscribe
is taken to come first: the user ends up following, whichever push arrives first. Leaving takes the account's
menu and a confirmation while following back is one tap on the same page, so "left, then followed again" is
what fits in one second, not the reverse; and a SCAN push only ever goes to a follower, so it proves the user
follows in that second. Pushes are thus ordered by (CreateTime, unsubscribe before subscribe/SCAN), and the
stored status is that of the latest push in this order whatever the arrival order; an unsubscribe in the same
second as the stored follow is a stale push (nothing changes, nothing is counted).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from wxfunnel.domain.channels import Channel, Referrer

DIRECT = "(direct)"  # the scene of follows that did not come through a parametric QR code


class Status(StrEnum):
    SUBSCRIBED = "subscribed"
    UNSUBSCRIBED = "unsubscribed"


class Change(StrEnum):
    NEW_FOLLOWER = "new_follower"  # first follow ever known to wxfunnel
    RETURNING_FOLLOWER = "returning_follower"  # follows again after an unfollow
    SCAN = "scan"  # an existing follower scanned a code
    UNFOLLOW = "unfollow"
    NONE = "none"  # a repeat or a stale (out-of-order) push: nothing changes


@dataclass(frozen=True, slots=True)
class Follower:
    """A follower of an app: their status and the scenes of their first and latest follow."""

    app: str
    openid: str
    status: Status
    status_at: int  # CreateTime of the push that set the status (orders out-of-order deliveries)
    first_scene: str | None = None  # first touch: the scene of the first follow
    follow_scene: str | None = (
        None  # the scene of the current (latest) follow; unfollows are counted against it
    )
    last_scene: str | None = None  # last touch: the latest follow or scan scene
    first_subscribed_at: int | None = None
    subscribed_at: int | None = None
    unsubscribed_at: int | None = None
    follow_count: int = 0
    scan_count: int = 0
    referred_by: str | None = None
    version: int = 0
    # Who the current follow counts for (the channel's promoter and team at that time): unfollows count against them.
    follow_promoter: str | None = None
    follow_team: str | None = None


@dataclass(frozen=True, slots=True)
class Transition:
    """What one push did to a follower, and what it counts against."""

    change: Change
    after: Follower | None  # None: the push leaves the profile untouched
    scene: str | None  # the subject the change counts against (stats): a scene (of its generation), or DIRECT
    touched_scene: str | None  # a QR scene this push touched (opt-in record)
    promoter: str | None = None  # the promoter the change also counts for
    team: str | None = None  # and their team
    # The promoter (channel.credited_promoter, "" for none) and referrer this follow newly credits; set only by
    # credit_referral, so everything that acts on a credit (the referrals counters, the referrer's notice) reads it
    # here and none decides it again.
    credited: tuple[str, Referrer] | None = None

    @property
    def counts(self) -> dict[str, int]:
        return {
            Change.NEW_FOLLOWER: {"new_followers": 1},
            Change.RETURNING_FOLLOWER: {"returning_followers": 1},
            Change.SCAN: {"scans": 1},
            Change.UNFOLLOW: {"unfollows": 1},
        }.get(self.change, {})


def is_latest(before: Follower | None, at: int) -> bool:
    """Whether a subscribe or SCAN push of `at` is not older than the follower's stored status: nothing of theirs
    came later. The same second is not older (an unfollow of that second came first, module docstring)."""
    return before is None or at >= before.status_at


def follow(before: Follower | None, app: str, openid: str, scene: str | None, at: int) -> Transition:
    """A `subscribe` push (scene None for a plain follow)."""
    counted = scene or DIRECT
    if not is_latest(before, at):
        return Transition(Change.NONE, None, None, scene)  # stale: it changes nothing
    if before is not None and before.status is Status.SUBSCRIBED:
        # Already following (a repeat, or an unfollow we never saw): refresh the touch, count nothing.
        after = replace(
            before, status_at=at, last_scene=scene or before.last_scene, version=before.version + 1
        )
        return Transition(Change.NONE, after, None, scene)
    if before is None or before.first_subscribed_at is None:
        base = before or Follower(app=app, openid=openid, status=Status.UNSUBSCRIBED, status_at=at)
        after = replace(
            base,
            status=Status.SUBSCRIBED,
            status_at=at,
            first_scene=counted,
            follow_scene=counted,
            last_scene=scene or base.last_scene,
            first_subscribed_at=at,
            subscribed_at=at,
            follow_count=base.follow_count + 1,
            version=base.version + 1,
        )
        return Transition(Change.NEW_FOLLOWER, after, counted, scene)
    after = replace(
        before,
        status=Status.SUBSCRIBED,
        status_at=at,
        follow_scene=counted,
        last_scene=scene or before.last_scene,
        subscribed_at=at,
        follow_count=before.follow_count + 1,
        version=before.version + 1,
    )
    return Transition(Change.RETURNING_FOLLOWER, after, counted, scene)


def scan(before: Follower | None, app: str, openid: str, scene: str, at: int) -> Transition:
    """A `SCAN` push: only followers get it, so it also proves the user follows."""
    if before is None:
        after = Follower(
            app=app,
            openid=openid,
            status=Status.SUBSCRIBED,
            status_at=at,
            last_scene=scene,
            scan_count=1,
            version=1,
        )
        return Transition(Change.SCAN, after, scene, scene)
    status, status_at = before.status, before.status_at
    if is_latest(before, at):
        # A scan proves the user follows at `at`: a later-delivered unfollow, older or of the same second, must
        # not overturn that.
        status, status_at = Status.SUBSCRIBED, at
    after = replace(
        before,
        status=status,
        status_at=status_at,
        last_scene=scene,
        scan_count=before.scan_count + 1,
        version=before.version + 1,
    )
    return Transition(Change.SCAN, after, scene, scene)


def unfollow(before: Follower | None, app: str, openid: str, at: int) -> Transition:
    if before is None:
        after = Follower(
            app=app, openid=openid, status=Status.UNSUBSCRIBED, status_at=at, unsubscribed_at=at, version=1
        )
        return Transition(Change.NONE, after, None, None)
    if before.status is Status.UNSUBSCRIBED:
        if at > before.status_at:
            return Transition(
                Change.NONE, replace(before, status_at=at, version=before.version + 1), None, None
            )
        return Transition(Change.NONE, None, None, None)
    if at <= before.status_at:
        # Followed in this second or later: within one second the unsubscribe came first (module docstring).
        return Transition(Change.NONE, None, None, None)
    after = replace(
        before, status=Status.UNSUBSCRIBED, status_at=at, unsubscribed_at=at, version=before.version + 1
    )
    return Transition(Change.UNFOLLOW, after, before.follow_scene or DIRECT, None)


def attribute(transition: Transition, before: Follower | None, channel: Channel | None) -> Transition:
    """Who a change counts for: the channel's subject (a reassigned scene counts for its new channel), its promoter
    and team; an unfollow counts against those of the follow it ends (kept on the follower)."""
    change, after = transition.change, transition.after
    if change is Change.UNFOLLOW and before is not None:
        return replace(transition, promoter=before.follow_promoter, team=before.follow_team)
    if channel is None or after is None or change is Change.NONE:
        return transition
    promoter, team = channel.credited_promoter, channel.team
    if change is Change.SCAN:
        return replace(transition, scene=channel.subject, promoter=promoter, team=team)
    # first_scene and last_scene stay the scene (reminders select on it); follow_scene is what unfollows count against.
    followed = replace(after, follow_scene=channel.subject, follow_promoter=promoter, follow_team=team)
    return replace(transition, after=followed, scene=channel.subject, promoter=promoter, team=team)


def credit_referral(transition: Transition, channel: Channel | None, openid: str) -> Transition:
    """A first follow through a referrer's code credits the referrer once; self-referral never counts.

    Returning followers, scans and repeats credit nobody (only Change.NEW_FOLLOWER does), and a follower already
    credited is never credited again, so a follower is credited at most once, to the channel of their first follow.
    The credit is `transition.credited`; the follower keeps who referred them in `referred_by`.
    """
    referrer = channel.referrer if channel else None
    after = transition.after
    if transition.change is not Change.NEW_FOLLOWER or referrer is None or after is None or channel is None:
        return transition
    if after.referred_by is not None or (referrer.openid and referrer.openid == openid):
        return transition
    return replace(
        transition,
        after=replace(after, referred_by=referrer.openid or referrer.name),
        credited=(channel.credited_promoter or "", referrer),
    )
