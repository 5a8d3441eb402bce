"""Uploaded temporary media in TokensTable: a media_id is valid for 3 days, so the same image is uploaded once.

Item `pk = media#<app>#<name>`: `media_id`, `expires_at` (when to stop reusing it), `ttl`. The client names an
upload by the sha256 of its bytes; the sender also names a rule's image by its URL, so a reply with the same image
neither downloads nor uploads it again.
"""

from __future__ import annotations

import time
from typing import Any

from botocore.exceptions import ClientError

from wxfunnel.core.aws import dynamodb
from wxfunnel.core.observability import logger
from wxfunnel.core.settings import settings


def _key(app: str, name: str) -> dict[str, Any]:
    return {"pk": {"S": f"media#{app}#{name}"}}


class MediaCache:
    """TokensTable as the client's and the sender's media cache."""

    def get(self, app: str, name: str) -> str | None:
        item = dynamodb().get_item(TableName=settings().tokens_table, Key=_key(app, name)).get("Item")
        if item and float(item["expires_at"]["N"]) > time.time():
            return str(item["media_id"]["S"])
        return None

    def put(self, app: str, name: str, media_id: str, expires_at: float) -> None:
        """Remember an upload; a failure only costs a later upload, so it is logged, not raised."""
        try:
            dynamodb().put_item(
                TableName=settings().tokens_table,
                Item={
                    **_key(app, name),
                    "media_id": {"S": media_id},
                    "expires_at": {"N": repr(expires_at)},
                    "ttl": {"N": str(int(expires_at))},
                },
            )
        except ClientError:
            logger.warning("could not cache the uploaded media_id", extra={"app": app})
