"""Warm per-message processing time of the callback, against the floor (sha1 + AES + parse) and wechatpy.

Four payloads: plaintext XML and safe-mode XML (the OA), plaintext JSON and safe-mode JSON (the MP), each a
text message. Measured on the same payload:
- floor     the least any implementation must do: signature sha1, (envelope parse, msg_signature sha1,
            base64 + AES-CBC + unpad,) parse of the message; one prepared Cipher, as ours keeps;
- wechatpy  the same work with wechatpy (check_signature / WeChatCrypto.decrypt_message + parse_message);
- ours      `wxfunnel.entry.intake.receive` (checks, parse, typed message, flow decision, reply), with the DynamoDB
            client and the outbox replaced by no-op stubs: our code without AWS round trips;
- handler   the whole CallbackFunction handler (API Gateway event in, proxy response out: Powertools resolver,
            logger context, metrics flush) with the same stubs;
- +moto     the whole handler with in-process moto doing the DynamoDB/SQS calls (fresh message each time).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import xmltodict

from wxfunnel_tools.bench.report import Section, quantile

OA, MP = "demo-oa", "demo-mp"


@dataclass(frozen=True)
class Variant:
    label: str
    app: str
    fmt: str  # xml | json
    mode: str  # plain | safe


VARIANTS = (
    Variant("plaintext XML (OA)", OA, "xml", "plain"),
    Variant("safe-mode XML (OA)", OA, "xml", "safe"),
    Variant("plaintext JSON (MP)", MP, "json", "plain"),
    Variant("safe-mode JSON (MP)", MP, "json", "safe"),
)


def _fields(app: str, msg_id: int, now: int) -> dict[str, Any]:
    from wxfunnel_tools.devapps import DEV_APPS
    from wxfunnel_tools.pushes import message

    return message(
        "text",
        openid="oBenchUser0000000000000001",
        to_user=DEV_APPS[app]["original_id"],
        create_time=now,
        msg_id=msg_id,
        Content="你好, is anybody there? 12345",
    )


def _push(variant: Variant, msg_id: int, now: int) -> tuple[dict[str, str], bytes]:
    from wxfunnel_tools.devapps import DEV_APPS
    from wxfunnel_tools.pushes import signed_push

    return signed_push(
        DEV_APPS[variant.app],
        _fields(variant.app, msg_id, now),
        fmt=variant.fmt,  # type: ignore[arg-type]
        mode=variant.mode,  # type: ignore[arg-type]
        timestamp=now,
        nonce="1514711492",
    )


def _time(function: Callable[[], object], iterations: int, warmup: int = 200) -> list[float]:
    for _ in range(warmup):
        function()
    samples = []
    clock = time.perf_counter_ns
    for _ in range(iterations):
        started = clock()
        function()
        samples.append((clock() - started) / 1000)
    return samples


def floor_function(variant: Variant, query: dict[str, str], body: bytes) -> Callable[[], object]:
    """sha1 signature(s), base64 + AES + unpad (safe mode), parse: nothing else."""
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    from wxfunnel_tools.devapps import DEV_APPS

    app = DEV_APPS[variant.app]
    token = app["token"]
    key = base64.b64decode(app["encoding_aes_key"] + "=")
    cipher = Cipher(algorithms.AES(key), modes.CBC(key[:16]))
    ts, nonce = query["timestamp"], query["nonce"]
    loads: Callable[[bytes], object] = json.loads if variant.fmt == "json" else xmltodict.parse

    def sha1_matches(parts: list[str], given: str) -> bool:
        return hmac.compare_digest(hashlib.sha1("".join(sorted(parts)).encode()).hexdigest(), given)

    if variant.mode == "plain":

        def plain() -> object:
            if not sha1_matches([token, ts, nonce], query["signature"]):
                raise AssertionError("signature")
            return loads(body)

        return plain

    def safe() -> object:
        outer: Any = loads(body)
        encrypt = outer["Encrypt"] if variant.fmt == "json" else outer["xml"]["Encrypt"]
        if not sha1_matches([token, ts, nonce, encrypt], query["msg_signature"]):
            raise AssertionError("msg_signature")
        decryptor = cipher.decryptor()
        plain = decryptor.update(base64.b64decode(encrypt)) + decryptor.finalize()
        plain = plain[: -plain[-1]]
        length = int.from_bytes(plain[16:20], "big")
        return loads(plain[20 : 20 + length])

    return safe


def wechatpy_function(variant: Variant, query: dict[str, str], body: bytes) -> Callable[[], object]:
    from wechatpy import parse_message
    from wechatpy.crypto import WeChatCrypto
    from wechatpy.utils import check_signature

    from wxfunnel_tools.devapps import DEV_APPS

    app = DEV_APPS[variant.app]
    ts, nonce = query["timestamp"], query["nonce"]
    box = WeChatCrypto(app["token"], app["encoding_aes_key"], app["appid"])
    if variant.mode == "plain":
        if variant.fmt == "xml":

            def plain_xml() -> object:
                check_signature(app["token"], query["signature"], ts, nonce)
                return parse_message(body)

            return plain_xml

        def plain_json() -> object:
            check_signature(app["token"], query["signature"], ts, nonce)
            return json.loads(body)

        return plain_json
    if variant.fmt == "xml":

        def safe_xml() -> object:
            return parse_message(box.decrypt_message(body, query["msg_signature"], ts, nonce))

        return safe_xml

    def safe_json() -> object:
        return json.loads(box.decrypt_message(json.loads(body), query["msg_signature"], ts, nonce))

    return safe_json


class _StubDynamo:
    """Answers like DynamoDB for a new message, without a round trip."""

    def put_item(self, **_: Any) -> dict[str, Any]:
        return {}

    def batch_get_item(self, **_: Any) -> dict[str, Any]:
        return {"Responses": {}}

    def transact_write_items(self, **_: Any) -> dict[str, Any]:
        return {}


def run(iterations: int, moto_iterations: int) -> Section:
    from wxfunnel_tools.bench.environment import embedded_aws, quiet_logs
    from wxfunnel_tools.template import load_handler

    section = Section(
        "callback: warm per-message time, µs (median / p99)",
        (
            "payload",
            "floor",
            "wechatpy",
            "ours",
            "ours p99",
            "handler",
            "handler p99",
            "+moto",
            "+moto p99",
            "ours/floor",
            "wechatpy/floor",
            "ours/wechatpy",
        ),
    )
    section.notes.append(
        f"{iterations} iterations (moto: {moto_iterations}) after 200 warm-up; floor = sha1 + AES + parse; "
        "ours = intake.receive with DynamoDB/SQS stubbed;"
    )
    section.notes.append(
        "handler = the CallbackFunction handler, AWS stubbed; +moto = the handler with in-process moto "
        "(moto's own cost dominates: not a DynamoDB latency)."
    )
    with embedded_aws(), quiet_logs():
        handler = load_handler("CallbackFunction")
        for variant in VARIANTS:
            section.add(*_measure(variant, handler, iterations, moto_iterations))
    return section


def _measure(
    variant: Variant, handler: Callable[[dict[str, Any], Any], Any], iterations: int, moto_iterations: int
) -> tuple[object, ...]:
    from wxfunnel.entry import delivery, intake
    from wxfunnel.store import base, deliveries
    from wxfunnel_tools.pushes import callback_event

    context = _Context()
    now = int(time.time())
    query, body = _push(variant, 1, now)
    floor = _time(floor_function(variant, query, body), iterations)
    peer = _time(wechatpy_function(variant, query, body), iterations)
    originals = deliveries.dynamodb, base.dynamodb, delivery.outbox.enqueue
    stub = _StubDynamo()
    deliveries.dynamodb = base.dynamodb = lambda: stub  # type: ignore[assignment]
    delivery.outbox.enqueue = _no_enqueue
    try:
        result = intake.receive(variant.app, query, body, now)
        if result.status != 200:
            raise RuntimeError(f"{variant.label}: receive answered {result.status}")
        ours = _time(lambda: intake.receive(variant.app, query, body, now), iterations)
        event = callback_event(variant.app, query, body)
        whole = _time(lambda: handler(event, context), iterations)
    finally:
        deliveries.dynamodb, base.dynamodb, delivery.outbox.enqueue = originals
    fresh = iter(
        [callback_event(variant.app, *_push(variant, 10_000 + i, now)) for i in range(moto_iterations + 50)]
    )
    with_moto = _time(lambda: _checked(handler(next(fresh), context)), moto_iterations, warmup=50)
    f, p, o = (quantile(s, 0.5) for s in (floor, peer, ours))
    return (
        variant.label,
        f,
        p,
        o,
        quantile(ours, 0.99),
        quantile(whole, 0.5),
        quantile(whole, 0.99),
        quantile(with_moto, 0.5),
        quantile(with_moto, 0.99),
        f"{o / f:.2f}x",
        f"{p / f:.2f}x",
        f"{o / p:.2f}x",
    )


def _no_enqueue(jobs: Any) -> None:
    return None


def _checked(response: dict[str, Any]) -> None:
    if response["statusCode"] != 200:
        raise RuntimeError(f"callback answered {response['statusCode']}: {response.get('body')}")


class _Context:
    function_name = "CallbackFunction"
    function_version = "$LATEST"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:CallbackFunction"
    memory_limit_in_mb = 512
    aws_request_id = "bench"
    log_group_name = "/aws/lambda/CallbackFunction"
    log_stream_name = "bench"

    def get_remaining_time_in_millis(self) -> int:
        return 5000
