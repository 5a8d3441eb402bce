"""Lambda's SQS event source mapping, locally: one poller thread per (function, queue) that receives batches,
invokes the handler with a real-shaped SQS event and honours ReportBatchItemFailures; and `drain`."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from wxfunnel_tools.localstack.runtime import InvocationFailed, LocalFunction
from wxfunnel_tools.sqs_events import settle, to_record

ClientFactory = Callable[[], Any]

log = logging.getLogger("wxfunnel_tools.local")


def failed_ids(event: Mapping[str, Any], response: Any) -> set[str] | None:
    """The messageIds to retry per the handler's batch response; None means the whole batch failed.

    Like Lambda: no response or no `batchItemFailures` is full success; an identifier that is empty or not in
    the batch fails the whole batch.
    """
    if not isinstance(response, Mapping):
        return set()
    failures = response.get("batchItemFailures") or []
    batch = {record["messageId"] for record in event["Records"]}
    ids: set[str] = set()
    for item in failures:
        identifier = item.get("itemIdentifier") if isinstance(item, Mapping) else None
        if not identifier or identifier not in batch:
            return None
        ids.add(str(identifier))
    return ids


class Poller:
    """Receives from `queue_url` and invokes `function` with batches of up to `batch_size` records.

    Successful records are deleted; reported failures (and every record of a batch whose invocation failed)
    stay in flight until their visibility timeout, then come back with a higher ApproximateReceiveCount; the
    queue's RedrivePolicy moves them to the dead-letter queue after maxReceiveCount receives.
    """

    def __init__(
        self,
        function: LocalFunction,
        queue_url: str,
        sqs_factory: ClientFactory,
        *,
        batch_size: int = 10,
        wait_seconds: int = 1,
    ) -> None:
        self.function = function
        self.queue_url = queue_url
        self.batch_size = max(1, min(batch_size, 10))
        self.wait_seconds = wait_seconds
        self._sqs_factory = sqs_factory
        self._stopping = threading.Event()
        self._busy = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def busy(self) -> bool:
        """True while a received batch is being handled (its messages are in flight)."""
        return self._busy.is_set()

    def start(self) -> Poller:
        self._thread = threading.Thread(
            target=self._run, name=f"sqs-poller-{self.function.spec.logical_id}", daemon=True
        )
        self._thread.start()
        return self

    def request_stop(self) -> None:
        """Stop receiving after the current long poll or batch (`stop` waits for it)."""
        self._stopping.set()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop receiving; waits for the current batch (at most `timeout` seconds)."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _run(self) -> None:
        sqs = self._sqs_factory()
        while not self._stopping.is_set():
            try:
                self.poll_once(sqs)
            except Exception:
                if self._stopping.is_set():
                    return
                log.exception("poller %s: receive failed; retrying", self.function.spec.logical_id)
                self._stopping.wait(1.0)

    def poll_once(self, sqs: Any) -> int:
        """Receive one batch and settle it; returns how many records were handled (0: the queue was empty)."""
        response = sqs.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=self.batch_size,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
            WaitTimeSeconds=self.wait_seconds,
        )
        messages = response.get("Messages") or []
        if not messages:
            return 0
        self._busy.set()
        try:
            event = {"Records": [to_record(message, self.queue_url) for message in messages]}
            self._deliver(sqs, event)
        finally:
            self._busy.clear()
        return len(messages)

    def _deliver(self, sqs: Any, event: dict[str, Any]) -> None:
        name = self.function.spec.logical_id
        try:
            result = self.function.invoke(event)
        except InvocationFailed as exc:
            log.warning(
                "%s: batch of %d failed (%s); all left for redelivery", name, len(event["Records"]), exc
            )
            return
        failed = failed_ids(event, result)
        if failed is None:
            log.warning(
                "%s: invalid batchItemFailures; the whole batch of %d is retried", name, len(event["Records"])
            )
            return
        response = {"batchItemFailures": [{"itemIdentifier": identifier} for identifier in sorted(failed)]}
        settle(sqs, self.queue_url, event, response)
        if failed:
            log.info(
                "%s: %d of %d records reported failed; left for redelivery",
                name,
                len(failed),
                len(event["Records"]),
            )


_COUNTS = [
    "ApproximateNumberOfMessages",
    "ApproximateNumberOfMessagesNotVisible",
    "ApproximateNumberOfMessagesDelayed",
]


def queue_depths(sqs: Any, queue_urls: Iterable[str]) -> dict[str, int]:
    """Visible + in-flight + delayed messages per queue URL."""
    depths: dict[str, int] = {}
    for url in queue_urls:
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=_COUNTS)["Attributes"]
        depths[url] = sum(int(attributes.get(name, 0)) for name in _COUNTS)
    return depths


def drain(sqs: Any, pollers: Iterable[Poller], timeout: float = 30.0, interval: float = 0.1) -> None:
    """Wait until every polled queue is empty with nothing in flight and no poller mid-batch.

    Two consecutive quiet readings are required, so work a handler enqueues while finishing is not missed.
    Raises TimeoutError naming the queues still holding messages (e.g. failures waiting out visibility).
    """
    pollers = list(pollers)
    urls = [poller.queue_url for poller in pollers]
    deadline = time.monotonic() + timeout
    quiet = 0
    depths: dict[str, int] = {}
    while True:
        depths = queue_depths(sqs, urls)
        if not any(depths.values()) and not any(poller.busy for poller in pollers):
            quiet += 1
            if quiet >= 2:
                return
        else:
            quiet = 0
        if time.monotonic() >= deadline:
            pending = ", ".join(
                f"{url.rsplit('/', 1)[-1]}: {count}" for url, count in depths.items() if count
            )
            raise TimeoutError(
                f"queues not drained after {timeout:.0f} s ({pending or 'a batch is still running'})"
            )
        time.sleep(interval)
