"""template.yaml as SAM translates it for CloudFormation (what API Gateway, Lambda and IAM receive): admin methods
invoked without the caller's credentials, exactly one throttled stage, capped queue consumers, protected tables.

The emulator cannot catch these: they are properties of the deployed resources, so they are checked on the
translation itself (samtranslator, the library `sam validate` and CloudFormation's transform run)."""

from __future__ import annotations

from typing import Any

import pytest

from wxfunnel_tools.template import conditions, functions, translate

METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "x-amazon-apigateway-any-method"}


def resources(translated: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {name: r for name, r in translated["Resources"].items() if r["Type"] == kind}


def methods(translated: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    """(METHOD, path) -> the OpenAPI operation of the one RestApi."""
    [api] = resources(translated, "AWS::ApiGateway::RestApi").values()
    return {
        (method.upper(), path): operation
        for path, item in api["Properties"]["Body"]["paths"].items()
        for method, operation in item.items()
        if method in METHODS
    }


def stage_names(translated: dict[str, Any]) -> list[Any]:
    """Every stage CloudFormation creates: Stage resources and the StageName of a Deployment (SAM's `Stage`)."""
    named = [
        stage["Properties"]["StageName"] for stage in resources(translated, "AWS::ApiGateway::Stage").values()
    ]
    implicit = [
        deployment["Properties"]["StageName"]
        for deployment in resources(translated, "AWS::ApiGateway::Deployment").values()
        if "StageName" in deployment["Properties"]
    ]
    return named + implicit


@pytest.fixture(scope="module")
def translated() -> dict[str, Any]:
    return translate()


def test_admin_methods_are_aws_iam_and_invoked_without_the_callers_credentials(
    translated: dict[str, Any],
) -> None:
    """SAM's default for AWS_IAM is `credentials: arn:aws:iam::*:user/*` (invoke with the caller's credentials): an
    operator holding only execute-api:Invoke would get a 500, a caller from another account could never work."""
    admin = {key: op for key, op in methods(translated).items() if not key[1].startswith(("/wechat/", "/l/"))}
    declared = [r for spec in functions() for r in spec.routes if r.auth == "AWS_IAM"]
    assert len(admin) == len(declared) > 0
    for (method, path), operation in admin.items():
        assert operation["security"] == [{"AWS_IAM": []}], (method, path)
        integration = operation["x-amazon-apigateway-integration"]
        assert "credentials" not in integration, f"{method} {path} invokes with {integration['credentials']}"


def test_api_gateway_may_invoke_every_routed_function_itself(translated: dict[str, Any]) -> None:
    """Without caller credentials, API Gateway needs a resource-based permission on each function it invokes."""
    permissions = resources(translated, "AWS::Lambda::Permission").values()
    allowed = {
        p["Properties"]["FunctionName"]["Ref"]
        for p in permissions
        if p["Properties"]["Principal"] == "apigateway.amazonaws.com"
        and p["Properties"]["Action"] == "lambda:InvokeFunction"
    }
    routed = {
        op["x-amazon-apigateway-integration"]["uri"]["Fn::Sub"].split("/functions/${", 1)[1].split(".Arn}")[0]
        for op in methods(translated).values()
    }
    assert routed == {
        "VerifyFunction",
        "CallbackFunction",
        "LandingFunction",
        "QrCodeFunction",
        "LiveCodeFunction",
        "NotifyFunction",
    }
    assert routed <= allowed


def test_the_wechat_routes_stay_open(translated: dict[str, Any]) -> None:
    wechat = {key: op for key, op in methods(translated).items() if key[1].startswith("/wechat/")}
    assert set(wechat) == {("GET", "/wechat/{app}"), ("POST", "/wechat/{app}")}
    for operation in wechat.values():
        assert operation["security"] == [{"NONE": []}]


def test_the_landing_page_stays_open(translated: dict[str, Any]) -> None:
    assert methods(translated)[("GET", "/l/{app}/{code}")]["security"] == [{"NONE": []}]


def test_the_landing_page_has_its_own_throttle_below_the_stages(translated: dict[str, Any]) -> None:
    """A viral poster's visits meet their own bucket (429) and never take the callback's or the admin routes'."""
    [stage] = resources(translated, "AWS::ApiGateway::Stage").values()
    settings = {(s["ResourcePath"], s["HttpMethod"]): s for s in stage["Properties"]["MethodSettings"]}
    landing = settings[("/~1l~1{app}~1{code}", "GET")]
    assert landing["ThrottlingRateLimit"] == {"Ref": "LandingRateLimit"}
    assert landing["ThrottlingBurstLimit"] == {"Ref": "LandingBurstLimit"}
    parameters = translated["Parameters"]
    everything = settings[("/*", "*")]
    assert parameters["LandingRateLimit"]["Default"] < everything["ThrottlingRateLimit"]
    assert parameters["LandingBurstLimit"]["Default"] < everything["ThrottlingBurstLimit"]


def test_a_custom_domain_maps_the_stage_at_its_root_only_when_given(translated: dict[str, Any]) -> None:
    [mapping] = resources(translated, "AWS::ApiGateway::BasePathMapping").values()
    assert mapping["Condition"] == "CustomDomain" and "BasePath" not in mapping["Properties"]
    assert mapping["Properties"]["RestApiId"] == {"Ref": "WxfunnelApi"}
    [domain] = resources(translated, "AWS::ApiGateway::DomainName").values()
    assert domain["Properties"]["EndpointConfiguration"] == {"Types": ["REGIONAL"]}
    assert conditions()["CustomDomain"] is False
    assert conditions({"DomainName": "go.example.com"})["CustomDomain"] is True
    assert conditions({"DomainName": "go.example.com"})["CustomDomainRecord"] is False


def test_the_api_has_exactly_one_stage_and_it_is_throttled(translated: dict[str, Any]) -> None:
    """Without OpenApiVersion, SAM also deploys a stage named `Stage`, serving the open callback routes without the
    stage's throttling."""
    assert stage_names(translated) == [{"Ref": "StageName"}]
    [stage] = resources(translated, "AWS::ApiGateway::Stage").values()
    [everything] = [
        s
        for s in stage["Properties"]["MethodSettings"]
        if (s["ResourcePath"], s["HttpMethod"]) == ("/*", "*")
    ]
    assert everything["ThrottlingRateLimit"] > 0 and everything["ThrottlingBurstLimit"] > 0


def test_every_queue_consumer_has_a_concurrency_cap(translated: dict[str, Any]) -> None:
    """An uncapped consumer can take the account's concurrency during a large reminder (or many exports): then the
    5-second callback is throttled (and WeChat's rate limits are hit)."""
    mappings = resources(translated, "AWS::Lambda::EventSourceMapping").values()
    capped = {m["Properties"]["FunctionName"]["Ref"]: m["Properties"].get("ScalingConfig") for m in mappings}
    assert set(capped) == {"SenderFunction", "FanoutFunction", "ExportFunction"}
    for function, scaling in capped.items():
        assert scaling is not None, f"{function} has no ScalingConfig"
        parameter = translated["Parameters"][scaling["MaximumConcurrency"]["Ref"]]
        assert 2 <= parameter["MinValue"] <= parameter["Default"] <= parameter["MaxValue"] <= 1000, function


def test_retained_tables_are_deletion_protected(translated: dict[str, Any]) -> None:
    tables = resources(translated, "AWS::DynamoDB::Table")
    retained = {name for name, table in tables.items() if table.get("DeletionPolicy") == "Retain"}
    assert retained == {"SubscriptionsTable", "ChannelsTable"}
    for name in retained:
        assert tables[name]["Properties"].get("DeletionProtectionEnabled") is True, name
        assert tables[name]["UpdateReplacePolicy"] == "Retain", name
        assert tables[name]["Properties"]["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"]


def test_the_dedupe_table_can_be_restored_to_a_point_in_time(translated: dict[str, Any]) -> None:
    dedupe = resources(translated, "AWS::DynamoDB::Table")["DedupeTable"]["Properties"]
    assert dedupe["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}


@pytest.mark.parametrize("mode", ["Disabled", "Active"])
def test_tracing_is_all_or_nothing_and_only_active_roles_may_write_to_x_ray(mode: str) -> None:
    translated = translate({"Tracing": mode})
    lambdas = resources(translated, "AWS::Lambda::Function")
    assert set(lambdas) == {spec.logical_id for spec in functions()}
    for name, function in lambdas.items():
        role = translated["Resources"][f"{name}Role"]["Properties"]["ManagedPolicyArns"]
        xray = [arn for arn in role if "AWSXrayWriteOnlyAccess" in str(arn)]
        if mode == "Active":
            assert function["Properties"]["TracingConfig"] == {"Mode": {"Ref": "Tracing"}}, name
            assert xray, name
        else:
            assert "TracingConfig" not in function["Properties"] and not xray, name
    [stage] = resources(translated, "AWS::ApiGateway::Stage").values()
    assert stage["Properties"]["TracingEnabled"] == {"Fn::If": ["TracingActive", True, False]}
