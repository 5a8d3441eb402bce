"""What a flow sees and says: a Context (the push, the app, the follower's change, the scene's channel) → a Decision.

A flow is pure: it never calls AWS or WeChat. The callback records the follower's state and enqueues the jobs a
decision holds, exactly once per delivery, and renders its passive reply.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from wxfunnel.config.app import AppConfig
from wxfunnel.domain.channels import Channel
from wxfunnel.domain.followers import Transition
from wxfunnel.domain.jobs import Job, JobKind, Payload
from wxfunnel.protocol.messages import Message
from wxfunnel.protocol.replies import Reply


@dataclass(frozen=True, slots=True)
class Context:
    """Everything a flow decides from: it never calls AWS, WeChat or the clock."""

    app: AppConfig
    message: Message
    delivery_key: str  # app-qualified identity of this delivery; job keys derive from it
    transition: Transition | None = None  # what a subscribe/SCAN/unsubscribe did to the follower (OA only)
    channel: Channel | None = None  # the channel record of the push's scene, when there is one
    now: int = 0
    erase_on_unsubscribe: bool = False  # the deployment's EraseOnUnsubscribe

    def job(self, kind: JobKind, payload: Payload, index: int = 0, *, openid: str | None = None) -> Job:
        """A job for the pushing user (or `openid`) whose key derives from this delivery: WeChat's retries cannot
        enqueue it twice."""
        return Job(
            kind=kind,
            app=self.app.name,
            openid=openid or self.message.openid,
            key=f"{self.delivery_key}#{kind.value}#{index}",
            payload=payload,
        )


@dataclass(frozen=True, slots=True)
class Decision:
    """What a flow decided: a passive reply and/or jobs for the sender."""

    reply: Reply | None = None
    jobs: tuple[Job, ...] = field(default=())


NOTHING = Decision()

Flow = Callable[[Context], Decision]
