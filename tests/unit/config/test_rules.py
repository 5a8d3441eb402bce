"""The rule schema of docs/rules.md: what a valid rule set means, and how a bad one is refused by name."""

from __future__ import annotations

import pytest

from wxfunnel.config.app import parse_app_config
from wxfunnel.config.base import InvalidAppConfig
from wxfunnel.config.rules import (
    DEFAULT_OPT_IN_TEXT,
    CardRule,
    FollowQrAction,
    ImageAction,
    LinkAction,
    NewsAction,
    TemplateSpec,
    TextAction,
    fill,
    parse_rules,
)
from wxfunnel_tools.devapps import DEV_APPS

MP_RULES = {
    "keywords": [
        {
            "match": "exact",
            "pattern": "666",
            "reply": {
                "type": "follow_qr",
                "oa": "demo-oa",
                "scene": "mp-666",
                "as": "image",
                "title": "Follow us",
            },
        },
        {"match": "prefix", "pattern": "help", "reply": {"type": "text", "content": "How can we help?"}},
        {
            "match": "regex",
            "pattern": r"(?P<order>\d{8})",
            "reply": {
                "type": "link",
                "title": "Order {order}",
                "url": "https://shop.example/o/{order}?from={0}",
                "thumb_url": "https://shop.example/t.png",
            },
            "window_closed_template": {
                "template_id": "T1",
                "data": {"thing1": "Order {order}"},
                "page": "pages/order/index?id={order}",
            },
        },
    ],
    "card": {
        "oa": "demo-oa",
        "keys": ["live_id", "user_id"],
        "prefix": "live.",
        "as": "link",
        "expire_seconds": 86400,
    },
    "fallback": {"type": "transfer_customer_service"},
}

OA_RULES = {
    "welcome": "Welcome!",
    "channel_welcome_default": "Welcome, you scanned one of our posters.",
    "referral_text": "你由 {referrer} 推荐关注",
    "keywords": [
        {
            "match": "exact",
            "pattern": "menu",
            "reply": {"type": "news", "articles": [{"title": "Menu", "url": "https://e.example/menu"}]},
        },
    ],
    "tag_followers_by_channel": False,
    "fallback": {"type": "text", "text": "We will answer soon."},
}


def mp(**rules):
    return parse_rules(rules, official_account=False)


def oa(**rules):
    return parse_rules(rules, official_account=True)


def refused(official_account: bool, rules: dict) -> str:
    with pytest.raises(InvalidAppConfig) as caught:
        parse_rules(rules, official_account=official_account)
    return str(caught.value)


def test_an_app_without_rules_has_neutral_defaults():
    rules = oa()
    assert rules.keywords == () and rules.welcome is None and rules.fallback.kind == "none"
    assert rules.card_opt_in_text == DEFAULT_OPT_IN_TEXT and rules.tag_followers_by_channel is True


def test_mini_program_rules_parse_into_typed_actions():
    rules = mp(**MP_RULES)
    follow, help_, order = rules.keywords
    assert follow.reply == FollowQrAction(oa="demo-oa", scene="mp-666", send_as="image", title="Follow us")
    assert help_.reply == TextAction("How can we help?")
    assert isinstance(order.reply, LinkAction)
    assert order.window_closed_template == TemplateSpec(
        template_id="T1", data={"thing1": "Order {order}"}, page="pages/order/index?id={order}"
    )
    assert rules.card == CardRule(
        oa="demo-oa", keys=("live_id", "user_id"), prefix="live.", expire_seconds=86400
    )
    assert rules.fallback.kind == "transfer_customer_service"


def test_official_account_rules_parse():
    rules = oa(**OA_RULES)
    assert rules.welcome == "Welcome!"
    assert rules.referral_text == "你由 {referrer} 推荐关注"
    assert isinstance(rules.keywords[0].reply, NewsAction)
    assert rules.tag_followers_by_channel is False
    assert rules.fallback.text == "We will answer soon."


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("666", 0),
        (" 666 ", 0),
        ("6666", None),
        ("help me", 1),
        ("12345678", 2),
        ("123456789", None),
        ("x", None),
    ],
)
def test_keywords_match_exactly_by_prefix_or_by_whole_regex_in_order(text, expected):
    rules = mp(**MP_RULES)
    found = rules.keyword_for(text)
    assert (rules.keywords.index(found[0]) if found else None) == expected


def test_regex_groups_fill_placeholders_and_are_url_quoted_in_urls():
    rules = mp(**MP_RULES)
    _, match = rules.keyword_for("12345678")
    assert fill("Order {order}", match) == "Order 12345678"
    assert fill("https://shop.example/o/{order}?q={0}&x={9}", match, url=True) == (
        "https://shop.example/o/12345678?q=12345678&x={9}"
    )
    assert fill("{order} {1}", None) == "{order} {1}"


@pytest.mark.parametrize(
    ("source", "value", "scene"),
    [
        ("page_query", "pages/live/index?live_id=10&user_id=5", "live.live_id=10&user_id=5"),
        ("page_query", "pages/live/index?user_id=5&x=1&live_id=10", "live.live_id=10&user_id=5"),
        ("session_from", "live_id=10&user_id=5", "live.live_id=10&user_id=5"),
        ("page_query", "pages/live/index", None),
        ("page_query", "pages/live/index?live_id=10", None),
        ("session_from", "live_id=10&user_id=5%26x%3D1", None),
        ("session_from", "live_id=" + "9" * 60 + "&user_id=5", None),
    ],
)
def test_the_card_scene_is_built_from_the_listed_keys_and_validated(source, value, scene):
    assert mp(**MP_RULES).card.scene_for(source, value) == scene


def test_a_card_rule_can_be_limited_to_one_source():
    card = mp(card={"oa": "demo-oa", "keys": ["live_id"], "scene_from": "session_from"}).card
    assert card.scene_for("page_query", "p?live_id=1") is None
    assert card.scene_for("session_from", "live_id=1") == "live_id=1"


@pytest.mark.parametrize(
    ("official_account", "rules", "message"),
    [
        (
            False,
            {
                "keywords": [
                    {},
                    {},
                    {"match": "regex", "pattern": "(", "reply": {"type": "text", "content": "x"}},
                ]
            },
            "rules.keywords[0].pattern: is required",
        ),
        (
            False,
            {"keywords": [{"match": "regex", "pattern": "(", "reply": {"type": "text", "content": "x"}}]},
            "rules.keywords[0].pattern: invalid regular expression",
        ),
        (False, {"keywords": [{"match": "glob", "pattern": "x"}]}, "rules.keywords[0].match: must be one of"),
        (
            False,
            {"keywords": [{"pattern": "x", "reply": {"type": "news", "articles": []}}]},
            "rules.keywords[0].reply.type: must be one of: text, link, image, miniprogrampage, follow_qr",
        ),
        (
            True,
            {"keywords": [{"pattern": "x", "reply": {"type": "link"}}]},
            "rules.keywords[0].reply.type: must be one of: text, news, image",
        ),
        (
            False,
            {"keywords": [{"pattern": "x", "reply": {"type": "image", "image_url": "ftp://x"}}]},
            "rules.keywords[0].reply.image_url: must be an http(s) URL",
        ),
        (
            False,
            {"keywords": [{"pattern": "x", "reply": {"type": "follow_qr", "oa": "demo-oa", "scene": " a"}}]},
            "rules.keywords[0].reply.scene: must not start or end with a space",
        ),
        (
            False,
            {
                "keywords": [
                    {"pattern": "x", "reply": {"type": "follow_qr", "oa": "demo-oa", "scene": "春" * 22}}
                ]
            },
            "rules.keywords[0].reply.scene: must be at most 64 bytes of UTF-8",
        ),
        # What the sender would refuse is refused when the configuration is put (client/outbound's limits).
        (
            False,
            {
                "keywords": [
                    {
                        "pattern": "x",
                        "reply": {
                            "type": "miniprogrampage",
                            "title": "t",
                            "page_path": "pages/a",
                            "appid": "wxNOTANAPPID",
                            "thumb_media_id": "m",
                        },
                    }
                ]
            },
            "rules.keywords[0].reply.appid: must look like wx followed by 16 hex digits",
        ),
        (
            False,
            {
                "keywords": [
                    {
                        "pattern": "x",
                        "reply": {
                            "type": "link",
                            "title": "t",
                            "url": "https://a b",
                            "thumb_url": "https://t",
                        },
                    }
                ]
            },
            "rules.keywords[0].reply.url: must be an http(s) URL",
        ),
        (
            False,
            {"keywords": [{"pattern": "x", "reply": {"type": "text", "content": "字" * 683}}]},
            "rules.keywords[0].reply.content: must be at most 2048 bytes of UTF-8",
        ),
        (
            False,
            {"keywords": [{"pattern": "x", "reply": {"type": "text", "content": "x", "colour": "red"}}]},
            "rules.keywords[0].reply.colour: is not a known field",
        ),
        (False, {"card": {"oa": "demo-oa", "keys": []}}, "rules.card.keys: must be a non-empty list"),
        (
            False,
            {"card": {"oa": "demo-oa", "keys": ["a"], "expire_seconds": 2592001}},
            "rules.card.expire_seconds: must be an integer from 60 to 2592000",
        ),
        (
            False,
            {"card": {"oa": "demo-oa", "keys": ["a"], "prefix": "x" * 63}},
            "rules.card.keys: prefix and keys",
        ),
        (
            False,
            {
                "card": {
                    "oa": "demo-oa",
                    "keys": ["a"],
                    "window_closed_template": {"template_id": "T", "data": {"k": 1}},
                }
            },
            "rules.card.window_closed_template.data.k: must be a string",
        ),
        (
            False,
            {
                "card": {
                    "oa": "demo-oa",
                    "keys": ["a"],
                    "window_closed_template": {"template_id": "T", "page": "/pages/live/index"},
                }
            },
            "rules.card.window_closed_template.page: must be a Mini Program page path",
        ),
        (
            False,
            {
                "keywords": [
                    {
                        "pattern": "x",
                        "reply": {"type": "text", "content": "x"},
                        "window_closed_template": {"template_id": "T", "url": "https://e.example/"},
                    }
                ]
            },
            "rules.keywords[0].window_closed_template.url: a Mini Program sends a subscribe message",
        ),
        (
            True,
            {
                "keywords": [
                    {
                        "pattern": "x",
                        "reply": {"type": "text", "content": "x"},
                        "window_closed_template": {"template_id": "T", "page": "pages/a/b"},
                    }
                ]
            },
            "rules.keywords[0].window_closed_template.page: an Official Account sends a template message",
        ),
        (False, {"fallback": {"type": "text"}}, "rules.fallback.text: is required"),
        (False, {"welcome": "hi"}, "rules.welcome: is not a rule of a Mini Program"),
        (True, {"card": {}}, "rules.card: is not a rule of an Official Account"),
        (True, {"tag_followers_by_channel": "yes"}, "rules.tag_followers_by_channel: must be true or false"),
    ],
)
def test_a_bad_rule_is_refused_with_a_message_naming_it(official_account, rules, message):
    assert message in refused(official_account, rules)


def test_a_bad_rule_set_is_refused_when_the_app_configuration_loads():
    with pytest.raises(InvalidAppConfig, match=r"rules\.keywords\[0\]\.pattern: invalid regular expression"):
        parse_app_config(
            "demo-mp",
            {
                **DEV_APPS["demo-mp"],
                "keywords": [{"match": "regex", "pattern": "[", "reply": {"type": "text", "content": "x"}}],
            },
        )


def test_rules_are_parsed_once_with_their_configuration():
    config = parse_app_config("demo-mp", {**DEV_APPS["demo-mp"], **MP_RULES})
    assert config.rules is config.rules
    assert config.rules.card is not None
    other = parse_app_config(
        "demo-mp",
        {
            **DEV_APPS["demo-mp"],
            "keywords": [
                {"pattern": "hi", "reply": {"type": "image", "image_url": "https://e.example/a.png"}}
            ],
        },
    )
    assert other.rules.keywords[0].reply == ImageAction("https://e.example/a.png")


def test_the_referral_rule_parses_with_its_defaults():
    rule = oa(referral={"keyword": "我的二维码", "menu_key": "MY_CODE", "name_keyword": "我的名字"}).referral
    assert rule is not None
    assert (rule.keyword, rule.menu_key, rule.scene_prefix, rule.expire_seconds) == (
        "我的二维码",
        "MY_CODE",
        "my_",
        2592000,  # a temporary code's longest life: reused while more than half of it is left
    )
    assert rule.asks_for_code(" 我的二维码 ") and not rule.asks_for_code("我的二维码呢")
    assert rule.name_in("我的名字  小明 ") == "小明"
    assert rule.name_in("我的名字") is None and rule.name_in("你的名字 小明") is None
    assert rule.default_name == "你的好友" and rule.notify_referrer is None


@pytest.mark.parametrize(
    ("referral", "message"),
    [
        ({}, "rules.referral.keyword: is required (or menu_key)"),
        ({"keyword": "x", "bonus": 1}, "rules.referral.bonus: is not a known field"),
        ({"menu_key": "K" * 129}, "rules.referral.menu_key"),
        ({"keyword": "x", "scene_prefix": "p" * 49}, "rules.referral.scene_prefix: leaves no room"),
        ({"keyword": "x", "scene_prefix": "~p"}, "rules.referral.scene_prefix"),
        ({"keyword": "x", "expire_seconds": 2592001}, "rules.referral.expire_seconds"),
    ],
)
def test_a_bad_referral_rule_is_refused_naming_the_field(referral, message):
    assert message in refused(True, {"referral": referral})


def test_a_mini_program_has_no_referral_rule():
    assert "rules.referral: is not a rule of a Mini Program" in refused(False, {"referral": {"keyword": "x"}})
