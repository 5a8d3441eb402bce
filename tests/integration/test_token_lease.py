"""The token lease: one token per app for all containers, single-flight refresh, compare-and-swap."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from wxfunnel.client import WeChatClient, errors, tokens
from wxfunnel.config.loader import load_app
from wxfunnel.entry.wechat import client_for
from wxfunnel.store.media import MediaCache
from wxfunnel.store.tokens import TokenTable
from wxfunnel_tools.bench_client import cold_wave
from wxfunnel_tools.devapps import DEV_APPS
from wxfunnel_tools.sandbox import Sandbox
from wxfunnel_tools.testing import Aws, cold_start

OA_APPID = "wx0a0a0a0a0a0a0a0a"
MP_APPID = "wx0b0b0b0b0b0b0b0b"
WAVE = 50


def _item(aws: Aws, appid: str) -> dict[str, Any]:
    item: dict[str, Any] = (
        aws.dynamodb.get_item(
            TableName=aws.env["TOKENS_TABLE"], Key={"pk": {"S": f"token#{appid}"}}, ConsistentRead=True
        ).get("Item")
        or {}
    )
    return item


def _put(aws: Aws, appid: str, **attributes: Any) -> None:
    item: dict[str, Any] = {"pk": {"S": f"token#{appid}"}}
    for name, value in attributes.items():
        item[name] = {"S": value} if isinstance(value, str) else {"N": repr(value)}
    aws.dynamodb.put_item(TableName=aws.env["TOKENS_TABLE"], Item=item)


def _cold_client(app: str = "demo-mp") -> WeChatClient:
    """A client with its own memory, like one in a freshly started Lambda container."""
    return WeChatClient(load_app(app), TokenTable(), MediaCache())


# --- one container ----------------------------------------------------------------------------------------


def test_the_first_call_fetches_a_stable_token_and_stores_it(wechat: Sandbox, aws: Aws) -> None:
    client_for("demo-mp").callback_ips()

    [call] = wechat.calls("stable_token")
    assert call.payload == {
        "grant_type": "client_credential",
        "appid": MP_APPID,
        "secret": "***",
        "force_refresh": False,
    }
    item = _item(aws, MP_APPID)
    assert item["token"]["S"] == wechat.tokens_of(MP_APPID)[0]
    assert "lease_holder" not in item and "lease_until" not in item
    expires_at, refresh_at = float(item["expires_at"]["N"]), float(item["refresh_at"]["N"])
    assert 7190 < expires_at - time.time() <= 7200
    assert expires_at - refresh_at == tokens.REFRESH_AHEAD
    assert int(item["ttl"]["N"]) > expires_at


def test_a_container_keeps_its_token_in_memory(wechat: Sandbox, aws: Aws) -> None:
    client = client_for("demo-mp")
    client.callback_ips()
    aws.dynamodb.delete_item(TableName=aws.env["TOKENS_TABLE"], Key={"pk": {"S": f"token#{MP_APPID}"}})

    client.callback_ips()

    assert wechat.token_requests() == 1


def test_a_cold_container_reads_the_shared_token_instead_of_fetching(wechat: Sandbox) -> None:
    client_for("demo-mp").callback_ips()
    cold_start()

    client_for("demo-mp").callback_ips()
    _cold_client().callback_ips()

    assert wechat.token_requests() == 1
    assert wechat.count("getcallbackip", appid=MP_APPID) == 3


def test_classic_token_endpoint_when_configured(wechat: Sandbox, aws: Aws) -> None:
    document = {**DEV_APPS["demo-oa"], "token_endpoint": "classic"}
    aws.ssm.put_parameter(
        Name=f"{aws.env['APPS_PARAMETER_PREFIX']}classic-oa",
        Value=json.dumps(document),
        Type="SecureString",
        Overwrite=True,
    )

    client_for("classic-oa").callback_ips()

    assert wechat.count("stable_token") == 0
    [call] = wechat.calls("token")
    assert call.payload == {"grant_type": "client_credential", "appid": OA_APPID, "secret": "***"}
    assert _item(aws, OA_APPID)["source"]["S"] == "classic"


def test_tokens_are_refreshed_ahead_of_expiry(wechat: Sandbox, aws: Aws) -> None:
    client_for("demo-mp").callback_ips()
    old = _item(aws, MP_APPID)["token"]["S"]
    wechat.advance(7200 - 200)  # WeChat now hands out the next stable token
    now = time.time()
    _put(aws, MP_APPID, token=old, expires_at=now + 200, refresh_at=now - 100)
    cold_start()

    client_for("demo-mp").callback_ips()

    assert wechat.token_requests() == 2
    assert wechat.calls("stable_token")[-1].payload["force_refresh"] is False
    assert _item(aws, MP_APPID)["token"]["S"] != old


def test_while_someone_refreshes_ahead_the_stored_token_is_used(wechat: Sandbox, aws: Aws) -> None:
    client_for("demo-mp").callback_ips()
    token = _item(aws, MP_APPID)["token"]["S"]
    now = time.time()
    _put(
        aws,
        MP_APPID,
        token=token,
        expires_at=now + 200,
        refresh_at=now - 100,
        lease_holder="other",
        lease_until=now + 10,
    )

    _cold_client().callback_ips()

    assert wechat.token_requests() == 1


def test_a_stale_lease_of_a_crashed_container_is_taken_over(wechat: Sandbox, aws: Aws) -> None:
    client = _cold_client()
    started = time.time()
    lease_until = started + 0.5
    _put(aws, MP_APPID, lease_holder="crashed", lease_until=lease_until)

    client.callback_ips()

    # times on one clock, the lease's own expiry the reference: a slow machine cannot shrink the wait measured
    [call] = wechat.calls("stable_token")
    assert call.at >= lease_until, "the token was fetched while the crashed container's lease was still live"
    assert time.time() - started < 5
    assert wechat.token_requests() == 1


def test_waiting_for_a_refresh_elsewhere_is_bounded(
    wechat: Sandbox, aws: Aws, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tokens, "WAIT_SECONDS", 0.3)
    _put(aws, MP_APPID, lease_holder="slow", lease_until=time.time() + 60)

    with pytest.raises(errors.WeChatUnavailable, match="token refresh"):
        _cold_client().callback_ips()
    assert wechat.token_requests() == 0


def test_a_failed_refresh_releases_the_lease(wechat: Sandbox, aws: Aws) -> None:
    wechat.fail_next("stable_token", errcode=-1)

    with pytest.raises(errors.SystemBusy):
        _cold_client().callback_ips()
    assert "lease_holder" not in _item(aws, MP_APPID)

    _cold_client().callback_ips()
    assert wechat.token_requests() == 2


# --- compare-and-swap on a rejected token -----------------------------------------------------------------


def test_a_rejected_token_is_force_refreshed_once_and_the_call_retried(wechat: Sandbox, aws: Aws) -> None:
    client = client_for("demo-mp")
    client.callback_ips()
    first = _item(aws, MP_APPID)["token"]["S"]
    wechat.invalidate_tokens(MP_APPID)

    assert client.callback_ips()

    assert wechat.token_requests() == 2
    assert wechat.calls("stable_token")[-1].payload["force_refresh"] is True
    assert [c.errcode for c in wechat.calls("getcallbackip")] == [0, 40001, 0]
    assert _item(aws, MP_APPID)["token"]["S"] not in {first, ""}


def test_an_expired_token_is_replaced_too(wechat: Sandbox) -> None:
    client = client_for("demo-mp")
    client.callback_ips()
    wechat.expire_tokens(MP_APPID)

    client.callback_ips()

    assert [c.errcode for c in wechat.calls("getcallbackip")] == [0, 42001, 0]


def test_a_token_already_replaced_by_another_container_is_not_replaced_again(wechat: Sandbox) -> None:
    slow, fast = _cold_client(), _cold_client()
    slow.callback_ips()  # holds T1 in memory
    wechat.invalidate_tokens(MP_APPID)
    fast.callback_ips()  # T1 rejected → T2 stored

    slow.callback_ips()  # T1 rejected → finds T2 stored (≠ T1): no refresh

    assert wechat.token_requests() == 2
    assert [c.errcode for c in wechat.calls("getcallbackip")] == [0, 40001, 0, 40001, 0]


def test_the_retry_happens_exactly_once(wechat: Sandbox) -> None:
    client = client_for("demo-mp")
    client.callback_ips()
    wechat.fail_next("getcallbackip", errcode=40001, times=2)

    with pytest.raises(errors.TokenInvalid):
        client.callback_ips()

    assert wechat.count("getcallbackip") == 3


# --- many cold containers at once (the `aws` fixture serialises moto as DynamoDB would) -------------------------------------------------------------------------


def _wave(clients: list[WeChatClient]) -> list[BaseException]:
    return cold_wave(clients)[1]


def test_fifty_cold_containers_cause_one_token_request_and_one_refresh_after_invalidation(
    wechat: Sandbox,
) -> None:
    assert _wave([_cold_client() for _ in range(WAVE)]) == []
    assert wechat.token_requests(MP_APPID) == 1
    assert wechat.count("getcallbackip", appid=MP_APPID) == WAVE

    wechat.invalidate_tokens(MP_APPID)
    assert _wave([_cold_client() for _ in range(WAVE)]) == []

    assert wechat.token_requests(MP_APPID) == 2
    assert wechat.calls("stable_token")[-1].payload["force_refresh"] is True


def test_warm_containers_holding_the_rejected_token_also_cause_one_refresh(wechat: Sandbox) -> None:
    clients = [_cold_client() for _ in range(WAVE)]
    assert _wave(clients) == []
    wechat.invalidate_tokens(MP_APPID)

    assert _wave(clients) == []

    assert wechat.token_requests(MP_APPID) == 2
    assert sum(1 for c in wechat.calls("getcallbackip") if c.errcode == 40001) == WAVE
