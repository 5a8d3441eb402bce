"""The product's flows as a specification: a push and what wxfunnel knows in; the reply and jobs out."""

from __future__ import annotations

from dataclasses import replace

import pytest

from wxfunnel.config.app import parse_app_config
from wxfunnel.config.rules import Article as RuleArticle
from wxfunnel.config.rules import NewsAction
from wxfunnel.domain import followers
from wxfunnel.domain.channels import Channel
from wxfunnel.domain.followers import Change, Follower, Status
from wxfunnel.domain.jobs import JobKind, Tag
from wxfunnel.domain.promoters import Referrer
from wxfunnel.flows import Context, Decision, decide, keywords
from wxfunnel.protocol.messages import (
    ImageMessage,
    MiniProgramPageMessage,
    ScanEvent,
    SubscribeEvent,
    TextMessage,
    UnsubscribeEvent,
    UserEnterTempSessionEvent,
)
from wxfunnel.protocol.replies import Article, NewsReply, TextReply, TransferCustomerService
from wxfunnel_tools import examples
from wxfunnel_tools.devapps import DEV_APPS

OA_ID, MP_ID = DEV_APPS["demo-oa"]["original_id"], DEV_APPS["demo-mp"]["original_id"]
USER = "o-user-1"
AT = 1_760_000_000
KEY = "demo-app#delivery"

OA_RULES = {
    "welcome": "Welcome!",
    "channel_welcome_default": "Welcome from a poster.",
    "referral_text": "你由 {referrer} 推荐关注",
    "keywords": [
        {"match": "exact", "pattern": "hi", "reply": {"type": "text", "content": "Hello"}},
        {
            "match": "exact",
            "pattern": "menu",
            "reply": {
                "type": "news",
                "articles": [
                    {
                        "title": "Menu",
                        "description": "d",
                        "url": "https://e.example/menu",
                        "pic_url": "https://e.example/p",
                    },
                    {"title": "Second", "url": "https://e.example/2"},
                ],
            },
        },
        {
            "match": "exact",
            "pattern": "poster",
            "reply": {"type": "image", "image_url": "https://e.example/p.jpg"},
            "window_closed_template": {"template_id": "TPL", "data": {"thing1": "Poster"}},
        },
    ],
    "fallback": {"type": "transfer_customer_service"},
}
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
                "title": "Follow",
            },
        },
        {
            "match": "regex",
            "pattern": r"(?P<order>\d{8})",
            "reply": {
                "type": "link",
                "title": "Order {order}",
                "url": "https://shop.example/o/{order}",
                "thumb_url": "https://shop.example/t.png",
            },
            "window_closed_template": {
                "template_id": "TPL_ORDER",
                "data": {"character_string1": "{order}", "thing2": {"value": "Order {order} is ready"}},
                "page": "pages/order/index?id={order}",
            },
        },
    ],
    "card": {
        "oa": "demo-oa",
        "keys": ["live_id", "user_id"],
        "prefix": "live.",
        "as": "link",
        "title": "Scan to get reminded",
        "expire_seconds": 86400,
        "opt_in_text": "Live 10 reminder on",
        "window_closed_template": {"template_id": "TPL2", "data": {"thing1": "Live"}},
    },
    "fallback": {"type": "text", "text": "An agent will answer."},
}


def oa(**rules):
    return parse_app_config("demo-oa", {**DEV_APPS["demo-oa"], **rules})


def mp(**rules):
    return parse_app_config("demo-mp", {**DEV_APPS["demo-mp"], **rules})


def head(to_user: str, msg_type: str, **fields):
    return {"to_user": to_user, "openid": USER, "create_time": AT, "msg_type": msg_type, **fields}


def text(to_user: str, content: str) -> TextMessage:
    return TextMessage(**head(to_user, "text", msg_id="1"), content=content)


def channel(scene: str = "spring", **fields) -> Channel:
    return examples.channel(scene, **{"name": "Spring poster", **fields})


def follow_context(app, scene: str | None, found: Channel | None = None, *, before: Follower | None = None):
    event = SubscribeEvent(
        **head(OA_ID, "event"),
        event="subscribe",
        event_key=f"qrscene_{scene}" if scene else None,
        scene=scene,
        ticket="T" if scene else None,
    )
    transition = followers.follow(before, "demo-oa", USER, scene, AT)
    return Context(app=app, message=event, delivery_key=KEY, transition=transition, channel=found, now=AT)


def jobs(decision: Decision) -> list[tuple[str, str, str, dict]]:
    return [(job.kind.value, job.app, job.openid, job.payload.to_wire()) for job in decision.jobs]


# --- OA follows, scans, unfollows -------------------------------------------------------------------------


def test_a_plain_follow_gets_the_welcome():
    assert decide(follow_context(oa(**OA_RULES), None)) == Decision(reply=TextReply("Welcome!"))


def test_without_rules_a_follow_says_nothing():
    assert decide(follow_context(oa(), None)) == Decision()


def test_a_channel_follow_gets_the_channel_welcome_and_its_tag():
    found = channel(welcome_message="Thanks for scanning the spring poster!", tag="spring")
    decision = decide(follow_context(oa(**OA_RULES), "spring", found))
    assert decision.reply == TextReply("Thanks for scanning the spring poster!")
    assert jobs(decision) == [("tag", "demo-oa", USER, {"tag": "spring"})]
    assert decision.jobs[0].key == f"{KEY}#tag#0"


def test_tagging_can_be_switched_off():
    found = channel(tag="spring")
    decision = decide(follow_context(oa(**OA_RULES, tag_followers_by_channel=False), "spring", found))
    assert decision.jobs == ()


def test_a_referral_follow_names_the_referrer_in_the_same_reply():
    found = channel(
        "ref-alice", welcome_message="Welcome!", referrer=Referrer(name="Alice", openid="o-alice")
    )
    decision = decide(follow_context(oa(**OA_RULES), "ref-alice", found))
    assert decision == Decision(reply=TextReply("Welcome!\n\n你由 Alice 推荐关注"))


def test_self_referral_is_not_announced():
    found = channel("ref-me", referrer=Referrer(name="Me", openid=USER))
    assert decide(follow_context(oa(**OA_RULES), "ref-me", found)).reply == TextReply(
        "Welcome from a poster."
    )


def test_a_scene_without_a_channel_record_gets_the_default_channel_welcome():
    assert decide(follow_context(oa(**OA_RULES), "unknown")).reply == TextReply("Welcome from a poster.")


def test_a_follow_through_a_card_confirms_the_reminder_opt_in():
    found = channel("live.live_id=10&user_id=5", kind="card", welcome_message="Live 10 reminder on")
    decision = decide(follow_context(oa(**OA_RULES), "live.live_id=10&user_id=5", found))
    assert decision == Decision(reply=TextReply("Welcome!\n\nLive 10 reminder on"))


@pytest.mark.parametrize(
    ("found", "expected"),
    [
        (channel(welcome_message="Hello again, spring!"), "Hello again, spring!"),
        (channel("live.live_id=10&user_id=5", kind="card"), "提醒已开启：届时我们会通过本公众号通知你。"),
    ],
)
def test_a_scan_by_a_follower_gets_the_channel_welcome_or_the_opt_in_confirmation(found, expected):
    before = Follower(app="demo-oa", openid=USER, status=Status.SUBSCRIBED, status_at=AT - 10, version=1)
    event = ScanEvent(
        **head(OA_ID, "event"), event="SCAN", event_key=found.scene, scene=found.scene, ticket="T"
    )
    transition = followers.scan(before, "demo-oa", USER, found.scene, AT)
    context = Context(
        app=oa(**OA_RULES), message=event, delivery_key=KEY, transition=transition, channel=found
    )
    assert decide(context) == Decision(reply=TextReply(expected))


def test_a_stale_follow_changes_nothing_and_says_nothing():
    before = Follower(app="demo-oa", openid=USER, status=Status.UNSUBSCRIBED, status_at=AT + 100, version=3)
    context = follow_context(oa(**OA_RULES), None, before=before)
    assert context.transition.after is None
    assert decide(context) == Decision()


@pytest.mark.parametrize("erase", [False, True])
def test_an_unfollow_says_nothing_and_erases_the_follower_only_if_configured(erase):
    before = Follower(
        app="demo-oa",
        openid=USER,
        status=Status.SUBSCRIBED,
        status_at=AT - 10,
        version=1,
        follow_scene="spring",
    )
    event = UnsubscribeEvent(**head(OA_ID, "event"), event="unsubscribe")
    transition = followers.unfollow(before, "demo-oa", USER, AT)
    assert transition.change is Change.UNFOLLOW
    decision = decide(
        Context(
            app=oa(**OA_RULES),
            message=event,
            delivery_key=KEY,
            transition=transition,
            erase_on_unsubscribe=erase,
        )
    )
    assert decision.reply is None
    assert jobs(decision) == ([("erase_user", "demo-oa", USER, {"at": AT})] if erase else [])


# --- keywords and fallback --------------------------------------------------------------------------------


def test_oa_keywords_answer_passively():
    app = oa(**OA_RULES)
    assert decide(Context(app=app, message=text(OA_ID, "hi"), delivery_key=KEY)) == Decision(
        reply=TextReply("Hello")
    )
    news = decide(Context(app=app, message=text(OA_ID, "menu"), delivery_key=KEY))
    assert news == Decision(
        reply=NewsReply(
            (
                Article(
                    title="Menu", description="d", url="https://e.example/menu", pic_url="https://e.example/p"
                ),
            )
        )
    )


def test_an_oa_image_keyword_is_sent_by_the_outbox_with_its_template_fallback():
    decision = decide(Context(app=oa(**OA_RULES), message=text(OA_ID, "poster"), delivery_key=KEY))
    assert decision.reply is None
    assert jobs(decision) == [
        (
            "custom_message",
            "demo-oa",
            USER,
            {
                "message": {"type": "image", "image_url": "https://e.example/p.jpg"},
                "window_closed_template": {
                    "template_id": "TPL",
                    "data": {"thing1": "Poster"},
                    "url": None,
                    "page": None,
                },
            },
        )
    ]


@pytest.mark.parametrize(
    "message",
    [
        text(OA_ID, "something else"),
        ImageMessage(**head(OA_ID, "image", msg_id="2"), pic_url="u", media_id="m"),
    ],
)
def test_oa_messages_no_rule_answers_go_to_a_human(message):
    assert decide(Context(app=oa(**OA_RULES), message=message, delivery_key=KEY)) == Decision(
        reply=TransferCustomerService()
    )


def test_mp_keyword_666_sends_the_oa_follow_qr_through_the_outbox():
    decision = decide(Context(app=mp(**MP_RULES), message=text(MP_ID, "666"), delivery_key=KEY))
    assert decision.reply is None
    assert jobs(decision) == [
        (
            "follow_qr",
            "demo-mp",
            USER,
            {
                "oa": "demo-oa",
                "scene": "mp-666",
                "as": "image",
                "title": "Follow",
                "description": "",
                "thumb_url": None,
                "expire_seconds": 604800,
                "window_closed_template": None,
            },
        )
    ]


def test_an_mp_number_lookup_answers_with_a_link_built_from_the_match():
    decision = decide(Context(app=mp(**MP_RULES), message=text(MP_ID, "20261121"), delivery_key=KEY))
    assert jobs(decision)[0][3]["message"] == {
        "type": "link",
        "title": "Order 20261121",
        "description": "",
        "url": "https://shop.example/o/20261121",
        "thumb_url": "https://shop.example/t.png",
    }
    assert jobs(decision)[0][3]["window_closed_template"] == {
        "template_id": "TPL_ORDER",
        "data": {"character_string1": "20261121", "thing2": "Order 20261121 is ready"},
        "url": None,
        "page": "pages/order/index?id=20261121",
    }


def test_mp_text_no_rule_answers_gets_the_fallback_text_by_the_outbox():
    decision = decide(Context(app=mp(**MP_RULES), message=text(MP_ID, "??"), delivery_key=KEY))
    assert decision.reply is None
    assert jobs(decision) == [
        (
            "custom_message",
            "demo-mp",
            USER,
            {"message": {"type": "text", "content": "An agent will answer."}, "window_closed_template": None},
        )
    ]


def test_mp_hand_off_is_the_only_passive_mp_reply():
    app = mp(fallback={"type": "transfer_customer_service", "kf_account": "kf2001@demo"})
    assert decide(Context(app=app, message=text(MP_ID, "??"), delivery_key=KEY)) == Decision(
        reply=TransferCustomerService("kf2001@demo")
    )
    assert decide(Context(app=mp(), message=text(MP_ID, "??"), delivery_key=KEY)) == Decision()


# --- the card ---------------------------------------------------------------------------------------------

CARD_JOB = (
    "card_qr",
    "demo-mp",
    USER,
    {
        "oa": "demo-oa",
        "scene": "live.live_id=10&user_id=5",
        "as": "link",
        "title": "Scan to get reminded",
        "description": "",
        "thumb_url": None,
        "expire_seconds": 86400,
        "opt_in_text": "Live 10 reminder on",
        "window_closed_template": {
            "template_id": "TPL2",
            "data": {"thing1": "Live"},
            "url": None,
            "page": None,
        },
    },
)


def card(page_path: str) -> MiniProgramPageMessage:
    return MiniProgramPageMessage(
        **head(MP_ID, "miniprogrampage", msg_id="3"),
        title="Live #10",
        appid=DEV_APPS["demo-mp"]["appid"],
        page_path=page_path,
        thumb_url="",
        thumb_media_id="",
    )


def test_a_card_with_a_context_becomes_a_card_qr_job():
    decision = decide(
        Context(app=mp(**MP_RULES), message=card("pages/live/index?live_id=10&user_id=5"), delivery_key=KEY)
    )
    assert decision.reply is None
    assert jobs(decision) == [CARD_JOB]


def test_entering_the_session_with_a_session_from_context_does_the_same():
    event = UserEnterTempSessionEvent(
        **head(MP_ID, "event"), event="user_enter_tempsession", session_from="live_id=10&user_id=5"
    )
    assert jobs(decide(Context(app=mp(**MP_RULES), message=event, delivery_key=KEY))) == [CARD_JOB]


def test_a_card_without_a_context_falls_back_and_a_bare_session_entry_says_nothing():
    app = mp(**MP_RULES)
    assert [j[0] for j in jobs(decide(Context(app=app, message=card("pages/index"), delivery_key=KEY)))] == [
        "custom_message"
    ]
    event = UserEnterTempSessionEvent(
        **head(MP_ID, "event"), event="user_enter_tempsession", session_from=None
    )
    assert decide(Context(app=app, message=event, delivery_key=KEY)) == Decision()


def test_an_mp_without_a_card_rule_ignores_cards():
    assert decide(Context(app=mp(), message=card("p?live_id=1&user_id=2"), delivery_key=KEY)) == Decision()


# --- what a user typed goes into every URL escaped, and into every text as typed ----------------------------------

TYPED = "a b/c?d=1&e#f"
QUOTED = "a%20b%2Fc%3Fd%3D1%26e%23f"
ECHO_RULE = {"match": "regex", "pattern": r"find (?P<q>.+)"}
ECHO_TEMPLATE = {"template_id": "TPL", "data": {"thing1": "{q}", "thing2": {"value": "about {q}"}}}


def typed(app, to_user: str) -> Decision:
    return decide(Context(app=app, message=text(to_user, f"find {TYPED}"), delivery_key=KEY))


def test_an_mp_link_reply_quotes_the_typed_text_in_its_url_only():
    reply = {
        "type": "link",
        "title": "{q}",
        "description": "d {q}",
        "url": "https://e.example/s?q={q}",
        "thumb_url": "https://e.example/t.png",
    }
    template = {**ECHO_TEMPLATE, "page": "pages/s/index?q={q}"}
    decision = typed(mp(keywords=[{**ECHO_RULE, "reply": reply, "window_closed_template": template}]), MP_ID)
    assert jobs(decision)[0][3] == {
        "message": {
            "type": "link",
            "title": TYPED,
            "description": f"d {TYPED}",
            "url": f"https://e.example/s?q={QUOTED}",
            "thumb_url": "https://e.example/t.png",
        },
        "window_closed_template": {
            "template_id": "TPL",
            "data": {"thing1": TYPED, "thing2": f"about {TYPED}"},
            "url": None,
            "page": f"pages/s/index?q={QUOTED}",
        },
    }


def test_an_mp_image_and_mini_program_page_reply_quote_the_typed_text_in_their_addresses():
    image = {"type": "image", "image_url": "https://e.example/i/{q}.png"}
    page = {
        "type": "miniprogrampage",
        "title": "{q}",
        "appid": "wx0123456789abcdef",
        "page_path": "pages/s/index?q={q}",
        "thumb_url": "https://e.example/t.png",
        "thumb_media_id": "MEDIA",
    }
    app = mp(keywords=[{**ECHO_RULE, "reply": image}])
    assert jobs(typed(app, MP_ID))[0][3]["message"] == {
        "type": "image",
        "image_url": f"https://e.example/i/{QUOTED}.png",
    }
    app = mp(keywords=[{**ECHO_RULE, "reply": page}])
    assert jobs(typed(app, MP_ID))[0][3]["message"] == {
        "type": "miniprogrampage",
        "title": TYPED,
        "page_path": f"pages/s/index?q={QUOTED}",
        "appid": "wx0123456789abcdef",
        "thumb_url": "https://e.example/t.png",
        "thumb_media_id": "MEDIA",
    }


def test_an_oa_reply_quotes_the_typed_text_in_urls_and_keeps_it_in_texts():
    news = {
        "type": "news",
        "articles": [
            {
                "title": "{q}",
                "description": "d {q}",
                "url": "https://e.example/s?q={q}",
                "pic_url": "https://e.example/p",
            }
        ],
    }
    template = {**ECHO_TEMPLATE, "url": "https://e.example/open?q={q}"}
    image = {"type": "image", "image_url": "https://e.example/i.png"}
    app = oa(
        keywords=[
            {**ECHO_RULE, "pattern": r"find (?P<q>.+)", "reply": news},
        ]
    )
    assert typed(app, OA_ID) == Decision(
        reply=NewsReply(
            (
                Article(
                    title=TYPED,
                    description=f"d {TYPED}",
                    url=f"https://e.example/s?q={QUOTED}",
                    pic_url="https://e.example/p",
                ),
            )
        )
    )
    app = oa(keywords=[{**ECHO_RULE, "reply": {"type": "text", "content": "you said {q}"}}])
    assert typed(app, OA_ID) == Decision(reply=TextReply(f"you said {TYPED}"))
    app = oa(keywords=[{**ECHO_RULE, "reply": image, "window_closed_template": template}])
    assert jobs(typed(app, OA_ID))[0][3]["window_closed_template"] == {
        "template_id": "TPL",
        "data": {"thing1": TYPED, "thing2": f"about {TYPED}"},
        "url": f"https://e.example/open?q={QUOTED}",
        "page": None,
    }


def test_an_mp_text_reply_is_filled_with_the_typed_text_as_typed():
    app = mp(keywords=[{**ECHO_RULE, "reply": {"type": "text", "content": "you said {q}"}}])
    assert jobs(typed(app, MP_ID))[0][3]["message"] == {"type": "text", "content": f"you said {TYPED}"}


def test_a_follow_qr_reply_carries_every_field_of_its_rule_and_its_template():
    reply = {
        "type": "follow_qr",
        "oa": "demo-oa",
        "scene": "s",
        "as": "link",
        "title": "F",
        "description": "FD",
        "thumb_url": "https://e.example/q.png",
        "expire_seconds": 60,
    }
    app = mp(keywords=[{"pattern": "qr", "reply": reply, "window_closed_template": {"template_id": "T"}}])
    assert jobs(decide(Context(app=app, message=text(MP_ID, "qr"), delivery_key=KEY)))[0][3] == {
        "oa": "demo-oa",
        "scene": "s",
        "as": "link",
        "title": "F",
        "description": "FD",
        "thumb_url": "https://e.example/q.png",
        "expire_seconds": 60,
        "window_closed_template": {"template_id": "T", "data": {}, "url": None, "page": None},
    }


def test_a_card_qr_carries_every_field_of_the_card_rule():
    rule = {
        "oa": "demo-oa",
        "keys": ["live_id"],
        "as": "image",
        "title": "C",
        "description": "CD",
        "thumb_url": "https://e.example/c.png",
    }
    decision = decide(
        Context(app=mp(card=rule), message=card("pages/live/index?live_id=7"), delivery_key=KEY)
    )
    assert jobs(decision)[0][3] == {
        "oa": "demo-oa",
        "scene": "live_id=7",
        "as": "image",
        "title": "C",
        "description": "CD",
        "thumb_url": "https://e.example/c.png",
        "expire_seconds": 604800,
        "window_closed_template": None,
    }


# --- greetings: the app's welcome is for follows, never for scans -------------------------------------------------


def scan_context(app, scene: str, found: Channel | None = None) -> Context:
    before = Follower(app="demo-oa", openid=USER, status=Status.SUBSCRIBED, status_at=AT - 10, version=1)
    event = ScanEvent(**head(OA_ID, "event"), event="SCAN", event_key=scene, scene=scene, ticket="T")
    transition = followers.scan(before, "demo-oa", USER, scene, AT)
    return Context(app=app, message=event, delivery_key=KEY, transition=transition, channel=found)


def test_a_scan_without_a_channel_record_or_channel_welcome_gets_no_welcome():
    app = oa(welcome="Welcome!", referral_text="你由 {referrer} 推荐关注")
    assert decide(scan_context(app, "unknown")) == Decision()
    found = channel("ref-alice", referrer=Referrer(name="Alice", openid="o-alice"), tag="spring")
    assert decide(scan_context(app, "ref-alice", found)) == Decision(
        jobs=(Context(app=app, message=text(OA_ID, ""), delivery_key=KEY).job(JobKind.TAG, Tag("spring")),)
    )


def test_a_scan_through_a_card_confirms_the_opt_in_without_the_welcome():
    found = channel("live.live_id=10&user_id=5", kind="card", welcome_message="Live 10 reminder on")
    decision = decide(scan_context(oa(**OA_RULES), "live.live_id=10&user_id=5", found))
    assert decision == Decision(reply=TextReply("Live 10 reminder on"))


def test_a_returning_follower_is_welcomed_again_like_any_follow():
    gone = Follower(
        app="demo-oa",
        openid=USER,
        status=Status.UNSUBSCRIBED,
        status_at=AT - 10,
        first_subscribed_at=AT - 100,
        version=2,
    )
    context = follow_context(oa(**OA_RULES), None, before=gone)
    assert context.transition.change is Change.RETURNING_FOLLOWER
    assert decide(context) == Decision(reply=TextReply("Welcome!"))


def test_a_follow_through_a_channel_without_its_own_welcome_gets_the_apps_default_for_channels_else_the_welcome():
    assert decide(follow_context(oa(**OA_RULES), "spring", channel())).reply == TextReply(
        "Welcome from a poster."
    )
    assert decide(follow_context(oa(welcome="Welcome!"), "spring", channel())).reply == TextReply("Welcome!")
    assert decide(follow_context(oa(welcome="Welcome!"), "unknown")).reply == TextReply("Welcome!")


def test_an_oa_fallback_text_is_a_passive_reply():
    app = oa(fallback={"type": "text", "text": "We will answer soon."})
    assert decide(Context(app=app, message=text(OA_ID, "??"), delivery_key=KEY)) == Decision(
        reply=TextReply("We will answer soon.")
    )


def test_an_unfollow_the_callback_could_not_relate_to_a_follower_still_erases_when_configured():
    event = UnsubscribeEvent(**head(OA_ID, "event"), event="unsubscribe")
    context = Context(app=oa(), message=event, delivery_key=KEY, erase_on_unsubscribe=True)
    assert jobs(decide(context)) == [("erase_user", "demo-oa", USER, {"at": AT})]
    stale = followers.unfollow(
        Follower(app="demo-oa", openid=USER, status=Status.SUBSCRIBED, status_at=AT + 5, version=1),
        "demo-oa",
        USER,
        AT,
    )
    assert decide(replace(context, transition=stale)) == Decision()


def test_a_passive_only_reply_cannot_become_a_customer_service_message():
    news = NewsAction((RuleArticle("t", "", "https://e.example/a", ""),))
    with pytest.raises(TypeError, match=r"^NewsAction is not a customer-service message$"):
        keywords.outbound(news, None)
