"""Admin logic of a channel's welcome sequence: several messages for a follower who arrives through the channel.

PUT /channels/{app}/{scene}/welcome {"messages": [...]}: each message is one of the rules' reply shapes
(docs/rules.md): text, image, link (sent by an Official Account as a one-article news) or miniprogrampage (with
the mini program's appid). A first text is the passive reply of the follow (the channel's `welcome_message`,
followed by the referral text as before); the rest, at most MAX_FOLLOW_UPS, are customer-service messages the
outbox sends in order, exactly once (flows.follow). WeChat lets an account send 3 such messages within a minute
of a follow or a scan. An empty list clears the sequence and the welcome.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from wxfunnel.config.rules import (
    WELCOME_MESSAGE_TYPES,
    ImageAction,
    LinkAction,
    MiniProgramPageAction,
    TextAction,
    parse_message,
)
from wxfunnel.core.fields import Fields
from wxfunnel.domain.channels import Channel, timestamp
from wxfunnel.domain.jobs import MessageSpec, message_to_wire
from wxfunnel.entry.admin.errors import NotFound, ValidationFailed, invalid
from wxfunnel.entry.admin.qrcodes import WELCOME_MAX, known_app, scene_param
from wxfunnel.store import channels

MAX_FOLLOW_UPS = 3  # customer-service messages WeChat accepts within a minute of a follow or scan


def parse_messages(items: list[Fields]) -> tuple[str | None, tuple[MessageSpec, ...]]:
    """(the passive welcome text, the follow-up messages) of a welcome sequence; a 422 names the message at fault."""
    messages: list[MessageSpec] = []
    for data in items:
        message = parse_message(data)
        if not isinstance(message, TextAction | ImageAction | LinkAction | MiniProgramPageAction):
            # parse_message allows no other
            raise data.fail("type", f"must be one of: {', '.join(WELCOME_MESSAGE_TYPES)}")
        if isinstance(message, MiniProgramPageAction) and not message.appid:
            raise data.fail("appid", "is required: the mini program the card opens (linked to the account)")
        messages.append(message)
    welcome = None
    if messages and isinstance(messages[0], TextAction):
        first = messages.pop(0)
        assert isinstance(first, TextAction)
        if len(first.content) > WELCOME_MAX:
            raise items[0].fail(
                "content", f"must be at most {WELCOME_MAX} characters (the first text is the passive reply)"
            )
        welcome = first.content
    if len(messages) > MAX_FOLLOW_UPS:
        raise invalid(
            "messages",
            f"at most {MAX_FOLLOW_UPS} messages after the first text (WeChat accepts 3 within a minute of a follow)",
            rule="max_items",
            params={"max": MAX_FOLLOW_UPS},
        )
    return welcome, tuple(messages)


def view(channel: Channel) -> dict[str, Any]:
    messages: list[dict[str, Any]] = []
    if channel.welcome_message:
        messages.append({"type": "text", "content": channel.welcome_message})
    messages.extend(
        {key: value for key, value in message_to_wire(m).items() if value is not None}
        for m in channel.welcome_sequence
    )
    return {"app": channel.app, "scene": channel.scene, "messages": messages}


def get(app: str, segment: str) -> dict[str, Any]:
    known_app(app)
    scene = scene_param(app, segment)
    channel = channels.get(app, scene)
    if channel is None:
        raise NotFound(f"scene: app '{app}' has no channel with scene '{scene}'", field="scene")
    return view(channel)


def put(app: str, segment: str, body: Any) -> dict[str, Any]:
    """PUT /channels/{app}/{scene}/welcome."""
    known_app(app)
    scene = scene_param(app, segment)
    if not isinstance(body, Mapping):
        raise ValidationFailed("the body must be a JSON object")
    data = Fields.of(body, "", invalid)
    data.only({"messages"})
    if not isinstance(body.get("messages"), list):
        raise invalid("messages", "is required: a list of messages (empty to clear)")
    welcome, sequence = parse_messages(data.children("messages", maximum=MAX_FOLLOW_UPS + 1))
    channel = channels.get(app, scene)
    if channel is None:
        raise NotFound(f"scene: app '{app}' has no channel with scene '{scene}'", field="scene")
    if channel.kind == "card":
        raise invalid(
            "scene",
            f"'{scene}' belongs to a mini-program card reminder (its text is the card rule's)",
            rule="not_operator_channel",
            params={"kind": channel.kind},
        )
    updated = replace(
        channel, welcome_message=welcome, welcome_sequence=sequence, updated_at=timestamp(time.time())
    )
    if not channels.set_welcome(updated):
        raise NotFound(f"scene: app '{app}' has no channel with scene '{scene}'", field="scene")
    return view(updated)
