"""Builds WeChat pushes as WeChat sends them: XML or JSON bodies, signed, and encrypted in compat or safe mode.

Used by the tests, `events/`, `wxfunnel events sign` and the local user simulator, so every one of them exercises
the same wire format the callback must accept.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Mapping
from typing import Any, Literal
from xml.sax.saxutils import escape

from wxfunnel_tools.apigw import proxy_event
from wxfunnel_tools.template import use_layer

use_layer()  # the pushes are sealed with the layer's own crypto, whoever imports this module
from wxfunnel.protocol import crypto  # noqa: E402

Mode = Literal["plain", "compat", "safe"]
Format = Literal["xml", "json"]


def _cdata(value: str) -> str:
    return "<![CDATA[" + value.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def _xml_value(value: Any) -> str:
    if isinstance(value, bool):
        return _cdata(str(value).lower())
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, Mapping):
        return "".join(f"<{k}>{_xml_value(v)}</{k}>" for k, v in value.items())
    if isinstance(value, list):
        raise TypeError("lists are rendered by the caller as repeated elements")
    return _cdata(str(value))


def to_xml(fields: Mapping[str, Any]) -> bytes:
    parts = ["<xml>"]
    for key, value in fields.items():
        values = value if isinstance(value, list) else [value]
        parts.extend(f"<{escape(key)}>{_xml_value(item)}</{escape(key)}>" for item in values)
    parts.append("</xml>")
    return "".join(parts).encode("utf-8")


def to_json(fields: Mapping[str, Any]) -> bytes:
    return json.dumps(dict(fields), ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def message(
    msg_type: str,
    *,
    openid: str,
    to_user: str,
    create_time: int | None = None,
    msg_id: int | None = None,
    **fields: Any,
) -> dict[str, Any]:
    """The fields of one push, in WeChat's wire names and order."""
    document: dict[str, Any] = {
        "ToUserName": to_user,
        "FromUserName": openid,
        "CreateTime": int(time.time()) if create_time is None else create_time,
        "MsgType": msg_type,
    }
    document.update(fields)
    if msg_id is not None:
        document["MsgId"] = msg_id
    return document


def signed_push(
    app_config: Mapping[str, Any],
    fields: Mapping[str, Any],
    *,
    fmt: Format = "xml",
    mode: Mode = "plain",
    timestamp: int | None = None,
    nonce: str | None = None,
    key: str | None = None,
) -> tuple[dict[str, str], bytes]:
    """(query parameters, body) of a push as WeChat would send it to `app_config`'s callback URL."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    nonce = nonce or str(secrets.randbelow(10**9))
    token = str(app_config["token"])
    plain = to_json(fields) if fmt == "json" else to_xml(fields)
    query = {
        "signature": crypto.signature(token, ts, nonce),
        "timestamp": ts,
        "nonce": nonce,
        "openid": str(fields["FromUserName"]),
    }
    if mode == "plain":
        return query, plain
    box = crypto.MessageCrypto(token, str(app_config["appid"]), key or str(app_config["encoding_aes_key"]))
    envelope = box.encrypt(plain, ts, nonce)
    outer: dict[str, Any] = {"ToUserName": fields["ToUserName"]}
    if mode == "compat":
        outer = dict(fields)
    outer["Encrypt"] = envelope.encrypt
    query.update({"encrypt_type": "aes", "msg_signature": envelope.msg_signature})
    body = to_json(outer) if fmt == "json" else to_xml(outer)
    return query, body


def callback_event(
    app_name: str, query: Mapping[str, str], body: bytes, *, stage: str = "v1"
) -> dict[str, Any]:
    """The API Gateway event for POST /wechat/{app}."""
    content_type = "application/json" if body.lstrip().startswith(b"{") else "text/xml"
    return proxy_event(
        "POST",
        "/wechat/{app}",
        f"/wechat/{app_name}",
        path_parameters={"app": app_name},
        query=query,
        body=body,
        headers={"Content-Type": content_type, "User-Agent": "Mozilla/4.0"},
        stage=stage,
    )


def verify_event(
    app_name: str,
    token: str,
    *,
    echostr: str = "4375120948345356249",
    timestamp: int | None = None,
    nonce: str = "1514711492",
) -> dict[str, Any]:
    """The API Gateway event of WeChat's URL verification GET."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    query = {
        "signature": crypto.signature(token, ts, nonce),
        "timestamp": ts,
        "nonce": nonce,
        "echostr": echostr,
    }
    return proxy_event(
        "GET", "/wechat/{app}", f"/wechat/{app_name}", path_parameters={"app": app_name}, query=query
    )
