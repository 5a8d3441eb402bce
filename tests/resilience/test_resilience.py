"""Resilience under retries, concurrency, disorder and WeChat faults: nothing lost, nothing sent twice.

Thousands of mixed pushes (OA follows through many channels, scans, unfollows, keywords; MP keywords and cards;
plaintext and safe mode; XML and JSON) go through the real CallbackFunction, each delivered up to 4 times, some
copies concurrently, all in shuffled order, by several "containers" (threads, each with its own copy of the
handler module). Then the real SenderFunction drains the outbox while the sandbox injects -1, 45015, 45047,
HTTP 500, slow answers (client timeouts), dropped connections, refused connections (the primary base URL
refuses; the client fails over) and token invalidation.

Invariants: every follower's state is the one computed from the pushes (latest CreateTime wins; within one
second, an unsubscribe comes first); every outbound job the pushes promised was done exactly once (the sandbox
recorder) or sits in the dead-letter queue with its reason; token requests stay at the minimum; no push got a 5xx
or a malformed reply.

Scale: WXFUNNEL_RESILIENCE_SCALE (pushes, default 1200) or `pytest --large` (10000).
"""

from __future__ import annotations

import importlib.util
import json
import os
import random
import sys
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import pytest
import xmltodict

from wxfunnel.domain.followers import Status
from wxfunnel.protocol import crypto
from wxfunnel.store.followers import from_item, profile_key
from wxfunnel_tools.apigw import response_body
from wxfunnel_tools.bench.environment import atomic_dynamodb, product_apps
from wxfunnel_tools.devapps import seed_apps
from wxfunnel_tools.pushes import callback_event, message, signed_push
from wxfunnel_tools.sqs_events import make_visible, receive_event, settle
from wxfunnel_tools.template import ROOT, function
from wxfunnel_tools.testing import cold_start, lambda_context, table_items

OA, MP = "demo-oa", "demo-mp"
APPS = product_apps()
OA_ID, MP_ID = APPS[OA]["original_id"], APPS[MP]["original_id"]
OA_APPID, MP_APPID = APPS[OA]["appid"], APPS[MP]["appid"]
CONTAINERS = 6
SEED = 20240607


def _scale(request: pytest.FixtureRequest) -> int:
    if request.config.getoption("--large", default=False):
        return 10_000
    return int(os.environ.get("WXFUNNEL_RESILIENCE_SCALE", "1200"))


# --- the pushes and what they must cause -------------------------------------------------------------------


@dataclass
class Push:
    app: str
    fields: dict[str, Any]
    fmt: str
    mode: str
    deliveries: int
    event: dict[str, Any] = field(default_factory=dict)


def _plan(n: int, rng: random.Random, start: int) -> list[Push]:
    """n pushes: ~60 % OA follower events over ~n/6 users (each user's CreateTimes never decrease, and about one
    in four shares the second of the user's previous event), the rest OA keywords and MP keywords and cards."""
    pushes: list[Push] = []
    oa_users = [f"oRes{i:05d}" for i in range(max(4, n // 6))]
    mp_users = [f"oMp{i:05d}" for i in range(max(4, n // 10))]
    clock: dict[str, int] = defaultdict(lambda: start)
    channels = [f"ch{i}" for i in range(25)] + [f"live.live_id={i}&user_id=1" for i in range(5)]
    for index in range(n):
        roll = rng.random()
        mode = rng.choice(("plain", "safe"))
        if roll < 0.6:
            openid = rng.choice(oa_users)
            clock[openid] += rng.randint(0, 3)
            kind = rng.choices(("subscribe", "SCAN", "unsubscribe"), weights=(5, 3, 2))[0]
            fields: dict[str, Any] = {"Event": kind}
            if kind == "subscribe":
                scene = rng.choice([*channels, None])
                fields.update({"EventKey": f"qrscene_{scene}", "Ticket": "T"} if scene else {"EventKey": ""})
            elif kind == "SCAN":
                fields.update({"EventKey": rng.choice(channels), "Ticket": "T"})
            push_fields = message("event", openid=openid, to_user=OA_ID, create_time=clock[openid], **fields)
            pushes.append(Push(OA, push_fields, "xml", mode, rng.randint(1, 4)))
        elif roll < 0.7:
            openid = rng.choice(oa_users)
            fields = message(
                "text", openid=openid, to_user=OA_ID, create_time=start, msg_id=index, Content="hi"
            )
            pushes.append(Push(OA, fields, "xml", mode, rng.randint(1, 4)))
        else:
            openid = rng.choice(mp_users)
            fmt = rng.choice(("xml", "json"))
            if rng.random() < 0.5:
                content = rng.choice(("666", "help me", "no rule matches this"))
                fields = message(
                    "text", openid=openid, to_user=MP_ID, create_time=start, msg_id=index, Content=content
                )
            else:
                fields = message(
                    "miniprogrampage",
                    openid=openid,
                    to_user=MP_ID,
                    create_time=start,
                    msg_id=index,
                    Title="Live",
                    AppId=MP_APPID,
                    PagePath=f"pages/live/index?live_id={rng.randint(1, 5)}&user_id={rng.randint(1, 9)}",
                    ThumbUrl="",
                    ThumbMediaId="",
                )
            pushes.append(Push(MP, fields, fmt, mode, rng.randint(1, 4)))
    for push in pushes:
        query, body = signed_push(APPS[push.app], push.fields, fmt=push.fmt, mode=push.mode)  # type: ignore[arg-type]
        push.event = callback_event(push.app, query, body)
    return pushes


def expected_states(pushes: list[Push]) -> dict[str, Status]:
    """The follower state each OA user must end in: the latest event decides, by CreateTime and, within one second,
    an unsubscribe before a subscribe or SCAN (domain.followers)."""
    latest: dict[str, tuple[tuple[int, bool], str]] = {}
    for push in pushes:
        if push.app != OA or push.fields["MsgType"] != "event":
            continue
        openid, event = push.fields["FromUserName"], push.fields["Event"]
        order = (int(push.fields["CreateTime"]), event != "unsubscribe")
        if openid not in latest or order > latest[openid][0]:
            latest[openid] = (order, event)
    return {
        openid: Status.UNSUBSCRIBED if event == "unsubscribe" else Status.SUBSCRIBED
        for openid, (_, event) in latest.items()
    }


# --- concurrent containers ---------------------------------------------------------------------------------


def _container_handler(logical_id: str, index: int) -> Callable[[dict[str, Any], Any], Any]:
    """A separate copy of the function's module: its own Powertools resolver, as a separate container has."""
    spec = function(logical_id)
    module_name, attribute = spec.handler.rsplit(".", 1)
    unique = f"_wxfunnel_resilience_{logical_id}_{index}"
    loader = importlib.util.spec_from_file_location(unique, ROOT / spec.code_uri / f"{module_name}.py")
    assert loader is not None and loader.loader is not None
    module = importlib.util.module_from_spec(loader)
    sys.modules[unique] = module
    loader.loader.exec_module(module)
    return getattr(module, attribute)


def _well_formed(push: Push, status: int, body: bytes) -> str | None:
    """None if the reply is one WeChat accepts for this push, else what is wrong with it."""
    if status != 200:
        return f"HTTP {status}"
    if body in (b"", b"success"):
        return None
    try:
        document = json.loads(body) if push.fmt == "json" else xmltodict.parse(body)["xml"]
    except Exception as exc:
        return f"unparseable reply ({type(exc).__name__})"
    if push.mode == "plain":
        return None if "MsgType" in document else "plaintext reply without MsgType"
    app = APPS[push.app]
    box = crypto.MessageCrypto(app["token"], app["appid"], app["encoding_aes_key"])
    try:
        box.verify_and_decrypt(
            document["Encrypt"], document["MsgSignature"], str(document["TimeStamp"]), str(document["Nonce"])
        )
    except (KeyError, crypto.CryptoError) as exc:
        return f"bad encrypted reply ({type(exc).__name__})"
    return None


def deliver(pushes: list[Push], rng: random.Random) -> tuple[list[str], Counter[str]]:
    """Every push delivered `deliveries` times by CONTAINERS threads, shuffled, some copies back to back (so two
    containers get them at once). Returns the problems seen and the replies' status counts."""
    schedule: list[int] = []
    for index, push in enumerate(pushes):
        schedule.extend([index] * push.deliveries)
    rng.shuffle(schedule)
    for position in range(0, len(schedule) - 1, 7):  # pull some repeats next to each other: concurrent copies
        index = schedule[position]
        if pushes[index].deliveries > 1:
            schedule.insert(position + 1, index)
            pushes[index].deliveries += 1
    handlers = [_container_handler("CallbackFunction", i) for i in range(CONTAINERS)]
    problems: list[str] = []
    statuses: Counter[str] = Counter()
    lock = threading.Lock()
    cursor = iter(schedule)

    def container(handler: Callable[[dict[str, Any], Any], Any]) -> None:
        while True:
            with lock:
                index = next(cursor, None)
            if index is None:
                return
            push = pushes[index]
            try:
                response = handler(dict(push.event), lambda_context("CallbackFunction"))
                status, body = response["statusCode"], response_body(response)
            except Exception as exc:  # an invocation error is a 5xx for WeChat
                status, body = 502, repr(exc).encode()
            problem = _well_formed(push, status, body)
            with lock:
                statuses[str(status)] += 1
                if problem:
                    problems.append(f"{push.fields['MsgType']}/{push.fields.get('Event', '')}: {problem}")

    with ThreadPoolExecutor(CONTAINERS) as pool:
        list(pool.map(container, handlers))
    return problems, statuses


# --- the sender, under faults ------------------------------------------------------------------------------

FAULTS: list[tuple[str, dict[str, Any]]] = [
    ("message/custom/send", {"errcode": -1, "times": 6}),
    ("message/custom/send", {"errcode": 45015, "times": 2}),
    ("message/custom/send", {"errcode": 45047, "times": 2}),
    ("message/custom/send", {"status": 500, "times": 4}),
    ("message/custom/send", {"drop": True, "times": 2}),  # dropped before an answer: WeChat did not act
    ("qrcode/create", {"errcode": -1, "times": 3}),
    (
        "qrcode/create",
        {"delay": 1.0, "times": 2},
    ),  # the client times out (0.5 s here); a QR is idempotent to retry
    ("stable_token", {"errcode": -1, "times": 2}),
    ("stable_token", {"delay": 1.0, "times": 1}),
    ("tags/members/batchtagging", {"status": 500, "times": 2}),
]


def drain_outbox(aws: Any, wechat: Any, rounds: int = 400) -> None:
    """SenderFunction containers take batches until the outbox is empty; failures come back at once (instead
    of after their backoff), so each job runs through its attempts quickly."""
    sender = _container_handler("SenderFunction", 0)
    url = aws.env["OUTBOX_QUEUE_URL"]
    invalidated = False
    for round_number in range(rounds):
        event = receive_event(aws.sqs, url)
        if event is None:
            attributes = aws.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
            if attributes["ApproximateNumberOfMessagesNotVisible"] == "0":
                return
            time.sleep(0.05)
            continue
        if round_number == 3 and not invalidated:
            wechat.invalidate_tokens(
                MP_APPID
            )  # as if another tool forced a refresh: every token answers 40001
            wechat.invalidate_tokens(OA_APPID)
            invalidated = True
        response = sender(event, lambda_context("SenderFunction"))
        failed = settle(aws.sqs, url, event, response)
        make_visible(aws.sqs, url, event, failed)
    raise AssertionError("the outbox did not drain")


# --- the test ----------------------------------------------------------------------------------------------


@pytest.fixture
def funnel(aws: Any, wechat: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """The dev apps with the product's rules; moto made atomic; the primary WeChat base refuses connections."""
    seed_apps(aws.ssm, aws.env["APPS_PARAMETER_PREFIX"], APPS)
    refusing = wechat.dead_base
    monkeypatch.setenv("WECHAT_API_BASE", refusing)
    monkeypatch.setenv("WECHAT_API_BACKUP_BASE", wechat.api_base)
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "true")
    monkeypatch.setenv("POWERTOOLS_LOG_LEVEL", "WARNING")
    from wxfunnel.client import http

    monkeypatch.setattr(http, "TIMEOUTS", (0.5, 0.5))
    cold_start()
    with atomic_dynamodb():
        yield aws


def test_nothing_lost_nothing_twice(request: pytest.FixtureRequest, funnel: Any, wechat: Any) -> None:
    from wxfunnel.domain.jobs import Job
    from wxfunnel.store import outbox

    aws = funnel
    rng = random.Random(SEED)
    n = _scale(request)
    pushes = _plan(n, rng, int(time.time()) - 60)

    promised: dict[str, Job] = {}
    promised_lock = threading.Lock()
    original_enqueue = outbox.enqueue

    def recording_enqueue(jobs: Any) -> None:
        original_enqueue(jobs)
        with promised_lock:
            for job in jobs:
                promised.setdefault(job.key, job)

    outbox.enqueue = recording_enqueue  # type: ignore[assignment]
    try:
        started = time.perf_counter()
        problems, statuses = deliver(pushes, rng)
        callback_seconds = time.perf_counter() - started
    finally:
        outbox.enqueue = original_enqueue  # type: ignore[assignment]

    # 1. every push answered 200 with a well-formed reply, and the callback never called WeChat
    assert problems == [], f"{len(problems)} bad replies, e.g. {problems[:5]}"
    assert wechat.count() == 0

    # 2. follower state = the state computed from the pushes
    expected = expected_states(pushes)
    table = aws.env["SUBSCRIPTIONS_TABLE"]
    wrong = []
    for openid, status in expected.items():
        item = aws.dynamodb.get_item(TableName=table, Key=profile_key(OA, openid)).get("Item")
        actual = from_item(item).status if item else None
        if actual is not status:
            wrong.append((openid, status, actual))
    assert wrong == [], f"{len(wrong)} of {len(expected)} followers in the wrong state, e.g. {wrong[:5]}"

    # 3. the sender, under faults: every promised job done exactly once or dead-lettered with a reason
    for endpoint, fault in FAULTS:
        wechat.fail_next(endpoint, **fault)
    started = time.perf_counter()
    drain_outbox(aws, wechat)
    sender_seconds = time.perf_counter() - started
    dead = _drain_dlq(aws)
    dead_keys = {record["key"]: record for record in dead}
    assert all(record["reason"] not in ("", "-") for record in dead)
    done = _done_records(aws)
    missing = [key for key in promised if f"job#{key}" not in done]
    assert missing == [], f"{len(missing)} promised jobs never finished"
    failed = {key for key in promised if done[f"job#{key}"] == "failed"}
    assert failed == set(dead_keys), "a failed job is not in the DLQ (or a DLQ entry is not a failed job)"

    # what the users saw, per app, user and channel (a dropped or failed call delivers nothing; the recorder
    # alone cannot tell): exactly one delivery per job done, on the channel its outcome says, none otherwise
    outcomes = {key: done[f"job#{key}"] for key in promised}
    expected_sends: Counter[tuple[str, str, str]] = Counter()
    for key, job in promised.items():
        channel = _delivery_channel(job.kind, outcomes[key])
        if channel is not None:
            expected_sends[APPS[job.app]["appid"], job.openid, channel] += 1
    sends: Counter[tuple[str, str, str]] = Counter(
        (d.appid, d.openid, d.channel) for d in wechat.deliveries()
    )
    extra = {k: sends[k] - expected_sends[k] for k in sends if sends[k] > expected_sends[k]}
    assert extra == {}, f"messages sent more than once: {dict(list(extra.items())[:5])}"
    short = {k: expected_sends[k] - sends[k] for k in expected_sends if sends[k] < expected_sends[k]}
    assert short == {}, f"promised messages never sent: {dict(list(short.items())[:5])}"

    # 4. token requests: one per app, one more per invalidation; a token request that timed out on our side
    #    but was served by WeChat (the slow stable_token fault) may add one
    slow_token_answers = sum(f.get("times", 1) for e, f in FAULTS if e == "stable_token" and "delay" in f)
    issued = {
        appid: sum(
            1 for c in wechat.calls("stable_token", appid) + wechat.calls("token", appid) if c.errcode == 0
        )
        for appid in (OA_APPID, MP_APPID)
    }
    assert sum(issued.values()) <= 2 * 2 + slow_token_answers, f"tokens issued: {issued}"

    print(
        f"\nresilience: {n} pushes, {sum(p.deliveries for p in pushes)} deliveries by {CONTAINERS} containers "
        f"in {callback_seconds:.1f} s ({dict(statuses)}); {len(expected)} followers checked; "
        f"{len(promised)} jobs promised, {len(dead_keys)} dead-lettered "
        f"({Counter(r['reason'] for r in dead)}), sender {sender_seconds:.1f} s; "
        f"token requests {wechat.token_requests(OA_APPID)} (OA) {wechat.token_requests(MP_APPID)} (MP); "
        f"outcomes {Counter(outcomes.values())}"
    )


def _drain_dlq(aws: Any) -> list[dict[str, str]]:
    records = []
    url = aws.env["OUTBOX_DLQ_URL"]
    while (event := receive_event(aws.sqs, url)) is not None:
        for record in event["Records"]:
            attributes = {k: v.get("stringValue", "") for k, v in record["messageAttributes"].items()}
            records.append({"key": json.loads(record["body"])["key"], **attributes})
        settle(aws.sqs, url, event, None)
    return records


def _done_records(aws: Any) -> dict[str, str]:
    """The sender's completion records: `job#<key>` → outcome."""
    return {
        item["id"]["S"]: item["outcome"]["S"]
        for item in table_items(aws, "DEDUPE_TABLE")
        if item["id"]["S"].startswith("job#")
    }


SENT_ON = {  # job kind → the channel its "sent" outcome delivered on (None: the job sends no message)
    "custom_message": "custom",
    "card_qr": "custom",
    "follow_qr": "custom",
    "template": "template",
    "subscribe_message": "subscribe",
    "tag": None,
    "erase_user": None,
}
FALLBACKS = {
    "template_fallback": "template",
    "subscribe_fallback": "subscribe",
}  # window closed: the template


def _delivery_channel(kind: str, outcome: str) -> str | None:
    """The sandbox channel on which a job with this outcome reached its user, or None if it delivered nothing
    (failed: dead-lettered; skipped: nothing to send)."""
    assert kind in SENT_ON, f"unknown job kind {kind!r} (teach this test what it delivers)"
    if outcome in ("failed", "skipped"):
        return None
    if outcome in FALLBACKS:
        assert SENT_ON[kind] == "custom", f"a {kind} job ended {outcome}"
        return FALLBACKS[outcome]
    assert outcome == "sent", f"unknown job outcome {outcome!r} (teach this test what it delivers)"
    return SENT_ON[kind]
