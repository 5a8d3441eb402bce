"""Hostile pushes: each is refused with a clear 4xx, never a 500, and nothing is written."""

from __future__ import annotations

import base64
import time
from collections import Counter

import pytest

from wxfunnel.protocol import crypto
from wxfunnel_tools.devapps import DEV_APPS
from wxfunnel_tools.pushes import callback_event, message, signed_push, to_xml
from wxfunnel_tools.testing import table_items

OA, MP = "demo-oa", "demo-mp"
OA_ID = DEV_APPS[OA]["original_id"]


def _text(**kwargs):
    return message("text", openid="o-evil", to_user=OA_ID, msg_id=9, Content="hi", **kwargs)


def _follow(create_time: int) -> dict:
    return message(
        "event",
        openid="o-evil",
        to_user=OA_ID,
        create_time=create_time,
        Event="subscribe",
        EventKey="qrscene_x",
    )


def _signed_raw(app: str, body: bytes, **extra) -> dict:
    ts, nonce = str(int(time.time())), "31337"
    query = {
        "signature": crypto.signature(DEV_APPS[app]["token"], ts, nonce),
        "timestamp": ts,
        "nonce": nonce,
        **extra,
    }
    return callback_event(app, query, body)


def _encrypted_raw(app: str, encrypt: str, *, fmt: str = "xml") -> dict:
    ts, nonce = str(int(time.time())), "31337"
    token = DEV_APPS.get(app, DEV_APPS[OA])["token"]
    query = {
        "signature": crypto.signature(token, ts, nonce),
        "timestamp": ts,
        "nonce": nonce,
        "encrypt_type": "aes",
        "msg_signature": crypto.signature(token, ts, nonce, encrypt),
    }
    if fmt == "json":
        body = ('{"ToUserName":"gh_x","Encrypt":"%s"}' % encrypt).encode()
    else:
        body = f"<xml><ToUserName><![CDATA[gh_x]]></ToUserName><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>".encode()
    return callback_event(app, query, body)


def _aes(app: str, payload: bytes, pad: int | None = None) -> str:
    """Raw AES-CBC with the app's key and an arbitrary (possibly wrong) padding, to forge broken plaintexts."""
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    key = crypto.aes_key_from_encoding_key(DEV_APPS[app]["encoding_aes_key"])
    n = pad if pad is not None else 32 - len(payload) % 32
    data = payload + bytes([n % 256]) * (n if 0 < n <= 32 else (32 - len(payload) % 32 or 32))
    data = data[: len(data) - len(data) % 16] if len(data) % 16 else data
    encryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    return base64.b64encode(encryptor.update(data) + encryptor.finalize()).decode()


def _plaintext(msg: bytes, appid: str) -> bytes:
    return b"R" * 16 + len(msg).to_bytes(4, "big") + msg + appid.encode()


HOSTILE = {
    "forged signature": (
        403,
        lambda: callback_event(
            OA,
            dict(signed_push(DEV_APPS[OA], _text())[0], signature="0" * 40),
            signed_push(DEV_APPS[OA], _text())[1],
        ),
    ),
    "signature of another token": (
        403,
        lambda: callback_event(OA, *signed_push(dict(DEV_APPS[OA], token="other"), _text())),
    ),
    "replayed old timestamp": (
        403,
        lambda: callback_event(OA, *signed_push(DEV_APPS[OA], _text(), timestamp=int(time.time()) - 3600)),
    ),
    "timestamp from the future": (
        403,
        lambda: callback_event(OA, *signed_push(DEV_APPS[OA], _text(), timestamp=int(time.time()) + 3600)),
    ),
    "timestamp not a number": (
        400,
        lambda: callback_event(OA, dict(signed_push(DEV_APPS[OA], _text())[0], timestamp="12ab"), b"<xml/>"),
    ),
    "missing signature": (
        400,
        lambda: callback_event(OA, {"timestamp": str(int(time.time())), "nonce": "1"}, to_xml(_text())),
    ),
    "empty body": (400, lambda: _signed_raw(OA, b"")),
    "oversized body": (413, lambda: _signed_raw(OA, b"<xml>" + b"A" * (65 * 1024) + b"</xml>")),
    "not xml nor json": (400, lambda: _signed_raw(OA, b"hello there")),
    "truncated xml": (400, lambda: _signed_raw(OA, to_xml(_text())[:-9])),
    "doctype": (
        400,
        lambda: _signed_raw(OA, b"<!DOCTYPE xml [<!ELEMENT xml ANY>]><xml><MsgType>text</MsgType></xml>"),
    ),
    "xxe": (
        400,
        lambda: _signed_raw(
            OA,
            b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><xml><Content>&e;</Content></xml>',
        ),
    ),
    "billion laughs": (
        400,
        lambda: _signed_raw(
            OA, b'<!DOCTYPE l [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;&a;">]><xml><C>&b;</C></xml>'
        ),
    ),
    "deep nesting": (400, lambda: _signed_raw(OA, b"<xml>" + b"<a>" * 50 + b"x" + b"</a>" * 50 + b"</xml>")),
    "wrong root": (400, lambda: _signed_raw(OA, b"<root><MsgType>text</MsgType></root>")),
    "latin-1 body": (400, lambda: _signed_raw(OA, "<xml><Content>caf\xe9</Content></xml>".encode("latin-1"))),
    "json array": (400, lambda: _signed_raw(MP, b"[1,2,3]")),
    "json deep nesting": (400, lambda: _signed_raw(MP, b'{"a":' * 60 + b"1" + b"}" * 60)),
    "missing FromUserName": (
        400,
        lambda: _signed_raw(
            OA, b"<xml><ToUserName>gh</ToUserName><CreateTime>1</CreateTime><MsgType>text</MsgType></xml>"
        ),
    ),
    "CreateTime not a number": (400, lambda: _signed_raw(OA, to_xml(dict(_text(), CreateTime="yesterday")))),
    # A well-signed push whose CreateTime is absurd: it would break the day of the statistics (a 500) and
    # outrank every later push of the follower.
    "follow created in the far future": (
        400,
        lambda: callback_event(OA, *signed_push(DEV_APPS[OA], _follow(10**17))),
    ),
    "follow created in 1970": (400, lambda: callback_event(OA, *signed_push(DEV_APPS[OA], _follow(1)))),
    "text created a day and a minute from now": (
        400,
        lambda: callback_event(OA, *signed_push(DEV_APPS[OA], _text(create_time=int(time.time()) + 86_460))),
    ),
    "text created a day and a minute ago": (
        400,
        lambda: callback_event(OA, *signed_push(DEV_APPS[OA], _text(create_time=int(time.time()) - 86_460))),
    ),
    "FromUserName too long for an openid": (
        400,
        lambda: callback_event(OA, *signed_push(DEV_APPS[OA], dict(_text(), FromUserName="o" * 65))),
    ),
    "FromUserName with characters no openid has": (
        400,
        lambda: callback_event(OA, *signed_push(DEV_APPS[OA], dict(_text(), FromUserName="o#evil/../x"))),
    ),
    "huge field": (400, lambda: _signed_raw(OA, to_xml(dict(_text(), Content="x" * 20000)))),
    "openid parameter differs from FromUserName": (
        400,
        lambda: callback_event(
            OA,
            dict(signed_push(DEV_APPS[OA], _text())[0], openid="o-other"),
            signed_push(DEV_APPS[OA], _text())[1],
        ),
    ),
    "ToUserName of another account": (
        400,
        lambda: callback_event(OA, *signed_push(DEV_APPS[OA], dict(_text(), ToUserName="gh_other"))),
    ),
    "forged msg_signature": (
        403,
        lambda: callback_event(
            OA,
            dict(signed_push(DEV_APPS[OA], _text(), mode="safe")[0], msg_signature="f" * 40),
            signed_push(DEV_APPS[OA], _text(), mode="safe")[1],
        ),
    ),
    "encrypted mode without Encrypt": (
        400,
        lambda: _signed_raw(OA, to_xml(_text()), encrypt_type="aes", msg_signature="a" * 40),
    ),
    "encrypted without msg_signature": (
        400,
        lambda: callback_event(
            OA,
            {
                k: v
                for k, v in signed_push(DEV_APPS[OA], _text(), mode="safe")[0].items()
                if k != "msg_signature"
            },
            signed_push(DEV_APPS[OA], _text(), mode="safe")[1],
        ),
    ),
    "bad base64": (400, lambda: _encrypted_raw(OA, "!!!not base64!!!")),
    "ciphertext not a multiple of 16": (
        400,
        lambda: _encrypted_raw(OA, base64.b64encode(b"x" * 33).decode()),
    ),
    "truncated ciphertext": (
        400,
        lambda: _encrypted_raw(
            OA, _aes(OA, _plaintext(to_xml(_text()), DEV_APPS[OA]["appid"]))[:-24] + "=" * 0
        ),
    ),
    "padding byte zero": (
        400,
        lambda: _encrypted_raw(
            OA, _aes(OA, _plaintext(b"<xml/>", DEV_APPS[OA]["appid"]) + b"\x00" * 6, pad=0)
        ),
    ),
    "wrong appid inside": (
        403,
        lambda: _encrypted_raw(
            OA,
            crypto.MessageCrypto(
                DEV_APPS[OA]["token"], "wx1111111111111111", DEV_APPS[OA]["encoding_aes_key"]
            )
            .encrypt(to_xml(_text()), "1", "1")
            .encrypt,
        ),
    ),
    "encrypted with another key": (
        400,
        lambda: _encrypted_raw(
            OA,
            crypto.MessageCrypto(DEV_APPS[OA]["token"], DEV_APPS[OA]["appid"], "Z" * 43)
            .encrypt(to_xml(_text()), "1", "1")
            .encrypt,
        ),
    ),
    "json envelope with bad base64": (400, lambda: _encrypted_raw(MP, "%%%%", fmt="json")),
    "encrypted to an app without a key": (400, lambda: _encrypted_raw("plain-only", "AAAA")),
    "unknown app": (404, lambda: callback_event("nobody", *signed_push(DEV_APPS[OA], _text()))),
    # A plaintext body is signed by the query string alone: an app in safe mode accepts only the encrypted envelope.
    "correctly signed plaintext push to a safe-mode app": (
        403,
        lambda: callback_event("safe-only", *signed_push(DEV_APPS[OA], _text())),
    ),
    "base64 body that is not base64": (
        400,
        lambda: dict(_signed_raw(OA, b"<xml/>"), isBase64Encoded=True, body="***"),
    ),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_push_is_refused_without_a_write(aws, callback, case, logs):
    import json as _json

    plain_only = {k: v for k, v in DEV_APPS[OA].items() if k != "encoding_aes_key"}
    aws.ssm.put_parameter(
        Name="/wxfunnel/apps/plain-only", Value=_json.dumps(plain_only), Type="SecureString"
    )
    safe_only = {**DEV_APPS[OA], "message_mode": "safe"}
    aws.ssm.put_parameter(Name="/wxfunnel/apps/safe-only", Value=_json.dumps(safe_only), Type="SecureString")
    status, build = HOSTILE[case]
    reply = callback.invoke(build())
    assert reply.status == status, reply.body
    for table in ("DEDUPE_TABLE", "SUBSCRIPTIONS_TABLE", "CHANNELS_TABLE"):
        assert table_items(aws, table) == []
    assert (
        aws.sqs.get_queue_attributes(QueueUrl=aws.env["OUTBOX_QUEUE_URL"], AttributeNames=["All"])[
            "Attributes"
        ]["ApproximateNumberOfMessages"]
        == "0"
    )
    logs = logs()
    for secret in (DEV_APPS[OA]["secret"], DEV_APPS[OA]["encoding_aes_key"], DEV_APPS[OA]["token"]):
        assert secret not in logs
    if status != 404:
        assert "wechat request rejected" in logs


# --- well-signed pushes with outsized fields: answered harmlessly (200), every key written stays bounded --------


def _event(**fields) -> dict:
    return message("event", openid="o-odd", to_user=OA_ID, **fields)


def test_a_menu_event_with_an_eight_kib_key_is_recorded_under_a_bounded_delivery_key(aws, callback):
    reply = callback.push(OA, _event(Event="VIEW", EventKey="https://example.com/" + "p" * 8000))
    assert (reply.status, reply.body) == (200, b"success")
    [record] = table_items(aws, "DEDUPE_TABLE")
    assert len(record["id"]["S"].encode()) < 200


def test_a_follow_whose_scene_is_not_a_scene_counts_as_a_direct_follow(aws, callback):
    reply = callback.push(OA, _event(Event="subscribe", EventKey="qrscene_" + "a" * 1500, Ticket="t"))
    assert reply.status == 200
    [item] = table_items(aws, "SUBSCRIPTIONS_TABLE")  # the profile; no touch of a scene
    assert (item["sk"]["S"], item["status"]["S"], item["first_scene"]["S"]) == (
        "profile",
        "subscribed",
        "(direct)",
    )
    assert all(len(i["sk"]["S"].encode()) <= 1024 for i in table_items(aws, "CHANNELS_TABLE"))


def test_a_scan_whose_scene_is_not_a_scene_changes_nothing(aws, callback):
    reply = callback.push(OA, _event(Event="SCAN", EventKey="a" * 1500, Ticket="t"))
    assert (reply.status, reply.body) == (200, b"success")
    assert table_items(aws, "SUBSCRIPTIONS_TABLE") == []
    assert table_items(aws, "CHANNELS_TABLE") == []
    assert len(table_items(aws, "DEDUPE_TABLE")) == 1


def test_a_flood_of_pushes_to_an_unknown_app_asks_ssm_once(aws, callback):
    from wxfunnel.core.aws import ssm

    calls: list[str] = []

    def count(**_: object) -> None:
        calls.append("GetParameter")

    ssm().meta.events.register("before-call.ssm.GetParameter", count)
    try:
        statuses = {
            callback.invoke(callback_event("nobody", *signed_push(DEV_APPS[OA], _text()))).status
            for _ in range(20)
        }
    finally:
        ssm().meta.events.unregister("before-call.ssm.GetParameter", count)
    assert statuses == {404}
    assert calls == ["GetParameter"]
    assert callback.push(OA, _text()).status == 200  # real apps are still read


def _outbox_groups(aws) -> list[str]:
    groups = []
    while True:
        received = aws.sqs.receive_message(
            QueueUrl=aws.env["OUTBOX_QUEUE_URL"], MaxNumberOfMessages=10, AttributeNames=["MessageGroupId"]
        ).get("Messages", [])
        if not received:
            return groups
        for entry in received:
            groups.append(entry["Attributes"]["MessageGroupId"])
            aws.sqs.delete_message(QueueUrl=aws.env["OUTBOX_QUEUE_URL"], ReceiptHandle=entry["ReceiptHandle"])


def test_the_longest_app_name_and_openid_still_make_one_valid_fifo_group_per_user(aws, callback):
    import json as _json
    import re

    from wxfunnel_tools.devapps import DEMO_RULES

    longest = "m" * 64
    config = {**DEV_APPS[MP], **DEMO_RULES[MP]}
    aws.ssm.put_parameter(Name=f"/wxfunnel/apps/{longest}", Value=_json.dumps(config), Type="SecureString")
    mp_id = DEV_APPS[MP]["original_id"]

    def keyword(app: str, openid: str, msg_id: int) -> dict:
        push = message(
            "text", openid=openid, to_user=mp_id, msg_id=msg_id, Content="666"
        )  # enqueues a follow QR
        return callback_event(app, *signed_push(config, push, fmt="json"))

    for event in (
        keyword(longest, "o" * 64, 1),
        keyword(longest, "o" * 64, 2),
        keyword(longest, "o-other", 3),
    ):
        assert callback.invoke(event).status == 200
    groups = _outbox_groups(aws)
    assert len(groups) == 3
    assert all(re.fullmatch(r"[!-~]{1,128}", group) for group in groups)
    assert f"{longest}#o-other" in groups  # short enough to stay readable
    assert sorted(Counter(groups).values()) == [1, 2]  # one ordered group per user


def test_a_safe_mode_app_still_accepts_its_encrypted_pushes(aws, callback):
    import json as _json

    aws.ssm.put_parameter(
        Name="/wxfunnel/apps/safe-only",
        Value=_json.dumps({**DEV_APPS[OA], "message_mode": "safe"}),
        Type="SecureString",
    )
    query, body = signed_push(DEV_APPS[OA], _text(), mode="safe")
    assert callback.invoke(callback_event("safe-only", query, body)).status == 200
    assert len(table_items(aws, "DEDUPE_TABLE")) == 1
