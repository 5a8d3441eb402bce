"""`make demo`: the local stack, then every product flow played over HTTP, with a transcript and the statistics,
then a live code: its link printed, visited, followed through, and the campaign's funnel.

Exits 0 when every step behaved, or 1 naming the step that did not.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from textwrap import indent
from typing import Any
from urllib.request import Request, urlopen
from zoneinfo import ZoneInfo

import xmltodict

from wxfunnel_tools.template import use_layer

use_layer()

from wxfunnel.protocol import crypto
from wxfunnel_tools.admin_client import AdminClient
from wxfunnel_tools.devapps import DEMO_MP, DEMO_OA, DEV_APPS, demo_apps
from wxfunnel_tools.localstack.stack import LocalStack
from wxfunnel_tools.pushes import message, signed_push
from wxfunnel_tools.tables import render

OA_ID, MP_ID = DEV_APPS[DEMO_OA]["original_id"], DEV_APPS[DEMO_MP]["original_id"]
OA_APPID, MP_APPID = DEV_APPS[DEMO_OA]["appid"], DEV_APPS[DEMO_MP]["appid"]


class DemoFailed(AssertionError):
    pass


def check(condition: bool, what: str) -> None:
    if not condition:
        raise DemoFailed(what)


class Demo:
    def __init__(self, stack: LocalStack) -> None:
        self.stack = stack
        self.admin = AdminClient(stack.url)
        self.sandbox = stack.sandbox
        self.clock = int(time.time()) - 300
        self.msg_id = 10_000

    def say(self, who: str, text: str) -> None:
        print(f"  {who:<10} {text}")

    def push(
        self, app: str, msg_type: str, openid: str, *, fmt: str = "xml", mode: str = "plain", **fields: Any
    ) -> bytes:
        """Send one signed (optionally encrypted) push to the callback URL over HTTP; return the plaintext reply."""
        self.clock += 1
        self.msg_id += 1
        to_user = OA_ID if app == DEMO_OA else MP_ID
        msg_id = self.msg_id if msg_type != "event" else None
        document = message(
            msg_type, openid=openid, to_user=to_user, create_time=self.clock, msg_id=msg_id, **fields
        )
        query, body = signed_push(DEV_APPS[app], document, fmt=fmt, mode=mode)  # type: ignore[arg-type]
        url = self.stack.callback_url(app) + "?" + "&".join(f"{k}={v}" for k, v in query.items())
        request = Request(url, data=body, method="POST", headers={"Content-Type": "text/xml"})
        with urlopen(request, timeout=10) as response:
            check(response.status == 200, f"callback answered {response.status}")
            reply: bytes = response.read()
        if mode != "plain" and reply != b"success":
            envelope = json.loads(reply) if fmt == "json" else xmltodict.parse(reply)["xml"]
            box = crypto.MessageCrypto(
                DEV_APPS[app]["token"], DEV_APPS[app]["appid"], DEV_APPS[app]["encoding_aes_key"]
            )
            reply = box.verify_and_decrypt(
                envelope["Encrypt"], envelope["MsgSignature"], str(envelope["TimeStamp"]), query["nonce"]
            ).plaintext
        return reply

    @staticmethod
    def reply_text(reply: bytes) -> str:
        if reply == b"success":
            return "(success: nothing to say)"
        document = json.loads(reply) if reply.startswith(b"{") else xmltodict.parse(reply)["xml"]
        if document.get("MsgType") == "transfer_customer_service":
            return "→ transfer_customer_service (human agents)"
        return str(document.get("Content", document.get("MsgType"))).replace("\n\n", " ⏎ ")

    def follow(self, openid: str, scene: str | None) -> str:
        """The user follows the OA in WeChat (the sandbox knows them as a follower), and WeChat pushes `subscribe`."""
        assert self.sandbox is not None
        self.sandbox.follow(OA_APPID, openid, scene=scene)
        fields: dict[str, Any] = {"Event": "subscribe"}
        if scene:
            fields.update(EventKey=f"qrscene_{scene}", Ticket="TICKET")
        return self.reply_text(self.push(DEMO_OA, "event", openid, mode="safe", **fields))

    def calls(self, endpoint: str) -> list[Any]:
        assert self.sandbox is not None
        return list(self.sandbox.calls(endpoint))

    def drain(self) -> None:
        self.stack.drain(timeout=30)

    # --- the flows --------------------------------------------------------------------------------------------

    def channels_and_promoters(self) -> None:
        print(
            "\n1. Channels and promoters: an operator creates a channel QR; a user scans, follows, is greeted and tagged"
        )
        record = self.admin.request(
            "POST",
            "/qrcodes",
            json_body={
                "app": DEMO_OA,
                "scene": "spring-poster",
                "expire_seconds": 604800,
                "channel": {"name": "Spring poster", "welcome_message": "春季海报欢迎你！", "tag": "spring"},
            },
        ).json()
        self.say(
            "operator", f"POST /qrcodes → ticket {record['ticket'][:16]}…, image {record['image_url'][:60]}…"
        )
        image = self.admin.request("GET", "/qrcodes/demo-oa/spring-poster/image")
        check(image.body.startswith((b"\x89PNG", b"\xff\xd8\xff")), "QR image is binary, not base64 text")
        self.say("operator", f"GET …/image → {len(image.body)} bytes of QR image")
        text = self.follow("o-oa-alice", "spring-poster")
        self.say("wechat", f"o-oa-alice scans and follows → reply: {text}")
        check(text == "春季海报欢迎你！", "channel welcome")
        self.drain()
        tagging = self.calls("tags/members/batchtagging")
        check(len(tagging) == 1 and tagging[0].payload["openid_list"] == ["o-oa-alice"], "follower tagged")
        self.say("sender", f"tags/members/batchtagging {tagging[0].payload} (OA token)")
        assert self.sandbox is not None
        self.sandbox.follow(OA_APPID, "o-oa-bob")
        text = self.reply_text(self.push(DEMO_OA, "event", "o-oa-bob", Event="subscribe"))
        self.say("wechat", f"o-oa-bob follows directly → reply: {text}")
        self.push(DEMO_OA, "event", "o-oa-bob", Event="SCAN", EventKey="spring-poster", Ticket="T")
        self.say("wechat", "o-oa-bob (already following) scans the poster → counted as a scan")

        # Promoters: people with several codes, counted over all of them.
        for pid, name, team in (("wang", "王小明", "华东一组"), ("li", "李娜", "华南一组")):
            self.admin.request(
                "POST", "/promoters", json_body={"app": DEMO_OA, "id": pid, "name": name, "team": team}
            )
        codes = (
            ("wang-poster", "wang", "王小明·海报"),
            ("wang-booth", "wang", "王小明·展台"),
            ("li-store", "li", "李娜·门店"),
        )
        for scene, pid, name in codes:
            self.admin.request(
                "POST",
                "/qrcodes",
                json_body={"app": DEMO_OA, "scene": scene, "channel": {"name": name, "promoter": pid}},
            )
        self.say("operator", "POST /promoters wang (华东一组), li (华南一组); wang gets 2 codes, li 1")
        for openid, scene in (
            ("o-oa-p1", "wang-poster"),
            ("o-oa-p2", "wang-poster"),
            ("o-oa-p3", "wang-booth"),
            ("o-oa-p4", "li-store"),
            ("o-oa-p5", "li-store"),
        ):
            text = self.follow(openid, scene)
        self.say("wechat", f"5 people follow through the promoters' codes; the last one hears: {text}")
        check("李娜" in text, "the promoter's name is the referrer's")

    def keyword_to_follow(self) -> None:
        print(
            "\n2. Keyword to follow: an MP user types 666 in the contact chat and receives the OA's follow-QR"
        )
        reply = self.push(DEMO_MP, "text", "o-mp-carol", fmt="json", mode="safe", Content="666")
        self.say("wechat", f"o-mp-carol types 666 → callback answers {reply.decode()}")
        self.drain()
        [send] = [c for c in self.calls("message/custom/send") if c.payload.get("touser") == "o-mp-carol"]
        check(send.appid == MP_APPID and send.payload["msgtype"] == "link", "QR link sent through the MP")
        self.say(
            "sender",
            f"qrcode/create on the OA, then custom/send link via the MP: {send.payload['link']['title']}",
        )
        assert self.sandbox is not None
        qr = self.sandbox.qr_for_url(send.payload["link"]["url"])
        check(qr is not None, "the link leads to a QR the OA created")
        assert qr is not None
        scene = str(qr.scene)
        text = self.follow("o-oa-carol", scene)
        self.say("wechat", f"carol scans it (scene {scene}) and follows the OA → reply: {text}")

    def reminder_via_card(self) -> None:
        print(
            "\n3. Reminder via mini-program card: a card opts the user in; a reminder reaches them when the live starts"
        )
        self.push(
            DEMO_MP,
            "miniprogrampage",
            "o-mp-dave",
            fmt="json",
            Title="Live #10",
            AppId=MP_APPID,
            PagePath="pages/live/index?live_id=10&user_id=5",
            ThumbUrl="",
            ThumbMediaId="",
        )
        self.say("wechat", "o-mp-dave sends the live page's card into the contact chat")
        self.drain()
        [send] = [c for c in self.calls("message/custom/send") if c.payload.get("touser") == "o-mp-dave"]
        assert self.sandbox is not None
        qr = self.sandbox.qr_for_url(send.payload["link"]["url"])
        check(qr is not None, "the link leads to a QR the OA created")
        assert qr is not None
        scene = str(qr.scene)
        self.say(
            "sender",
            f"temporary QR_STR_SCENE '{scene}' on the OA, sent back via the MP: {send.payload['link']['title']}",
        )
        text = self.follow("o-oa-dave", scene)
        self.say("wechat", f"dave scans it and follows → reply: {text}")
        check("提醒已开启" in text, "opt-in confirmed")
        reminder = {
            "request_id": "live-10-start",
            "app": DEMO_OA,
            "scene_prefix": "live.live_id=10&",
            "template_id": "TPL_LIVE",
            "data": {"thing1": "直播开始了"},
            "url": "https://live.example/10",
        }
        created = self.admin.request("POST", "/notifications", json_body=reminder).json()
        self.say("operator", f"POST /notifications → {created['id']} ({created['status']})")
        self.drain()
        sends = [c for c in self.calls("message/template/send") if c.payload["touser"] == "o-oa-dave"]
        check(len(sends) == 1 and sends[0].appid == OA_APPID, "one reminder to the opted-in follower")
        report = self.admin.request("GET", f"/notifications/{created['id']}").json()
        self.say(
            "sender",
            f"template/send to o-oa-dave: {sends[0].payload['data']}; report: {report['status']}, "
            f"sent {report['sent']}/{report['audience']}",
        )
        again = self.admin.request("POST", "/notifications", json_body=reminder).json()
        self.drain()
        check(
            again["id"] == created["id"] and len(self.calls("message/template/send")) == 1,
            "repeat sends nothing",
        )
        self.say("operator", "the same request again → same notification, nothing sent twice")

    def referrals(self) -> None:
        print(
            "\n4. Referrals: a follower asks for their own code, shares it; a friend follows and is told who sent them"
        )
        assert self.sandbox is not None
        self.sandbox.interact(OA_APPID, "o-oa-alice")
        reply = self.reply_text(self.push(DEMO_OA, "text", "o-oa-alice", Content="我的名字 Alice"))
        self.say("wechat", f"o-oa-alice writes '我的名字 Alice' → {reply}")
        self.push(DEMO_OA, "event", "o-oa-alice", Event="CLICK", EventKey="MY_CODE")
        self.say("wechat", "o-oa-alice taps the menu button 我的二维码 (CLICK MY_CODE)")
        self.drain()
        sent = [c for c in self.calls("message/custom/send") if c.payload.get("touser") == "o-oa-alice"]
        check(
            [c.payload["msgtype"] for c in sent[-2:]] == ["text", "image"], "intro text and code image sent"
        )
        self.say(
            "sender", "custom/send text (the intro) then image (her own code, uploaded as temporary media)"
        )
        [alice] = [
            p
            for p in self.admin.request("GET", "/promoters", query={"app": DEMO_OA}).json()["items"]
            if p["openid"] == "o-oa-alice"
        ]
        [code] = self.admin.request("GET", f"/promoters/{DEMO_OA}/{alice['id']}").json()["channels"]
        qr = self.sandbox.qr_for_url(code["image_url"])
        check(qr is not None and str(qr.scene) == code["scene"], "the image's QR leads back to her code")
        self.say(
            "operator",
            f"she is promoter {alice['id']} now; her code's scene is {code['scene']} (no openid in it)",
        )
        text = self.follow("o-oa-frank", code["scene"])
        self.say("wechat", f"o-oa-frank scans Alice's code and follows → reply: {text}")
        check("Alice" in text, "referrer named")
        self.drain()
        notice = [c for c in self.calls("message/custom/send") if c.payload.get("touser") == "o-oa-alice"][-1]
        check(notice.payload["msgtype"] == "text", "Alice is told")
        self.say("sender", f"custom/send to Alice: {notice.payload['text']['content']}")
        self.follow("o-oa-alice", code["scene"])  # her own code: never credited to herself
        stats = self.admin.request("GET", f"/promoters/{DEMO_OA}/{alice['id']}").json()
        check(stats["referrals"] == 1, "credited once")
        self.say("stats", f"Alice's referrals: {stats['referrals']} (her own scan does not count)")

    def hand_off(self) -> None:
        print("\n5. Human hand-off: a message no rule answers goes to WeChat's customer-service system")
        text = self.reply_text(self.push(DEMO_OA, "text", "o-oa-bob", Content="我的订单有问题"))
        self.say("wechat", f"o-oa-bob writes '我的订单有问题' → {text}")
        check("transfer_customer_service" in text, "handed off")
        assert self.sandbox is not None
        self.sandbox.unfollow(OA_APPID, "o-oa-bob")
        self.push(DEMO_OA, "event", "o-oa-bob", Event="unsubscribe")
        self.say("wechat", "o-oa-bob unfollows → recorded, no reminders any more")

    def statistics(self) -> None:
        print("\nChannel statistics (GET /channels/demo-oa/stats):")
        stats = self.admin.request("GET", "/channels/demo-oa/stats").json()
        rows = [{"scene": c["scene"], "name": c.get("name"), **c["totals"]} for c in stats["channels"]]
        print(indent(render(rows, STATS_COLUMNS), "  "))
        dead = self.stack.client("sqs").get_queue_attributes(
            QueueUrl=self.stack.queue_url("OutboxDeadLetterQueue"),
            AttributeNames=["ApproximateNumberOfMessages"],
        )["Attributes"]["ApproximateNumberOfMessages"]
        check(dead == "0", f"{dead} outbound jobs were dead-lettered")
        totals = stats["totals"]
        check(totals["new_followers"] == 10, f"10 new followers in total (got {totals['new_followers']})")
        print(f"  totals: {totals}")
        board = self.admin.request("GET", f"/promoters/{DEMO_OA}/ranking").json()
        print(
            f"\nPromoter leaderboard (GET /promoters/demo-oa/ranking, {board['from']} — {board['to']}, "
            f"{board['time_zone']}):"
        )
        rows = [{**e, "name": e["name"] or e["id"], **e["totals"]} for e in board["promoters"]]
        print(indent(render(rows, RANKING_COLUMNS), "  "))
        ranked = [(e["id"], e["totals"]["referrals"]) for e in board["promoters"]][:2]
        check(ranked == [("wang", 3), ("li", 2)], f"wang (2 codes, 3 followers) leads (got {ranked})")
        teams = [{**t, **t["totals"]} for t in board["teams"]]
        print(indent(render(teams, TEAM_COLUMNS), "  "))

    def live_codes(self) -> None:
        print(
            "\n6. Live codes and the funnel: printed codes that never expire; a visit, a follow, who stayed"
        )
        today = datetime.now(ZoneInfo("Asia/Shanghai")).date()
        self.admin.request(
            "POST",
            "/campaigns",
            json_body={
                "app": DEMO_OA,
                "id": "demo-spring",
                "name": "春季门店活动",
                "start": (today - timedelta(days=1)).isoformat(),
                "end": (today + timedelta(days=30)).isoformat(),
            },
        )
        rows = "name,scene,tag,welcome,title\n门店 1,store-1,store,欢迎光临门店 1！,门店 1 · 扫码关注\n门店 2,store-2,store,,\n"
        batch = self.admin.request(
            "POST",
            "/batches",
            query={"app": DEMO_OA, "campaign": "demo-spring"},
            body=rows.encode("utf-8"),
            content_type="text/csv",
        ).json()
        check(batch["counts"]["created"] == 2, "a batch of two stores created")
        link = batch["rows"][0]["link"]
        self.say("operator", f"POST /batches (CSV, 2 stores, campaign demo-spring) → live link {link}")
        self.admin.request(
            "PUT",
            "/channels/demo-oa/store-1/welcome",
            json_body={
                "messages": [
                    {"type": "text", "content": "欢迎光临门店 1！"},
                    {
                        "type": "link",
                        "title": "门店 1 今日优惠",
                        "description": "到店出示即可使用",
                        "url": "https://shop.example/store-1",
                        "thumb_url": "https://shop.example/t.png",
                    },
                ]
            },
        )
        printed = self.admin.request("GET", f"/livecodes/demo-oa/{batch['rows'][0]['code']}/qr")
        check(printed.body.startswith(b"\x89PNG"), "the print file is a PNG")
        self.say("operator", f"print file of the live link: {len(printed.body)} bytes of PNG (never expires)")
        phone = {"User-Agent": "Mozilla/5.0 (iPhone) MicroMessenger/8.0.47"}
        with urlopen(Request(link, headers=phone), timeout=10) as response:
            page = response.read().decode("utf-8")
            cookie = response.headers["Set-Cookie"].split(";", 1)[0]
        image = page.split('<img class="qr" src="', 1)[1].split('"', 1)[0].replace("&amp;", "&")
        self.say("wechat", f"a phone opens it → the page shows the channel's current QR ({image[:48]}…)")
        with urlopen(Request(link, headers={**phone, "Cookie": cookie}), timeout=10) as response:
            check(response.headers.get("Set-Cookie") is None, "a visitor counts once a day")
        with urlopen(Request(link, headers={"User-Agent": "Mozilla/5.0 MicroMessenger"}), timeout=10):
            pass  # another visitor, who walks away
        assert self.sandbox is not None
        qr = self.sandbox.qr_for_url(image)
        check(qr is not None and qr.scene == "store-1", "the page's QR follows through the store's channel")
        text = self.follow("o-oa-grace", "store-1")
        self.say("wechat", f"o-oa-grace long-presses it and follows → reply: {text}")
        self.drain()
        sent = [c for c in self.calls("message/custom/send") if c.payload.get("touser") == "o-oa-grace"]
        check([c.payload["msgtype"] for c in sent] == ["news"], "the welcome sequence's link, once")
        self.say(
            "sender",
            f"welcome sequence: custom/send news '{sent[0].payload['news']['articles'][0]['title']}'",
        )
        funnel = self.admin.request("GET", "/campaigns/demo-oa/demo-spring/funnel").json()
        check(
            (funnel["visits"], funnel["new_followers"]) == (2, 1),
            f"2 visits, 1 new follower (got {funnel['visits']} and {funnel['new_followers']})",
        )
        print(
            f"  funnel of demo-spring: {funnel['visits']} visits → {funnel['new_followers']} new followers "
            f"(conversion {100 * funnel['conversion']:.0f} %)"
        )
        for window in funnel["retention"]:
            print(
                f"    still following after {window['days']:>2} days: {window['retained']} of {window['cohort']} "
                f"({window['pending']} follower(s) not yet {window['days']} days in)"
            )
        for channel in funnel["channels"]:
            print(
                f"    {channel['scene']:<10} {channel['visits']} visits, {channel['new_followers']} followers"
            )


STATS_COLUMNS = (
    ("scene", "scene"),
    ("name", "name"),
    ("new_followers", "new"),
    ("returning_followers", "back"),
    ("scans", "scans"),
    ("unfollows", "unf"),
    ("net", "net"),
    ("referrals", "ref"),
)
RANKING_COLUMNS = (
    ("rank", "#"),
    ("name", "promoter"),
    ("team", "team"),
    ("referrals", "credited"),
    ("new_followers", "new"),
)
TEAM_COLUMNS = (
    ("team", "team"),
    ("promoters", "promoters"),
    ("referrals", "credited"),
    ("new_followers", "new"),
)


def main() -> int:
    steps: list[Callable[[Demo], None]] = [
        Demo.channels_and_promoters,
        Demo.keyword_to_follow,
        Demo.reminder_via_card,
        Demo.referrals,
        Demo.hand_off,
        Demo.statistics,
        Demo.live_codes,
    ]
    print(
        "wxfunnel demo: local stack (moto + WeChat sandbox + the template's functions), no AWS, no Docker, no internet"
    )
    import logging
    import warnings

    warnings.filterwarnings("ignore", message="No application metrics to publish")

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto server's request log
    with LocalStack(apps=demo_apps(), environment={"POWERTOOLS_LOG_LEVEL": "WARNING"}) as stack:
        print(f"  callback URLs: {stack.callback_url(DEMO_OA)}  {stack.callback_url(DEMO_MP)}")
        demo = Demo(stack)
        for step in steps:
            try:
                step(demo)
            except DemoFailed as exc:
                print(f"\nDEMO FAILED in {step.__name__}: {exc}")
                return 1
            except Exception as exc:
                print(f"\nDEMO FAILED in {step.__name__}: {type(exc).__name__}: {exc}")
                return 1
    print("\nDemo complete: every flow behaved.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
