"""The dispatch point between intake and the product's flows: (account kind, message type) → a flow function.

A flow is pure: it receives what the intake read and decided (the message, the follower's state and its change,
the channel record of the scene) and returns a Decision: a passive reply and/or outbox jobs. It never calls AWS or
WeChat; the intake records and enqueues what it returns, exactly once per delivery.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from wxfunnel.channels import Channel
from wxfunnel.config import AccountKind, AppConfig
from wxfunnel.messages import Message, Reply
from wxfunnel.outbox import Job
from wxfunnel.subscriptions import Transition


@dataclass(frozen=True, slots=True)
class Context:
    app: AppConfig
    message: Message
    delivery_key: str  # app-qualified identity of this delivery; job keys derive from it
    transition: Transition | None = None  # what a subscribe/SCAN/unsubscribe did to the follower (OA only)
    channel: Channel | None = None  # the channel record of the push's scene, when there is one
    now: int = 0

    def job(self, kind: str, app: str, openid: str, payload: dict[str, object], index: int = 0) -> Job:
        """A job whose key is derived from this delivery, so retries of the push cannot enqueue it twice."""
        return Job(
            kind=kind, app=app, openid=openid, key=f"{self.delivery_key}#{kind}#{index}", payload=payload
        )


@dataclass(frozen=True, slots=True)
class Decision:
    reply: Reply | None = None
    jobs: tuple[Job, ...] = field(default=())


NOTHING = Decision()

Flow = Callable[[Context], Decision]
_FLOWS: dict[tuple[AccountKind, str], Flow] = {}


def flow(kind: AccountKind, *message_types: type[Message]) -> Callable[[Flow], Flow]:
    """Register a flow for messages of these types pushed to accounts of this kind."""

    def register(function: Flow) -> Flow:
        for message_type in message_types:
            _FLOWS[(kind, message_type.__name__)] = function
        return function

    return register


def decide(context: Context) -> Decision:
    """Run the flow registered for this push; pushes nobody handles are acknowledged with nothing to say."""
    # Importing registers the product's flows. The callback imports them at init; any other caller (tests, tools)
    # gets them here, on first use (flows imports this module, so this import cannot sit at the top).
    from wxfunnel import flows  # noqa: F401, PLC0415

    function = _FLOWS.get((context.app.kind, type(context.message).__name__))
    return function(context) if function is not None else NOTHING
