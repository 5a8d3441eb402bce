"""Benchmark of the WeChat client's token lease: token requests per wave of cold callers, time to first call.

    python -m wxfunnel_tools.bench_client [n_callers]

Runs on an embedded moto (tables from template.yaml) and a local WeChat sandbox; no network, no AWS account.
"""

from __future__ import annotations

import json
import statistics
import sys
import threading
import time
from typing import Any

from wxfunnel_tools.bench.environment import environment
from wxfunnel_tools.moto_dynamodb import atomic_dynamodb
from wxfunnel_tools.template import cold_start, use_layer

REGION = "us-east-1"


def cold_wave(clients: list[Any]) -> tuple[float, list[BaseException]]:
    """Every client (one per cold container) makes its first API call at the same instant: seconds, failures."""
    barrier = threading.Barrier(len(clients) + 1)
    failures: list[BaseException] = []

    def run(client: Any) -> None:
        barrier.wait()
        try:
            client.callback_ips()
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=run, args=(client,)) for client in clients]
    for thread in threads:
        thread.start()
    barrier.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join(timeout=60)
    return time.perf_counter() - started, failures


def bench_tokens(n_callers: int = 50, repeats: int = 20) -> dict[str, Any]:
    """Token requests caused by `n_callers` concurrent cold callers (first wave, and after the token was
    invalidated), and the time to the first API call of a cold container with vs without a cached token."""
    import boto3
    from moto import mock_aws

    from wxfunnel_tools.devapps import DEV_APPS, seed_apps
    from wxfunnel_tools.sandbox import Sandbox
    from wxfunnel_tools.template import provision

    fake_aws = {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        "POWERTOOLS_LOG_LEVEL": "ERROR",
    }
    sandbox = Sandbox.start()
    sandbox.register_dev_apps()
    appid = DEV_APPS["demo-mp"]["appid"]
    try:
        with environment(fake_aws), mock_aws(), atomic_dynamodb():
            dynamodb = boto3.client("dynamodb", region_name=REGION)
            env = provision(dynamodb, boto3.client("sqs", region_name=REGION))
            seed_apps(boto3.client("ssm", region_name=REGION), env["APPS_PARAMETER_PREFIX"])
            bases = {
                "WECHAT_API_BASE": sandbox.api_base,
                "WECHAT_API_BACKUP_BASE": sandbox.api_base,
                "WECHAT_MP_BASE": sandbox.mp_base,
            }
            with environment({**env, **bases}):
                use_layer()
                cold_start()
                from wxfunnel.client import WeChatClient
                from wxfunnel.config.loader import load_app
                from wxfunnel.core.observability import logger
                from wxfunnel.store.media import MediaCache
                from wxfunnel.store.tokens import TokenTable

                logger.setLevel("ERROR")
                app = load_app("demo-mp")
                first_seconds, first_failures = cold_wave(
                    [WeChatClient(app, TokenTable(), MediaCache()) for _ in range(n_callers)]
                )
                first_requests = sandbox.token_requests(appid)
                sandbox.invalidate_tokens(appid)
                second_seconds, second_failures = cold_wave(
                    [WeChatClient(app, TokenTable(), MediaCache()) for _ in range(n_callers)]
                )
                second_requests = sandbox.token_requests(appid) - first_requests

                def first_call(cached: bool) -> float:
                    if not cached:
                        dynamodb.delete_item(
                            TableName=env["TOKENS_TABLE"], Key={"pk": {"S": f"token#{appid}"}}
                        )
                    client = WeChatClient(app, TokenTable(), MediaCache())
                    started = time.perf_counter()
                    client.callback_ips()
                    return (time.perf_counter() - started) * 1000

                with_cache = [first_call(cached=True) for _ in range(repeats)]
                without_cache = [first_call(cached=False) for _ in range(repeats)]
    finally:
        sandbox.stop()
    return {
        "n_callers": n_callers,
        "token_requests_first_wave": first_requests,
        "token_requests_after_invalidation": second_requests,
        "wave_seconds": {"first": round(first_seconds, 3), "after_invalidation": round(second_seconds, 3)},
        "failures": len(first_failures) + len(second_failures),
        "first_call_ms_cached_token": {
            "median": round(statistics.median(with_cache), 2),
            "max": round(max(with_cache), 2),
        },
        "first_call_ms_no_token": {
            "median": round(statistics.median(without_cache), 2),
            "max": round(max(without_cache), 2),
        },
        "note": "moto + local sandbox: compare the two (GetItem vs stable_token + lease writes)",
    }


if __name__ == "__main__":
    print(json.dumps(bench_tokens(int(sys.argv[1]) if len(sys.argv) > 1 else 50), indent=2))
