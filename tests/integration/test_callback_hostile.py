"""Hostile pushes: each is refused with a clear 4xx, never a 500, and nothing is written."""

from __future__ import annotations

import base64
import time

import pytest

from wxfunnel import crypto
from wxfunnel_tools.devapps import DEV_APPS
from wxfunnel_tools.pushes import callback_event, message, signed_push, to_xml
from wxfunnel_tools.testing import table_items

OA, MP = "demo-oa", "demo-mp"
OA_ID = DEV_APPS[OA]["original_id"]


def _text(**kwargs):
    return message("text", openid="o-evil", to_user=OA_ID, msg_id=9, Content="hi", **kwargs)


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
