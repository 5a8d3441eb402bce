"""DynamoDB requests, read and write units, and SQS requests per push, counted on the layer's own clients.

Requests are counted with botocore event hooks on `wxfunnel.aws.dynamodb()` / `sqs()` while the real
CallbackFunction handler processes one push on moto. Capacity units are computed from the items with
DynamoDB's published rules (moto does not report them): a write costs ceil(size / 1 KB) WCU per item
(an update: the item's size after it), twice that inside a transaction, 1 WCU for a failed conditional put;
a strongly consistent read ceil(size / 4 KB) RCU per key, at least 1, found or not (half of it eventually
consistent).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

from wxfunnel_tools import examples
from wxfunnel_tools.bench.report import Section

OA, MP = "demo-oa", "demo-mp"


def attribute_size(value: dict[str, Any]) -> int:
    ((kind, data),) = value.items()
    if kind == "S":
        return len(data.encode("utf-8"))
    if kind == "N":
        digits = str(data).lstrip("-").replace(".", "").strip("0") or "0"
        return math.ceil(len(digits) / 2) + 1
    if kind == "B":
        return len(data)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "M":
        return 3 + sum(len(k.encode()) + attribute_size(v) + 1 for k, v in data.items())
    if kind == "L":
        return 3 + sum(attribute_size(v) + 1 for v in data)
    if kind == "SS":
        return sum(len(s.encode("utf-8")) for s in data)
    if kind == "NS":
        return sum(attribute_size({"N": n}) for n in data)
    if kind == "BS":
        return sum(len(b) for b in data)
    raise ValueError(kind)


def item_size(item: dict[str, Any] | None) -> int:
    if not item:
        return 0
    return sum(len(name.encode("utf-8")) + attribute_size(value) for name, value in item.items())


class Recorder:
    """Records every DynamoDB/SQS call the layer's clients make, with its parameters and error code."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def attach(self, client: Any, service: str) -> None:
        def before(params: dict[str, Any], model: Any, **_: Any) -> None:
            self.calls.append({"service": service, "op": model.name, "params": params, "error": None})

        def after(http_response: Any, parsed: dict[str, Any], model: Any, **_: Any) -> None:
            error = (parsed or {}).get("Error", {}).get("Code")
            for call in reversed(self.calls):
                if call["op"] == model.name:
                    call["error"] = error
                    break

        client.meta.events.register(f"provide-client-params.{service}", before)
        client.meta.events.register(f"after-call.{service}", after)


def _key_of(item: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in item.items() if k in ("pk", "sk", "id")}


def capacity(calls: list[dict[str, Any]], reader: Any) -> tuple[float, float]:
    """(RCU, WCU) of the recorded DynamoDB calls; `reader` is an unhooked client to size updated items."""
    rcu = wcu = 0.0

    def current(table: str, key: dict[str, Any]) -> int:
        return item_size(reader.get_item(TableName=table, Key=key, ConsistentRead=True).get("Item"))

    for call in calls:
        op, params, error = call["op"], call["params"], call["error"]
        if call["service"] != "dynamodb":
            continue
        if op == "PutItem":
            wcu += 1 if error else math.ceil(item_size(params["Item"]) / 1024)
        elif op == "UpdateItem":
            wcu += max(1, math.ceil(current(params["TableName"], params["Key"]) / 1024))
        elif op in ("GetItem",):
            unit = 1 if params.get("ConsistentRead") else 0.5
            rcu += unit * max(1, math.ceil(current(params["TableName"], params["Key"]) / 4096))
        elif op == "BatchGetItem":
            for table, request in params["RequestItems"].items():
                for key in request["Keys"]:
                    unit = 1 if request.get("ConsistentRead") else 0.5
                    rcu += unit * max(1, math.ceil(current(table, key) / 4096))
        elif op == "TransactWriteItems":
            for action in params["TransactItems"]:
                ((kind, body),) = action.items()
                size = item_size(body["Item"]) if kind == "Put" else current(body["TableName"], body["Key"])
                wcu += 2 * max(1, math.ceil(size / 1024))
        elif op == "Query":
            rcu += query_capacity(params, reader)
    return rcu, wcu


def query_capacity(params: dict[str, Any], reader: Any) -> float:
    """RCU of one Query page: the size of every item its key condition reads (a filter does not make a read
    cheaper), rounded up to 4 KB, halved unless strongly consistent."""
    replay = {key: value for key, value in params.items() if key not in ("FilterExpression",)}
    names = dict(params.get("ExpressionAttributeNames") or {})
    condition = str(params.get("KeyConditionExpression", ""))
    used = {name for name in names if name in condition}
    if names:
        replay["ExpressionAttributeNames"] = {k: v for k, v in names.items() if k in used} or None
        if not replay["ExpressionAttributeNames"]:
            del replay["ExpressionAttributeNames"]
    values = dict(params.get("ExpressionAttributeValues") or {})
    replay["ExpressionAttributeValues"] = {k: v for k, v in values.items() if k in condition}
    replay.pop("ProjectionExpression", None)
    page = reader.query(**replay)
    size = sum(item_size(item) for item in page.get("Items", []))
    return max(1, math.ceil(size / 4096)) * (1.0 if params.get("ConsistentRead") else 0.5)


def run() -> Section:
    from wxfunnel.core.aws import dynamodb, sqs
    from wxfunnel.store import channels
    from wxfunnel_tools.bench.environment import embedded_aws, quiet_logs
    from wxfunnel_tools.bench.processing import _Context
    from wxfunnel_tools.devapps import DEV_APPS
    from wxfunnel_tools.pushes import callback_event, message, signed_push
    from wxfunnel_tools.template import load_handler

    section = Section(
        "DynamoDB per push (real handler on moto; requests counted on the layer's clients)",
        ("push", "DynamoDB requests", "operations", "RCU", "WCU", "SQS requests", "status"),
    )
    with embedded_aws(), quiet_logs():
        handler = load_handler("CallbackFunction")
        recorder = Recorder()
        recorder.attach(dynamodb(), "dynamodb")
        recorder.attach(sqs(), "sqs")
        reader = __import__("boto3").client("dynamodb", region_name="us-east-1")
        now = int(time.time())
        channels.put(
            examples.channel("promo1", name="Promo 1", welcome_message="Welcome from promo 1", tag="promo")
        )
        oa, mp = DEV_APPS[OA], DEV_APPS[MP]

        def push(app: str, fields: dict[str, Any], mode: str = "safe", fmt: str = "xml") -> Callable[[], Any]:
            query, body = signed_push(DEV_APPS[app], fields, mode=mode, fmt=fmt)  # type: ignore[arg-type]
            event = callback_event(app, query, body)
            return lambda: handler(event, _Context())

        def oa_event(openid: str, event: str, offset: int, **fields: Any) -> dict[str, Any]:
            return message(
                "event",
                openid=openid,
                to_user=oa["original_id"],
                create_time=now + offset,
                Event=event,
                **fields,
            )

        text = push(OA, message("text", openid="oText1", to_user=oa["original_id"], msg_id=1, Content="hi"))
        follow = push(OA, oa_event("oFollow1", "subscribe", 0, EventKey="qrscene_promo1", Ticket="T"))
        plain_follow = push(OA, oa_event("oFollow2", "subscribe", 0, EventKey=""))
        scan = push(OA, oa_event("oFollow1", "SCAN", 5, EventKey="promo1", Ticket="T"))
        unfollow = push(OA, oa_event("oFollow1", "unsubscribe", 10))
        card = push(
            MP,
            message(
                "miniprogrampage",
                openid="oCard1",
                to_user=mp["original_id"],
                msg_id=77,
                Title="Live 10",
                AppId=mp["appid"],
                PagePath="pages/live/index?live_id=10&user_id=5",
                ThumbUrl="",
                ThumbMediaId="",
            ),
            fmt="json",
        )
        keyword = push(
            MP,
            message("text", openid="oKey1", to_user=mp["original_id"], msg_id=78, Content="666"),
            fmt="json",
        )
        scenarios = [
            ("new text message (stateless)", text),
            ("duplicate of that message", text),
            ("new follow via a channel QR", follow),
            ("duplicate of that follow", follow),
            ("new plain follow (no scene)", plain_follow),
            ("SCAN by a follower", scan),
            ("unfollow", unfollow),
            ("MP card (outbox job)", card),
            ("MP keyword 666 (outbox job)", keyword),
        ]
        for label, invoke in scenarios:
            recorder.calls.clear()
            response = invoke()
            calls = list(recorder.calls)
            db = [c for c in calls if c["service"] == "dynamodb"]
            rcu, wcu = capacity(db, reader)
            ops = ", ".join(c["op"] + (f" ({c['error']})" if c["error"] else "") for c in db)
            section.add(
                label,
                len(db),
                ops,
                rcu,
                wcu,
                sum(1 for c in calls if c["service"] == "sqs"),
                response["statusCode"],
            )
    section.notes.append(
        "WCU/RCU computed from item sizes (transactions 2x, updates sized after the write); "
        "on-demand price ≈ WRU/RRU of the same number."
    )
    return section
