"""The outbox: outbound WeChat work as jobs on an SQS FIFO queue, one ordered group per user, de-duplicated by key."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from wxfunnel.aws import sqs
from wxfunnel.settings import settings

JOB_VERSION = 1
_BATCH = 10
_GROUP_ID = re.compile(r"[!-~]{1,128}")  # SQS: 1-128 characters, letters, digits and punctuation


@dataclass(frozen=True, slots=True)
class Job:
    """One unit of outbound work. `key` is stable across WeChat's and Lambda's retries, so a retry cannot enqueue twice."""

    kind: str
    app: str
    openid: str
    key: str
    payload: Mapping[str, Any] = field(default_factory=dict)

    @property
    def group(self) -> str:
        """The user's FIFO message group: `app#openid`, or its digest when that is no valid group id (too long)."""
        group = f"{self.app}#{self.openid}"
        if _GROUP_ID.fullmatch(group):
            return group
        return hashlib.sha256(group.encode("utf-8", "surrogatepass")).hexdigest()

    @property
    def deduplication_id(self) -> str:
        return hashlib.sha256(self.key.encode("utf-8")).hexdigest()

    def to_body(self) -> str:
        return json.dumps(
            {
                "v": JOB_VERSION,
                "kind": self.kind,
                "app": self.app,
                "openid": self.openid,
                "key": self.key,
                "payload": self.payload,
            },
            ensure_ascii=False,
            separators=(",", ":"),
        )

    @classmethod
    def from_body(cls, body: str) -> Job:
        data = json.loads(body)
        if not isinstance(data, dict) or data.get("v") != JOB_VERSION:
            raise ValueError("not an outbox job of a known version")
        payload = data.get("payload") or {}
        if not isinstance(payload, dict):
            raise ValueError("job payload must be an object")
        return cls(
            kind=str(data["kind"]),
            app=str(data["app"]),
            openid=str(data["openid"]),
            key=str(data["key"]),
            payload=payload,
        )


def enqueue(jobs: Sequence[Job]) -> None:
    """Send jobs to the outbox FIFO queue in batches of ten; raises if any could not be enqueued."""
    url = settings().outbox_queue_url
    for start in range(0, len(jobs), _BATCH):
        chunk = jobs[start : start + _BATCH]
        response = sqs().send_message_batch(
            QueueUrl=url,
            Entries=[
                {
                    "Id": str(index),
                    "MessageBody": job.to_body(),
                    "MessageGroupId": job.group,
                    "MessageDeduplicationId": job.deduplication_id,
                    "MessageAttributes": {"kind": {"DataType": "String", "StringValue": job.kind}},
                }
                for index, job in enumerate(chunk)
            ],
        )
        failed = response.get("Failed") or []
        if failed:
            codes = ", ".join(sorted({str(entry.get("Code")) for entry in failed}))
            raise OutboxUnavailable(f"{len(failed)} of {len(chunk)} jobs were not enqueued ({codes})")


class OutboxUnavailable(RuntimeError):
    """SQS refused some jobs; the caller must fail so the work is retried, never silently dropped."""
