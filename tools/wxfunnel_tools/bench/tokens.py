"""Token requests per wave of N concurrent cold callers, and time to a cold container's first API call
(`wxfunnel_tools.bench_client.bench_tokens`, the client's own benchmark, on moto + the WeChat sandbox)."""

from __future__ import annotations

import contextlib
import io

from wxfunnel_tools.bench.report import Section


def run(waves: list[int]) -> Section:
    section = Section(
        "access token: requests per wave of N concurrent cold callers (moto + sandbox)",
        (
            "N callers",
            "token requests",
            "after invalidation",
            "wave s",
            "failures",
            "1st call ms, cached token",
            "1st call ms, no token",
        ),
    )
    try:
        from wxfunnel_tools.bench_client import bench_tokens
    except ImportError:
        section.notes.append("wxfunnel_tools.bench_client is not available: skipped")
        return section
    for n in waves:
        with contextlib.redirect_stdout(io.StringIO()):
            result = bench_tokens(n)
        section.add(
            n,
            result["token_requests_first_wave"],
            result["token_requests_after_invalidation"],
            f"{result['wave_seconds']['first']:.2f} / {result['wave_seconds']['after_invalidation']:.2f}",
            result["failures"],
            f"{result['first_call_ms_cached_token']['median']:.1f} (max {result['first_call_ms_cached_token']['max']:.1f})",
            f"{result['first_call_ms_no_token']['median']:.1f} (max {result['first_call_ms_no_token']['max']:.1f})",
        )
    section.notes.append(
        "each caller is a fresh WeChatClient sharing the tokens table; minimum = 1 per wave. First call = "
        "getcallbackip on a cold client: cached = one GetItem, no token = stable_token + lease writes."
    )
    return section
