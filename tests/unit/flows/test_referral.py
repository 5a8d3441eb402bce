"""A follower's own code as a specification: what they send (a keyword, a menu click, their name) in; the reply and
the jobs out; and what a friend following through the code causes."""

from __future__ import annotations

from wxfunnel.config.app import parse_app_config
from wxfunnel.domain import followers
from wxfunnel.domain.channels import Channel
from wxfunnel.domain.followers import Follower
from wxfunnel.domain.promoters import Referrer, follower_promoter_id, follower_token
from wxfunnel.flows import Context, Decision, decide
from wxfunnel.protocol.messages import MenuEvent, SubscribeEvent, TextMessage
from wxfunnel.protocol.replies import TextReply
from wxfunnel_tools import examples
from wxfunnel_tools.devapps import DEV_APPS

APP = DEV_APPS["demo-oa"]
OA_ID, APPID = APP["original_id"], APP["appid"]
USER, FRIEND = "o-user-1", "o-friend-1"
AT = 1_760_000_000
KEY = "demo-oa#delivery"
REFERRAL = {
    "keyword": "我的二维码",
    "menu_key": "MY_CODE",
    "intro_text": "分享给朋友吧",
    "name_keyword": "我的名字",
    "name_reply": "好的：{name}",
    "notify_referrer": "{name}，第 {count} 位",
    "scene_prefix": "ref_",
    "expire_seconds": 86400,
}
RULES = {
    "welcome": "欢迎！",
    "referral_text": "你是 {referrer} 推荐的",
    "keywords": [{"match": "exact", "pattern": "HELP", "reply": {"type": "text", "content": "帮助"}}],
    "referral": REFERRAL,
}
OWN_SCENE = "ref_" + follower_token(APPID, USER)
OWN_ID = follower_promoter_id(APPID, USER)


def oa(**rules):
    return parse_app_config("demo-oa", {**APP, **rules})


def head(openid: str, msg_type: str, **fields):
    return {"to_user": OA_ID, "openid": openid, "create_time": AT, "msg_type": msg_type, **fields}


def said(app, content: str, openid: str = USER) -> Decision:
    message = TextMessage(**head(openid, "text", msg_id="1"), content=content)
    return decide(Context(app=app, message=message, delivery_key=KEY, now=AT))


def clicked(app, key: str, event: str = "CLICK") -> Decision:
    message = MenuEvent(**head(USER, "event"), event=event, event_key=key)
    return decide(Context(app=app, message=message, delivery_key=KEY, now=AT))


def jobs(decision: Decision) -> list[tuple[str, str, dict]]:
    return [(job.kind.value, job.openid, job.payload.to_wire()) for job in decision.jobs]


OWN_CODE_JOBS = [
    (
        "custom_message",
        USER,
        {"message": {"type": "text", "content": "分享给朋友吧"}, "window_closed_template": None},
    ),
    ("own_code", USER, {"promoter": OWN_ID, "scene": OWN_SCENE, "expire_seconds": 86400}),
]


def test_the_keyword_or_the_menu_button_sends_the_intro_then_the_followers_own_code():
    for decision in (
        said(oa(**RULES), "我的二维码"),
        said(oa(**RULES), "  我的二维码 "),
        clicked(oa(**RULES), "MY_CODE"),
    ):
        assert decision.reply is None
        assert jobs(decision) == OWN_CODE_JOBS
        assert [job.key for job in decision.jobs] == [f"{KEY}#custom_message#0", f"{KEY}#own_code#1"]
    assert USER not in OWN_SCENE and len(OWN_SCENE) == len("ref_") + 16


def test_without_an_intro_only_the_code_is_sent():
    rules = {**RULES, "referral": {k: v for k, v in REFERRAL.items() if k != "intro_text"}}
    assert [kind for kind, _, _ in jobs(said(oa(**rules), "我的二维码"))] == ["own_code"]


def test_the_code_is_the_same_for_the_same_follower_and_differs_between_followers():
    mine, again = said(oa(**RULES), "我的二维码"), said(oa(**RULES), "我的二维码")
    theirs = said(oa(**RULES), "我的二维码", openid=FRIEND)
    assert jobs(mine) == jobs(again)
    assert jobs(theirs)[-1][2]["scene"] != OWN_SCENE


def test_a_follower_names_themselves_with_the_name_keyword():
    decision = said(oa(**RULES), "我的名字  小红 ")
    assert decision.reply == TextReply("好的：小红")
    assert jobs(decision) == [
        ("name_promoter", USER, {"promoter": OWN_ID, "name": "小红", "scene": OWN_SCENE})
    ]


def test_other_texts_and_clicks_reach_the_keyword_rules():
    assert said(oa(**RULES), "我的二维码呢").reply is None and said(oa(**RULES), "我的二维码呢").jobs == ()
    assert said(oa(**RULES), "我的名字").jobs == ()  # no name given: nothing to store
    assert clicked(oa(**RULES), "HELP").reply == TextReply("帮助")
    assert clicked(oa(**RULES), "NOPE") == Decision()
    assert clicked(oa(**RULES), "MY_CODE", event="VIEW") == Decision()
    without = {k: v for k, v in RULES.items() if k != "referral"}
    assert said(oa(**without), "我的二维码") == Decision()
    assert clicked(oa(**without), "MY_CODE") == Decision()


def own_channel(**fields) -> Channel:
    values = {
        **examples.NO_CODE,
        "permanent": False,
        "kind": "referral",
        "name": "小红的推荐码",
        "referrer": Referrer("小红", USER),
        "promoter": OWN_ID,
    }
    return examples.channel(OWN_SCENE, **{**values, **fields})


def friend_follows(app, found: Channel, *, openid: str = FRIEND, before: Follower | None = None) -> Decision:
    event = SubscribeEvent(
        **head(openid, "event"),
        event="subscribe",
        event_key=f"qrscene_{OWN_SCENE}",
        scene=OWN_SCENE,
        ticket="T",
    )
    transition = followers.attribute(
        followers.follow(before, "demo-oa", openid, OWN_SCENE, AT), before, found
    )
    transition = followers.credit_referral(transition, found, openid)
    return decide(
        Context(app=app, message=event, delivery_key=KEY, transition=transition, channel=found, now=AT)
    )


def test_a_friend_is_told_who_recommended_them_and_the_referrer_is_told_once():
    decision = friend_follows(oa(**RULES), own_channel())
    assert decision.reply == TextReply("欢迎！\n\n你是 小红 推荐的")
    assert jobs(decision) == [
        ("referral_notice", USER, {"promoter": OWN_ID, "text": "{name}，第 {count} 位"})
    ]


def test_an_unnamed_referrer_is_the_neutral_default_name():
    decision = friend_follows(oa(**RULES), own_channel(referrer=Referrer("", USER)))
    assert decision.reply == TextReply("欢迎！\n\n你是 你的好友 推荐的")


def test_no_notice_without_the_option_for_a_self_follow_or_a_returning_follower():
    quiet = {**RULES, "referral": {k: v for k, v in REFERRAL.items() if k != "notify_referrer"}}
    assert friend_follows(oa(**quiet), own_channel()).jobs == ()
    assert friend_follows(oa(**RULES), own_channel(), openid=USER).jobs == ()
    back = followers.follow(None, "demo-oa", FRIEND, "elsewhere", AT - 100).after
    left = followers.unfollow(back, "demo-oa", FRIEND, AT - 50).after
    assert friend_follows(oa(**RULES), own_channel(), before=left).jobs == ()
