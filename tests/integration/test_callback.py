"""POST /wechat/{app}: pushes in every format and mode through the real CallbackFunction handler against moto."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import xmltodict

from wxfunnel.protocol import crypto
from wxfunnel_tools.devapps import DEMO_RULES, DEV_APPS, demo_apps, seed_apps
from wxfunnel_tools.pushes import callback_event, message, signed_push
from wxfunnel_tools.testing import cold_start, table_items

OA, MP = "demo-oa", "demo-mp"
OA_ID, MP_ID = DEV_APPS[OA]["original_id"], DEV_APPS[MP]["original_id"]
# What a follow through a scene without a channel record answers under the demo rules.
SCENE_WELCOME = DEMO_RULES[OA]["channel_welcome_default"]


@pytest.fixture
def with_rules(aws):
    """The development apps with the demo rules (a welcome, keywords, a fallback), so that pushes get answers."""
    seed_apps(aws.ssm, aws.env["APPS_PARAMETER_PREFIX"], demo_apps())
    cold_start()


def text(
    app_id: str, content: str = "hello", *, openid: str = "o-user-1", msg_id: int = 1, at: int | None = None
):
    return message("text", openid=openid, to_user=app_id, create_time=at, msg_id=msg_id, Content=content)


def follow(scene: str | None = None, *, openid: str = "o-user-1", at: int | None = None):
    fields = {"Event": "subscribe"}
    if scene is not None:
        fields.update(EventKey=f"qrscene_{scene}", Ticket="gQH47joAAAAAAAAAASxodHRw")
    return message("event", openid=openid, to_user=OA_ID, create_time=at, **fields)


def scan(scene: str, *, openid: str = "o-user-1", at: int | None = None):
    return message(
        "event",
        openid=openid,
        to_user=OA_ID,
        create_time=at,
        Event="SCAN",
        EventKey=scene,
        Ticket="gQH47joAAAAAAAAAASxodHRw",
    )


def unfollow(*, openid: str = "o-user-1", at: int | None = None):
    return message("event", openid=openid, to_user=OA_ID, create_time=at, Event="unsubscribe")


def profile(aws, app: str, openid: str) -> dict | None:
    item = aws.dynamodb.get_item(
        TableName=aws.env["SUBSCRIPTIONS_TABLE"], Key={"pk": {"S": f"{app}#{openid}"}, "sk": {"S": "profile"}}
    ).get("Item")
    return item


def open_reply(app: str, body: bytes, nonce: str, fmt: str) -> bytes:
    """Check and decrypt an encrypted reply envelope the way WeChat does."""
    config = DEV_APPS[app]
    if fmt == "json":
        envelope = json.loads(body)
        assert isinstance(envelope["TimeStamp"], int)
    else:
        envelope = xmltodict.parse(body)["xml"]
    assert envelope["Nonce"] == nonce
    box = crypto.MessageCrypto(config["token"], config["appid"], config["encoding_aes_key"])
    opened = box.verify_and_decrypt(
        envelope["Encrypt"], envelope["MsgSignature"], str(envelope["TimeStamp"]), nonce
    )
    return opened.plaintext


@pytest.mark.parametrize(
    ("app", "fmt", "mode"),
    [
        (OA, "xml", "plain"),
        (OA, "xml", "compat"),
        (OA, "xml", "safe"),
        (MP, "xml", "plain"),
        (MP, "xml", "safe"),
        (MP, "json", "plain"),
        (MP, "json", "safe"),
    ],
)
def test_every_format_and_mode_is_accepted_and_recorded_once(aws, callback, app, fmt, mode):
    to_user = OA_ID if app == OA else MP_ID
    push = text(to_user, "no rule matches this")
    reply = callback.push(app, push, fmt=fmt, mode=mode)
    assert reply.status == 200
    assert reply.body == b"success"
    records = table_items(aws, "DEDUPE_TABLE")
    assert [r["id"]["S"] for r in records] == [f"delivery#{app}#o-user-1#{push['CreateTime']}#1"]


def test_a_qr_follow_in_safe_mode_records_the_follower_and_answers_encrypted(aws, callback, with_rules):
    query, body = signed_push(DEV_APPS[OA], follow("spring-poster"), mode="safe", nonce="415670741")
    reply = callback.invoke(callback_event(OA, query, body))
    assert reply.status == 200
    assert reply.body != b"success"
    assert reply.headers["Content-Type"] == "application/xml"
    item = profile(aws, OA, "o-user-1")
    assert item["status"]["S"] == "subscribed"
    assert item["first_scene"]["S"] == "spring-poster"
    assert item["follow_count"]["N"] == "1"
    touches = [i for i in table_items(aws, "SUBSCRIPTIONS_TABLE") if i["sk"]["S"].startswith("touch#")]
    assert [t["scene"]["S"] for t in touches] == ["spring-poster"]
    inner = xmltodict.parse(open_reply(OA, reply.body, "415670741", "xml"))["xml"]
    assert inner["ToUserName"] == "o-user-1"
    assert inner["FromUserName"] == OA_ID
    assert (inner["MsgType"], inner["Content"]) == ("text", SCENE_WELCOME)


def test_a_json_push_in_safe_mode_is_answered_with_an_encrypted_json_envelope(aws, callback, with_rules):
    # A Mini Program's only passive answer is the hand-off to customer service (the demo rules' fallback).
    push = text(MP_ID, "no keyword matches this")
    query, body = signed_push(DEV_APPS[MP], push, fmt="json", mode="safe", nonce="97531")
    reply = callback.invoke(callback_event(MP, query, body))
    assert reply.status == 200
    assert reply.body != b"success"
    assert reply.headers["Content-Type"] == "application/json"
    assert set(json.loads(reply.body)) == {"Encrypt", "MsgSignature", "TimeStamp", "Nonce"}
    inner = json.loads(open_reply(MP, reply.body, "97531", "json"))
    assert inner["ToUserName"] == "o-user-1"
    assert inner["FromUserName"] == MP_ID
    assert inner["MsgType"] == "transfer_customer_service"
    assert isinstance(inner["CreateTime"], int)


def test_the_scene_prefix_is_sliced_off_the_front_only(aws, callback):
    callback.push(OA, follow("qrscene_x"))
    assert profile(aws, OA, "o-user-1")["first_scene"]["S"] == "qrscene_x"


def test_every_retry_of_a_push_is_processed_once_and_answered_the_same(aws, callback, with_rules):
    push = follow("spring", at=int(time.time()))
    query, body = signed_push(DEV_APPS[OA], push, mode="safe", nonce="1")
    replies = [callback.invoke(callback_event(OA, query, body)) for _ in range(4)]
    assert {r.status for r in replies} == {200}
    assert all(r.body != b"success" for r in replies)
    plaintexts = {open_reply(OA, r.body, "1", "xml") for r in replies}
    assert len(plaintexts) == 1
    assert xmltodict.parse(plaintexts.pop())["xml"]["Content"] == SCENE_WELCOME
    item = profile(aws, OA, "o-user-1")
    assert item["follow_count"]["N"] == "1"
    assert item["version"]["N"] == "1"


def test_concurrent_deliveries_of_one_push_change_state_once(aws, callback):
    push = follow("viral", at=int(time.time()))
    query, body = signed_push(DEV_APPS[OA], push)
    event = callback_event(OA, query, body)
    statuses: list[int] = []
    threads = [
        threading.Thread(target=lambda: statuses.append(callback.invoke(event).status)) for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [200] * 4
    assert profile(aws, OA, "o-user-1")["follow_count"]["N"] == "1"
    assert len(table_items(aws, "DEDUPE_TABLE")) == 1


def test_follow_scan_unfollow_and_refollow_keep_first_and_last_touch(aws, callback):
    now = int(time.time())
    callback.push(OA, follow("poster", at=now - 50))
    callback.push(OA, scan("live=10", at=now - 40))
    callback.push(OA, unfollow(at=now - 30))
    item = profile(aws, OA, "o-user-1")
    assert item["status"]["S"] == "unsubscribed"
    assert "first_audience" not in item and "last_audience" not in item
    callback.push(OA, follow("booth", at=now - 20))
    item = profile(aws, OA, "o-user-1")
    assert (item["status"]["S"], item["first_scene"]["S"], item["last_scene"]["S"]) == (
        "subscribed",
        "poster",
        "booth",
    )
    assert (item["follow_count"]["N"], item["scan_count"]["N"]) == ("2", "1")


def test_an_unfollow_delivered_before_an_older_follow_wins(aws, callback):
    now = int(time.time())
    callback.push(OA, unfollow(at=now - 10))
    callback.push(OA, follow("late", at=now - 20))
    assert profile(aws, OA, "o-user-1")["status"]["S"] == "unsubscribed"


def test_a_push_encrypted_with_the_previous_key_is_accepted_and_answered_with_it(aws, callback):
    new_key = "N" * 43
    old_key = DEV_APPS[OA]["encoding_aes_key"]
    rotated = dict(DEV_APPS[OA], encoding_aes_key=new_key, previous_encoding_aes_key=old_key)
    aws.ssm.put_parameter(
        Name="/wxfunnel/apps/demo-oa", Value=json.dumps(rotated), Type="SecureString", Overwrite=True
    )
    from wxfunnel_tools.testing import cold_start

    cold_start()
    query, body = signed_push(rotated, follow("rotation"), mode="safe", key=old_key, nonce="7")
    reply = callback.invoke(callback_event(OA, query, body))
    assert reply.status == 200
    assert profile(aws, OA, "o-user-1")["first_scene"]["S"] == "rotation"


def test_a_push_created_almost_a_day_ago_is_still_accepted(aws, callback):
    # Late deliveries and skewed clocks are tolerated up to a day either way (an absurd CreateTime is a 400).
    now = int(time.time())
    assert callback.push(OA, text(OA_ID, msg_id=1, at=now - 86_000)).status == 200
    assert callback.push(OA, text(OA_ID, msg_id=2, at=now + 86_000)).status == 200
    assert len(table_items(aws, "DEDUPE_TABLE")) == 2


def test_unknown_message_and_event_types_are_kept_and_acknowledged(aws, callback):
    odd = message("hologram", openid="o-u", to_user=OA_ID, msg_id=77, Depth="3")
    assert callback.push(OA, odd).body == b"success"
    odd_event = message("event", openid="o-u", to_user=OA_ID, Event="teleport", EventKey="x")
    assert callback.push(OA, odd_event).body == b"success"
    assert len(table_items(aws, "DEDUPE_TABLE")) == 2


def test_wechatpy_encrypted_push_is_accepted_and_its_reply_opens_with_wechatpy(aws, callback, with_rules):
    from wechatpy.crypto import WeChatCrypto

    config = DEV_APPS[OA]
    theirs = WeChatCrypto(config["token"], config["encoding_aes_key"], config["appid"])
    timestamp, nonce = str(int(time.time())), "246810"
    from wxfunnel_tools.pushes import to_xml

    envelope = xmltodict.parse(theirs.encrypt_message(to_xml(follow("peer")).decode(), nonce, timestamp))[
        "xml"
    ]
    body = f"<xml><ToUserName><![CDATA[{OA_ID}]]></ToUserName><Encrypt><![CDATA[{envelope['Encrypt']}]]></Encrypt></xml>"
    query = {
        "signature": crypto.signature(config["token"], timestamp, nonce),
        "timestamp": timestamp,
        "nonce": nonce,
        "encrypt_type": "aes",
        "msg_signature": envelope["MsgSignature"],
        "openid": "o-user-1",
    }
    reply = callback.invoke(callback_event(OA, query, body.encode()))
    assert reply.status == 200
    assert profile(aws, OA, "o-user-1")["first_scene"]["S"] == "peer"
    assert reply.body != b"success"
    reply_xml = xmltodict.parse(reply.body)["xml"]
    plain = theirs.decrypt_message(
        reply.body.decode(), reply_xml["MsgSignature"], reply_xml["TimeStamp"], nonce
    )
    inner = xmltodict.parse(plain)["xml"]
    assert (inner["ToUserName"], inner["FromUserName"]) == ("o-user-1", OA_ID)
    assert inner["Content"] == SCENE_WELCOME


def test_loading_the_handler_registers_the_flows_before_the_first_push():
    # A fresh interpreter, as a new Lambda container: the first push's 5 s must not pay for importing the flows.
    code = (
        "import sys\n"
        "from wxfunnel_tools.template import load_handler\n"
        "load_handler('CallbackFunction')\n"
        "assert 'wxfunnel.flows' in sys.modules, 'the flows are imported by the first push, not at init'\n"
    )
    root = Path(__file__).resolve().parents[2]
    env = {"PYTHONPATH": str(root / "tools"), "AWS_DEFAULT_REGION": "us-east-1", "PATH": "/usr/bin:/bin"}
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=root, check=False
    )
    assert result.returncode == 0, result.stderr
