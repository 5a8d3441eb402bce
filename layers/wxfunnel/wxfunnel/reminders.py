"""A reminder's record and fan-out messages as notify, fan-out and the sender share them (no pydantic here).

The notification item (`pk = notification#<id>` in NotificationsTable) is written by notify (notifications.py,
which validates the admin request with pydantic); the fan-out reads its message and counts the audience, the
sender counts each job's outcome. Those two run on every reminder and import only this module, so their cold
start does not pay for request validation they never do.

Fan-out messages: notify enqueues one *scene* message per scene, the fan-out expands each into one *page*
message per audience shard (AUDIENCE_SHARDS), and a page re-enqueues its continuation while followers remain.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from wxfunnel.settings import settings
from wxfunnel.subscriptions import AUDIENCE_SHARDS

MESSAGE_VERSION = 1
INDEXES = {"any": "ByTouchedScene", "first": "ByFirstScene", "last": "ByLastScene"}  # touch → GSI
INDEX_KEYS = {
    "ByTouchedScene": "touch_audience",
    "ByFirstScene": "first_audience",
    "ByLastScene": "last_audience",
}


def notification_key(notification: str) -> dict[str, Any]:
    return {"pk": {"S": f"notification#{notification}"}}


def message_of(item: Mapping[str, Any]) -> dict[str, Any]:
    """The template/subscribe message a notification sends (for the fan-out's jobs)."""
    message: dict[str, Any] = json.loads(item["message"]["S"])
    return message


def pages_total(scenes: int) -> int:
    """How many pages (scene × audience shard) must report done before the fan-out is complete."""
    return scenes * AUDIENCE_SHARDS


def scene_message(notification: str, app: str, *, position: int, scene: str, touch: str) -> str:
    """One scene of a reminder: the fan-out turns it into its shard pages (see shard_pages)."""
    return json.dumps(
        {
            "v": MESSAGE_VERSION,
            "kind": "scene",
            "notification_id": notification,
            "app": app,
            "position": position,
            "scene": scene,
            "index": INDEXES[touch],
        },
        separators=(",", ":"),
    )


def shard_pages(scene: Mapping[str, Any]) -> list[str]:
    """The first page of every audience shard of a scene message; page ids are `<position>.<shard>`."""
    return [
        json.dumps(
            {
                "v": MESSAGE_VERSION,
                "kind": "page",
                "notification_id": str(scene["notification_id"]),
                "page": f"{scene['position']}.{shard}",
                "index": str(scene["index"]),
                "audience_key": f"{scene['app']}#{scene['scene']}#{shard}",
                "start_key": None,
            },
            separators=(",", ":"),
        )
        for shard in range(AUDIENCE_SHARDS)
    ]


def record_outcome(notification: str, outcome: str, reason: str | None) -> dict[str, Any]:
    """The counter update for one job's final outcome (part of the sender's completion transaction)."""
    counter = {"sent": "sent", "skipped": "skipped"}.get(outcome, "failed")
    update: dict[str, Any] = {
        "TableName": settings().notifications_table,
        "Key": notification_key(notification),
        "ExpressionAttributeNames": {"#c": counter},
        "ExpressionAttributeValues": {":one": {"N": "1"}},
        "UpdateExpression": "ADD #c :one",
        "ConditionExpression": "attribute_exists(pk)",
    }
    if counter == "failed":
        update["UpdateExpression"] = (
            "ADD #c :one SET failed_reasons.#r = if_not_exists(failed_reasons.#r, :zero) + :one"
        )
        update["ExpressionAttributeNames"]["#r"] = reason or "unknown"
        update["ExpressionAttributeValues"][":zero"] = {"N": "0"}
    return update
