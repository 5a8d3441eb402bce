"""GET /apps: the console's app picker reads the configured apps' names, kinds and time zones, never a secret."""

from __future__ import annotations

import json

from wxfunnel_tools.apigw import proxy_event, response_body
from wxfunnel_tools.devapps import DEV_APPS
from wxfunnel_tools.template import load_handler
from wxfunnel_tools.testing import cold_start, lambda_context


def test_the_apps_are_listed_with_their_kinds_and_zones_and_no_secret(aws) -> None:
    prefix = aws.env["APPS_PARAMETER_PREFIX"]
    aws.ssm.put_parameter(
        Name=f"{prefix}berlin-oa",
        Value=json.dumps({**DEV_APPS["demo-oa"], "time_zone": "Europe/Berlin"}),
        Type="SecureString",
    )
    aws.ssm.put_parameter(Name=f"{prefix}broken", Value="{not json", Type="SecureString")
    aws.ssm.put_parameter(
        Name=f"{prefix}nested/deeper", Value="{}", Type="SecureString"
    )  # not an app of this prefix
    cold_start()
    handler = load_handler("QrCodeFunction")
    response = handler(
        proxy_event("GET", "/apps", "/apps", iam_user="operator"), lambda_context("QrCodeFunction")
    )
    assert response["statusCode"] == 200
    body = response_body(response).decode()
    items = {item["name"]: item for item in json.loads(body)["items"]}
    assert items["demo-oa"] == {"name": "demo-oa", "kind": "official_account", "time_zone": "Asia/Shanghai"}
    assert items["demo-mp"]["kind"] == "mini_program"
    assert items["berlin-oa"]["time_zone"] == "Europe/Berlin"
    assert items["broken"]["kind"] is None and "not valid JSON" in items["broken"]["problem"]
    assert "nested" not in body and "deeper" not in body
    for app in DEV_APPS.values():
        for secret in ("secret", "token", "encoding_aes_key"):
            if app.get(secret):
                assert app[secret] not in body
