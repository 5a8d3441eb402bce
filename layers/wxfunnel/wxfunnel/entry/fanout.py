"""The reminder fan-out: a scene message becomes its shards' first pages; a page (≤ 100 followers) becomes jobs.

Notify enqueues one scene message per scene (domain.reminders); this function expands each into the first page of
every audience shard, so the admin request stays small however many shards a scene has. A page with more followers
re-enqueues its continuation. Every follower is claimed once per notification (store.notifications.claim) after
their job is enqueued, so a follower reached through several scenes, or a redelivered page, is queued and counted
once; the job key `notification#<id>#<openid>` makes the sender send it once even if it was enqueued twice. A page's
counts are added once (store.notifications.count_page): if they keep conflicting with the senders' updates, the page
fails and its redelivery, finding its own claims, counts them then.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from wxfunnel.core.observability import metrics
from wxfunnel.domain import reminders
from wxfunnel.domain.jobs import Job
from wxfunnel.domain.reminders import PageMessage, SceneMessage
from wxfunnel.store import followers, notifications, outbox


class UnknownNotification(LookupError):
    """A page names a notification that is not stored: the page fails (SQS retries it, then its DLQ)."""


def _expand(scene: SceneMessage) -> None:
    """A scene message → the first page of each of its audience shards."""
    notifications.enqueue_fanout([scene.page(shard) for shard in range(followers.AUDIENCE_SHARDS)])


def _page(page: PageMessage) -> None:
    # Strongly consistent: notify wrote the record just before it enqueued the scene this page comes from.
    record = notifications.get(page.notification_id)
    if record is None:
        raise UnknownNotification(f"fan-out page of notification {page.notification_id}, which is not stored")
    found = followers.audience_page(record.app, page.scene, page.touch, page.shard, page.cursor)
    message = record.message.for_follower(record.id)
    jobs = [
        Job(
            kind=record.kind,
            app=record.app,
            openid=openid,
            key=f"notification#{record.id}#{openid}",
            payload=message,
        )
        for openid in found.openids
    ]
    outbox.enqueue(jobs)
    reached = sum(notifications.claim(page, openid, record.ttl) for openid in found.openids)
    if found.cursor is not None:
        notifications.enqueue_fanout([page.next(found.cursor)])
    if notifications.count_page(page, reached, last=found.cursor is None, ttl=record.ttl):
        metrics.add_metric(name="ReminderJobsQueued", unit="Count", value=reached)


def process_message(record: SQSRecord) -> None:
    message = reminders.from_wire(record.body)
    if isinstance(message, SceneMessage):
        _expand(message)
    else:
        _page(message)


def handle(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """A batch of fan-out messages; a failed one is retried alone (partial batch response)."""
    processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
    return dict(
        process_partial_response(
            event=event, record_handler=process_message, processor=processor, context=context
        )
    )
