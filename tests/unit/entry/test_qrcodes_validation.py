"""POST /qrcodes bodies: every rule and boundary, each refusal naming its field (wxfunnel.entry.admin.qrcodes.parse_request)."""

from __future__ import annotations

from typing import Any

import pytest

from wxfunnel.domain.promoters import Referrer
from wxfunnel.entry.admin.errors import ValidationFailed
from wxfunnel.entry.admin.qrcodes import parse_request

CHANNEL = {"name": "Spring poster"}


def body(**fields: Any) -> dict[str, Any]:
    return {"app": "demo-oa", "scene": 123, "channel": CHANNEL, **fields}


def refused(document: Any) -> ValidationFailed:
    with pytest.raises(ValidationFailed) as caught:
        parse_request(document)
    return caught.value


@pytest.mark.parametrize(
    ("scene", "permanent", "accepted"),
    [
        (0, True, False),
        (1, True, True),
        (100_000, True, True),
        (100_001, True, False),
        (2**32, True, False),
        (0, False, False),
        (1, False, True),
        (100_000, False, True),
        (100_001, False, True),
        (2**32 - 1, False, True),
        (2**32, False, False),
        (-1, False, False),
    ],
)
def test_integer_scenes_are_1_to_100000_when_permanent_and_32_bit_non_zero_when_temporary(
    scene: int, permanent: bool, accepted: bool
) -> None:
    document = body(scene=scene, permanent=permanent)
    if accepted:
        request = parse_request(document)
        assert (request.scene, request.scene_key, request.scene_type) == (scene, str(scene), "int")
        return
    error = refused(document)
    assert error.field == "scene"
    limit = "100000" if permanent else "4294967295"
    assert f"from 1 to {limit}" in error.message


@pytest.mark.parametrize("permanent", [True, False])
@pytest.mark.parametrize(("length", "accepted"), [(0, False), (1, True), (64, True), (65, False)])
def test_string_scenes_are_1_to_64_bytes(length: int, accepted: bool, permanent: bool) -> None:
    document = body(scene="s" * length, permanent=permanent)
    if accepted:
        request = parse_request(document)
        assert (request.scene, request.scene_type) == ("s" * length, "str")
        return
    error = refused(document)
    assert error.field == "scene"
    assert ("must not be empty" if length == 0 else "at most 64 bytes of UTF-8") in error.message


def test_a_string_scene_counts_bytes_of_utf8_not_characters() -> None:
    """WeChat's "长度限制为1到64" does not say which; 64 bytes fits either reading (protocol.limits)."""
    assert parse_request(body(scene="海" * 21)).scene == "海" * 21
    error = refused(body(scene="海" * 22))
    assert (error.field, "got 66; a Chinese character takes 3" in error.message) == ("scene", True)


@pytest.mark.parametrize("scene", [True, False, 12.0, None, [1], {"id": 1}])
def test_a_scene_must_be_an_integer_or_a_string_never_a_boolean(scene: Any) -> None:
    error = refused(body(scene=scene))
    assert error.field == "scene"


def test_control_characters_are_refused_in_a_string_scene() -> None:
    assert refused(body(scene="a\nb")).field == "scene"


@pytest.mark.parametrize(
    ("seconds", "accepted"),
    [(0, False), (1, True), (2_592_000, True), (2_592_001, False), (True, False), ("60", False)],
)
def test_expire_seconds_is_1_to_2592000(seconds: Any, accepted: bool) -> None:
    document = body(expire_seconds=seconds)
    if accepted:
        assert parse_request(document).expire_seconds == seconds
        return
    error = refused(document)
    assert error.field == "expire_seconds"
    assert "from 1 to 2592000" in error.message


def test_a_temporary_code_lives_7_days_by_default_and_a_permanent_one_has_no_expiry() -> None:
    assert parse_request(body()).expire_seconds == 604_800
    assert parse_request(body(permanent=True)).expire_seconds is None


def test_expire_seconds_is_refused_for_a_permanent_code() -> None:
    error = refused(body(permanent=True, expire_seconds=60))
    assert error.field == "expire_seconds"
    assert "temporary codes only" in error.message


@pytest.mark.parametrize("permanent", ["true", 1, 0])
def test_permanent_must_be_a_boolean(permanent: Any) -> None:
    assert refused(body(permanent=permanent)).field == "permanent"


@pytest.mark.parametrize("app", [None, "", 7])
def test_app_is_a_required_string(app: Any) -> None:
    assert refused(body(app=app)).field == "app"


@pytest.mark.parametrize("document", [[], "x", 3, None])
def test_the_body_must_be_an_object(document: Any) -> None:
    assert "JSON object" in refused(document).message


def test_unknown_fields_are_refused_by_name() -> None:
    error = refused(body(expire=60))
    assert error.field == "expire"
    assert refused(body(channel={"name": "x", "colour": "red"})).field == "channel.colour"
    assert (
        refused(body(channel={"name": "x", "referrer": {"name": "A", "id": 1}})).field
        == "channel.referrer.id"
    )


def test_a_channel_with_a_name_is_required() -> None:
    assert refused(body(channel=None)).field == "channel"
    assert refused(body(channel="Spring")).field == "channel"
    assert refused(body(channel={})).field == "channel.name"


@pytest.mark.parametrize(
    ("name", "accepted"),
    [("", False), ("   ", False), ("n", True), ("n" * 64, True), ("n" * 65, False), (5, False)],
)
def test_channel_name_is_1_to_64_characters(name: Any, accepted: bool) -> None:
    document = body(channel={"name": name})
    if accepted:
        assert parse_request(document).channel.name == name
    else:
        assert refused(document).field == "channel.name"


@pytest.mark.parametrize(("length", "accepted"), [(600, True), (601, False)])
def test_welcome_message_is_at_most_600_characters(length: int, accepted: bool) -> None:
    document = body(channel={"name": "n", "welcome_message": "w" * length})
    if accepted:
        assert parse_request(document).channel.welcome_message == "w" * length
    else:
        error = refused(document)
        assert (error.field, "at most 600" in error.message) == ("channel.welcome_message", True)


@pytest.mark.parametrize(
    ("tag", "accepted"),
    [("t" * 30, True), ("t" * 31, False), ("春" * 10, True), ("春" * 11, False), ("  ", False)],
)
def test_tag_is_at_most_30_bytes_of_utf8(tag: str, accepted: bool) -> None:
    document = body(channel={"name": "n", "tag": tag})
    if accepted:
        assert parse_request(document).channel.tag == tag
    else:
        assert refused(document).field == "channel.tag"


@pytest.mark.parametrize(
    ("referrer", "field"),
    [
        ({"name": ""}, "channel.referrer.name"),
        ({"name": "r" * 65}, "channel.referrer.name"),
        ({}, "channel.referrer.name"),
        ({"name": "Alice", "openid": "o 1"}, "channel.referrer.openid"),
        ({"name": "Alice", "openid": "o" * 129}, "channel.referrer.openid"),
        ("Alice", "channel.referrer"),
    ],
)
def test_a_referrer_needs_a_name_of_1_to_64_characters_and_a_well_formed_openid(
    referrer: Any, field: str
) -> None:
    assert refused(body(channel={"name": "n", "referrer": referrer})).field == field


def test_a_referrer_is_kept_with_or_without_openid() -> None:
    with_openid = parse_request(
        body(channel={"name": "n", "referrer": {"name": "A" * 64, "openid": "o-Ab_9"}})
    )
    assert with_openid.channel.referrer == Referrer("A" * 64, "o-Ab_9")
    assert parse_request(body(channel={"name": "n", "referrer": {"name": "A"}})).channel.referrer == Referrer(
        "A"
    )


@pytest.mark.parametrize(("length", "accepted"), [(1000, True), (1001, False)])
def test_notes_are_at_most_1000_characters(length: int, accepted: bool) -> None:
    document = body(channel={"name": "n", "notes": "x" * length})
    if accepted:
        assert parse_request(document).channel.notes == "x" * length
    else:
        assert refused(document).field == "channel.notes"


def test_empty_optional_channel_fields_mean_absent() -> None:
    info = parse_request(body(channel={"name": "n", "welcome_message": "", "tag": None, "notes": ""})).channel
    assert (info.welcome_message, info.tag, info.notes, info.referrer) == (None, None, None, None)


def test_every_message_starts_with_the_field_it_names() -> None:
    for document in (body(scene=0), body(expire_seconds=0), body(channel={"name": ""}), body(app=None)):
        error = refused(document)
        assert error.field is not None
        assert error.message.startswith(f"{error.field}: ")


@pytest.mark.parametrize(
    ("document", "field"),
    [
        (body(scene="spring\ud800"), "scene"),
        (body(app="demo\udfff"), "app"),
        (body(channel={"name": "\ud800"}), "channel.name"),
        (body(channel={**CHANNEL, "welcome_message": "hi \ud83d"}), "channel.welcome_message"),
        (body(channel={**CHANNEL, "tag": "\ud800"}), "channel.tag"),
        (body(channel={**CHANNEL, "notes": "\udc00"}), "channel.notes"),
        (body(channel={**CHANNEL, "referrer": {"name": "\ud800"}}), "channel.referrer.name"),
    ],
)
def test_text_with_a_lone_surrogate_is_refused_naming_its_field(document: dict[str, Any], field: str) -> None:
    """JSON can carry "\\ud800"; UTF-8 (the WeChat API, DynamoDB) cannot."""
    error = refused(document)
    assert error.field == field
    assert error.message.startswith(f"{field}:") and "surrogate" in error.message


def test_text_with_a_proper_surrogate_pair_is_accepted() -> None:
    request = parse_request(body(channel={"name": "春季 😀"}))
    assert request.channel.name == "春季 😀"
