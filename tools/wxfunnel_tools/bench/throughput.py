"""Local-stack throughput: N mixed signed pushes over real HTTP from a few client threads while the sender
drains the outbox; pushes/s, callback latency p50/p99, and how long the outbox took to drain.

The local stack runs each function as one container (one invocation at a time), so this is the throughput of
one warm callback container plus HTTP, moto and the sandbox, all on this machine's cores: a floor, not AWS's.
"""

from __future__ import annotations

import http.client
import threading
import time
import urllib.parse
from collections.abc import Callable

from wxfunnel_tools.bench.report import Section, quantile

OA, MP = "demo-oa", "demo-mp"


def mixed_pushes(n: int, now: int) -> list[tuple[str, dict[str, str], bytes]]:
    """(app, query, body) of n pushes: OA follows/scans/unfollows/keywords, MP keywords and cards."""
    from wxfunnel_tools.bench.environment import product_apps
    from wxfunnel_tools.pushes import message, signed_push

    apps = product_apps()
    oa_id, mp_id = apps[OA]["original_id"], apps[MP]["original_id"]
    pushes = []
    for i in range(n):
        kind = i % 8
        openid = f"oTp{i:06d}"
        mode = "safe" if i % 2 else "plain"
        if kind == 0:
            app, fmt = OA, "xml"
            fields = message(
                "event",
                openid=openid,
                to_user=oa_id,
                create_time=now,
                Event="subscribe",
                EventKey=f"qrscene_ch{i % 20}",
                Ticket="T",
            )
        elif kind == 1:
            app, fmt = OA, "xml"
            fields = message(
                "event",
                openid=openid,
                to_user=oa_id,
                create_time=now,
                Event="SCAN",
                EventKey=f"ch{i % 20}",
                Ticket="T",
            )
        elif kind == 2:
            app, fmt = OA, "xml"
            fields = message("event", openid=openid, to_user=oa_id, create_time=now, Event="unsubscribe")
        elif kind == 3:
            app, fmt = OA, "xml"
            fields = message("text", openid=openid, to_user=oa_id, create_time=now, msg_id=i, Content="hi")
        elif kind in (4, 5):
            app, fmt = MP, "json" if kind == 4 else "xml"
            fields = message(
                "text",
                openid=openid,
                to_user=mp_id,
                create_time=now,
                msg_id=i,
                Content="666" if i % 3 else "help me",
            )
        else:
            app, fmt = MP, "json" if kind == 6 else "xml"
            fields = message(
                "miniprogrampage",
                openid=openid,
                to_user=mp_id,
                create_time=now,
                msg_id=i,
                Title="Live",
                AppId=apps[MP]["appid"],
                PagePath=f"pages/live/index?live_id={i % 7}&user_id={i}",
                ThumbUrl="",
                ThumbMediaId="",
            )
        query, body = signed_push(apps[app], fields, fmt=fmt, mode=mode, timestamp=now)  # type: ignore[arg-type]
        pushes.append((app, query, body))
    return pushes


def _client(base: str) -> Callable[[str, dict[str, str], bytes], tuple[int, float]]:
    parsed = urllib.parse.urlsplit(base)
    connection = http.client.HTTPConnection(parsed.hostname or "127.0.0.1", parsed.port, timeout=30)

    def post(app: str, query: dict[str, str], body: bytes) -> tuple[int, float]:
        path = f"{parsed.path}/wechat/{app}?{urllib.parse.urlencode(query)}"
        content_type = "application/json" if body.startswith(b"{") else "text/xml"
        started = time.perf_counter()
        connection.request("POST", path, body=body, headers={"Content-Type": content_type})
        response = connection.getresponse()
        response.read()
        return response.status, (time.perf_counter() - started) * 1000

    return post


def run(n: int, threads: int) -> Section:
    from wxfunnel_tools.bench.environment import product_apps, quiet_logs
    from wxfunnel_tools.localstack import LocalStack

    section = Section(
        f"local stack: {n} mixed pushes over HTTP, {threads} client threads, sender draining",
        (
            "pushes/s",
            "p50 ms",
            "p90 ms",
            "p99 ms",
            "max ms",
            "non-200",
            "outbox drained s",
            "WeChat API calls",
        ),
    )
    latencies: list[float] = []
    statuses: list[int] = []
    lock = threading.Lock()
    with quiet_logs(), LocalStack(apps=product_apps()) as stack:
        pushes = mixed_pushes(n, int(time.time()))
        chunks = [pushes[i::threads] for i in range(threads)]

        def work(chunk: list[tuple[str, dict[str, str], bytes]]) -> None:
            post = _client(stack.url)
            mine = [post(*push) for push in chunk]
            with lock:
                statuses.extend(s for s, _ in mine)
                latencies.extend(t for _, t in mine)

        workers = [threading.Thread(target=work, args=(chunk,)) for chunk in chunks]
        started = time.perf_counter()
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        elapsed = time.perf_counter() - started
        try:
            stack.drain(timeout=300)
            drained = f"{time.perf_counter() - started:.1f}"
        except TimeoutError as exc:
            drained = f"timeout ({exc})"
        assert stack.sandbox is not None
        api_calls = stack.sandbox.count()
    section.add(
        n / elapsed,
        quantile(latencies, 0.5),
        quantile(latencies, 0.9),
        quantile(latencies, 0.99),
        max(latencies),
        sum(1 for s in statuses if s != 200),
        drained,
        api_calls,
    )
    section.notes.append(
        "mix per 8 pushes: OA follow via channel, SCAN, unfollow, keyword; MP keyword (666/help) x2, card x2; "
        "half safe mode; XML and JSON. Drained = from the first push until the outbox was empty. moto's "
        "DynamoDB calls are serialised (it is not atomic under concurrent requests; DynamoDB is)."
    )
    return section
