"""Live codes, campaigns and a channel's campaign and welcome sequence: their DynamoDB form survives a round trip,
and what a visit shows follows from the live code alone."""

from __future__ import annotations

from dataclasses import replace

from wxfunnel.config.rules import ImageAction, LinkAction, MiniProgramPageAction, TextAction
from wxfunnel.domain.campaigns import Campaign, period_problem
from wxfunnel.domain.channels import Channel
from wxfunnel.domain.ids import id_problem
from wxfunnel.domain.livecodes import LiveCode, Page, code_problem, page_for
from wxfunnel.store import campaigns, channels, livecodes

STAMP = "2026-03-01T00:00:00Z"
CHANNEL = Channel(
    app="demo-oa",
    scene="店铺A/二楼",
    scene_type="str",
    permanent=False,
    kind="channel",
    ticket="gQ+/=",
    url="http://weixin.qq.com/q/x",
    image_url="https://mp.weixin.qq.com/cgi-bin/showqrcode?ticket=gQ%2B%2F%3D",
    expire_seconds=2_592_000,
    expires_at=1_800_000_000,
    name="Store A",
    welcome_message="欢迎",
    created_at=STAMP,
    updated_at=STAMP,
    campaign="spring-2026",
    welcome_sequence=(
        ImageAction("https://cdn.example/a.png"),
        LinkAction("Menu", "today", "https://shop.example/menu", "https://cdn.example/t.png"),
        MiniProgramPageAction(
            "Shop", "pages/shop/index?s=1", "wx0b0b0b0b0b0b0b0b", "https://cdn.example/t.png"
        ),
        TextAction("see you"),
    ),
)
CAMPAIGN = Campaign(
    app="demo-oa",
    id="spring-2026",
    name="Spring",
    start="2026-03-01",
    end="2026-03-31",
    ended_scene="default",
    created_at=STAMP,
    updated_at=STAMP,
)
LIVE = LiveCode(
    app="demo-oa",
    code="ab3d5fgh7k",
    scene="店铺A/二楼",
    title="Store A, 2F",
    text="Long-press to follow",
    created_at=STAMP,
    updated_at=STAMP,
    channel=CHANNEL,
    campaign=CAMPAIGN,
)


def test_a_channels_campaign_and_welcome_sequence_survive_its_item() -> None:
    assert channels.from_item(channels.to_item(CHANNEL)) == CHANNEL
    plain = replace(CHANNEL, campaign=None, welcome_sequence=())
    item = channels.to_item(plain)
    assert "campaign" not in item and "welcome_sequence" not in item  # older channels read the same
    assert channels.from_item(item) == plain


def test_a_campaign_and_a_live_code_with_its_snapshots_survive_their_items() -> None:
    assert campaigns.from_item(campaigns.to_item(CAMPAIGN)) == CAMPAIGN
    item = livecodes.to_item(LIVE)
    assert {"pk": item["pk"], "sk": item["sk"]} == {
        "pk": {"S": "livecode#demo-oa"},
        "sk": {"S": "ab3d5fgh7k"},
    }
    assert livecodes.from_item(item) == LIVE
    bare = replace(LIVE, title=None, text=None, channel=None, campaign=None, state="disabled")
    assert livecodes.from_item(livecodes.to_item(bare)) == bare


def test_what_a_visit_shows() -> None:
    assert page_for(None, "2026-03-10") is Page.NOT_FOUND
    assert page_for(LIVE, "2026-03-10") is Page.FOLLOW
    assert page_for(LIVE, "2026-02-20") is Page.FOLLOW  # before the campaign starts: posters go up early
    assert page_for(LIVE, "2026-03-31") is Page.FOLLOW  # its last day
    assert page_for(LIVE, "2026-04-01") is Page.ENDED
    assert page_for(replace(LIVE, state="disabled"), "2026-03-10") is Page.DISABLED
    assert page_for(replace(LIVE, channel=None), "2026-03-10") is Page.UNAVAILABLE
    assert page_for(replace(LIVE, channel=replace(CHANNEL, kind="card")), "2026-03-10") is Page.UNAVAILABLE
    assert LIVE.page_title == "Store A, 2F" and replace(LIVE, title=None).page_title == "Store A"


def test_codes_and_campaign_ids_and_periods() -> None:
    assert code_problem("ab3d5fgh7k") is None and code_problem("store-7_A") is None
    for bad in ("abc", "a" * 33, "ab/cd", "ab cd", "店铺店铺", "", None, 1234):
        assert code_problem(bad), bad
    assert id_problem("spring-2026") is None
    for bad in ("Spring", "-x", "", "a" * 65, "a b"):
        assert id_problem(bad), bad
    assert period_problem("2026-03-01", "2026-03-01") is None
    assert period_problem("2026-03-02", "2026-03-01") == "must not be before start"
    assert period_problem("2026-01-01", "2027-01-01") is None  # 366 days, both ends included
    assert period_problem("2026-01-01", "2027-01-02") == "a campaign spans at most 366 days"
    assert CAMPAIGN.period("2026-03-10") == ("2026-03-01", "2026-03-10")
    assert CAMPAIGN.period("2026-05-01") == ("2026-03-01", "2026-03-31")
    assert CAMPAIGN.period("2026-02-01") == ("2026-03-01", "2026-03-01")
