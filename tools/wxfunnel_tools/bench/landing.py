"""The landing page of live codes: what a visit costs, how many QR codes a flood of visits makes, and how fast the
page answers over HTTP on the local stack.

- Requests per visit: the real LandingFunction handler on moto (in process) with the WeChat sandbox; DynamoDB
  requests counted on the layer's client (dynamo.Recorder), read/write units computed from the items.
- QR creations: VISITS visits to one live code from several threads, the clock of each visit moving evenly over
  LIFETIMES lifetimes of the channel's code (so across expiries), counted at the sandbox's qrcode/create.
- HTTP: visits over real HTTP through the local stack's API Gateway front, each a new visitor (counted).
"""

from __future__ import annotations

import http.client
import threading
import time
import urllib.parse
from typing import Any

from wxfunnel_tools import examples
from wxfunnel_tools.bench.report import Section, quantile

OA = "demo-oa"
PHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) MicroMessenger/8.0.47"
CODE_LIFE_SECONDS = 1000
LIFETIMES = 2.4  # renewals fall every half-life, a second early at most (expiries are whole seconds)


def _live_code(scene: str, code: str, *, expire_seconds: int | None = None) -> None:
    """A channel without a code (its first visit makes one) and a live code pointing at it."""
    from wxfunnel.domain.channels import timestamp
    from wxfunnel.domain.livecodes import LiveCode
    from wxfunnel.store import channels, livecodes

    stamp = timestamp(time.time())
    channel = examples.channel(
        scene,
        **examples.NO_CODE,
        permanent=False,
        name=f"Store {scene}",
        expire_seconds=expire_seconds,
        created_at=stamp,
        updated_at=stamp,
    )
    channels.put(channel)
    livecodes.create(
        LiveCode(app=OA, code=code, scene=scene, created_at=stamp, updated_at=stamp, channel=channel)
    )


def _event(code: str, cookie: str | None = None, agent: str = PHONE) -> dict[str, Any]:
    from wxfunnel_tools.apigw import proxy_event

    headers = {"User-Agent": agent, "X-Forwarded-Proto": "https"}
    if cookie:
        headers["Cookie"] = cookie
    return proxy_event(
        "GET",
        "/l/{app}/{code}",
        f"/l/{OA}/{code}",
        path_parameters={"app": OA, "code": code},
        headers=headers,
    )


def requests_per_visit() -> Section:
    from wxfunnel.core.aws import dynamodb
    from wxfunnel.store import channels, livecodes
    from wxfunnel_tools.bench.dynamo import Recorder, capacity
    from wxfunnel_tools.bench.environment import embedded_aws, quiet_logs
    from wxfunnel_tools.sandbox import Sandbox
    from wxfunnel_tools.template import load_handler
    from wxfunnel_tools.testing import lambda_context

    section = Section(
        "landing page: DynamoDB per visit (real handler on moto; requests counted on the layer's clients)",
        ("visit", "DynamoDB requests", "operations", "RCU", "WCU", "WeChat calls", "status"),
    )
    sandbox = Sandbox.start()
    sandbox.register_dev_apps()
    base = {"WECHAT_API_BASE": sandbox.api_base, "WECHAT_API_BACKUP_BASE": sandbox.api_base}
    try:
        with embedded_aws({**base, "WECHAT_MP_BASE": sandbox.mp_base}), quiet_logs():
            handler = load_handler("LandingFunction")
            recorder = Recorder()
            recorder.attach(dynamodb(), "dynamodb")
            reader = __import__("boto3").client("dynamodb", region_name="us-east-1")
            _live_code("bench-store", "benchcode1")

            def measure(label: str, event: dict[str, Any]) -> dict[str, Any]:
                recorder.calls.clear()
                before = sandbox.count()
                response: dict[str, Any] = handler(event, lambda_context("LandingFunction"))
                calls = list(recorder.calls)
                rcu, wcu = capacity(calls, reader)
                ops = ", ".join(c["op"] + (f" ({c['error']})" if c["error"] else "") for c in calls)
                wechat = sandbox.count() - before
                section.add(label, len(calls), ops, rcu, wcu, wechat, response["statusCode"])
                return response

            measure("first visit: the channel's code is made", _event("benchcode1"))
            counted = measure("a visitor (counted)", _event("benchcode1"))
            cookie = counted["headers"]["Set-Cookie"].split(";", 1)[0]
            measure("the same visitor again today", _event("benchcode1", cookie))
            measure("a crawler", _event("benchcode1", agent="Googlebot/2.1"))
            measure("an unknown code", _event("nosuchcode"))
            stale = channels.get(OA, "bench-store")
            assert stale is not None and stale.expires_at is not None and stale.expire_seconds
            from dataclasses import replace

            aged = replace(stale, expires_at=int(time.time()) + stale.expire_seconds // 4)
            channels.put(aged)
            live = livecodes.get(OA, "benchcode1")
            assert live is not None
            livecodes.store_channel(live, aged)
            measure("the visit that renews a code past half its life", _event("benchcode1"))
    finally:
        sandbox.stop()
    section.notes.append(
        "A counted visit to a code with life left: one eventually consistent GetItem of the live code (its snapshot "
        "holds the channel, its code and campaign) and one UpdateItem of a sharded visit counter; no WeChat call."
    )
    return section


def creations_across_expiries(visits: int, threads: int) -> Section:
    from wxfunnel.entry import landing
    from wxfunnel_tools.bench.environment import embedded_aws, quiet_logs
    from wxfunnel_tools.sandbox import Sandbox

    section = Section(
        f"landing page: QR codes created for {visits} visits to one live code over {LIFETIMES} code lifetimes",
        (
            "visits",
            "threads",
            "code life s",
            "codes created",
            "qrcode/create calls",
            "answered 200",
            "visits s",
        ),
    )
    sandbox = Sandbox.start()
    sandbox.register_dev_apps()
    base = {"WECHAT_API_BASE": sandbox.api_base, "WECHAT_API_BACKUP_BASE": sandbox.api_base}
    answered: list[int] = []
    lock = threading.Lock()
    try:
        with embedded_aws({**base, "WECHAT_MP_BASE": sandbox.mp_base}), quiet_logs():
            _live_code("flood", "floodcode1", expire_seconds=CODE_LIFE_SECONDS)
            start = time.time()
            span = LIFETIMES * CODE_LIFE_SECONDS
            counter = iter(range(visits))
            take = threading.Lock()

            def work() -> None:
                mine = []
                while True:
                    with take:
                        index = next(counter, None)
                    if index is None:
                        break
                    now = start + span * index / visits  # the visits spread evenly over the simulated time
                    request = landing.Visit(app=OA, code="floodcode1", user_agent=PHONE)
                    mine.append(landing.visit(request, now).status)
                with lock:
                    answered.extend(mine)

            began = time.perf_counter()
            workers = [threading.Thread(target=work) for _ in range(threads)]
            for worker in workers:
                worker.start()
            for worker in workers:
                worker.join()
            elapsed = time.perf_counter() - began
            created = len(sandbox.qr_codes())
            calls = sandbox.count("qrcode/create")
    finally:
        sandbox.stop()
    answered_ok = sum(1 for s in answered if s == 200)
    section.add(visits, threads, CODE_LIFE_SECONDS, created, calls, answered_ok, elapsed)
    section.notes.append(
        "A code is renewed once it has half its life or less left (QR_REUSE_MIN_REMAINING_SHARE): over 2.4 "
        "lifetimes that is the first code and 4 renewals, whatever the number of visits; concurrent "
        "visits that find a renewal under way show the current code (still valid) instead of making another. "
        "Calls beyond the codes created are the client's own retries of a call that timed out (this machine's load)."
    )
    return section


def over_http(visits: int, threads: int) -> Section:
    from wxfunnel.core.aws import dynamodb
    from wxfunnel_tools.bench.dynamo import Recorder
    from wxfunnel_tools.bench.environment import quiet_logs
    from wxfunnel_tools.localstack import LocalStack

    section = Section(
        f"landing page over HTTP on the local stack: {visits} new visitors to one live code, {threads} threads",
        (
            "visits/s",
            "p50 ms",
            "p90 ms",
            "p99 ms",
            "max ms",
            "non-200",
            "DynamoDB requests/visit",
            "WeChat calls",
        ),
    )
    latencies: list[float] = []
    statuses: list[int] = []
    lock = threading.Lock()
    with quiet_logs(), LocalStack() as stack:
        _live_code("http-store", "httpcode01")
        link = urllib.parse.urlsplit(f"{stack.url}/l/{OA}/httpcode01")
        first = http.client.HTTPConnection(link.hostname or "127.0.0.1", link.port, timeout=30)
        first.request("GET", link.path, headers={"User-Agent": PHONE})
        first.getresponse().read()  # the first visit makes the channel's code: not what is measured
        recorder = Recorder()
        recorder.attach(dynamodb(), "dynamodb")
        assert stack.sandbox is not None
        wechat_before = stack.sandbox.count()

        def work(count: int) -> None:
            connection = http.client.HTTPConnection(link.hostname or "127.0.0.1", link.port, timeout=30)
            mine = []
            for _ in range(count):
                started = time.perf_counter()
                connection.request("GET", link.path, headers={"User-Agent": PHONE})
                response = connection.getresponse()
                response.read()
                mine.append((response.status, (time.perf_counter() - started) * 1000))
            with lock:
                statuses.extend(s for s, _ in mine)
                latencies.extend(t for _, t in mine)

        began = time.perf_counter()
        workers = [threading.Thread(target=work, args=(visits // threads,)) for _ in range(threads)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        elapsed = time.perf_counter() - began
        dynamodb_calls = len(recorder.calls)
        wechat = stack.sandbox.count() - wechat_before
    done = len(statuses)
    section.add(
        done / elapsed,
        quantile(latencies, 0.5),
        quantile(latencies, 0.9),
        quantile(latencies, 0.99),
        max(latencies),
        sum(1 for s in statuses if s != 200),
        dynamodb_calls / done,
        wechat,
    )
    section.notes.append(
        "One container of the function, moto serialising DynamoDB, on this machine's cores: a floor, not AWS's "
        'throughput (the README\'s "Limits, by design"). The QR image itself comes from WeChat, not from us.'
    )
    return section


def run(visits: int, http_visits: int, threads: int) -> list[Section]:
    return [requests_per_visit(), creations_across_expiries(visits, threads), over_http(http_visits, threads)]
