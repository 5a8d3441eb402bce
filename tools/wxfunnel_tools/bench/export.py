"""How far a followers export goes in its function's time: one channel's followers exported by the layer's own code
(entry.admin.followers), its 8 audience shards read one after another (as the paged list and the background export,
ExportFunction, read them: a page at a time, within 15 minutes) or at once (as the export answer does, within the
admin function's 15 s).

DynamoDB is an in-memory stand-in here that answers the export's two requests (the touch index Query, BatchGetItem
of the profiles) in the low-level shape, each after a held round trip: moto's index queries scan the whole table
in Python and would measure moto. botocore's own parsing of real answers is not in these figures, and a reassigned
scene's page costs a third request (its people's touches): read them as an upper bound of the rows one export holds
with the QrCodeFunction's one vCPU (at 512 MB Lambda gives a third of one).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from wxfunnel_tools import examples
from wxfunnel_tools.bench.report import Section
from wxfunnel_tools.template import function

OA = "demo-oa"
SCENE = "门店A/海报"
FOLLOWERS = 20_000
LATENCY_MS = (5, 10)


class _Dynamo:
    """The two requests an export sends, answered from memory after `latency` seconds."""

    def __init__(self, latency: float) -> None:
        from wxfunnel.domain.followers import Follower, Status
        from wxfunnel.store import followers

        self.latency = latency
        self.requests = 0
        self._lock = threading.Lock()
        at = int(time.time()) - 86_400
        self._profiles: dict[str, dict[str, Any]] = {}
        self._audiences: dict[str, list[dict[str, Any]]] = {}
        for index in range(FOLLOWERS):
            openid = f"oBench{index:06d}"
            follower = Follower(
                app=OA,
                openid=openid,
                status=Status.SUBSCRIBED,
                status_at=at,
                first_scene=SCENE,
                follow_scene=SCENE,
                last_scene=SCENE,
                first_subscribed_at=at,
                subscribed_at=at,
                follow_count=1,
                version=1,
            )
            item = followers.to_item(follower)
            self._profiles[item["pk"]["S"]] = item
            audience = followers.audience_key(OA, SCENE, followers.shard_of(openid))
            key = followers.touch_key(OA, openid, SCENE)
            self._audiences.setdefault(audience, []).append({**key, "touch_audience": {"S": audience}})

    def _held(self) -> None:
        with self._lock:
            self.requests += 1
        time.sleep(self.latency)

    def query(self, **request: Any) -> dict[str, Any]:
        self._held()
        entries = self._audiences.get(request["ExpressionAttributeValues"][":k"]["S"], [])
        start = 0
        if "ExclusiveStartKey" in request:
            start = next(i for i, e in enumerate(entries) if e == request["ExclusiveStartKey"]) + 1
        page = entries[start : start + request["Limit"]]
        answer: dict[str, Any] = {"Items": page, "Count": len(page)}
        if start + len(page) < len(entries):
            answer["LastEvaluatedKey"] = page[-1]
        return answer

    def batch_get_item(self, RequestItems: dict[str, Any]) -> dict[str, Any]:
        self._held()
        [(table, request)] = RequestItems.items()
        return {"Responses": {table: [self._profiles[key["pk"]["S"]] for key in request["Keys"]]}}


@contextmanager
def _answered_by(fake: _Dynamo) -> Iterator[None]:
    from wxfunnel.store import base, followers

    saved = base.dynamodb, followers.dynamodb
    base.dynamodb = followers.dynamodb = lambda: fake  # type: ignore[assignment]
    try:
        yield
    finally:
        base.dynamodb, followers.dynamodb = saved


def run() -> Section:
    from wxfunnel.entry import exports as background
    from wxfunnel.entry.admin import followers as export
    from wxfunnel_tools.bench.environment import environment

    budget = function("QrCodeFunction").timeout - export.EXPORT_MARGIN_SECONDS
    background_budget = function("ExportFunction").timeout - background.MARGIN_SECONDS
    section = Section(
        f"followers export: one channel of {FOLLOWERS:,} followers, DynamoDB answering after a held round trip",
        ("round trip ms", "shards read", "rows", "requests", "s", "rows/s", "rows in its function's time"),
    )
    selection = export.Selection(OA, SCENE, (examples.channel(SCENE, name="门店 A 海报"),), tags={})
    with environment({"SUBSCRIPTIONS_TABLE": "bench-subscriptions"}):
        for latency in LATENCY_MS:
            fake = _Dynamo(latency / 1000)
            with _answered_by(fake):
                fake.requests = 0
                started = time.perf_counter()
                pages = export.csv_pages(selection, time.monotonic() + 3600)
                listed = sum(rows for _, rows in pages)
                one_by_one, listed_requests = time.perf_counter() - started, fake.requests
                fake.requests = 0
                started = time.perf_counter()
                body = export._csv(selection, time.monotonic() + 3600)
                at_once, export_requests = time.perf_counter() - started, fake.requests
            written = body.decode("utf-8-sig").count("\n") - 1
            if listed != FOLLOWERS or written != FOLLOWERS:
                raise RuntimeError(f"listed {listed} and exported {written} rows of {FOLLOWERS}")
            for label, seconds, requests, within in (
                ("one after another (background export)", one_by_one, listed_requests, background_budget),
                ("at once (export answer)", at_once, export_requests, budget),
            ):
                rate = FOLLOWERS / seconds
                section.add(
                    latency,
                    label,
                    FOLLOWERS,
                    requests,
                    seconds,
                    rate,
                    f"≈ {int(rate * within):,} in {within:.0f} s",
                )
    section.notes.append(
        "The paged list (GET /followers) and the background export (ExportFunction, 15 min) read shard after shard, "
        "a page at a time; the export answer reads a channel's 8 shards at once, one thread each, and stops with a "
        "422 (export_too_large) before QrCodeFunction's 15 s run out. A page of 100 rows costs one Query and one "
        "BatchGetItem. 'rows in its function's time' extrapolates rows/s over each one's time less its margin."
    )
    return section
