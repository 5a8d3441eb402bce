"""WeChat's value shapes, decided once (protocol.limits): what a scene is, and how it travels in URLs and pushes."""

from __future__ import annotations

import pytest

from wxfunnel.protocol import limits

VALID_SCENES = [
    "1",
    "spring",
    "春节海报",
    "spring poster",
    "店铺A/二楼",
    "café",
    "100%",
    "#1",
    "a&b=c",
    "qrscene_inside",
    "x" * 64,
    "春" * 21,  # 63 bytes
    "a" + "春" * 21,  # 64 bytes
    "全角　空格".replace("　", " "),  # inner ASCII space
]


@pytest.mark.parametrize("scene", VALID_SCENES)
def test_these_are_scenes(scene: str) -> None:
    assert limits.scene_str_problem(scene) is None
    assert limits.is_scene(scene)


@pytest.mark.parametrize(
    ("scene", "problem"),
    [
        ("", "must not be empty"),
        ("x" * 65, "at most 64 bytes of UTF-8 (got 65"),
        ("春" * 22, "at most 64 bytes of UTF-8 (got 66; a Chinese character takes 3)"),
        (" lead", "must not start or end with a space"),
        ("trail ", "must not start or end with a space"),
        ("line\nbreak", "control or invisible characters (found U+000A)"),
        ("tab\there", "control or invisible characters (found U+0009)"),
        ("cr\rhere", "control or invisible characters (found U+000D)"),
        ("zero\u200bwidth", "control or invisible characters (found U+200B)"),
        ("ideographic\u3000space", "control or invisible characters (found U+3000)"),
        ("no-break\u00a0space", "control or invisible characters (found U+00A0)"),
        ("smile😀", "beyond U+FFFF (found U+1F600)"),
        ("lone\ud800", "lone surrogate"),
        ("~reserved", "must not start with ~"),
    ],
)
def test_these_are_not_and_the_problem_says_why(scene: str, problem: str) -> None:
    found = limits.scene_str_problem(scene)
    assert found is not None and problem in found
    assert not limits.is_scene(scene)


@pytest.mark.parametrize(
    ("scene", "permanent", "ok"),
    [
        (1, False, True),
        (2**32 - 1, False, True),
        (2**32, False, False),
        (0, False, False),
        (-1, False, False),
        (1, True, True),
        (100_000, True, True),
        (100_001, True, False),
        (True, False, False),
        (1.0, False, False),
        ("7", True, True),  # a scene_str may be digits: it is the same EventKey as scene_id 7
    ],
)
def test_integer_scenes_have_wechats_bounds(scene: object, permanent: bool, ok: bool) -> None:
    assert (limits.scene_problem(scene, permanent=permanent) is None) is ok


@pytest.mark.parametrize(
    ("event_key", "subscribe", "scene"),
    [
        ("qrscene_春节海报", True, "春节海报"),
        ("qrscene_qrscene_x", True, "qrscene_x"),  # the prefix is sliced off the front only
        ("春节海报", False, "春节海报"),
        ("qrscene_x", False, "qrscene_x"),  # SCAN carries the scene as is
        ("last_trade_no_123", True, None),  # not a parametric code
        ("qrscene_", True, None),
        ("", True, None),
        (None, False, None),
        ("qrscene_" + "x" * 65, True, None),
    ],
)
def test_an_event_key_carries_a_scene_only_when_the_grammar_says_so(
    event_key: str | None, subscribe: bool, scene: str | None
) -> None:
    assert limits.scene_of_event_key(event_key, subscribe=subscribe) == scene


@pytest.mark.parametrize("scene", [*VALID_SCENES, "live.live_id=10&user_id=5"])
def test_a_scene_survives_its_url_segment(scene: str) -> None:
    segment = limits.scene_segment(scene)
    assert "/" not in segment and "%" not in segment and "#" not in segment and "?" not in segment
    assert limits.scene_from_segment(segment) == scene


def test_plain_ascii_scenes_are_their_own_segment_and_others_are_marked() -> None:
    assert limits.scene_segment("spring-poster_1.a") == "spring-poster_1.a"
    assert limits.scene_segment("店铺A/二楼").startswith(limits.SCENE_URL_MARK)
    assert limits.scene_from_segment("店铺A/二楼") == "店铺A/二楼"  # a decoded path still reads back


@pytest.mark.parametrize("segment", ["~!!!", "~" + "A" * 500, "", "~gA"])
def test_a_segment_that_names_no_scene_key_is_none(segment: str) -> None:
    assert limits.scene_from_segment(segment) is None


@pytest.mark.parametrize(
    ("prefix", "ok"),
    [
        ("live.", True),
        ("spring ", True),
        ("春节", True),
        ("", False),
        ("   ", False),
        (" x", False),
        ("x" * 65, False),
    ],
)
def test_a_scene_prefix_is_the_start_of_a_scene(prefix: str, ok: bool) -> None:
    assert (limits.scene_prefix_problem(prefix) is None) is ok


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("https://e.example/a?b=c", True),
        ("http://e.example", True),
        ("HTTPS://E.EXAMPLE/", True),
        ("ftp://e.example", False),
        ("javascript:alert(1)", False),
        ("https://a b", False),
        ("https://e.example/" + "x" * 1100, False),
        (None, False),
    ],
)
def test_urls_are_http_without_spaces_and_bounded(value: object, ok: bool) -> None:
    assert (limits.url_problem(value) is None) is ok


def test_appids_openids_and_tags_have_one_shape_each() -> None:
    assert limits.appid_problem("wx0a0a0a0a0a0a0a0a") is None
    assert limits.appid_problem("wx0A0A0A0A0A0A0A0A") is not None  # lower-case hex only
    assert limits.openid_problem("oMgHVjngRipVsoxg6TuX3vz6glDg") is None
    assert limits.openid_problem("o 1") is not None and limits.openid_problem("o" * 65) is not None
    assert limits.tag_name_problem("标签" * 5) is None  # 30 bytes
    assert limits.tag_name_problem("标签" * 5 + "x") is not None
    assert limits.tag_name_problem("  ") is not None
