"""A channel's temporary code is renewed once however many requests ask at the same time (entry.channel_codes),
against moto (atomic per request, like DynamoDB) and the WeChat sandbox."""

from __future__ import annotations

import threading
import time
from dataclasses import replace
from typing import Any

import pytest

from wxfunnel.domain.channels import Channel, timestamp
from wxfunnel.entry import channel_codes
from wxfunnel.store import channels
from wxfunnel_tools import examples

OA = "demo-oa"
CREATE = "qrcode/create"


def _channel(scene: str, *, expires_in: int | None, life: int = 1000, ticket: str = "OLD") -> Channel:
    now = time.time()
    channel = examples.channel(
        scene,
        **examples.NO_CODE,
        permanent=False,
        name=f"channel {scene}",
        welcome_message="hello",
        created_at=timestamp(now - 5000),
        updated_at=timestamp(now - 5000),
    )
    if expires_in is None:
        return channel
    return replace(
        channel,
        ticket=ticket,
        url="http://weixin.qq.com/q/old",
        image_url="https://mp.example/old",
        expire_seconds=life,
        expires_at=int(now) + expires_in,
    )


def _concurrently(count: int, call: Any) -> list[Any]:
    results: list[Any] = [None] * count
    barrier = threading.Barrier(count)

    def run(index: int) -> None:
        barrier.wait()
        try:
            results[index] = call()
        except Exception as exc:
            results[index] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_an_expired_code_is_renewed_once_and_every_request_gets_the_new_one(aws: Any, wechat: Any) -> None:
    channels.put(_channel("poster", expires_in=-10))
    results = _concurrently(
        8, lambda: channel_codes.current_code(OA, "poster", expire_seconds=600, wait_seconds=10)
    )
    assert wechat.count(CREATE) == 1
    assert all(isinstance(r, Channel) for r in results), results
    assert {r.ticket for r in results} == {channels.get(OA, "poster").ticket} != {"OLD"}
    stored = channels.get(OA, "poster")
    assert (stored.expire_seconds, stored.name, stored.welcome_message) == (600, "channel poster", "hello")


def test_a_code_past_half_its_life_is_renewed_once_while_the_others_keep_handing_it_out(
    aws: Any, wechat: Any
) -> None:
    channels.put(_channel("poster", expires_in=300, life=1000))  # 30 % of its life left: renew
    results = _concurrently(6, lambda: channel_codes.current_code(OA, "poster", expire_seconds=1000))
    assert wechat.count(CREATE) == 1
    assert all(isinstance(r, Channel) for r in results), results
    tickets = {r.ticket for r in results}
    assert tickets <= {"OLD", channels.get(OA, "poster").ticket} and len(results) == 6
    again = channel_codes.current_code(OA, "poster", expire_seconds=1000)
    assert again.ticket != "OLD" and wechat.count(CREATE) == 1  # reused from now on


def test_a_live_code_is_reused_without_a_wechat_call(aws: Any, wechat: Any) -> None:
    channels.put(_channel("poster", expires_in=900, life=1000))
    assert channel_codes.current_code(OA, "poster", expire_seconds=1000).ticket == "OLD"
    assert wechat.count(CREATE) == 0


def test_a_channel_without_a_code_gets_its_first_one(aws: Any, wechat: Any) -> None:
    channels.put(_channel("store-7", expires_in=None))  # e.g. created in a batch: its code is made on demand
    channel = channel_codes.current_code(OA, "store-7", expire_seconds=2_592_000)
    assert channel.ticket and channel.expire_seconds == 2_592_000
    assert wechat.scene_for_ticket(channel.ticket) == "store-7"


def test_an_edit_made_during_a_renewal_is_kept(
    aws: Any, wechat: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    channels.put(_channel("poster", expires_in=-10))
    real = channel_codes._with_new_code

    def slow(channel: Channel, seconds: int, now: float) -> Channel:
        renamed = replace(channels.get(OA, "poster"), name="renamed by the operator")
        channels.put(renamed)  # the operator edits the channel while WeChat answers
        return real(channel, seconds, now)

    monkeypatch.setattr(channel_codes, "_with_new_code", slow)
    channel_codes.current_code(OA, "poster", expire_seconds=600)
    stored = channels.get(OA, "poster")
    assert stored.name == "renamed by the operator" and stored.ticket != "OLD"


def test_a_refused_renewal_gives_the_lease_back(aws: Any, wechat: Any) -> None:
    channels.put(_channel("poster", expires_in=-10))
    wechat.fail_next(CREATE, errcode=45009)
    with pytest.raises(Exception, match="45009"):
        channel_codes.current_code(OA, "poster", expire_seconds=600)
    assert channel_codes.current_code(OA, "poster", expire_seconds=600).ticket != "OLD"
    assert wechat.count(CREATE) == 2


def test_an_expired_code_waits_for_a_running_renewal_and_a_crashed_ones_lease_lapses(
    aws: Any, wechat: Any
) -> None:
    expired = _channel("poster", expires_in=-10)
    channels.put(expired)
    assert channels.claim_renewal(expired, time.time(), channel_codes.LEASE_SECONDS, "running")
    with pytest.raises(channel_codes.CodePending):  # its code expired and another renewal is under way
        channel_codes.current_code(OA, "poster", expire_seconds=600, wait_seconds=0.3)
    assert wechat.count(CREATE) == 0

    channels.put(expired)
    assert channels.claim_renewal(expired, time.time() - 60, channel_codes.LEASE_SECONDS, "crashed")
    assert channel_codes.current_code(OA, "poster", expire_seconds=600).ticket != "OLD"
    assert wechat.count(CREATE) == 1


def test_an_unknown_scene_is_no_channel_unless_the_caller_makes_one(aws: Any, wechat: Any) -> None:
    with pytest.raises(channel_codes.NoChannel):
        channel_codes.current_code(OA, "nowhere", expire_seconds=600)
    assert wechat.count(CREATE) == 0
