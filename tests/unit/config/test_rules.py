"""The rule schema of docs/rules.md: what a valid rule set means, and how a bad one is refused by name."""

from __future__ import annotations

import pytest

from wxfunnel.config.app import parse_app_config
from wxfunnel.config.base import InvalidAppConfig
from wxfunnel.config.rules import (
    DEFAULT_FOLLOW_TITLE,
    DEFAULT_OPT_IN_TEXT,
    Article,
    CardRule,
    Fallback,
    FollowQrAction,
    ImageAction,
    LinkAction,
    MiniProgramPageAction,
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


# --- what users type goes into URLs escaped, and into texts as typed ----------------------------------------------


def test_user_typed_text_is_url_quoted_entirely_in_urls_and_kept_as_typed_in_texts():
    rule = mp(
        keywords=[{"match": "regex", "pattern": r"find (?P<q>.+)", "reply": {"type": "text", "content": "x"}}]
    )
    _, match = rule.keyword_for("find a b/c?d=1&e#f 中")
    assert fill("https://e.example/s?q={q}", match, url=True) == (
        "https://e.example/s?q=a%20b%2Fc%3Fd%3D1%26e%23f%20%E4%B8%AD"
    )
    assert fill("You looked for {q}", match) == "You looked for a b/c?d=1&e#f 中"


def test_a_group_that_did_not_take_part_in_the_match_fills_in_as_nothing():
    rule = mp(keywords=[{"match": "regex", "pattern": r"(a)|(b)", "reply": {"type": "text", "content": "x"}}])
    _, match = rule.keyword_for("b")
    assert fill("[{1}][{2}]", match) == "[][b]"


# --- every field of every reply, and each limit at its edge -----------------------------------------------------


def reply_rule(reply: dict, **rule: object) -> dict:
    return {"keywords": [{"pattern": "k", "reply": reply, **rule}]}


def test_every_field_of_every_mini_program_reply_is_read():
    rules = mp(
        keywords=[
            {
                "pattern": "link",
                "reply": {
                    "type": "link",
                    "title": "T",
                    "description": "D",
                    "url": "https://e.example/u",
                    "thumb_url": "https://e.example/t.png",
                },
                "window_closed_template": {
                    "template_id": "TPL",
                    "data": {"thing1": "a", "time2": {"value": "b"}},
                    "page": "pages/a/b?x=1",
                },
            },
            {
                "pattern": "page",
                "reply": {
                    "type": "miniprogrampage",
                    "title": "P",
                    "appid": "wx0123456789abcdef",
                    "page_path": "pages/live/index?id=1",
                    "thumb_url": "https://e.example/t.png",
                    "thumb_media_id": "MEDIA",
                },
            },
            {
                "pattern": "qr",
                "reply": {
                    "type": "follow_qr",
                    "oa": "demo-oa",
                    "scene": "s",
                    "as": "image",
                    "title": "F",
                    "description": "FD",
                    "thumb_url": "https://e.example/q.png",
                    "expire_seconds": 60,
                },
            },
            {"pattern": "qr2", "reply": {"type": "follow_qr", "oa": "demo-oa", "scene": "s2"}},
        ]
    )
    link, page, qr, plain_qr = (rule.reply for rule in rules.keywords)
    assert link == LinkAction("T", "D", "https://e.example/u", "https://e.example/t.png")
    assert rules.keywords[0].window_closed_template == TemplateSpec(
        "TPL", {"thing1": "a", "time2": {"value": "b"}}, page="pages/a/b?x=1"
    )
    assert page == MiniProgramPageAction(
        "P", "pages/live/index?id=1", "wx0123456789abcdef", "https://e.example/t.png", "MEDIA"
    )
    assert qr == FollowQrAction("demo-oa", "s", "image", "F", "FD", "https://e.example/q.png", 60)
    assert plain_qr == FollowQrAction("demo-oa", "s2", "link", DEFAULT_FOLLOW_TITLE, "", None, 604_800)


def test_every_field_of_an_official_account_reply_and_template_is_read():
    rules = oa(
        keywords=[
            {
                "pattern": "news",
                "reply": {
                    "type": "news",
                    "articles": [
                        {
                            "title": "A",
                            "description": "AD",
                            "url": "https://e.example/a",
                            "pic_url": "https://e.example/p",
                        },
                        {"title": "B", "url": "https://e.example/b"},
                    ],
                },
                "window_closed_template": {"template_id": "TPL", "url": "https://e.example/open"},
            }
        ],
        fallback={"type": "transfer_customer_service", "kf_account": "kf2001@gh_x"},
    )
    assert rules.keywords[0].reply == NewsAction(
        (
            Article("A", "AD", "https://e.example/a", "https://e.example/p"),
            Article("B", "", "https://e.example/b", ""),
        )
    )
    assert rules.keywords[0].window_closed_template == TemplateSpec("TPL", {}, url="https://e.example/open")
    assert rules.fallback == Fallback("transfer_customer_service", None, "kf2001@gh_x")


def test_every_field_of_a_card_rule_is_read():
    card = mp(
        card={
            "oa": "demo-oa",
            "scene_from": ["session_from"],
            "keys": ["live_id"],
            "prefix": "live.",
            "as": "image",
            "title": "C",
            "description": "CD",
            "thumb_url": "https://e.example/c.png",
            "expire_seconds": 3600,
            "opt_in_text": "on",
            "window_closed_template": {"template_id": "T2", "data": {"thing1": "x"}},
        }
    ).card
    assert card == CardRule(
        oa="demo-oa",
        keys=("live_id",),
        scene_from=("session_from",),
        prefix="live.",
        send_as="image",
        title="C",
        description="CD",
        thumb_url="https://e.example/c.png",
        expire_seconds=3600,
        opt_in_text="on",
        window_closed_template=TemplateSpec("T2", {"thing1": "x"}),
    )


@pytest.mark.parametrize(
    "thumb",
    [{"thumb_url": "https://e.example/t.png"}, {"thumb_media_id": "MEDIA"}],
    ids=["thumb_url", "thumb_media_id"],
)
def test_a_mini_program_page_reply_needs_one_of_its_two_thumbs(thumb):
    page = {"type": "miniprogrampage", "title": "P", "page_path": "pages/a/b"}
    assert mp(**reply_rule({**page, **thumb})).keywords[0].reply.page_path == "pages/a/b"
    assert refused(False, reply_rule(page)) == (
        "rules.keywords[0].reply.thumb_url: is required unless thumb_media_id is given (the card's cover image)"
    )


@pytest.mark.parametrize("keys", [["live_id", 5], ["live id"], [], "live_id", ["live_id", "live_id"]])
def test_card_keys_are_a_list_of_distinct_query_keys(keys):
    assert "rules.card.keys: must" in refused(False, {"card": {"oa": "demo-oa", "keys": keys}})


def articles(n: int) -> dict:
    return {"type": "news", "articles": [{"title": f"A{i}", "url": "https://e.example/a"} for i in range(n)]}


LONGEST = [
    # (official account, a rule at its limit, the same rule one past it, the refusal)
    (
        False,
        reply_rule({"type": "text", "content": "字" * 682 + "ab"}),
        reply_rule({"type": "text", "content": "字" * 683}),
        "rules.keywords[0].reply.content: must be at most 2048 bytes",
    ),
    (
        True,
        reply_rule(articles(8)),
        reply_rule(articles(9)),
        "rules.keywords[0].reply.articles: must be a list of 1 to 8 objects",
    ),
    (
        True,
        reply_rule(articles(1)),
        reply_rule(articles(0)),
        "rules.keywords[0].reply.articles: must be a list of 1 to 8 objects",
    ),
    (
        False,
        reply_rule(
            {
                "type": "link",
                "title": "t" * 64,
                "url": "https://e.example/u",
                "thumb_url": "https://e.example/t",
            }
        ),
        reply_rule(
            {
                "type": "link",
                "title": "t" * 65,
                "url": "https://e.example/u",
                "thumb_url": "https://e.example/t",
            }
        ),
        "rules.keywords[0].reply.title: must be at most 64 characters",
    ),
    (
        False,
        {"keywords": [{"pattern": "p" * 256, "reply": {"type": "text", "content": "x"}}]},
        {"keywords": [{"pattern": "p" * 257, "reply": {"type": "text", "content": "x"}}]},
        "rules.keywords[0].pattern: must be at most 256 characters",
    ),
    (
        False,
        reply_rule(
            {"type": "miniprogrampage", "title": "P", "page_path": "pages/a", "thumb_media_id": "m" * 128}
        ),
        reply_rule(
            {"type": "miniprogrampage", "title": "P", "page_path": "pages/a", "thumb_media_id": "m" * 129}
        ),
        "rules.keywords[0].reply.thumb_media_id: must be at most 128 characters",
    ),
    (
        False,
        reply_rule({"type": "text", "content": "x"}, window_closed_template={"template_id": "T" * 128}),
        reply_rule({"type": "text", "content": "x"}, window_closed_template={"template_id": "T" * 129}),
        "rules.keywords[0].window_closed_template.template_id: must be at most 128 characters",
    ),
    (
        False,
        reply_rule(
            {"type": "text", "content": "x"},
            window_closed_template={"template_id": "T", "data": {f"k{i}": "v" for i in range(20)}},
        ),
        reply_rule(
            {"type": "text", "content": "x"},
            window_closed_template={"template_id": "T", "data": {f"k{i}": "v" for i in range(21)}},
        ),
        "rules.keywords[0].window_closed_template.data: must have at most 20 entries",
    ),
    (
        False,
        {"fallback": {"type": "text", "text": "字" * 682 + "ab"}},
        {"fallback": {"type": "text", "text": "字" * 683}},
        "rules.fallback.text: must be at most 2048 bytes",
    ),
    (
        False,
        {"fallback": {"type": "transfer_customer_service", "kf_account": "k" * 64}},
        {"fallback": {"type": "transfer_customer_service", "kf_account": "k" * 65}},
        "rules.fallback.kf_account: must be at most 64 characters",
    ),
    (True, {"welcome": "w" * 600}, {"welcome": "w" * 601}, "rules.welcome: must be at most 600 characters"),
    (
        False,
        {"card": {"oa": "demo-oa", "keys": ["k"], "opt_in_text": "o" * 600}},
        {"card": {"oa": "demo-oa", "keys": ["k"], "opt_in_text": "o" * 601}},
        "rules.card.opt_in_text: must be at most 600 characters",
    ),
]


@pytest.mark.parametrize(("official_account", "longest", "too_long", "refusal"), LONGEST)
def test_each_limit_admits_its_largest_value_and_refuses_one_more(
    official_account, longest, too_long, refusal
):
    parse_rules(longest, official_account=official_account)
    assert refusal in refused(official_account, too_long)


@pytest.mark.parametrize(
    ("rules", "refusal"),
    [
        (reply_rule({"type": "text", "content": " "}), "rules.keywords[0].reply.content: must not be blank"),
        (
            reply_rule(
                {
                    "type": "link",
                    "title": " ",
                    "url": "https://e.example/u",
                    "thumb_url": "https://e.example/t",
                }
            ),
            "rules.keywords[0].reply.title: must not be blank",
        ),
        (
            reply_rule({"type": "link", "title": "t", "url": "https://e.example/u"}),
            "rules.keywords[0].reply.thumb_url: is required",
        ),
        (
            reply_rule({"type": "link", "title": "t", "thumb_url": "https://e.example/t"}),
            "rules.keywords[0].reply.url: is required",
        ),
        (
            reply_rule({"type": "link", "title": "t", "url": "ftp://e", "thumb_url": "https://e.example/t"}),
            "rules.keywords[0].reply.url: must be an http(s) URL",
        ),
        (
            reply_rule(
                {"type": "miniprogrampage", "title": "P", "page_path": "/pages/a", "thumb_media_id": "m"}
            ),
            "rules.keywords[0].reply.page_path: must be a Mini Program page path",
        ),
        (
            reply_rule(
                {"type": "miniprogrampage", "title": "P", "page_path": "pages/a", "thumb_media_id": " "}
            ),
            "rules.keywords[0].reply.thumb_media_id: must not be blank",
        ),
        (
            reply_rule({"type": "follow_qr", "oa": "Demo OA", "scene": "s"}),
            "rules.keywords[0].reply.oa: must name a configured Official Account app",
        ),
        (
            reply_rule({"type": "follow_qr", "oa": "demo-oa", "scene": "s", "as": "gif"}),
            "rules.keywords[0].reply.as: must be one of: link, image",
        ),
        (
            reply_rule(
                {"type": "text", "content": "x"},
                window_closed_template={"template_id": "T", "data": {"1x": "v"}},
            ),
            "rules.keywords[0].window_closed_template.data.1x: must be a keyword name",
        ),
        (
            reply_rule({"type": "text", "content": "x"}, window_closed_template={"template_id": " "}),
            "rules.keywords[0].window_closed_template.template_id: must not be blank",
        ),
        (
            reply_rule(
                {"type": "text", "content": "x"},
                window_closed_template={"template_id": "T", "url": "https://e.example/u"},
            ),
            "rules.keywords[0].window_closed_template.url: a Mini Program sends a subscribe message",
        ),
        ({"keywords": [{"pattern": "k"}]}, "rules.keywords[0].reply: is required"),
        ({"keywords": {"pattern": "k"}}, "rules.keywords: must be a list"),
        ({"fallback": {"type": "text", "text": " "}}, "rules.fallback.text: must not be blank"),
        (
            {"card": {"oa": "demo-oa", "keys": ["k"], "scene_from": ["page_query", "menu"]}},
            "rules.card.scene_from: must be page_query, session_from or a list of them",
        ),
        (
            {"card": {"oa": "demo-oa", "keys": ["k"], "scene_from": 1}},
            "rules.card.scene_from: must be page_query, session_from or a list of them",
        ),
        (
            {"card": {"oa": "demo-oa", "keys": ["k"], "prefix": " "}},
            "rules.card.prefix: must not be empty or blank",
        ),
    ],
)
def test_a_bad_value_is_refused_naming_its_field_and_the_problem(rules, refusal):
    assert refusal in refused(False, rules)


def test_a_reply_title_is_required_where_it_has_no_default():
    link = {"type": "link", "url": "https://e.example/u", "thumb_url": "https://e.example/t"}
    assert refused(False, reply_rule(link)) == "rules.keywords[0].reply.title: is required"


@pytest.mark.parametrize("fallback", [{}, {"type": "none"}])
def test_a_fallback_of_none_says_nothing(fallback):
    assert mp(fallback=fallback).fallback == Fallback("none", None, None)


def test_card_keys_leave_room_for_a_one_character_value_within_64_bytes():
    fits = {"oa": "demo-oa", "keys": ["k" * 30, "l" * 27], "prefix": "p."}  # p.kkk…=v&lll…=v: 64 bytes
    assert mp(card=fits).card.scene_for("session_from", f"{'k' * 30}=1&{'l' * 27}=2") is not None
    too_long = {**fits, "keys": ["k" * 30, "l" * 28]}
    assert refused(False, {"card": too_long}) == (
        "rules.card.keys: prefix and keys leave no room for values within 64 bytes"
    )


def test_an_unknown_rule_is_refused_with_the_rules_the_account_kind_has():
    assert refused(False, {"welcome": "hi"}) == (
        "rules.welcome: is not a rule of a Mini Program (allowed: card, fallback, keywords)"
    )


def test_the_card_opt_in_text_of_an_official_account_can_be_configured():
    assert oa(card_opt_in_text="Reminder on").card_opt_in_text == "Reminder on"
