"""The deployed shape in process for the flow tests: the callback, the admin functions and the SQS event source
mappings over moto and the WeChat sandbox (see `make_funnel`)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from typing import Any

import pytest
import xmltodict

from wxfunnel_tools.apigw import proxy_event, response_body
from wxfunnel_tools.devapps import DEV_APPS, seed_apps
from wxfunnel_tools.pushes import message
from wxfunnel_tools.sqs_events import pump
from wxfunnel_tools.template import load_handler
from wxfunnel_tools.testing import cold_start, lambda_context

OA, MP = "demo-oa", "demo-mp"
OA_APPID = DEV_APPS[OA]["appid"]
OA_ID, MP_ID = DEV_APPS[OA]["original_id"], DEV_APPS[MP]["original_id"]


class Funnel:
    """The deployed shape, in process: callback, admin functions, and the SQS event source mappings."""

    def __init__(self, aws, wechat, callback) -> None:
        self.aws, self.wechat, self.callback = aws, wechat, callback
        self.sender = load_handler("SenderFunction")
        self.fanout = load_handler("FanoutFunction")
        self.notify = load_handler("NotifyFunction")
        self.qrcodes = load_handler("QrCodeFunction")
        self.clock = int(time.time())

    def push(self, app: str, msg_type: str, openid: str, *, fmt: str = "xml", mode: str = "plain", **fields):
        """A push answered by the callback alone: WeChat's API is not called while it is handled."""
        self.clock += 1
        msg_id = self.clock * 10 if msg_type != "event" else None
        to_user = OA_ID if app == OA else MP_ID
        before = self.wechat.counters()
        reply = self.callback.push(
            app,
            message(
                msg_type, openid=openid, to_user=to_user, create_time=self.clock, msg_id=msg_id, **fields
            ),
            fmt=fmt,
            mode=mode,
        )
        assert self.wechat.counters() == before, "the callback called the WeChat API"
        assert reply.status == 200
        return reply

    def text_reply(self, reply) -> dict:
        return xmltodict.parse(reply.body)["xml"]

    def follow(self, openid: str, scene: str | None = None):
        fields = {"Event": "subscribe"}
        if scene is not None:
            fields.update(EventKey=f"qrscene_{scene}", Ticket="TICKET")
        self.wechat.follow(OA_APPID, openid, scene)
        return self.push(OA, "event", openid, **fields)

    def send_outbox(self) -> None:
        assert (
            pump(
                self.aws.sqs, self.aws.env["OUTBOX_QUEUE_URL"], self.sender, lambda_context("SenderFunction")
            )
            == []
        )

    def admin(self, handler, method: str, resource: str, path: str, body: dict | None = None, **params):
        event = proxy_event(
            method,
            resource,
            path,
            body=json.dumps(body) if body is not None else None,
            headers={"Content-Type": "application/json"},
            iam_user="operator",
            **params,
        )
        response = handler(event, lambda_context("QrCodeFunction"))
        return response["statusCode"], json.loads(response_body(response))

    def create_channel(self, scene: str, **channel) -> dict:
        status, record = self.admin(
            self.qrcodes,
            "POST",
            "/qrcodes",
            "/qrcodes",
            {"app": OA, "scene": scene, "permanent": True, "channel": channel},
        )
        assert status == 201, record
        return record

    def stats(self, scene: str) -> dict:
        status, body = self.admin(
            self.qrcodes,
            "GET",
            "/channels/{app}/{scene}/stats",
            f"/channels/{OA}/{scene}/stats",
            path_parameters={"app": OA, "scene": scene},
        )
        assert status == 200, body
        return body["totals"]

    def profile(self, openid: str) -> dict:
        return self.aws.dynamodb.get_item(
            TableName=self.aws.env["SUBSCRIPTIONS_TABLE"],
            Key={"pk": {"S": f"{OA}#{openid}"}, "sk": {"S": "profile"}},
        )["Item"]


@pytest.fixture
def make_funnel(aws, wechat, callback) -> Callable[[Mapping[str, Mapping[str, Any]]], Funnel]:
    """A Funnel over the development apps with `rules` (by app name) added to their configuration."""

    def make(rules: Mapping[str, Mapping[str, Any]]) -> Funnel:
        seed_apps(
            aws.ssm,
            aws.env["APPS_PARAMETER_PREFIX"],
            {name: {**app, **rules.get(name, {})} for name, app in DEV_APPS.items()},
        )
        cold_start()
        return Funnel(aws, wechat, callback)

    return make


@pytest.fixture
def admin(aws: Any, wechat: Any) -> Any:
    """The live-code admin API (livecodes_admin.Admin) over the test's AWS and WeChat sandbox."""
    from livecodes_admin import Admin

    return Admin()
