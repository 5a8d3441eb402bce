"""WeChat's documents: hostile XML/JSON bodies in, field maps out; encrypted envelopes; XML/JSON rendering.

Bodies are hostile until proven otherwise: no DTDs, entities or processing instructions, bounded nesting and
field sizes, UTF-8 only, and every number kept as its decimal text until a field is known to be an integer.
Wire names stay as WeChat spells them here; `messages` turns them into typed values.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, NoReturn
from xml.parsers import expat

import xmltodict

from wxfunnel.protocol.crypto import Envelope

SUCCESS = b"success"  # the acknowledgement that stops WeChat's retries without saying anything

_MAX_DEPTH = 4  # xml > SendPicsInfo > PicList > item > PicMd5Sum is the deepest structure WeChat sends
_UTF8_BOM = b"\xef\xbb\xbf"
_DTD_REFUSED = "DTD or entity declarations are not allowed"
# Only an XML declaration and whitespace may precede the root element. Anything else there (DOCTYPE,
# comments, PIs) is refused before expat runs, so entity expansion (billion laughs, XXE) never starts.
# The check covers the prolog, not the whole body: a user's text may hold "<!DOCTYPE" in a CDATA section;
# after the root element starts, expat's own handlers refuse DTDs and PIs.
_PROLOG = re.compile(rb"(?:<\?xml(?:\s[^<>?]*)?\?>)?\s*<xml[\s/>]")
_DECLARATION = re.compile(rb"<\?xml(?:\s[^<>?]*)?\?>\s*")


class BodyFormat(StrEnum):
    XML = "xml"
    JSON = "json"


class MalformedBody(ValueError):
    """A body that is not a well-formed WeChat document; the reason names what is wrong, never the content."""


# --- reading ----------------------------------------------------------------------------------------------


def _refuse_dtd(*_args: Any) -> NoReturn:
    raise MalformedBody(_DTD_REFUSED)


def _refuse_processing_instruction(*_args: Any) -> NoReturn:
    raise MalformedBody("processing instructions are not allowed")


class _HardenedExpat:
    """The `expat` module as xmltodict sees it, with every DTD feature and processing instruction refused."""

    @staticmethod
    def ParserCreate(encoding: str | None = None, namespace_separator: str | None = None) -> Any:
        parser = expat.ParserCreate(encoding, namespace_separator)
        parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
        parser.StartDoctypeDeclHandler = _refuse_dtd
        parser.EntityDeclHandler = _refuse_dtd
        parser.ExternalEntityRefHandler = _refuse_dtd
        parser.ProcessingInstructionHandler = _refuse_processing_instruction
        return parser


def _refuse_prolog(body: bytes) -> NoReturn:
    declaration = _DECLARATION.match(body)
    rest = body[declaration.end() :] if declaration else body
    if rest.startswith(b"<!--"):
        raise MalformedBody("comments before the root element are not allowed")
    if rest.startswith(b"<!"):
        raise MalformedBody(_DTD_REFUSED)
    if rest.startswith(b"<?"):
        raise MalformedBody("processing instructions are not allowed")
    raise MalformedBody("the root element must be <xml>")


def _parse_xml(body: bytes) -> dict[str, Any]:
    if _PROLOG.match(body) is None:
        _refuse_prolog(body)
    try:
        # encoding="utf-8" overrides whatever the declaration claims: the body was checked to be UTF-8.
        parsed = xmltodict.parse(
            body, encoding="utf-8", expat=_HardenedExpat, disable_entities=True, xml_attribs=False
        )
    except MalformedBody:
        raise
    except (expat.ExpatError, ValueError):
        raise MalformedBody("not well-formed XML") from None
    root = parsed.get("xml") if isinstance(parsed, dict) else None
    if root is None:
        return {}
    if not isinstance(root, dict):
        raise MalformedBody("the root element must contain fields")
    return root


def _refuse_constant(_name: str) -> NoReturn:
    raise MalformedBody("NaN and Infinity are not allowed")


def _parse_json(text: str) -> dict[str, Any]:
    try:
        # Numbers stay their decimal text: a 64-bit MsgId must never become a float.
        document = json.loads(text, parse_int=str, parse_float=str, parse_constant=_refuse_constant)
    except MalformedBody:
        raise
    except RecursionError:
        raise MalformedBody("document nested too deeply") from None
    except ValueError:
        raise MalformedBody("not well-formed JSON") from None
    if not isinstance(document, dict):
        raise MalformedBody("the top-level JSON value must be an object")
    return document


def _check_text(text: str) -> None:
    # JSON escapes can smuggle lone surrogates, which nothing downstream (logs, DynamoDB) can encode.
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            raise MalformedBody("a string is not valid Unicode") from None


def _normalize_fields(fields: dict[str, Any], depth: int) -> None:
    """Bound the nesting (`fields` sit at `depth`); turn JSON's true/false into the text XML carries."""
    if depth > _MAX_DEPTH and fields:
        raise MalformedBody("document nested too deeply")
    for key, value in fields.items():
        _check_text(key)
        if type(value) is str:  # the common case, kept cheap
            _check_text(value)
        elif value is not None:
            fields[key] = _normalize_value(value, depth)


def _normalize_value(value: Any, depth: int) -> Any:
    if isinstance(value, str):
        _check_text(value)
    elif isinstance(value, bool):
        return "true" if value else "false"
    elif isinstance(value, dict):
        _normalize_fields(value, depth + 1)
    elif isinstance(value, list):
        # A repeated element (WeChat's `List`, `item`): its entries sit at the element's own level, as in XML.
        for index, item in enumerate(value):
            if isinstance(item, list):
                raise MalformedBody("nested arrays are not allowed")
            if item is not None:
                value[index] = _normalize_value(item, depth)
    elif value is not None:
        raise MalformedBody("unexpected value type")
    return value


def parse_document(body: bytes) -> tuple[BodyFormat, dict[str, Any]]:
    """The body's format and its fields under their wire names; values are strings, dicts, lists or None."""
    if body.startswith(_UTF8_BOM):
        body = body[len(_UTF8_BOM) :]
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise MalformedBody("body is not valid UTF-8") from None
    stripped = body.lstrip()
    if stripped.startswith(b"{"):
        fmt, document = BodyFormat.JSON, _parse_json(text)
    elif stripped.startswith(b"<"):
        fmt, document = BodyFormat.XML, _parse_xml(stripped)
    else:
        raise MalformedBody("body is neither XML nor JSON")
    _normalize_fields(document, 1)
    return fmt, document


@dataclass(frozen=True, slots=True)
class EncryptedEnvelope:
    """The outer document of a safe-mode push."""

    to_user: str | None
    encrypt: str


def read_envelope(doc: Mapping[str, Any]) -> EncryptedEnvelope | None:
    """The `Encrypt` node of a compat- or safe-mode push, or None for a plaintext one."""
    if "Encrypt" not in doc:
        return None
    encrypt = doc["Encrypt"]
    if not isinstance(encrypt, str) or not encrypt:
        raise MalformedBody("Encrypt must be a non-empty string")
    to_user = doc.get("ToUserName")
    if to_user is not None and not isinstance(to_user, str):
        raise MalformedBody("ToUserName must be a string")
    return EncryptedEnvelope(to_user, encrypt)


# --- writing ---------------------------------------------------------------------------------------------

# Characters XML 1.0 forbids even inside CDATA; WeChat answers a reply holding one with "service unavailable".
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def clean_text(value: str) -> str:
    return _NOT_XML.sub("", value)


def cdata(value: str) -> str:
    # "]]>" would end the section early: close it after "]]" and open a new one for ">".
    return "<![CDATA[" + value.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def _xml_element(name: str, value: Any, out: list[str]) -> None:
    if isinstance(value, str):
        out.append(f"<{name}>{cdata(value)}</{name}>")
    elif isinstance(value, int):
        out.append(f"<{name}>{value}</{name}>")
    else:
        out.append(f"<{name}>")
        if isinstance(value, dict):
            for child, item in value.items():
                _xml_element(child, item, out)
        else:
            for item in value:
                _xml_element("item", item, out)
        out.append(f"</{name}>")


def xml_document(fields: dict[str, Any]) -> bytes:
    out = ["<xml>"]
    for name, value in fields.items():
        _xml_element(name, value, out)
    out.append("</xml>")
    return "".join(out).encode("utf-8")


def json_document(fields: dict[str, Any]) -> bytes:
    return json.dumps(fields, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def render_envelope(env: Envelope, fmt: BodyFormat) -> bytes:
    """The encrypted reply: Encrypt, MsgSignature, TimeStamp (a number in JSON) and the echoed Nonce."""
    if not (env.timestamp.isascii() and env.timestamp.isdigit()):
        raise ValueError("the envelope's timestamp must be decimal digits")
    if fmt == BodyFormat.JSON:
        fields = {
            "Encrypt": env.encrypt,
            "MsgSignature": env.msg_signature,
            "TimeStamp": int(env.timestamp),
            "Nonce": env.nonce,
        }
        return json_document(fields)
    return (
        f"<xml><Encrypt>{cdata(env.encrypt)}</Encrypt><MsgSignature>{cdata(env.msg_signature)}</MsgSignature>"
        f"<TimeStamp>{env.timestamp}</TimeStamp><Nonce>{cdata(env.nonce)}</Nonce></xml>"
    ).encode()
