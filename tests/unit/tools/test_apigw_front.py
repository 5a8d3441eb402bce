"""The local API Gateway's pure parts: resource matching as API Gateway does it, events, responses, IAM identity."""

from __future__ import annotations

import base64
import json
from dataclasses import replace
from pathlib import Path

import pytest
from samtranslator.yaml_helper import yaml_parse

from wxfunnel_tools.localstack.front import (
    Front,
    GatewayAnswer,
    build_event,
    caller_identity,
    is_binary_media_type,
    rest_api,
    shape_response,
)
from wxfunnel_tools.localstack.routes import Match, NoRoute, RouteTable
from wxfunnel_tools.localstack.runtime import LocalFunction
from wxfunnel_tools.template import TEMPLATE, FunctionSpec, Route, functions, translate


def spec(name: str, *routes: tuple[str, str], auth: str = "NONE") -> FunctionSpec:
    return FunctionSpec(
        name,
        f"functions/{name}/",
        "app.lambda_handler",
        5,
        routes=tuple(Route(method, path, auth) for method, path in routes),
    )


TABLE = RouteTable(
    [
        spec("Items", ("GET", "/items"), ("POST", "/items")),
        spec("Item", ("GET", "/items/{id}")),
        spec("Special", ("GET", "/items/special")),
        spec("Image", ("GET", "/items/{id}/image")),
        spec("Files", ("ANY", "/files/{path+}")),
    ]
)


def matched(method: str, path: str) -> Match:
    found = TABLE.match(method, path)
    assert isinstance(found, Match), found
    return found


def test_a_literal_resource_is_matched_with_its_method() -> None:
    assert matched("POST", "/items").function.logical_id == "Items"
    assert matched("get", "/items").route.method == "GET"


def test_a_template_segment_becomes_a_url_decoded_path_parameter() -> None:
    found = matched("GET", "/items/a%2Fb%20c/image")
    assert found.function.logical_id == "Image"
    assert found.path_parameters == {"id": "a/b c"}
    assert found.route.path == "/items/{id}/image"


def test_a_literal_segment_wins_over_a_parameter() -> None:
    assert matched("GET", "/items/special").function.logical_id == "Special"
    assert matched("GET", "/items/other").function.logical_id == "Item"


def test_a_greedy_parameter_takes_the_rest_of_the_path_for_any_method() -> None:
    found = matched("DELETE", "/files/a/b/c.txt")
    assert found.path_parameters == {"path": "a/b/c.txt"}
    assert isinstance(TABLE.match("GET", "/files"), NoRoute)


def test_a_trailing_slash_names_the_same_resource() -> None:
    assert matched("GET", "/items/").function.logical_id == "Items"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/nothing"),
        ("GET", "/items/1/image/extra"),
        ("GET", "/"),
        ("DELETE", "/items"),  # the resource exists, the method does not: API Gateway answers the same
    ],
)
def test_no_resource_or_no_method_is_no_route(method: str, path: str) -> None:
    assert isinstance(TABLE.match(method, path), NoRoute)


def test_two_functions_cannot_serve_the_same_method_and_resource() -> None:
    with pytest.raises(ValueError, match="served by both"):
        RouteTable([spec("A", ("GET", "/x")), spec("B", ("GET", "/x"))])


def test_the_templates_routes_resolve_to_their_functions() -> None:
    table = RouteTable(functions())
    callback = table.match("POST", "/wechat/demo-oa")
    verify = table.match("GET", "/wechat/demo-oa")
    assert isinstance(callback, Match) and callback.function.logical_id == "CallbackFunction"
    assert callback.route.auth == "NONE" and callback.path_parameters == {"app": "demo-oa"}
    assert isinstance(verify, Match) and verify.function.logical_id == "VerifyFunction"
    image = table.match("GET", "/qrcodes/demo-oa/ch1/image")
    assert isinstance(image, Match) and image.function.logical_id == "QrCodeFunction"
    assert image.route.auth == "AWS_IAM" and image.path_parameters == {"app": "demo-oa", "scene": "ch1"}
    assert isinstance(table.match("PUT", "/wechat/demo-oa"), NoRoute)


def test_the_front_serves_the_deployed_apis_one_stage_binary_types_and_invocation() -> None:
    api = rest_api()
    assert api.stages == ("v1",)
    assert set(api.binary_media_types) == {"image/jpeg", "image/png", "application/zip"}
    assert api.caller_credentials == frozenset()


def _with_sams_defaults(tmp_path: Path) -> Path:
    """template.yaml without OpenApiVersion and InvokeRole, the two settings that override SAM's defaults."""
    document = yaml_parse(TEMPLATE.read_text(encoding="utf-8"))
    assert document["Globals"].pop("Api") == {"OpenApiVersion": "2.0"}
    assert document["Resources"]["WxfunnelApi"]["Properties"]["Auth"].pop("InvokeRole") == "NONE"
    path = tmp_path / "template.json"  # JSON is YAML
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def test_sams_defaults_would_add_a_stage_and_invoke_admin_routes_as_the_caller(tmp_path: Path) -> None:
    api = rest_api(translate(path=_with_sams_defaults(tmp_path)))
    assert api.stages == ("v1", "Stage")
    assert ("POST", "/qrcodes") in api.caller_credentials
    assert ("GET", "/qrcodes/{app}/{scene}/image") in api.caller_credentials
    assert not {path for _, path in api.caller_credentials} & {"/wechat/{app}"}


def test_a_route_invoked_with_the_callers_credentials_is_a_500_for_a_least_privileged_operator() -> None:
    admin = spec("Admin", ("GET", "/admin"), auth="AWS_IAM")
    front = Front([LocalFunction(admin)], port=0)
    try:
        found = front.routes.match("GET", "/admin")
        assert isinstance(found, Match)
        front.check_invocation(found)  # the template's API: API Gateway invokes with its own permission
        front.api = replace(front.api, caller_credentials=frozenset({("GET", "/admin")}))
        with pytest.raises(GatewayAnswer) as answer:
            front.check_invocation(found)
        assert (answer.value.status, answer.value.message) == (500, "Internal server error")
    finally:
        front.server_close()


def test_only_the_apis_stages_are_served() -> None:
    front = Front([LocalFunction(spec("Items", ("GET", "/items")))], port=0)
    try:
        match, stage, path, query = front.resolve("GET", "/v1/items?a=1")
        assert (match.function.logical_id, stage, path, query) == ("Items", "v1", "/items", "a=1")
        for outside in ("/Stage/items", "/items", "/", "/v2/items"):
            with pytest.raises(GatewayAnswer) as answer:
                front.resolve("GET", outside)
            assert (answer.value.status, answer.value.message) == (403, "Forbidden")
    finally:
        front.server_close()


def test_an_iam_route_without_authorization_is_missing_authentication_token() -> None:
    with pytest.raises(GatewayAnswer) as answer:
        caller_identity(None)
    assert (answer.value.status, answer.value.message) == (403, "Missing Authentication Token")
    with pytest.raises(GatewayAnswer) as bad:
        caller_identity("Bearer abc")
    assert bad.value.status == 403 and bad.value.error_type == "IncompleteSignatureException"


def test_a_sigv4_authorization_names_the_caller() -> None:
    identity = caller_identity(
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240101/us-east-1/execute-api/aws4_request, "
        "SignedHeaders=host;x-amz-date, Signature=abc"
    )
    assert identity["accessKey"] == "AKIDEXAMPLE"
    assert identity["userArn"].startswith("arn:aws:iam::")


def _event(match: Match, **overrides: object) -> dict:
    arguments: dict = {
        "method": "GET",
        "path": "/items/7",
        "query": "",
        "headers": [],
        "body": b"",
        "stage": "v1",
        "binary_types": ("image/png",),
    }
    arguments.update(overrides)
    return build_event(match, **arguments)


def test_the_event_has_api_gateways_shape() -> None:
    event = _event(matched("GET", "/items/7"), query="a=1&a=2&b=", headers=[("X-Ab", "1"), ("X-Ab", "2")])
    assert event["resource"] == "/items/{id}" and event["path"] == "/items/7"
    assert event["pathParameters"] == {"id": "7"}
    assert event["queryStringParameters"] == {"a": "2", "b": ""}
    assert event["multiValueQueryStringParameters"] == {"a": ["1", "2"], "b": [""]}
    assert event["headers"]["X-Ab"] == "2" and event["multiValueHeaders"]["X-Ab"] == ["1", "2"]
    assert event["requestContext"]["path"] == "/v1/items/7" and event["requestContext"]["stage"] == "v1"
    assert event["body"] is None and event["isBase64Encoded"] is False


def test_a_binary_media_type_body_is_base64_and_text_is_passed_as_is() -> None:
    match = matched("POST", "/items")
    png = _event(match, method="POST", headers=[("Content-Type", "image/png")], body=b"\x89PNG\x00")
    assert png["isBase64Encoded"] is True and base64.b64decode(png["body"]) == b"\x89PNG\x00"
    xml = _event(match, method="POST", headers=[("Content-Type", "text/xml")], body="<xml>中</xml>".encode())
    assert xml["isBase64Encoded"] is False and xml["body"] == "<xml>中</xml>"


@pytest.mark.parametrize(
    ("media_type", "binary_types", "binary"),
    [
        ("image/png", ("image/png",), True),
        ("Image/PNG; charset=binary", ("image/png",), True),
        ("image/webp", ("image/*",), True),
        ("application/test", ("application/*",), True),
        ("application/*", ("application/*",), True),
        ("text/xml", ("*/*",), True),  # */* makes every payload binary
        ("image/jpg", ("image/png", "*/test"), False),
        ("image/*", ("image/png",), False),  # a wildcard in the request is no match for a concrete entry
        ("random/test", ("*/test",), False),  # no wildcard on the left
        ("*/*", ("image/png",), False),
        ("application", ("application/*",), False),
        ("", ("*/*",), False),
        (None, ("*/*",), False),
        ("image/png", (), False),
    ],
)
def test_binary_media_types_match_as_api_gateway_matches_them(
    media_type: str | None, binary_types: tuple[str, ...], binary: bool
) -> None:
    """AWS-observed matching (the cases localstack's API Gateway tests recorded against AWS, plus the
    documented */*): the same rule for a request's Content-Type and for its first Accept type."""
    assert is_binary_media_type(media_type, binary_types) is binary


def test_a_text_body_that_is_not_utf8_arrives_with_replacement_characters_as_on_aws() -> None:
    """API Gateway handles a payload of a non-binary type as UTF-8 text: undecodable bytes become U+FFFD."""
    match = matched("POST", "/items")
    event = _event(match, method="POST", headers=[("Content-Type", "text/xml")], body=b"\xff<xml>\xe4</xml>")
    assert event["isBase64Encoded"] is False and event["body"] == "\ufffd<xml>\ufffd</xml>"


def test_a_binary_body_is_base64_whatever_its_bytes_so_a_handler_can_refuse_non_utf8() -> None:
    match = matched("POST", "/items")
    json_as_binary = _event(
        match,
        method="POST",
        headers=[("Content-Type", "application/json")],
        body=b'{"a": 1}',
        binary_types=("*/*",),
    )
    assert json_as_binary["isBase64Encoded"] is True
    assert base64.b64decode(json_as_binary["body"]) == b'{"a": 1}'
    raw = b"\xff\xfe<xml/>"
    webp = _event(
        match, method="POST", headers=[("content-type", "image/webp")], body=raw, binary_types=("image/*",)
    )
    assert webp["isBase64Encoded"] is True and base64.b64decode(webp["body"]) == raw


def test_a_body_without_content_type_is_taken_as_json() -> None:
    match = matched("POST", "/items")
    as_json = _event(match, method="POST", body=b"{}", binary_types=("application/json",))
    assert as_json["isBase64Encoded"] is True
    assert _event(match, method="POST", body=b"{}", binary_types=("image/png",))["isBase64Encoded"] is False


def test_an_iam_route_event_carries_the_identity() -> None:
    table = RouteTable([spec("Admin", ("GET", "/admin"), auth="AWS_IAM")])
    found = table.match("GET", "/admin")
    assert isinstance(found, Match)
    event = _event(
        found,
        path="/admin",
        headers=[("Authorization", "AWS4-HMAC-SHA256 Credential=AKIDX/20240101/us-east-1/x/aws4_request")],
    )
    assert event["requestContext"]["identity"]["accessKey"] == "AKIDX"
    with pytest.raises(GatewayAnswer):
        _event(found, path="/admin")


PNG_RESULT = {
    "statusCode": 200,
    "headers": {"Content-Type": "image/png"},
    "body": base64.b64encode(b"\x89PNG").decode(),
    "isBase64Encoded": True,
}


def test_a_response_is_status_merged_headers_and_decoded_body() -> None:
    status, headers, body = shape_response(
        {**PNG_RESULT, "multiValueHeaders": {"Set-Cookie": ["a=1", "b=2"], "content-type": ["ignored"]}},
        accept="image/png",
        binary_types=("image/png",),
    )
    assert status == 200 and body == b"\x89PNG"
    assert headers == [("Content-Type", "image/png"), ("Set-Cookie", "a=1"), ("Set-Cookie", "b=2")]
    assert shape_response({"statusCode": 204})[1] == [("Content-Type", "application/json")]


@pytest.mark.parametrize(
    ("accept", "binary_types"),
    [
        ("image/jpeg", ("image/jpeg", "image/png")),  # the response's own type (png) does not count
        ("image/png;q=0.9, application/json", ("image/png",)),
        ("IMAGE/PNG", ("image/png",)),
        ("image/png", ("image/*",)),
        ("application/json", ("*/*",)),
    ],
)
def test_base64_is_decoded_when_the_first_accept_type_is_binary(
    accept: str, binary_types: tuple[str, ...]
) -> None:
    assert shape_response(PNG_RESULT, accept=accept, binary_types=binary_types)[2] == b"\x89PNG"


@pytest.mark.parametrize(
    "accept",
    [None, "", "application/json", "application/json, image/png", "*/*", "image/*", "image/webp,image/png"],
)
def test_base64_text_is_passed_as_is_unless_the_first_accept_type_is_binary(accept: str | None) -> None:
    """What a REST API does: `Accept: application/json` (the CLI's old header) gets the base64 text."""
    body = shape_response(PNG_RESULT, accept=accept, binary_types=("image/jpeg", "image/png"))[2]
    assert body == PNG_RESULT["body"].encode()


@pytest.mark.parametrize(
    "result",
    [
        None,
        "text",
        {"body": "x"},
        {"statusCode": "200"},
        {"statusCode": 200, "body": "%%%", "isBase64Encoded": True},
    ],
)
def test_a_malformed_lambda_response_is_a_502(result: object) -> None:
    with pytest.raises(GatewayAnswer) as answer:
        shape_response(result, accept="image/png", binary_types=("image/png",))
    assert (answer.value.status, answer.value.message) == (502, "Internal server error")
