"""The hostile-input corpus across the whole API: every request below is malformed or malicious, and each one
gets its expected status, never a 5xx, never a table write, never an outbox message, never a secret in the logs.

It extends test_callback_hostile.py (the callback's basic refusals) to replays, ciphertext surgery, encodings,
hostile app names, URL verification, the API Gateway front (methods, paths, admin routes without SigV4 or signed
for another region or service, bodies that are not UTF-8 as API Gateway passes them, a burst of 200 simultaneous
connections), the console server's malformed paths and the admin functions' bodies. Handler cases run on moto
through the real handlers; front and console cases over HTTP through the local stack.
"""

from __future__ import annotations

import base64
import json
import socket
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest

from wxfunnel.protocol import crypto
from wxfunnel_tools.admin_client import LOCAL_CREDENTIALS, LOCAL_REGION
from wxfunnel_tools.apigw import proxy_event, response_body
from wxfunnel_tools.devapps import DEV_APPS
from wxfunnel_tools.pushes import callback_event, message, signed_push, to_json, to_xml, verify_event
from wxfunnel_tools.testing import lambda_context, table_items

OA, MP = "demo-oa", "demo-mp"
OA_ID, MP_ID = DEV_APPS[OA]["original_id"], DEV_APPS[MP]["original_id"]
SECRETS = sorted(
    {
        str(app[key])
        for app in DEV_APPS.values()
        for key in ("secret", "token", "encoding_aes_key")
        if app.get(key)
    }
)
TABLES = ("TOKENS_TABLE", "DEDUPE_TABLE", "SUBSCRIPTIONS_TABLE", "CHANNELS_TABLE", "NOTIFICATIONS_TABLE")
FIXED_RANDOM = b"0123456789abcdef"  # deterministic ciphertexts, so each case has one expected status


@dataclass(frozen=True)
class Case:
    target: str  # callback | verify | qrcodes | notify | landing (real handlers on moto) or front (HTTP, local stack)
    status: int
    build: Callable[[], Any]
    field: str | None = None  # the admin error names this field (checked when given)
    # front: SigV4-sign the request with the local credentials, scoped as given (region=…, service=…)
    sign: dict[str, str] | None = None
    reason: str | None = None  # front: the refusal's reason, in the answer or in the functions' logs


def _now() -> str:
    return str(int(time.time()))


def _text(app: str = OA, content: str = "hi") -> dict[str, Any]:
    to_user = OA_ID if app == OA else MP_ID
    return message("text", openid="oEvil", to_user=to_user, msg_id=42, Content=content)


def _signed(
    app: str, body: bytes, *, timestamp: str | None = None, nonce: str = "31337", **extra: str
) -> dict:
    ts = timestamp or _now()
    query = {
        "signature": crypto.signature(DEV_APPS[app]["token"], ts, nonce),
        "timestamp": ts,
        "nonce": nonce,
    }
    query.update(extra)
    return callback_event(app, query, body)


def _box(app: str, appid: str | None = None) -> crypto.MessageCrypto:
    return crypto.MessageCrypto(
        DEV_APPS[app]["token"], appid or DEV_APPS[app]["appid"], DEV_APPS[app]["encoding_aes_key"]
    )


def _sealed(app: str, plaintext: bytes, appid: str | None = None) -> str:
    return _box(app, appid).encrypt(plaintext, "0", "0", random16=FIXED_RANDOM).encrypt


def _raw_aes(app: str, buffer: bytes) -> str:
    """AES-CBC of an arbitrary buffer (a multiple of 16) with the app's key: to forge broken plaintexts."""
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    key = crypto.aes_key_from_encoding_key(DEV_APPS[app]["encoding_aes_key"])
    encryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    return base64.b64encode(encryptor.update(buffer) + encryptor.finalize()).decode()


def _envelope(
    app: str, encrypt: str, *, fmt: str = "xml", ts: str | None = None, nonce: str = "31337"
) -> dict:
    """A safe-mode push carrying `encrypt`, correctly signed (so the crypto layer, not the signature, decides)."""
    ts = ts or _now()
    token = DEV_APPS[app]["token"]
    to_user = OA_ID if app == OA else MP_ID
    query = {
        "signature": crypto.signature(token, ts, nonce),
        "timestamp": ts,
        "nonce": nonce,
        "encrypt_type": "aes",
        "msg_signature": crypto.signature(token, ts, nonce, encrypt),
    }
    outer = {"ToUserName": to_user, "Encrypt": encrypt}
    return callback_event(app, query, to_json(outer) if fmt == "json" else to_xml(outer))


def _buffer(msg: bytes, appid: str, *, declared: int | None = None, pad: int | None = None) -> bytes:
    body = (
        FIXED_RANDOM + (len(msg) if declared is None else declared).to_bytes(4, "big") + msg + appid.encode()
    )
    n = 32 - len(body) % 32 if pad is None else pad
    return body + bytes([n % 256]) * (n if n > 0 else 32 - len(body) % 32)


def _replayed_msg_signature() -> dict:
    """A captured safe-mode push whose Encrypt is swapped for another message's: msg_signature no longer fits."""
    query, body = signed_push(DEV_APPS[OA], _text(), mode="safe", timestamp=int(_now()), nonce="777")
    other = _sealed(OA, to_xml(_text(content="transfer all my money")))
    forged = body.replace(body.split(b"<Encrypt><![CDATA[")[1].split(b"]]>")[0], other.encode())
    return callback_event(OA, query, forged)


def _replayed_signature_new_nonce() -> dict:
    query, body = signed_push(DEV_APPS[OA], _text(), nonce="1111")
    return callback_event(OA, {**query, "nonce": "2222"}, body)


def _padded_ciphertext() -> dict:
    """A valid Encrypt with an extra block appended: the last block's padding byte is now garbage."""
    sealed = base64.b64decode(_sealed(OA, to_xml(_text())))
    return _envelope(OA, base64.b64encode(sealed + sealed[:16]).decode())


def _block_truncated_ciphertext() -> dict:
    sealed = base64.b64decode(_sealed(OA, to_xml(_text())))
    return _envelope(OA, base64.b64encode(sealed[:-16]).decode())


def _mp_json_wrong_appid() -> dict:
    return _envelope(MP, _sealed(MP, to_json(_text(MP)), appid="wx2222222222222222"), fmt="json")


def _oa_key_on_mp() -> dict:
    """The OA's ciphertext (other key, other appid) posted to the MP's URL, correctly signed with the MP token."""
    return _envelope(MP, _sealed(OA, to_json(_text(MP))), fmt="json")


def _verify_with(**query: str) -> Callable[[], dict]:
    def build() -> dict:
        event = verify_event(OA, DEV_APPS[OA]["token"])
        event["queryStringParameters"] = {**event["queryStringParameters"], **query}
        event["queryStringParameters"] = {k: v for k, v in event["queryStringParameters"].items() if v}
        return event

    return build


def _verify_replayed_old() -> dict:
    return verify_event(OA, DEV_APPS[OA]["token"], timestamp=int(_now()) - 30 * 86400)


def _admin(resource: str, path: str, body: str | bytes | None, method: str = "POST", **kwargs: Any) -> dict:
    return proxy_event(
        method,
        resource,
        path,
        body=body,
        headers={"Content-Type": "application/json"},
        iam_user="operator",
        **kwargs,
    )


def _qr(body: str | bytes | None) -> Callable[[], dict]:
    return lambda: _admin("/qrcodes", "/qrcodes", body)


def _notify(body: str | bytes | None) -> Callable[[], dict]:
    return lambda: _admin("/notifications", "/notifications", body)


def _promoter_post(body: str | bytes | None) -> Callable[[], dict]:
    return lambda: _admin("/promoters", "/promoters", body)


def _promoter_get(resource: str, promoter: str, query: dict[str, str] | None = None) -> Callable[[], dict]:
    """A GET of a promoter's route (the id as API Gateway hands it over: decoded, whatever it holds)."""
    path = resource.replace("{app}", OA).replace("{promoter}", promoter)
    parameters = {"app": OA, "promoter": promoter}
    return lambda: _admin(resource, path, None, "GET", path_parameters=parameters, query=query)


def _qr_get(resource: str, path: str, query: dict[str, str] | None = None) -> Callable[[], dict]:
    """A GET of the QR admin API; `{scene}` in `path` is a 2000-character scene (percent-encoding is a no-op)."""
    path = path.replace("{scene}", _LONG_SCENE)
    parameters = {"app": OA, "scene": _LONG_SCENE} if "{scene}" in resource else None
    return lambda: _admin(resource, path, None, "GET", path_parameters=parameters, query=query)


def _live(
    resource: str,
    path: str,
    body: str | bytes | None = None,
    method: str = "POST",
    parameters: dict[str, str] | None = None,
    query: dict[str, str] | None = None,
    content_type: str = "application/json",
) -> Callable[[], dict]:
    """A request to LiveCodeFunction (live codes, campaigns, funnels, welcome sequences, batches)."""
    return lambda: proxy_event(
        method,
        resource,
        path,
        body=body,
        headers={"Content-Type": content_type},
        iam_user="operator",
        path_parameters=parameters,
        query=query,
    )


def _landing(
    app: str, code: str, headers: dict[str, str] | None = None, method: str = "GET"
) -> Callable[[], dict]:
    return lambda: proxy_event(
        method,
        "/l/{app}/{code}",
        f"/l/{app}/{code}",
        path_parameters={"app": app, "code": code},
        headers=headers,
    )


def _token(scene: str) -> str:
    """A next_token as the list API issues them, naming `scene`."""
    return base64.urlsafe_b64encode(json.dumps({"sk": scene}).encode()).decode()


def _push_over_http(body: bytes, content_type: str) -> tuple[str, str, bytes, dict[str, str]]:
    """A push to the OA's callback URL whose query is correctly signed: the body alone decides."""
    ts, nonce = _now(), "31337"
    query = urlencode(
        {"signature": crypto.signature(DEV_APPS[OA]["token"], ts, nonce), "timestamp": ts, "nonce": nonce}
    )
    return ("POST", f"/v1/wechat/{OA}?{query}", body, {"Content-Type": content_type})


_NOT_UTF8_XML = to_xml(_text(content="hi")).replace(b"hi", b"h\xff\xfei")


_QR_OK = {"app": OA, "scene": "spring", "channel": {"name": "Spring", "welcome_message": "hi"}}
_NOTIFY_OK = {
    "request_id": "n-1",
    "app": OA,
    "scenes": ["live.live_id=10"],
    "touch": "any",
    "template_id": "TPL",
    "data": {"thing1": "now"},
}
_DEEP = "[" * 5000 + "]" * 5000
_DEEPER = "[" * 100_000 + "]" * 100_000  # beyond what json.loads can recurse into (RecursionError)
_LONG_SCENE = "s" * 2000  # DynamoDB refuses a sort key over 1024 bytes (moto does not check it)
_SURROGATE = "\ud800"  # a lone surrogate: valid JSON (\\ud800), no UTF-8


def _qr_with(**channel: Any) -> str:
    return json.dumps({**_QR_OK, "channel": {**_QR_OK["channel"], **channel}})


CASES: dict[str, Case] = {
    # --- callback: signatures and replays -------------------------------------------------------------------
    "POST signature replayed with another nonce": Case("callback", 403, _replayed_signature_new_nonce),
    "POST signature of 40 non-hex characters": Case(
        "callback", 403, lambda: _signed(OA, to_xml(_text()), signature="z" * 40)
    ),
    "POST signature far too long": Case(
        "callback", 400, lambda: _signed(OA, to_xml(_text()), signature="a" * 4096)
    ),
    "POST timestamp in milliseconds": Case(
        "callback", 400, lambda: _signed(OA, to_xml(_text()), timestamp=str(int(time.time() * 1000)))
    ),
    "POST negative timestamp": Case("callback", 400, lambda: _signed(OA, to_xml(_text()), timestamp="-1")),
    "POST timestamp with unicode digits": Case(
        "callback", 400, lambda: _signed(OA, to_xml(_text()), timestamp="١٢٣٤")
    ),
    "POST without nonce": Case(
        "callback",
        400,
        lambda: callback_event(
            OA,
            {k: v for k, v in signed_push(DEV_APPS[OA], _text())[0].items() if k != "nonce"},
            to_xml(_text()),
        ),
    ),
    "POST msg_signature replayed over another Encrypt": Case("callback", 403, _replayed_msg_signature),
    "POST safe push replayed after the window": Case(
        "callback",
        403,
        lambda: callback_event(
            OA, *signed_push(DEV_APPS[OA], _text(), mode="safe", timestamp=int(_now()) - 86400)
        ),
    ),
    # --- callback: ciphertext surgery -----------------------------------------------------------------------
    "ciphertext with an extra block appended": Case("callback", 400, _padded_ciphertext),
    "ciphertext missing its last block": Case("callback", 400, _block_truncated_ciphertext),
    "declared length beyond the buffer": Case(
        "callback",
        400,
        lambda: _envelope(OA, _raw_aes(OA, _buffer(b"<xml/>", DEV_APPS[OA]["appid"], declared=10**6))),
    ),
    "declared length zero (empty message)": Case(
        "callback", 400, lambda: _envelope(OA, _raw_aes(OA, _buffer(b"", DEV_APPS[OA]["appid"])))
    ),
    "padding byte 33": Case(
        "callback",
        400,
        lambda: _envelope(OA, _raw_aes(OA, _buffer(b"<xml/>", DEV_APPS[OA]["appid"])[:-1] + b"\x21")),
    ),
    "ciphertext shorter than a header": Case(
        "callback", 400, lambda: _envelope(OA, _raw_aes(OA, bytes([16]) * 16))
    ),
    "MP JSON sealed for another appid": Case("callback", 403, _mp_json_wrong_appid),
    "OA ciphertext posted to the MP": Case("callback", 400, _oa_key_on_mp),
    "JSON inside an XML envelope": Case(
        "callback", 400, lambda: _envelope(OA, _sealed(OA, to_json(_text())))
    ),
    "Encrypt of 60 KB": Case("callback", 400, lambda: _envelope(OA, "QUFB" * 15000)),
    "base64 with embedded whitespace": Case(
        "callback",
        400,
        lambda: _envelope(OA, _sealed(OA, to_xml(_text()))[:20] + "\n" + _sealed(OA, to_xml(_text()))[20:]),
    ),
    # --- callback: documents --------------------------------------------------------------------------------
    "XXE inside the encrypted body": Case(
        "callback",
        400,
        lambda: _envelope(
            OA,
            _sealed(
                OA, b'<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><xml><Content>&e;</Content></xml>'
            ),
        ),
    ),
    "billion laughs inside the encrypted body": Case(
        "callback",
        400,
        lambda: _envelope(
            OA,
            _sealed(
                OA, b'<!DOCTYPE l [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;">]><xml>&b;</xml>'
            ),
        ),
    ),
    "undeclared entity reference": Case(
        "callback", 400, lambda: _signed(OA, b"<xml><Content>&xxe;</Content></xml>")
    ),
    "processing instruction inside the root": Case(
        "callback", 400, lambda: _signed(OA, b"<xml><?php system('id'); ?><MsgType>text</MsgType></xml>")
    ),
    "comment before the root": Case(
        "callback", 400, lambda: _signed(OA, b"<!-- hi --><xml><MsgType>text</MsgType></xml>")
    ),
    "UTF-16 body": Case("callback", 400, lambda: _signed(OA, to_xml(_text()).decode().encode("utf-16"))),
    "control character in XML": Case("callback", 400, lambda: _signed(OA, to_xml(_text(content="a\x01b")))),
    "XML deep nesting inside the encrypted body": Case(
        "callback",
        400,
        lambda: _envelope(OA, _sealed(OA, b"<xml>" + b"<a>" * 200 + b"</a>" * 200 + b"</xml>")),
    ),
    "XML huge field name": Case(
        "callback", 400, lambda: _signed(OA, b"<xml><" + b"A" * 5000 + b">x</" + b"A" * 5000 + b"></xml>")
    ),
    "JSON NaN": Case("callback", 400, lambda: _signed(MP, b'{"ToUserName":"gh","CreateTime":NaN}')),
    "JSON lone surrogate": Case(
        "callback", 400, lambda: _signed(MP, to_json(_text(MP))[:-1] + b',"X":"\\ud800"}')
    ),
    "JSON huge field": Case("callback", 400, lambda: _signed(MP, to_json(_text(MP, content="x" * 20000)))),
    "JSON nested 5000 deep": Case("callback", 400, lambda: _signed(MP, ('{"a":' + _DEEP + "}").encode())),
    "JSON string top level": Case("callback", 400, lambda: _signed(MP, b'"<xml/>"')),
    "JSON MsgType as an object": Case(
        "callback", 400, lambda: _signed(MP, to_json({**_text(MP), "MsgType": {"$ne": "x"}}))
    ),
    "JSON CreateTime as a float": Case(
        "callback", 400, lambda: _signed(MP, to_json({**_text(MP), "CreateTime": 1.5e300}))
    ),
    # --- callback: hostile app names -------------------------------------------------------------------------
    "app name with path traversal": Case(
        "callback", 404, lambda: callback_event("../apps/demo-oa", *signed_push(DEV_APPS[OA], _text()))
    ),
    "app name of 2000 characters": Case(
        "callback", 404, lambda: callback_event("a" * 2000, *signed_push(DEV_APPS[OA], _text()))
    ),
    "app name with SSM wildcard characters": Case(
        "callback", 404, lambda: callback_event("demo-oa*", *signed_push(DEV_APPS[OA], _text()))
    ),
    "app name in unicode": Case(
        "callback", 404, lambda: callback_event("公众号", *signed_push(DEV_APPS[OA], _text()))
    ),
    # --- URL verification (GET) ------------------------------------------------------------------------------
    "GET forged signature": Case("verify", 403, _verify_with(signature="0" * 40)),
    "GET signature over another echostr is still no signature of the token": Case(
        "verify", 403, _verify_with(signature=crypto.signature("not-the-token", "1", "2"))
    ),
    "GET missing echostr": Case("verify", 400, _verify_with(echostr="")),
    "GET echostr of 10 KB": Case("verify", 400, _verify_with(echostr="9" * 10_000)),
    "GET unknown app": Case("verify", 404, lambda: verify_event("nobody", DEV_APPS[OA]["token"])),
    "GET with the encrypted-mode parameters only": Case(
        "verify", 400, _verify_with(signature="", msg_signature="a" * 40, encrypt_type="aes")
    ),
    # --- admin bodies through the real admin functions (an authenticated caller) -----------------------------
    "QR: body not JSON": Case("qrcodes", 400, _qr("{'app': 'demo-oa'")),
    "QR: JSON array": Case("qrcodes", 400, _qr("[1, 2, 3]")),
    "QR: empty body": Case("qrcodes", 400, _qr(None)),
    "QR: nested 5000 deep": Case("qrcodes", 422, _qr('{"app":' + _DEEP + "}")),
    "QR: nested 100000 deep": Case("qrcodes", 400, _qr('{"app":' + _DEEPER + "}")),
    "QR: body of 1 MB": Case(
        "qrcodes", 422, _qr(json.dumps({**_QR_OK, "channel": {"name": "x" * 1_000_000}}))
    ),
    "QR: unknown app": Case("qrcodes", 422, _qr(json.dumps({**_QR_OK, "app": "nobody"}))),
    "QR: app of the wrong type": Case("qrcodes", 422, _qr(json.dumps({**_QR_OK, "app": ["demo-oa"]}))),
    "QR: scene too long": Case("qrcodes", 422, _qr(json.dumps({**_QR_OK, "scene": "s" * 65}))),
    "QR: negative expiry": Case("qrcodes", 422, _qr(json.dumps({**_QR_OK, "expire_seconds": -5}))),
    "QR: binary body": Case("qrcodes", 400, _qr(b"\xff\xfe\x00garbage")),
    "QR: lone surrogate in scene": Case(
        "qrcodes", 422, _qr(json.dumps({**_QR_OK, "scene": f"a{_SURROGATE}"})), "scene"
    ),
    "QR: lone surrogate in channel.name": Case(
        "qrcodes", 422, _qr(_qr_with(name=_SURROGATE)), "channel.name"
    ),
    "QR: lone surrogate in channel.welcome_message": Case(
        "qrcodes", 422, _qr(_qr_with(welcome_message=f"hi {_SURROGATE}")), "channel.welcome_message"
    ),
    "QR: lone surrogate in channel.referrer.name": Case(
        "qrcodes", 422, _qr(_qr_with(referrer={"name": _SURROGATE})), "channel.referrer.name"
    ),
    "QR: lone surrogate in channel.tag": Case("qrcodes", 422, _qr(_qr_with(tag=_SURROGATE)), "channel.tag"),
    "QR: list limit of a superscript two": Case(
        "qrcodes", 422, _qr_get("/qrcodes", "/qrcodes", {"app": OA, "limit": "²"}), "limit"
    ),
    "QR: list limit of Arabic-Indic digits": Case(
        "qrcodes", 422, _qr_get("/qrcodes", "/qrcodes", {"app": OA, "limit": "١٠"}), "limit"
    ),
    "QR: next_token naming a 2000-character scene": Case(
        "qrcodes",
        422,
        _qr_get("/qrcodes", "/qrcodes", {"app": OA, "next_token": _token(_LONG_SCENE)}),
        "next_token",
    ),
    "QR: next_token naming a lone surrogate": Case(
        "qrcodes",
        422,
        _qr_get("/qrcodes", "/qrcodes", {"app": OA, "next_token": _token(_SURROGATE)}),
        "next_token",
    ),
    "QR: record of a 2000-character scene": Case(
        "qrcodes", 404, _qr_get("/qrcodes/{app}/{scene}", f"/qrcodes/{OA}/{{scene}}"), "scene"
    ),
    "QR: image of a 2000-character scene": Case(
        "qrcodes", 404, _qr_get("/qrcodes/{app}/{scene}/image", f"/qrcodes/{OA}/{{scene}}/image"), "scene"
    ),
    "QR: statistics of a 2000-character scene": Case(
        "qrcodes",
        404,
        _qr_get("/channels/{app}/{scene}/stats", f"/channels/{OA}/{{scene}}/stats"),
        "scene",
    ),
    # --- promoters, teams and followers (QrCodeFunction) -----------------------------------------------------
    "promoters: body not JSON": Case("qrcodes", 400, _promoter_post("{'app': 'demo-oa'")),
    "promoters: nested 5000 deep": Case("qrcodes", 422, _promoter_post('{"app":' + _DEEP + "}")),
    "promoters: an id with a path in it": Case(
        "qrcodes", 422, _promoter_post(json.dumps({"app": OA, "id": "../admin", "name": "x"})), "id"
    ),
    "promoters: the id of a route": Case(
        "qrcodes", 422, _promoter_post(json.dumps({"app": OA, "id": "ranking", "name": "x"})), "id"
    ),
    "promoters: a name of 1 MB": Case(
        "qrcodes", 422, _promoter_post(json.dumps({"app": OA, "id": "wang", "name": "x" * 1_000_000})), "name"
    ),
    "promoters: a lone surrogate in the name": Case(
        "qrcodes",
        422,
        _promoter_post(json.dumps({"app": OA, "id": "wang", "name": f"a{_SURROGATE}"})),
        "name",
    ),
    "promoters: an unknown field": Case(
        "qrcodes", 422, _promoter_post(json.dumps({"app": OA, "id": "wang", "name": "x", "reward": 5}))
    ),
    "promoter: markup as the id": Case(
        "qrcodes", 404, _promoter_get("/promoters/{app}/{promoter}", "<img src=x onerror=alert(1)>"), "id"
    ),
    "promoter: statistics of a 2000-character id": Case(
        "qrcodes", 404, _promoter_get("/promoters/{app}/{promoter}/stats", "p" * 2000), "id"
    ),
    "promoter: funnel of a path-like id": Case(
        "qrcodes", 404, _promoter_get("/promoters/{app}/{promoter}/funnel", "../../etc/passwd")
    ),
    "promoter: funnel of a dotted id": Case(
        "qrcodes", 404, _promoter_get("/promoters/{app}/{promoter}/funnel", ".."), "id"
    ),
    "promoters: ranking over a period that is no date": Case(
        "qrcodes",
        422,
        lambda: _admin(
            "/promoters/{app}/ranking",
            f"/promoters/{OA}/ranking",
            None,
            "GET",
            path_parameters={"app": OA},
            query={"from": "2026-02-30"},
        ),
        "from",
    ),
    "promoters: ranking of an unknown app": Case(
        "qrcodes",
        404,
        lambda: _admin(
            "/promoters/{app}/ranking",
            "/promoters/nobody/ranking",
            None,
            "GET",
            path_parameters={"app": "nobody"},
        ),
    ),
    "followers: a limit that is no number": Case(
        "qrcodes",
        422,
        lambda: _admin("/followers", "/followers", None, "GET", query={"app": OA, "limit": "1e9"}),
    ),
    "followers: a forged next_token": Case(
        "qrcodes",
        422,
        lambda: _admin("/followers", "/followers", None, "GET", query={"app": OA, "next_token": "!!!"}),
    ),
    "promoter: PATCH with a body that is not JSON": Case(
        "qrcodes",
        400,
        lambda: _admin(
            "/promoters/{app}/{promoter}",
            f"/promoters/{OA}/wang",
            "{'name': 1",
            "PATCH",
            path_parameters={"app": OA, "promoter": "wang"},
        ),
    ),
    "team: statistics of a 2000-character team": Case(
        "qrcodes",
        404,
        lambda: _admin(
            "/teams/{app}/{team}/stats",
            f"/teams/{OA}/{'t' * 2000}/stats",
            None,
            "GET",
            path_parameters={"app": OA, "team": "t" * 2000},
        ),
        "team",
    ),
    "team: a broken escape in its name": Case(
        "qrcodes",
        404,
        lambda: _admin(
            "/teams/{app}/{team}/stats",
            f"/teams/{OA}/%E6%ZZ/stats",
            None,
            "GET",
            path_parameters={"app": OA, "team": "%E6%ZZ"},
        ),
        "team",
    ),
    "QR: PATCH of a channel that does not exist, nested 5000 deep": Case(
        "qrcodes",
        404,
        lambda: _admin(
            "/qrcodes/{app}/{scene}",
            f"/qrcodes/{OA}/poster",
            '{"channel":' + _DEEP + "}",
            "PATCH",
            path_parameters={"app": OA, "scene": "poster"},
        ),
    ),
    "QR: history of a 2000-character scene": Case(
        "qrcodes", 404, _qr_get("/qrcodes/{app}/{scene}/history", f"/qrcodes/{OA}/{{scene}}/history"), "scene"
    ),
    "followers: export of an unknown app": Case(
        "qrcodes",
        404,
        lambda: _admin("/followers/export", "/followers/export", None, "GET", query={"app": "nobody"}),
    ),
    "followers: background export of an unknown app": Case(
        "qrcodes",
        404,
        lambda: _admin(
            "/followers/exports", "/followers/exports", None, query={"app": "nobody", "scene": "x"}
        ),
    ),
    "followers: background export of a 2000-character scene": Case(
        "qrcodes",
        404,
        lambda: _admin(
            "/followers/exports", "/followers/exports", None, query={"app": "demo-oa", "scene": "s" * 2000}
        ),
        field="scene",
    ),
    "followers: background export of a 2000-character promoter": Case(
        "qrcodes",
        404,
        lambda: _admin(
            "/followers/exports", "/followers/exports", None, query={"app": "demo-oa", "promoter": "p" * 2000}
        ),
        field="promoter",
    ),
    "followers: list of a broken team name": Case(
        "qrcodes",
        404,
        lambda: _admin(
            "/followers", "/followers", None, "GET", query={"app": "demo-oa", "team": "\ufffd\ufffd"}
        ),
        field="team",
    ),
    "followers: export status of a forged id": Case(
        "qrcodes",
        404,
        lambda: _admin(
            "/followers/exports/{export_id}",
            "/followers/exports/..%2F..%2Fsecret",
            None,
            "GET",
            query={"app": "demo-oa"},
            path_parameters={"export_id": "../../secret"},
        ),
        field="export",
    ),
    "notify: body not JSON": Case("notify", 400, _notify("not json")),
    "notify: JSON number": Case("notify", 400, _notify("12")),
    "notify: nested 5000 deep": Case("notify", 422, _notify('{"scenes":' + _DEEP + "}")),
    "notify: nested 100000 deep": Case("notify", 400, _notify('{"scenes":' + _DEEPER + "}")),
    "notify: 10000 scenes": Case(
        "notify", 422, _notify(json.dumps({**_NOTIFY_OK, "scenes": [f"s{i}" for i in range(10_000)]}))
    ),
    "notify: unknown app": Case("notify", 422, _notify(json.dumps({**_NOTIFY_OK, "app": "nobody"}))),
    "notify: data of the wrong type": Case("notify", 422, _notify(json.dumps({**_NOTIFY_OK, "data": "x"}))),
    "notify: a data value of 500 KB": Case(
        "notify", 422, _notify(json.dumps({**_NOTIFY_OK, "data": {"thing1": "x" * 500_000}})), "data"
    ),
    "notify: a data value of 500 KB as {value}": Case(
        "notify",
        422,
        _notify(json.dumps({**_NOTIFY_OK, "data": {"thing1": {"value": "x" * 500_000}}})),
        "data",
    ),
    "notify: 21 data entries": Case(
        "notify", 422, _notify(json.dumps({**_NOTIFY_OK, "data": {f"k{i}": "v" for i in range(21)}})), "data"
    ),
    "notify: a data key of 10 KB": Case(
        "notify", 422, _notify(json.dumps({**_NOTIFY_OK, "data": {"k" * 10_000: "v"}})), "data"
    ),
    "notify: a data key with markup": Case(
        "notify", 422, _notify(json.dumps({**_NOTIFY_OK, "data": {"<b>": "v"}})), "data"
    ),
    "notify: lone surrogate in a data value": Case(
        "notify", 422, _notify(json.dumps({**_NOTIFY_OK, "data": {"thing1": _SURROGATE}})), "data.thing1"
    ),
    # --- the public landing page of live codes (no live code exists: each is a page of its own, never a write) ---
    "landing: a script as the code": Case("landing", 404, _landing(OA, "<script>alert(1)</script>")),
    "landing: a path as the code": Case("landing", 404, _landing(OA, "../../../etc/passwd")),
    "landing: a code of 4000 characters": Case("landing", 404, _landing(OA, "a" * 4000)),
    "landing: a CRLF in the code": Case("landing", 404, _landing(OA, "abcd\r\nSet-Cookie: admin=1")),
    "landing: a NUL in the code": Case("landing", 404, _landing(OA, "abcd\x00")),
    "landing: no code": Case("landing", 404, _landing(OA, "")),
    "landing: a hostile app": Case("landing", 404, _landing("../qrcodes", "abcdefgh")),
    "landing: an app name too long": Case("landing", 404, _landing("a" * 300, "abcdefgh")),
    "landing: a mini program": Case("landing", 404, _landing(MP, "abcdefgh")),
    "landing: an unknown code with hostile headers": Case(
        "landing",
        404,
        _landing(
            OA,
            "abcdefgh",
            {
                "User-Agent": "<script>" * 2000,
                "Cookie": "wxf_abcdefgh=" + "\x00" * 9000,
                "X-Forwarded-Proto": "javascript:",
                "Host": "evil.example",
            },
        ),
    ),
    "landing: POST": Case("landing", 405, _landing(OA, "abcdefgh", method="POST")),
    # --- live codes, campaigns, funnels, welcome sequences, batches (LiveCodeFunction) --------------------------
    "livecodes: not JSON": Case("livecodes", 400, _live("/livecodes", "/livecodes", "{not json")),
    "livecodes: nested 100000 deep": Case("livecodes", 400, _live("/livecodes", "/livecodes", "[" * 100_000)),
    "livecodes: a list body": Case("livecodes", 400, _live("/livecodes", "/livecodes", "[]")),
    "livecodes: no such channel": Case(
        "livecodes",
        422,
        _live("/livecodes", "/livecodes", json.dumps({"app": OA, "scene": "nowhere"})),
        "scene",
    ),
    "livecodes: a code with a slash": Case(
        "livecodes",
        422,
        _live("/livecodes", "/livecodes", json.dumps({"app": OA, "scene": "x", "code": "a/../b"})),
        "code",
    ),
    "livecodes: a scene of 5000 bytes": Case(
        "livecodes",
        422,
        _live("/livecodes", "/livecodes", json.dumps({"app": OA, "scene": "s" * 5000})),
        "scene",
    ),
    "livecodes: a script as the code of a print file": Case(
        "livecodes",
        404,
        _live(
            "/livecodes/{app}/{code}/qr",
            "/livecodes/demo-oa/%3Cscript%3Ealert(1)%3C%2Fscript%3E/qr",
            method="GET",
            parameters={"app": OA, "code": "%3Cscript%3Ealert(1)%3C%2Fscript%3E"},
        ),
        "code",
    ),
    "livecodes: a ZIP of 501 codes": Case(
        "livecodes",
        422,
        _live("/archives", "/archives", json.dumps({"app": OA, "codes": ["abcd"] * 501})),
        "codes",
    ),
    "livecodes: a campaign ending before it starts": Case(
        "livecodes",
        422,
        _live(
            "/campaigns",
            "/campaigns",
            json.dumps({"app": OA, "id": "x", "name": "x", "start": "2026-02-01", "end": "2026-01-01"}),
        ),
        "end",
    ),
    "livecodes: a campaign id with a path": Case(
        "livecodes",
        422,
        _live(
            "/campaigns",
            "/campaigns",
            json.dumps({"app": OA, "id": "../x", "name": "x", "start": "2026-01-01", "end": "2026-01-02"}),
        ),
        "id",
    ),
    "livecodes: a funnel of a period of 400 days": Case(
        "livecodes",
        422,
        _live(
            "/channels/{app}/{scene}/funnel",
            "/channels/demo-oa/x/funnel",
            method="GET",
            parameters={"app": OA, "scene": "x"},
            query={"from": "2025-01-01", "to": "2026-02-04"},
        ),
        "from",
    ),
    "livecodes: a welcome of a lone surrogate": Case(
        "livecodes",
        422,
        _live(
            "/channels/{app}/{scene}/welcome",
            "/channels/demo-oa/x/welcome",
            json.dumps({"messages": [{"type": "text", "content": _SURROGATE}]}),
            method="PUT",
            parameters={"app": OA, "scene": "x"},
        ),
        "messages[0].content",
    ),
    "livecodes: a CSV batch with unknown columns": Case(
        "livecodes",
        422,
        _live("/batches", "/batches", "name,<script>\nA,B\n", query={"app": OA}, content_type="text/csv"),
        "csv",
    ),
    "livecodes: a CSV batch for an unknown app": Case(
        "livecodes",
        422,
        _live("/batches", "/batches", "name\nA\n", query={"app": "nobody"}, content_type="text/csv"),
        "app",
    ),
    "livecodes: a JSON batch of 201 rows": Case(
        "livecodes",
        422,
        _live("/batches", "/batches", json.dumps({"app": OA, "rows": [{"name": "n"}] * 201})),
        "rows",
    ),
    # --- the API Gateway front over HTTP -----------------------------------------------------------------------
    "PUT /wechat/{app}": Case("front", 403, lambda: ("PUT", "/v1/wechat/demo-oa", b"<xml/>", {})),
    "DELETE /wechat/{app}": Case("front", 403, lambda: ("DELETE", "/v1/wechat/demo-oa", None, {})),
    "GET /wechat/ (no app)": Case("front", 403, lambda: ("GET", "/v1/wechat/", None, {})),
    "GET /wechat/../qrcodes": Case("front", 403, lambda: ("GET", "/v1/wechat/../qrcodes", None, {})),
    "POST /wechat/{app}/extra": Case(
        "front", 403, lambda: ("POST", "/v1/wechat/demo-oa/extra", b"<xml/>", {})
    ),
    "another stage": Case("front", 403, lambda: ("POST", "/v2/wechat/demo-oa", b"<xml/>", {})),
    "POST /qrcodes without SigV4": Case(
        "front", 403, lambda: ("POST", "/v1/qrcodes", json.dumps(_QR_OK).encode(), {})
    ),
    "GET /qrcodes without SigV4": Case("front", 403, lambda: ("GET", "/v1/qrcodes", None, {})),
    "GET a QR image without SigV4": Case(
        "front", 403, lambda: ("GET", "/v1/qrcodes/demo-oa/1/image", None, {})
    ),
    "GET channel stats without SigV4": Case(
        "front", 403, lambda: ("GET", "/v1/channels/demo-oa/stats", None, {})
    ),
    "POST /notifications without SigV4": Case(
        "front", 403, lambda: ("POST", "/v1/notifications", json.dumps(_NOTIFY_OK).encode(), {})
    ),
    "POST /notifications with a Bearer token": Case(
        "front",
        403,
        lambda: ("POST", "/v1/notifications", b"{}", {"Authorization": "Bearer eyJhbGciOiJub25lIn0.e30."}),
    ),
    "GET /notifications/{id} with Basic auth": Case(
        "front",
        403,
        lambda: ("GET", "/v1/notifications/x", None, {"Authorization": "Basic YWRtaW46YWRtaW4="}),
    ),
    # --- bodies as API Gateway passes them: text types as UTF-8 text, binary media types base64 -------------------
    "push of a binary media type that is not UTF-8": Case(
        "front",
        400,
        lambda: _push_over_http(_NOT_UTF8_XML, "image/png"),
        reason="body is not valid UTF-8",
    ),
    "push of a text type starting with bytes that are not UTF-8": Case(
        "front",
        400,
        lambda: _push_over_http(b"\xff\xfe" + to_xml(_text()), "text/xml"),
        reason="body is neither XML nor JSON",  # API Gateway hands over U+FFFD U+FFFD<xml>…
    ),
    "admin body of a binary media type that is not UTF-8": Case(
        "front",
        400,
        lambda: ("POST", "/v1/qrcodes", b"\xff" + json.dumps(_QR_OK).encode(), {"Content-Type": "image/png"}),
        sign={},
        reason="the body is not UTF-8 JSON",
    ),
    # --- SigV4 scoped to another region or service --------------------------------------------------------------
    "GET /qrcodes signed for another region": Case(
        "front",
        403,
        lambda: ("GET", "/v1/qrcodes?app=demo-oa", None, {}),
        sign={"region": "ap-east-1"},
        reason="Credential should be scoped to a valid region, not 'ap-east-1'.",
    ),
    "POST /notifications signed for another service": Case(
        "front",
        403,
        lambda: (
            "POST",
            "/v1/notifications",
            json.dumps(_NOTIFY_OK).encode(),
            {"Content-Type": "application/json"},
        ),
        sign={"service": "lambda"},
        reason="Credential should be scoped to correct service: 'execute-api'.",
    ),
    "POST /l/{app}/{code}": Case("front", 403, lambda: ("POST", "/v1/l/demo-oa/abcdefgh", b"x", {})),
    "GET /l/{app} (no code)": Case("front", 403, lambda: ("GET", "/v1/l/demo-oa", None, {})),
    "GET /l/{app}/{code}/extra": Case("front", 403, lambda: ("GET", "/v1/l/demo-oa/abcdefgh/x", None, {})),
    "GET /l/ a script as the code": Case(
        "front", 404, lambda: ("GET", "/v1/l/demo-oa/%3Cscript%3Ealert(1)%3C%2Fscript%3E", None, {})
    ),
    "GET /l/ an unknown code": Case("front", 404, lambda: ("GET", "/v1/l/demo-oa/zzzzzzzzzz", None, {})),
    "POST /livecodes without SigV4": Case("front", 403, lambda: ("POST", "/v1/livecodes", b"{}", {})),
    "POST /batches without SigV4": Case("front", 403, lambda: ("POST", "/v1/batches", b"name\nA\n", {})),
    "GET a campaign funnel without SigV4": Case(
        "front", 403, lambda: ("GET", "/v1/campaigns/demo-oa/spring/funnel", None, {})
    ),
    "POST /wechat/{app} forged, over HTTP": Case(
        "front",
        403,
        lambda: (
            "POST",
            "/v1/wechat/demo-oa?signature=" + "0" * 40 + f"&timestamp={_now()}&nonce=1",
            to_xml(_text()),
            {"Content-Type": "text/xml"},
        ),
    ),
}


# --- checks common to every case ---------------------------------------------------------------------------


def _assert_nothing_happened(scan: Callable[[str], list], outbox_depth: Callable[[], int], text: str) -> None:
    for table in TABLES:
        assert scan(table) == [], f"{table} was written"
    assert outbox_depth() == 0, "an outbox message was enqueued"
    leaked = [secret for secret in SECRETS if secret in text]
    assert not leaked, "a secret reached the logs"


def _invoke(target: str, event: dict) -> tuple[int, bytes]:
    from wxfunnel_tools.template import load_handler

    name = {
        "callback": "CallbackFunction",
        "verify": "VerifyFunction",
        "qrcodes": "QrCodeFunction",
        "notify": "NotifyFunction",
        "landing": "LandingFunction",
        "livecodes": "LiveCodeFunction",
    }[target]
    response = load_handler(name)(event, lambda_context(name))
    return response["statusCode"], response_body(response)


HANDLER_CASES = sorted(name for name, case in CASES.items() if case.target != "front")
FRONT_CASES = sorted(name for name, case in CASES.items() if case.target == "front")


def test_the_corpus_is_large_enough() -> None:
    assert len(CASES) >= 40


@pytest.mark.parametrize("name", HANDLER_CASES)
def test_hostile_request_to_a_handler(aws, wechat, logs, name: str) -> None:
    case = CASES[name]
    status, body = _invoke(case.target, case.build())
    assert status < 500, body[:300]
    assert status == case.status, (status, body[:300])
    if case.field is not None:
        error = json.loads(body)["error"]
        assert error["field"] == case.field, error
        assert error["message"].startswith(f"{case.field}:"), error
    if case.target == "verify":
        assert b"4375120948345356249" not in body  # never echo on a refused verification
    if case.target == "landing":
        assert b"<script" not in body and b"Set-Cookie" not in body and b"passwd" not in body

    def depth() -> int:
        attributes = aws.sqs.get_queue_attributes(
            QueueUrl=aws.env["OUTBOX_QUEUE_URL"], AttributeNames=["All"]
        )
        return int(attributes["Attributes"]["ApproximateNumberOfMessages"])

    _assert_nothing_happened(lambda table: table_items(aws, table), depth, logs())
    assert wechat.count() == 0, "a hostile request reached the WeChat API"


def test_a_verification_echo_is_plain_text(aws, logs) -> None:
    """Even a correctly signed echostr full of markup comes back as text/plain, never as HTML."""
    event = verify_event(OA, DEV_APPS[OA]["token"], echostr="<script>alert(1)</script>")
    from wxfunnel_tools.template import load_handler

    response = load_handler("VerifyFunction")(event, lambda_context("VerifyFunction"))
    headers = {k.lower(): v for k, v in (response.get("headers") or {}).items()}
    for name, values in (response.get("multiValueHeaders") or {}).items():
        headers.setdefault(name.lower(), values[-1])
    assert response["statusCode"] == 200
    assert headers["content-type"].startswith("text/plain")


# --- the front, over HTTP ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def stack() -> Iterator[Any]:
    from wxfunnel_tools.localstack import LocalStack

    with LocalStack() as running:
        yield running


@pytest.mark.parametrize("name", FRONT_CASES)
def test_hostile_request_over_http(stack, logs, name: str) -> None:
    case = CASES[name]
    method, path, body, headers = case.build()
    base = stack.url.rsplit("/", 1)[0]  # without the stage: the cases name it
    if case.sign is not None:
        scope = {"region": LOCAL_REGION, "service": "execute-api", **case.sign}
        signed = AWSRequest(method=method, url=base + path, data=body or b"", headers=headers)
        SigV4Auth(LOCAL_CREDENTIALS, scope["service"], scope["region"]).add_auth(signed)
        headers = dict(signed.headers.items())
    request = urllib.request.Request(base + path, data=body, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            status, answer = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, answer = error.code, error.read()
    assert status < 500
    assert status == case.status, answer[:300]
    if case.reason is not None:
        assert case.reason in answer.decode("utf-8", "replace") + logs(), answer[:300]
    _assert_nothing_happened(*_stack_probes(stack), logs())
    assert stack.sandbox.count() == 0


def _stack_probes(stack: Any) -> tuple[Callable[[str], list], Callable[[], int]]:
    """(scan a table, outbox depth) of the local stack, for _assert_nothing_happened."""
    dynamodb, sqs = stack.client("dynamodb"), stack.client("sqs")

    def scan(table: str) -> list:
        return dynamodb.scan(TableName=stack.env[table])["Items"]

    def depth() -> int:
        attributes = sqs.get_queue_attributes(QueueUrl=stack.env["OUTBOX_QUEUE_URL"], AttributeNames=["All"])
        return int(attributes["Attributes"]["ApproximateNumberOfMessages"])

    return scan, depth


def _raw_exchange(port: int, request: bytes, timeout: float = 30) -> bytes:
    """Everything a server answers to `request` sent as is on a new connection ("RESET" if it was reset)."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as connection:
            connection.sendall(request)
            answer = b""
            while chunk := connection.recv(65536):
                answer += chunk
            return answer
    except ConnectionResetError:
        return b"RESET"
    except OSError as exc:
        return type(exc).__name__.encode()


BURST = 200


def test_a_burst_of_simultaneous_connections_is_answered_like_api_gateway(stack, logs) -> None:
    """200 clients connect at the same instant, each with a forged push: every one gets API Gateway's answer
    (the callback's 403), none is reset or left waiting. socketserver's default listen backlog of 5 made the
    kernel drop most of such a burst."""
    port = int(stack.url.split(":")[2].split("/")[0])
    method, path, body, headers = CASES["POST /wechat/{app} forged, over HTTP"].build()
    head = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    request = (
        f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{head}Content-Length: {len(body)}\r\n"
        "Connection: close\r\n\r\n"
    ).encode() + body
    start = threading.Barrier(BURST)
    answers: list[bytes] = []

    def client() -> None:
        start.wait()
        # answered is the point, not fast: a generous timeout for a loaded CI machine
        answers.append(_raw_exchange(port, request, timeout=60))

    threads = [threading.Thread(target=client) for _ in range(BURST)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    statuses = Counter(answer.split(b"\r\n", 1)[0] for answer in answers)
    assert statuses == {b"HTTP/1.1 403 Forbidden": BURST}, statuses
    _assert_nothing_happened(*_stack_probes(stack), logs())


# --- the console's server, in front of the same stack -----------------------------------------------------------

CONSOLE_TARGETS = [
    b"/api/qr\x01codes?app=demo-oa",
    b"/api/qrcodes/demo-oa/\xe6\x98\xa5\xe8\x8a\x82",
    b"/api/qrcodes?app=demo-oa\xff",
    b"/api/qrcodes?app=%zz",
    b"/api/qrcodes/demo-oa/%E6%98",
    b"/api/qrcodes/demo-oa/%ff/image",
    b"/api/qrcodes?app=demo-oa%00",
    b"/api/notifications%0d%0aX-Amz-Security-Token:%20x",
    b"/api/channels/demo-oa/stats#x",
    b"/\x7f",
]


@pytest.fixture(scope="module")
def console(stack) -> Iterator[Any]:
    from wxfunnel_tools.console import serve, signer_for

    with serve(stack.url, signer=signer_for(stack.url)) as running:
        yield running


@pytest.mark.parametrize("target", CONSOLE_TARGETS, ids=repr)
def test_a_malformed_console_path_is_a_400_never_a_dropped_connection(
    stack, console, logs, target: bytes, capfd: pytest.CaptureFixture[str]
) -> None:
    request = (
        b"GET " + target + b" HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nX-Wxfunnel-Console: 1\r\n"
        b"Connection: close\r\n\r\n" % console.port
    )
    answer = _raw_exchange(console.port, request)
    assert answer.startswith(b"HTTP/1.1 400 "), answer[:300]
    assert json.loads(answer.partition(b"\r\n\r\n")[2])["error"]["code"] == "bad_request"
    assert "Traceback" not in capfd.readouterr().err
    _assert_nothing_happened(*_stack_probes(stack), logs())
