"""A custom menu's shape, decided once (protocol.limits.menu_problem): the first problem, named by its path.

The bounds are written out as numbers here, not read from the module: a bound that moves fails these tests.
"""

from __future__ import annotations

import copy
import json
import re
from typing import Any

import pytest

from wxfunnel.protocol import limits
from wxfunnel_tools.template import ROOT

MY_CODE = {"type": "click", "name": "我的二维码", "key": "MY_CODE"}
SITE = {"type": "view", "name": "官网", "url": "https://example.com/"}
LIVE = {
    "type": "miniprogram",
    "name": "直播",
    "appid": "wx0b0b0b0b0b0b0b0b",
    "pagepath": "pages/live/index?id=10",
    "url": "https://example.com/live",
}


def menu(*buttons: dict[str, Any]) -> dict[str, Any]:
    return {"button": [copy.deepcopy(button) for button in buttons]}


def group(name: str, *subs: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "sub_button": [copy.deepcopy(sub) for sub in subs]}


def click(name: str, key: str = "K") -> dict[str, Any]:
    return {"type": "click", "name": name, "key": key}


def problem_of(document: Any) -> str | None:
    return limits.menu_problem(document)


# --- what a menu may be -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "document",
    [
        menu(MY_CODE),
        menu(MY_CODE, SITE),
        menu(MY_CODE, SITE, group("更多", LIVE, click("联系我们", "CONTACT"))),
        menu(group("菜单", *[click(f"第{n}项", f"K{n}") for n in range(5)])),  # 5 sub-buttons
        menu(click("a" * 16)),  # 16 bytes
        menu(click("我的二维码")),  # 5 Chinese characters: 15 bytes
        menu(group("g", click("a" * 60))),  # 60 bytes in a sub-button
        menu(group("g", click("二" * 20))),  # 20 Chinese characters: 60 bytes
        menu(click("🔥热卖")),  # an emoji in a name is shown, never matched
        menu(click("k", "k" * 128)),
        menu(click("k", "春" * 42 + "kk")),  # 128 bytes
        menu(click("k", "live_id=10&user_id=5")),
        menu({"type": "view", "name": "v", "url": "https://example.com/" + "a" * 1004}),  # 1024 bytes
        menu({"type": "view", "name": "v", "url": "http://例子.测试/路径"}),
        menu(*[{"type": kind, "name": kind[:16], "key": kind} for kind in limits.MENU_KEY_TYPES[:3]]),
        menu(*[{"type": kind, "name": kind[:16], "key": kind} for kind in limits.MENU_KEY_TYPES[3:6]]),
        menu({"type": "location_select", "name": "位置", "key": "WHERE"}),
        menu(
            {"type": "media_id", "name": "图片", "media_id": "MEDIA_ID1"},
            {"type": "view_limited", "name": "图文", "media_id": "MEDIA_ID2"},
        ),
        menu(
            {"type": "article_id", "name": "文章", "article_id": "ARTICLE_ID1"},
            {"type": "article_view_limited", "name": "文章2", "article_id": "ARTICLE_ID2"},
        ),
    ],
)
def test_these_are_menus(document: dict[str, Any]) -> None:
    assert problem_of(document) is None


def test_what_menu_get_answers_can_be_put_again() -> None:
    """menu/get gives every action an empty sub_button; that is not a group."""
    read_back = {
        "button": [
            {**MY_CODE, "sub_button": []},
            {"name": "更多", "sub_button": [{**SITE, "sub_button": []}, {**LIVE, "sub_button": []}]},
        ]
    }
    assert problem_of(read_back) is None


# --- the first problem, by its path ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        # the menu itself
        ([MY_CODE], 'menu: must be a JSON object {"button": [...]}'),
        ({}, "button: must be a list of 1 to 3 buttons"),
        ({"button": MY_CODE}, "button: must be a list of 1 to 3 buttons"),
        (menu(), "button: must have 1 to 3 buttons (got 0)"),
        (menu(MY_CODE, SITE, LIVE, click("四")), "button: must have 1 to 3 buttons (got 4)"),
        (
            {"menu": menu(MY_CODE)},
            "menu: not a field of a menu, which has only button (put the menu itself, not menu/get's whole answer)",
        ),
        (
            {**menu(MY_CODE), "matchrule": {"sex": "1"}},
            "matchrule: not a field of a menu, which has only button",
        ),
        # names: 16 bytes at the top, 60 below, a Chinese character takes 3
        (
            menu(click("a" * 17)),
            "button[1].name: must be at most 16 bytes of UTF-8 (got 17); a Chinese character takes 3",
        ),
        (menu(SITE, click("我的专属二维码")), "button[2].name: must be at most 16 bytes of UTF-8 (got 21)"),
        (
            menu(group("g", click("a" * 61))),
            "button[1].sub_button[1].name: must be at most 60 bytes of UTF-8 (got 61)",
        ),
        (
            menu(SITE, group("g", MY_CODE, click("二" * 21))),
            "button[2].sub_button[2].name: must be at most 60 bytes of UTF-8 (got 63); a Chinese character takes 3",
        ),
        (menu({"type": "click", "key": "K"}), "button[1].name: must be a non-empty, non-blank text"),
        (menu(click("  ")), "button[1].name: must be a non-empty, non-blank text"),
        (
            menu(click("a\nb")),
            "button[1].name: must not contain control or invisible characters (found U+000A)",
        ),
        # groups: 1 to 5 sub-buttons, two levels, type or sub_button
        (
            menu(group("g", *[click(str(n)) for n in range(6)])),
            "button[1].sub_button: must have 1 to 5 buttons (got 6)",
        ),
        (menu({"name": "g", "sub_button": []}), "button[1]: needs a type, or sub_button with 1 to 5 buttons"),
        (menu({"name": "g", "sub_button": None}), "button[1].sub_button: must be a list of 1 to 5 buttons"),
        (
            menu(group("g", group("deeper", MY_CODE))),
            "button[1].sub_button[1].sub_button: a sub-button cannot have sub-buttons (two levels at most)",
        ),
        (
            menu({**group("g", MY_CODE), "type": "click"}),
            "button[1]: has both type and sub_button (a button either acts or opens its sub-buttons)",
        ),
        (
            menu({**group("g", MY_CODE), "key": "K"}),
            "button[1].key: not a field of a button with sub-buttons (it has name and sub_button)",
        ),
        (menu(group("g", {"name": "no type"})), "button[1].sub_button[1]: needs a type"),
        (menu("click"), "button[1]: must be a JSON object"),
        # types and their fields
        (
            menu({"type": "link", "name": "x", "url": "https://e.com"}),
            "button[1].type: must be one of click,",
        ),
        (menu({"type": ["click"], "name": "x"}), "button[1].type: must be one of click,"),
        (menu({"type": "click", "name": "x"}), "button[1].key: required for a click button"),
        (
            menu(group("g", {"type": "pic_weixin", "name": "x"})),
            "button[1].sub_button[1].key: required for a pic_weixin button",
        ),
        (
            menu({"type": "view", "name": "x", "key": "https://e.com"}),
            "button[1].key: not a field of a view button (it has url)",
        ),
        (
            menu({**MY_CODE, "url": "https://e.com"}),
            "button[1].url: not a field of a click button (it has key)",
        ),
        # keys: what the CLICK push carries back, matched exactly
        (menu(click("k", "")), "button[1].key: must be a text of 1 to 128 bytes"),
        (menu(click("k", 7)), "button[1].key: must be a text of 1 to 128 bytes"),  # type: ignore[arg-type]
        (menu(click("k", "k" * 129)), "button[1].key: must be at most 128 bytes of UTF-8 (got 129)"),
        (menu(click("k", "春" * 43)), "button[1].key: must be at most 128 bytes of UTF-8 (got 129)"),
        (menu(click("k", " MY_CODE")), "button[1].key: must not start or end with a space"),
        (
            menu(click("k", "MY\tCODE")),
            "button[1].key: must not contain control or invisible characters (found U+0009)",
        ),
        (menu(click("k", "🔥")), "button[1].key: must not contain emoji or other characters beyond U+FFFF"),
        # URLs: http(s), at most 1024 bytes
        (menu({**SITE, "url": "www.example.com"}), "button[1].url: must be an http(s) URL"),
        (menu({**SITE, "url": "ftp://example.com/"}), "button[1].url: must be an http(s) URL"),
        (menu({**SITE, "url": "https://example.com/a b"}), "button[1].url: must be an http(s) URL"),
        (
            menu({**SITE, "url": "https://example.com/" + "a" * 1005}),
            "button[1].url: must be at most 1024 bytes of UTF-8 (got 1025)",
        ),
        (
            menu({**SITE, "url": "https://example.com/" + "路" * 335}),
            "button[1].url: must be at most 1024 bytes of UTF-8 (got 1025)",
        ),
        # mini program: appid, page path and the fallback URL
        (
            menu({k: v for k, v in LIVE.items() if k != "url"}),
            "button[1].url: required for a miniprogram button",
        ),
        (
            menu({k: v for k, v in LIVE.items() if k != "pagepath"}),
            "button[1].pagepath: required for a miniprogram button",
        ),
        (menu({**LIVE, "appid": "wx123"}), "button[1].appid: must look like wx followed by 16 hex digits"),
        (
            menu({**LIVE, "pagepath": "/pages/live/index"}),
            "button[1].pagepath: must be a Mini Program page path",
        ),
        # material and articles
        (menu({"type": "media_id", "name": "m"}), "button[1].media_id: required for a media_id button"),
        (
            menu({"type": "article_id", "name": "a", "article_id": "A B"}),
            "button[1].article_id: must be a non-empty id",
        ),
        (
            menu({"type": "view_limited", "name": "v", "article_id": "A"}),
            "button[1].article_id: not a field of a view_limited",
        ),
    ],
)
def test_the_first_problem_is_named_by_its_path(document: Any, expected: str) -> None:
    problem = problem_of(document)
    assert problem is not None and problem.startswith(expected), problem


def test_the_first_problem_in_reading_order_is_the_one_reported() -> None:
    document = menu(
        MY_CODE, group("更多", SITE, click("x" * 61), {"type": "view", "name": "v"}), click("y" * 17)
    )

    assert problem_of(document) == (
        "button[2].sub_button[2].name: must be at most 60 bytes of UTF-8 (got 61); a Chinese character takes 3"
    )


def test_a_key_is_the_same_rule_wherever_it_is_checked() -> None:
    assert limits.menu_key_problem("MY_CODE") is None
    assert limits.menu_key_problem("推荐 码") is None
    assert limits.menu_key_problem("k" * 129) == "must be at most 128 bytes of UTF-8 (got 129)"
    assert limits.menu_key_problem(None) == "must be a text of 1 to 128 bytes"


@pytest.mark.parametrize("document", ["README.md", "docs/menu.md"])
def test_the_documented_menus_are_menus(document: str) -> None:
    text = (ROOT / document).read_text(encoding="utf-8")
    menus = [
        json.loads(block)
        for block in re.findall(r"```json\n(.*?)```", text, flags=re.DOTALL)
        if '"button"' in block
    ]

    assert menus, f"{document} shows no menu"
    for example in menus:
        assert problem_of(example) is None
        assert {"type": "click", "name": "我的二维码", "key": "MY_CODE"} in example["button"]
