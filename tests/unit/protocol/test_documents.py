"""Hostile bodies in: each refusal names its reason; the parser's own defences hold even if the prolog check fails."""

from __future__ import annotations

import json
from xml.parsers import expat

import pytest

from wxfunnel.protocol import documents
from wxfunnel.protocol.crypto import Envelope
from wxfunnel.protocol.documents import (
    BodyFormat,
    MalformedBody,
    json_document,
    parse_document,
    read_envelope,
    render_envelope,
)

DTD = "DTD or entity declarations are not allowed"
BILLION_LAUGHS = b"""<!DOCTYPE xml [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
]><xml><Content>&lol2;</Content></xml>"""
XXE = b'<!DOCTYPE xml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><xml><Content>&xxe;</Content></xml>'


def refusal(body: bytes) -> str:
    with pytest.raises(MalformedBody) as caught:
        parse_document(body)
    return str(caught.value)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"<!-- hi --><xml/>", "comments before the root element are not allowed"),
        (b"<?pi x?><xml/>", "processing instructions are not allowed"),
        (b"<xml><?pi x?></xml>", "processing instructions are not allowed"),
        (b"<!DOCTYPE xml><xml/>", DTD),
        (b"<root/>", "the root element must be <xml>"),
        (b"<xml><a>", "not well-formed XML"),
        (b"<xml>text</xml>", "the root element must contain fields"),
        (b'{"a": NaN}', "NaN and Infinity are not allowed"),
        (b'{"a":' + b"[" * 100_000 + b"]" * 100_000 + b"}", "document nested too deeply"),
        (b'{"a": }', "not well-formed JSON"),
        (b'{"a": "\\ud800"}', "a string is not valid Unicode"),
        (b'{"a": {"b": {"c": {"d": {"e": "x"}}}}}', "document nested too deeply"),
        (b'{"a": [[1]]}', "nested arrays are not allowed"),
        (b"\xff<xml/>", "body is not valid UTF-8"),
        (b"hello", "body is neither XML nor JSON"),
    ],
)
def test_each_refusal_names_its_reason_for_the_log(body: bytes, reason: str) -> None:
    assert refusal(body) == reason


def test_the_top_level_json_value_must_be_an_object() -> None:
    assert refusal(b'"text"') == "body is neither XML nor JSON"
    with pytest.raises(MalformedBody) as caught:
        documents._parse_json("[1]")
    assert str(caught.value) == "the top-level JSON value must be an object"


def test_a_value_of_no_json_type_is_refused() -> None:
    with pytest.raises(MalformedBody) as caught:
        documents._normalize_value(1.5, 1)
    assert str(caught.value) == "unexpected value type"
    assert documents._normalize_value(None, 1) is None


@pytest.mark.parametrize(
    ("document", "reason"),
    [
        ({"Encrypt": ""}, "Encrypt must be a non-empty string"),
        ({"Encrypt": "abc=", "ToUserName": {"x": "y"}}, "ToUserName must be a string"),
    ],
)
def test_a_malformed_envelope_names_the_field(document: dict, reason: str) -> None:
    with pytest.raises(MalformedBody) as caught:
        read_envelope(document)
    assert str(caught.value) == reason


def test_the_body_is_read_as_utf_8_whatever_its_declaration_claims() -> None:
    body = '<?xml version="1.0" encoding="ISO-8859-1"?><xml><Content>中文</Content></xml>'.encode()
    assert parse_document(body) == (BodyFormat.XML, {"Content": "中文"})


def test_attributes_are_ignored_a_field_is_its_text() -> None:
    assert parse_document(b'<xml><Content lang="zh">hi</Content></xml>') == (
        BodyFormat.XML,
        {"Content": "hi"},
    )


def test_json_replies_carry_text_as_utf_8_not_escapes() -> None:
    assert json_document({"content": "你好"}) == '{"content":"你好"}'.encode()
    assert json.loads(json_document({"content": "你好"})) == {"content": "你好"}


def test_an_envelope_with_a_timestamp_that_is_not_decimal_is_a_programming_error() -> None:
    with pytest.raises(ValueError) as caught:
        render_envelope(Envelope("e", "s", "１２", "n"), BodyFormat.XML)
    assert str(caught.value) == "the envelope's timestamp must be decimal digits"


# --- the second defence: the parser itself, should the prolog check ever let a DTD through ------------------------


@pytest.fixture
def without_the_prolog_check(monkeypatch: pytest.MonkeyPatch) -> None:
    """A regression of the first layer: every body passes the prolog check."""
    monkeypatch.setattr(documents, "_PROLOG", documents.re.compile(rb""))


@pytest.mark.usefixtures("without_the_prolog_check")
@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (BILLION_LAUGHS, DTD),
        (XXE, DTD),
        (b'<!DOCTYPE xml SYSTEM "http://attacker.example/x.dtd"><xml/>', DTD),
        (b"<!DOCTYPE xml><xml><Content>x</Content></xml>", DTD),
        (b"<?pi x?><xml/>", "processing instructions are not allowed"),
    ],
)
def test_without_the_prolog_check_the_parser_still_refuses_dtds_entities_and_processing_instructions(
    body: bytes, reason: str
) -> None:
    assert refusal(body) == reason


@pytest.mark.parametrize(
    ("enabled", "body"),
    [
        ("EntityDeclHandler", b'<!DOCTYPE x [<!ENTITY e "v">]><x/>'),
        ("ExternalEntityRefHandler", b'<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>'),
    ],
)
def test_each_handler_of_the_hardened_parser_refuses_on_its_own(enabled: str, body: bytes) -> None:
    parser = documents._HardenedExpat.ParserCreate("utf-8", None)
    for handler in ("StartDoctypeDeclHandler", "EntityDeclHandler", "ExternalEntityRefHandler"):
        if handler != enabled:
            setattr(parser, handler, None)
    with pytest.raises(MalformedBody) as caught:
        parser.Parse(body, True)
    assert str(caught.value) == DTD


@pytest.mark.usefixtures("without_the_prolog_check")
def test_without_the_hardened_parser_xmltodict_still_refuses_entity_declarations(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(documents._HardenedExpat, "ParserCreate", staticmethod(expat.ParserCreate))
    assert refusal(BILLION_LAUGHS) == "not well-formed XML"
