"""template.yaml: every admin route demands SigV4 (AWS_IAM); WeChat's callback routes carry no AWS auth."""

from __future__ import annotations

import re
from pathlib import Path

from wxfunnel_tools.template import Route, functions, load_template

ROOT = Path(__file__).resolve().parents[2]

WECHAT_FUNCTIONS = {"VerifyFunction", "CallbackFunction"}
PUBLIC_FUNCTIONS = {*WECHAT_FUNCTIONS, "LandingFunction"}  # opened by WeChat itself, or by anyone's phone


def routes() -> dict[str, tuple[Route, ...]]:
    return {spec.logical_id: spec.routes for spec in functions() if spec.routes}


def test_every_admin_route_requires_aws_iam() -> None:
    admin = {name: found for name, found in routes().items() if name not in PUBLIC_FUNCTIONS}
    assert {"QrCodeFunction", "NotifyFunction"} <= set(admin)
    for name, found in admin.items():
        for route in found:
            assert route.auth == "AWS_IAM", f"{name} {route.method} {route.path} is not AWS_IAM"
            assert not route.path.startswith("/wechat/"), f"{name} serves a WeChat path"


def test_the_wechat_callback_routes_have_no_aws_auth() -> None:
    wechat = routes()
    assert {(r.method, r.path) for name in WECHAT_FUNCTIONS for r in wechat[name]} == {
        ("GET", "/wechat/{app}"),
        ("POST", "/wechat/{app}"),
    }
    for name in WECHAT_FUNCTIONS:
        for route in wechat[name]:
            assert route.auth == "NONE", f"{name} {route.method} {route.path} must stay open to WeChat"


def test_the_landing_page_is_the_only_other_open_route() -> None:
    """Anyone's phone opens a live code's page: one GET route, and nothing else of its function is open."""
    assert [(r.method, r.path, r.auth) for r in routes()["LandingFunction"]] == [
        ("GET", "/l/{app}/{code}", "NONE")
    ]
    opened = {(r.method, r.path) for found in routes().values() for r in found if r.auth == "NONE"}
    assert opened == {("GET", "/wechat/{app}"), ("POST", "/wechat/{app}"), ("GET", "/l/{app}/{code}")}


def test_the_api_defaults_to_aws_iam_so_a_new_route_is_closed_unless_opened_on_purpose() -> None:
    apis = [r for r in load_template()["Resources"].values() if r["Type"] == "AWS::Serverless::Api"]
    assert [api["Properties"]["Auth"]["DefaultAuthorizer"] for api in apis] == ["AWS_IAM"]


def _shape(path: str) -> str:
    """A route without its parameters' names (`/qrcodes/{app}/{scene}` → `/qrcodes/{}/{}`)."""
    return re.sub(r"\{[^}]*\}", "{}", path.split("?", 1)[0])


def documented_routes() -> set[tuple[str, str]]:
    """Every `METHOD /path` docs/admin-api.md gives in code (the contract operators and clients build to)."""
    text = (ROOT / "docs" / "admin-api.md").read_text(encoding="utf-8")
    return {(m[1], _shape(m[2])) for m in re.finditer(r"`(GET|POST|PATCH|PUT|DELETE) (/[^`\s]*)", text)}


def test_the_admin_functions_serve_exactly_the_documented_routes() -> None:
    served = {
        (route.method, _shape(route.path))
        for name, found in routes().items()
        if name not in PUBLIC_FUNCTIONS
        for route in found
    }
    assert served == documented_routes()
    assert ("PATCH", "/qrcodes/{}/{}") in served  # the parser found the documentation's routes


def test_the_api_passes_qr_images_through_as_binary() -> None:
    [api] = [r for r in load_template()["Resources"].values() if r["Type"] == "AWS::Serverless::Api"]
    assert {"image~1jpeg", "image~1png", "application~1zip"} <= set(api["Properties"]["BinaryMediaTypes"])


def test_the_live_code_function_serves_exactly_the_documented_routes() -> None:
    assert {(r.method, r.path) for r in routes()["LiveCodeFunction"]} == {
        ("POST", "/livecodes"),
        ("GET", "/livecodes"),
        ("GET", "/livecodes/{app}/{code}"),
        ("PUT", "/livecodes/{app}/{code}"),
        ("GET", "/livecodes/{app}/{code}/qr"),
        ("POST", "/archives"),
        ("POST", "/campaigns"),
        ("GET", "/campaigns"),
        ("GET", "/campaigns/{app}/{campaign}"),
        ("PUT", "/campaigns/{app}/{campaign}"),
        ("GET", "/campaigns/{app}/{campaign}/funnel"),
        ("GET", "/channels/{app}/{scene}/funnel"),
        ("PUT", "/channels/{app}/{scene}/campaign"),
        ("GET", "/channels/{app}/{scene}/welcome"),
        ("PUT", "/channels/{app}/{scene}/welcome"),
        ("POST", "/batches"),
    }
