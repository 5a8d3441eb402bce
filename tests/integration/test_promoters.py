"""Promoters, followers' own codes and the channel lifecycle, through the real handlers, SQS and the WeChat sandbox.

What an operator reads (the admin API's ranking, statistics, histories and follower lists) is asserted after
signed pushes went through the callback and the sender, as they would in production.
"""

from __future__ import annotations

import base64
import csv
import io
import json
from urllib.parse import quote

import pytest
import requests

from wxfunnel.store import channels
from wxfunnel_tools.apigw import proxy_event, response_body, response_headers
from wxfunnel_tools.devapps import DEV_APPS
from wxfunnel_tools.pushes import message
from wxfunnel_tools.testing import lambda_context

OA = "demo-oa"
OA_APPID, OA_ID = DEV_APPS[OA]["appid"], DEV_APPS[OA]["original_id"]
CUSTOM = "message/custom/send"
WELCOME = "欢迎关注！"
NOTICE = "{name}，又一位朋友通过你的二维码关注了，这是第 {count} 位"
RULES = {
    "welcome": WELCOME,
    "referral_text": "你是 {referrer} 推荐的",
    "referral": {
        "keyword": "我的二维码",
        "menu_key": "MY_CODE",
        "intro_text": "这是你的专属二维码，分享给朋友吧",
        "name_keyword": "我的名字",
        "name_reply": "好的，朋友们会看到：{name}",
        "notify_referrer": NOTICE,
    },
}


@pytest.fixture
def funnel(make_funnel):
    return make_funnel({OA: RULES})


def admin(funnel, method: str, resource: str, path: str, body: dict | None = None, **query):
    """A signed admin request as API Gateway passes it (path parameters from the resource's placeholders)."""
    names = [part[1:-1] for part in resource.split("/") if part.startswith("{")]
    values = [
        part for part, pattern in zip(path.split("/"), resource.split("/"), strict=True) if pattern != part
    ]
    event = proxy_event(
        method,
        resource,
        path,
        body=json.dumps(body) if body is not None else None,
        headers={"Content-Type": "application/json"},
        query={k: str(v) for k, v in query.items()} or None,
        path_parameters=dict(zip(names, values, strict=True)) or None,
        iam_user="operator",
    )
    response = funnel.qrcodes(event, lambda_context("QrCodeFunction"))
    return response


def call(funnel, method: str, resource: str, path: str, body: dict | None = None, **query):
    response = admin(funnel, method, resource, path, body, **query)
    return response["statusCode"], json.loads(response_body(response))


def ok(funnel, method: str, resource: str, path: str, body: dict | None = None, **query) -> dict:
    status, answer = call(funnel, method, resource, path, body, **query)
    assert status in (200, 201), answer
    return answer


def promoter(funnel, pid: str, name: str, **details) -> dict:
    return ok(funnel, "POST", "/promoters", "/promoters", {"app": OA, "id": pid, "name": name, **details})


def channel(funnel, scene: str, name: str, *, permanent: bool = True, **details) -> dict:
    body = {"app": OA, "scene": scene, "permanent": permanent, "channel": {"name": name, **details}}
    return ok(funnel, "POST", "/qrcodes", "/qrcodes", body)


def follows(funnel, scene: str, *openids: str) -> None:
    for openid in openids:
        funnel.follow(openid, scene)


def channel_totals(funnel, scene: str, **query) -> dict:
    path = f"/channels/{OA}/{quote(scene, safe='')}/stats"
    return ok(funnel, "GET", "/channels/{app}/{scene}/stats", path, **query)["totals"]


def ranking(funnel) -> dict:
    return ok(funnel, "GET", "/promoters/{app}/ranking", f"/promoters/{OA}/ranking")


def test_a_promoter_with_codes_on_two_channels_is_ranked_by_their_total(funnel):
    promoter(funnel, "alice", "王小明", team="华东")
    promoter(funnel, "bob", "李四", team="华南")
    promoter(funnel, "carol", "赵六", team="华东")
    channel(funnel, "alice-poster", "海报", promoter="alice")
    channel(funnel, "alice-booth", "展台", promoter="alice", permanent=False)
    channel(funnel, "bob-store", "门店", promoter="bob")
    follows(funnel, "alice-poster", "o-a1", "o-a2")
    follows(funnel, "alice-booth", "o-a3", "o-a4", "o-a5")
    follows(funnel, "bob-store", "o-b1", "o-b2", "o-b3", "o-b4")

    board = ranking(funnel)
    assert [(p["rank"], p["id"], p["totals"]["referrals"]) for p in board["promoters"]] == [
        (1, "alice", 5),  # 2 + 3 over her two codes: ahead of Bob's single code of 4
        (2, "bob", 4),
        (3, "carol", 0),  # every promoter is listed, zeros included
    ]
    assert [(t["team"], t["promoters"], t["totals"]["new_followers"]) for t in board["teams"]] == [
        ("华东", 2, 5),
        ("华南", 1, 4),
    ]
    alice = ok(funnel, "GET", "/promoters/{app}/{promoter}/stats", f"/promoters/{OA}/alice/stats")
    assert (alice["totals"]["new_followers"], alice["totals"]["referrals"]) == (5, 5)
    assert alice["promoter"]["referrals"] == 5
    team = ok(funnel, "GET", "/teams/{app}/{team}/stats", f"/teams/{OA}/{quote('华东')}/stats")
    assert team["totals"]["new_followers"] == 5
    assert sorted(p["id"] for p in team["promoters"]) == ["alice", "carol"]
    record = ok(funnel, "GET", "/promoters/{app}/{promoter}", f"/promoters/{OA}/alice")
    assert sorted(c["scene"] for c in record["channels"]) == ["alice-booth", "alice-poster"]

    # The channel tells each follower who recommended them (the promoter's name).
    reply = funnel.follow("o-a6", "alice-poster")
    assert funnel.text_reply(reply)["Content"] == f"{WELCOME}\n\n你是 王小明 推荐的"

    # A rename reaches her channels; a move to another team counts from now on.
    ok(
        funnel,
        "PATCH",
        "/promoters/{app}/{promoter}",
        f"/promoters/{OA}/alice",
        {"name": "王晓明", "team": "华南"},
    )
    reply = funnel.follow("o-a7", "alice-booth")
    assert funnel.text_reply(reply)["Content"] == f"{WELCOME}\n\n你是 王晓明 推荐的"
    teams = {t["team"]: t["totals"]["new_followers"] for t in ranking(funnel)["teams"]}
    assert teams == {"华东": 6, "华南": 5}


def _forged(token: str, **changes: object) -> str:
    cursor = json.loads(base64.urlsafe_b64decode(token))
    cursor.update(changes)
    return base64.urlsafe_b64encode(json.dumps(cursor).encode()).decode()


def test_a_followers_next_token_that_this_api_did_not_issue_is_a_422_not_a_hang_or_a_500(funnel):
    """A shard or channel index out of range paged forever (a Lambda timeout) or raised IndexError; a key of
    another shape reached DynamoDB as ExclusiveStartKey (a 500); a key of another scene read its audience."""
    promoter(funnel, "alice", "王小明")
    channel(funnel, "alice-poster", "春节海报", promoter="alice")
    channel(funnel, "other", "别人的")
    follows(funnel, "alice-poster", *(f"o-{n}" for n in range(20)))
    follows(funnel, "other", "o-99")
    token, key = None, None
    while key is None:  # a page that ended inside a shard: its index key travels in the token
        query = {"next_token": token} if token else {}
        token = ok(funnel, "GET", "/followers", "/followers", app=OA, promoter="alice", limit=1, **query)[
            "next_token"
        ]
        assert token is not None
        key = json.loads(base64.urlsafe_b64decode(token))["k"]
    other_scene = {
        **key,
        "touch_audience": {"S": key["touch_audience"]["S"].replace("alice-poster", "other")},
    }
    forged = {
        "shard past the last": _forged(token, s=99),
        "negative shard": _forged(token, s=-1),
        "channel past the last": _forged(token, i=1),
        "negative channel": _forged(token, i=-1),
        "a boolean": _forged(token, i=False),
        "a key of another shape": _forged(token, k={"pk": "o-1"}),
        "a key of another scene": _forged(token, k=other_scene),
        "a key of another app": _forged(token, k={**key, "pk": {"S": "demo-mp#o-1"}}),
        "an unknown field": _forged(token, x=1),
    }
    for label, bad in forged.items():
        status, answer = call(
            funnel, "GET", "/followers", "/followers", app=OA, promoter="alice", next_token=bad
        )
        assert (status, answer["error"]["field"]) == (422, "next_token"), label
    # the issued token still pages on
    assert ok(funnel, "GET", "/followers", "/followers", app=OA, promoter="alice", next_token=token)["items"]


def test_who_a_promoter_brought_is_listed_page_by_page_and_exported_as_csv(funnel, aws, monkeypatch):
    promoter(funnel, "alice", "王小明")
    channel(funnel, "alice-poster", "春节海报", promoter="alice", tag="spring")
    channel(funnel, "alice-booth", "展台", promoter="alice")
    follows(funnel, "alice-poster", "o-1", "o-2", "o-3")
    follows(funnel, "alice-booth", "o-4")
    funnel.follow("o-2", "alice-booth")  # already following: a scan, a touch of the booth too
    funnel.push(OA, "event", "o-3", Event="unsubscribe")

    rows, token, pages = [], None, 0
    while True:
        query = {"app": OA, "promoter": "alice", "limit": 2, **({"next_token": token} if token else {})}
        page = ok(funnel, "GET", "/followers", "/followers", **query)
        rows += page["items"]
        pages += 1
        token = page["next_token"]
        if token is None:
            break
    assert pages > 2
    by = {(r["openid"], r["scene"]): r for r in rows}
    assert sorted(by) == [
        ("o-1", "alice-poster"),
        ("o-2", "alice-booth"),
        ("o-2", "alice-poster"),
        ("o-3", "alice-poster"),
        ("o-4", "alice-booth"),
    ]
    assert by[("o-2", "alice-booth")]["brought"] is False and by[("o-2", "alice-poster")]["brought"] is True
    assert by[("o-3", "alice-poster")]["status"] == "unsubscribed"
    assert by[("o-1", "alice-poster")]["tags"] == ["spring"]
    assert by[("o-2", "alice-booth")]["last_touch"] == "alice-booth"

    response = admin(funnel, "GET", "/followers/export", "/followers/export", app=OA, promoter="alice")
    headers = response_headers(response)
    assert headers["Content-Type"].startswith("text/csv")
    assert "filename*=UTF-8''followers-demo-oa-alice-" in headers["Content-Disposition"]
    text = response_body(response).decode("utf-8")
    assert text.startswith("\ufeff")  # Excel reads UTF-8 with its byte-order mark
    table = list(csv.DictReader(io.StringIO(text.removeprefix("\ufeff"))))
    assert {(r["openid"], r["channel"]) for r in table} == {
        ("o-1", "春节海报"),
        ("o-2", "展台"),
        ("o-2", "春节海报"),
        ("o-3", "春节海报"),
        ("o-4", "展台"),
    }

    # Too large for one answer: stored in the stack's bucket, fetched through a short-lived link.
    from wxfunnel.entry.admin import followers as export

    monkeypatch.setattr(export, "EXPORT_INLINE_BYTES", 100)
    status, link = call(funnel, "GET", "/followers/export", "/followers/export", app=OA, scene="alice-poster")
    assert status == 200 and link["expires_in"] == 900 and link["bytes"] > 100
    assert "X-Amz-Signature=" in link["url"] or "Signature=" in link["url"]
    downloaded = requests.get(link["url"], timeout=10)
    assert downloaded.status_code == 200
    assert "春节海报" in downloaded.content.decode("utf-8-sig")

    # More than one export reads in the function's time: a 422 that says what to do, not a gateway timeout.
    monkeypatch.setattr(
        export, "EXPORT_MARGIN_SECONDS", 3600.0
    )  # whatever the function's time, it is too short
    status, refused = call(funnel, "GET", "/followers/export", "/followers/export", app=OA, promoter="alice")
    assert status == 422, refused
    assert refused["error"]["field"] == "promoter" and refused["error"]["rule"] == "export_too_large"


def test_a_followers_own_code_by_keyword_or_menu_leads_back_to_them(funnel, wechat, aws):
    follower = "o-follower-1"
    funnel.follow(follower)
    assert funnel.push(OA, "text", follower, Content="我的二维码").body == b"success"
    funnel.send_outbox()
    intro, image = wechat.calls(CUSTOM)
    assert intro.payload["text"]["content"] == "这是你的专属二维码，分享给朋友吧"
    assert image.payload["msgtype"] == "image" and image.payload["touser"] == follower

    [created] = wechat.calls("qrcode/create")
    scene = created.payload["action_info"]["scene"]["scene_str"]
    assert created.payload["action_name"] == "QR_STR_SCENE"
    assert scene.startswith("my_") and follower not in scene  # opaque: never the openid

    # The follower became a promoter; their code's channel credits them.
    [mine] = ok(funnel, "GET", "/promoters", "/promoters", app=OA)["items"]
    assert mine["openid"] == follower and mine["id"].startswith("f-") and follower not in mine["id"]
    [code] = ok(funnel, "GET", "/promoters/{app}/{promoter}", f"/promoters/{OA}/{mine['id']}")["channels"]
    assert code["scene"] == scene and code["kind"] == "referral"
    # The image sent is the code's own image, whose scene leads back to them.
    assert (
        wechat.media(image.payload["image"]["media_id"]).content
        == requests.get(code["image_url"], timeout=5).content
    )
    assert wechat.qr_for_url(code["image_url"]).scene == scene

    # The menu button answers the same: the code is reused (its life is far from half gone), the image not
    # uploaded again.
    funnel.push(OA, "event", follower, Event="CLICK", EventKey="MY_CODE")
    funnel.send_outbox()
    assert wechat.count("qrcode/create") == 1 and wechat.count("media/upload") == 1
    assert wechat.calls(CUSTOM)[-1].payload == image.payload


def test_a_friend_following_through_it_is_told_who_recommended_them_and_credited_once(funnel, wechat, aws):
    referrer, friend = "o-referrer", "o-friend"
    funnel.follow(referrer)
    reply = funnel.push(OA, "text", referrer, Content="我的名字 小红")
    assert funnel.text_reply(reply)["Content"] == "好的，朋友们会看到：小红"
    funnel.push(OA, "text", referrer, Content="我的二维码")
    wechat.interact(OA_APPID, referrer)  # they just wrote: the customer-service window is open
    funnel.send_outbox()
    [created] = wechat.calls("qrcode/create")
    scene = created.payload["action_info"]["scene"]["scene_str"]

    reply = funnel.follow(friend, scene)
    assert funnel.text_reply(reply)["Content"] == f"{WELCOME}\n\n你是 小红 推荐的"
    funnel.send_outbox()
    notice = wechat.calls(CUSTOM)[-1]
    assert notice.payload == {
        "touser": referrer,
        "msgtype": "text",
        "text": {"content": "小红，又一位朋友通过你的二维码关注了，这是第 1 位"},
    }

    # Not credited again: the same push repeated, the friend leaving and coming back, the referrer's own scan.
    repeated = message(
        "event",
        openid=friend,
        to_user=OA_ID,
        create_time=funnel.clock,
        Event="subscribe",
        EventKey=f"qrscene_{scene}",
        Ticket="TICKET",
    )
    assert funnel.callback.push(OA, repeated).status == 200
    funnel.push(OA, "event", friend, Event="unsubscribe")
    assert funnel.text_reply(funnel.follow(friend, scene))["Content"] == f"{WELCOME}\n\n你是 小红 推荐的"
    funnel.follow(referrer, scene)
    funnel.send_outbox()
    assert wechat.count(CUSTOM) == 3  # the intro, the code, the one notice: nothing more
    [board] = ranking(funnel)["promoters"]
    assert (board["name"], board["referrals"], board["totals"]["referrals"]) == ("小红", 1, 1)
    assert channel_totals(funnel, scene)["referrals"] == 1

    # A notice that can no longer reach the referrer (the 48-hour window closed) is skipped, not retried.
    wechat.require_session = True
    wechat.advance(49 * 3600)
    funnel.follow("o-friend-2", scene)
    funnel.send_outbox()
    assert wechat.calls(CUSTOM)[-1].errcode == 45015
    dead = aws.sqs.receive_message(QueueUrl=aws.env["OUTBOX_DLQ_URL"], WaitTimeSeconds=0)
    assert "Messages" not in dead  # news, not an obligation: no dead letter
    assert ranking(funnel)["promoters"][0]["referrals"] == 2


def test_a_retired_permanent_scene_given_to_a_new_channel_keeps_the_histories_apart(funnel, wechat):
    first = channel(funnel, "booth", "春季展台", welcome_message="春季展台欢迎你")
    follows(funnel, "booth", "o-1", "o-2")
    assert first["generation"] == 0
    assert channels.permanent_count(OA) == 1

    retired = ok(funnel, "POST", "/qrcodes/{app}/{scene}/retire", f"/qrcodes/{OA}/booth/retire")
    assert retired["state"] == "retired"
    second = channel(funnel, "booth", "秋季展台", welcome_message="秋季展台欢迎你")
    assert (second["generation"], second["reassigned"], second["ticket"]) == (1, True, first["ticket"])
    assert wechat.count("qrcode/create") == 1  # the same permanent code: WeChat is not asked again

    assert funnel.text_reply(funnel.follow("o-3", "booth"))["Content"] == "秋季展台欢迎你"
    assert channel_totals(funnel, "booth")["new_followers"] == 1
    assert channel_totals(funnel, "booth", generation=0)["new_followers"] == 2

    history = ok(funnel, "GET", "/qrcodes/{app}/{scene}/history", f"/qrcodes/{OA}/booth/history")
    assert history["current"]["channel"]["name"] == "秋季展台"
    [past] = history["past"]
    assert (past["channel"]["name"], past["generation"]) == ("春季展台", 0) and past["retired_at"]
    assert past["links"]["stats"].endswith("?generation=0")
    report = ok(funnel, "GET", "/channels/{app}/stats", f"/channels/{OA}/stats")
    rows = {(c["scene"], c.get("generation", 0)): c for c in report["channels"]}
    assert rows[("booth", 0)]["totals"]["new_followers"] == 2 and rows[("booth", 0)]["name"] is None
    assert rows[("booth", 1)]["totals"]["new_followers"] == 1 and rows[("booth", 1)]["name"] == "秋季展台"
    assert channels.permanent_count(OA) == 1  # the quota is not spent again


def test_a_disabled_channel_counts_but_greets_by_default_and_tags_nobody(funnel, wechat):
    channel(funnel, "poster", "旧海报", welcome_message="海报欢迎你", tag="poster")
    status, refused = call(
        funnel, "PATCH", "/qrcodes/{app}/{scene}", f"/qrcodes/{OA}/poster", {"state": "gone"}
    )
    assert (status, refused["error"]["field"]) == (422, "state")
    updated = ok(
        funnel,
        "PATCH",
        "/qrcodes/{app}/{scene}",
        f"/qrcodes/{OA}/poster",
        {"state": "disabled", "channel": {"notes": "撤下"}},
    )
    assert updated["state"] == "disabled"
    assert (updated["channel"]["name"], updated["channel"]["tag"], updated["channel"]["notes"]) == (
        "旧海报",
        "poster",
        "撤下",
    )
    assert funnel.text_reply(funnel.follow("o-1", "poster"))["Content"] == WELCOME
    funnel.send_outbox()
    assert wechat.count("tags/members/batchtagging") == 0
    assert channel_totals(funnel, "poster")["new_followers"] == 1
    ok(funnel, "PATCH", "/qrcodes/{app}/{scene}", f"/qrcodes/{OA}/poster", {"state": "active"})
    assert funnel.text_reply(funnel.follow("o-2", "poster"))["Content"] == "海报欢迎你"


def test_an_operators_edits_keep_a_code_renewed_since_the_channel_was_read(funnel, monkeypatch):
    """PATCH, retire and a promoter's change write what they change, never the whole channel they read: a code
    renewed meanwhile (the landing page or the sender renew temporary codes at any time) and its lease stay."""
    promoter(funnel, "alice", "王小明")
    channel(funnel, "poster", "海报", permanent=False, promoter="alice")
    stale = channels.get(OA, "poster")
    renewed = stale.with_code(
        "ticket-renewed", "https://weixin.qq.com/q/renewed", "https://img/renewed", 1, 86400
    )
    channels.store_code(renewed)
    assert channels.claim_renewal(renewed, 2, 60, "a-renewal")  # a renewal under way keeps its lease too
    read = channels.get
    monkeypatch.setattr(channels, "get", lambda app, scene: stale if scene == "poster" else read(app, scene))

    ok(funnel, "PATCH", "/qrcodes/{app}/{scene}", f"/qrcodes/{OA}/poster", {"channel": {"name": "新海报"}})
    ok(funnel, "PATCH", "/promoters/{app}/{promoter}", f"/promoters/{OA}/alice", {"team": "华南"})
    ok(funnel, "PATCH", "/qrcodes/{app}/{scene}", f"/qrcodes/{OA}/poster", {"state": "disabled"})
    monkeypatch.setattr(channels, "get", read)
    stored = channels.get(OA, "poster")
    assert (stored.ticket, stored.image_url) == ("ticket-renewed", "https://img/renewed")
    assert (stored.state, stored.team) == ("disabled", "华南")
    assert not channels.claim_renewal(stored, 3, 60, "another")  # the lease is still held

    monkeypatch.setattr(channels, "get", lambda app, scene: stale if scene == "poster" else read(app, scene))
    ok(funnel, "POST", "/qrcodes/{app}/{scene}/retire", f"/qrcodes/{OA}/poster/retire")
    monkeypatch.setattr(channels, "get", read)
    assert (channels.get(OA, "poster").ticket, channels.get(OA, "poster").state) == (
        "ticket-renewed",
        "retired",
    )
