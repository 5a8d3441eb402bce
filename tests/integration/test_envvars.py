"""`make env-vars`: the --env-vars file of `sam local invoke`, each function's environment read from a deployed stack,
and enough for the real handlers to work against that stack's resources (moto's CloudFormation stands for AWS)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from wxfunnel_tools import envvars
from wxfunnel_tools.bench.environment import atomic_dynamodb
from wxfunnel_tools.devapps import DEV_APPS, seed_apps
from wxfunnel_tools.events import wechat_events
from wxfunnel_tools.template import cold_start, functions, load_handler, load_template
from wxfunnel_tools.testing import REGION, lambda_context

STACK = "wxfunnel-staging"
STATE = ("AWS::DynamoDB::Table", "AWS::SQS::Queue", "AWS::S3::Bucket")


def _deployed_shape() -> dict[str, Any]:
    """template.yaml's parameters and its tables, queues and buckets as plain CloudFormation (moto has no SAM
    transform)."""
    template = load_template()
    resources = {
        logical_id: {"Type": resource["Type"], "Properties": dict(resource.get("Properties", {}))}
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] in STATE
    }
    for logical_id, resource in resources.items():
        # CloudFormation names a FIFO queue with .fifo itself; moto needs the name given
        if resource["Properties"].get("FifoQueue"):
            resource["Properties"]["QueueName"] = f"{STACK}-{logical_id}.fifo"
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Parameters": template["Parameters"],
        "Resources": resources,
    }


@pytest.fixture
def stack(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A deployed stack `wxfunnel-staging` with one parameter changed, in moto."""
    for key in ("AWS_PROFILE", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(key, raising=False)
    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
    }.items():
        monkeypatch.setenv(key, value)
    with mock_aws(), atomic_dynamodb():
        session = boto3.session.Session(region_name=REGION)
        session.client("cloudformation").create_stack(
            StackName=STACK,
            TemplateBody=json.dumps(_deployed_shape()),
            Parameters=[{"ParameterKey": "ReplayWindowSeconds", "ParameterValue": "900"}],
        )
        yield session
    cold_start()


def _physical(session: Any, logical_id: str) -> str:
    found = session.client("cloudformation").describe_stack_resource(
        StackName=STACK, LogicalResourceId=logical_id
    )
    return str(found["StackResourceDetail"]["PhysicalResourceId"])


def test_each_function_gets_every_variable_the_template_declares_resolved_for_the_stack(stack: Any) -> None:
    env_vars = envvars.stack_env_vars(STACK, stack)

    template = load_template()
    shared = set(template["Globals"]["Function"]["Environment"]["Variables"])
    assert set(env_vars) == {spec.logical_id for spec in functions()}
    for logical_id, variables in env_vars.items():
        own = template["Resources"][logical_id]["Properties"].get("Environment", {}).get("Variables", {})
        assert set(variables) == shared | set(own), logical_id
        assert all(isinstance(value, str) for value in variables.values())
    callback = env_vars["CallbackFunction"]
    assert callback["TOKENS_TABLE"] == _physical(stack, "TokensTable") != "TokensTable"
    assert callback["OUTBOX_QUEUE_URL"] == _physical(stack, "OutboxQueue")
    assert callback["OUTBOX_QUEUE_URL"].startswith("https://") and callback["OUTBOX_QUEUE_URL"].endswith(
        ".fifo"
    )
    assert callback["APPS_PARAMETER_PREFIX"] == f"/{STACK}/apps/"  # the stack's own prefix: its name resolved
    assert callback["REPLAY_WINDOW_SECONDS"] == "900"  # the deployed value, not the template's default
    assert callback["WECHAT_API_BASE"] == "https://api.weixin.qq.com"


def test_the_handlers_work_with_exactly_that_environment(
    stack: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """What `sam local invoke CallbackFunction --env-vars events/env.json -e events/…` does, minus Docker: the
    function sees the file's variables (and AWS credentials), nothing from the template's defaults."""
    out = tmp_path / "env.json"
    assert envvars.main(["--stack-name", STACK, "--region", REGION, "--out", str(out)]) == 0
    written = json.loads(out.read_text(encoding="utf-8"))
    seed_apps(stack.client("ssm"), written["CallbackFunction"]["APPS_PARAMETER_PREFIX"], dict(DEV_APPS))
    events = wechat_events()
    for function, event in (
        ("VerifyFunction", events["verify.json"]),
        ("CallbackFunction", events["callback-oa-text-plain.json"]),
        ("CallbackFunction", events["callback-mp-text-safe-json.json"]),
    ):
        for key in {name for variables in written.values() for name in variables}:
            monkeypatch.delenv(key, raising=False)
        for key, value in written[function].items():
            monkeypatch.setenv(key, value)
        cold_start()
        response = load_handler(function)(event, lambda_context(function))
        assert response["statusCode"] == 200, (function, response)
    deliveries = stack.client("dynamodb").scan(TableName=written["CallbackFunction"]["DEDUPE_TABLE"])["Items"]
    assert len(deliveries) == 2


def test_without_a_readable_stack_it_says_which_and_writes_nothing(
    stack: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "env.json"
    assert envvars.main(["--stack-name", "nobody", "--region", REGION, "--out", str(out)]) == 1
    assert capsys.readouterr().err.startswith("envvars: stack nobody: ")
    assert not out.exists()


def test_the_stack_defaults_to_samconfigs(tmp_path: Path) -> None:
    assert envvars.samconfig_stack_name() == "wxfunnel"
    config = tmp_path / "samconfig.toml"
    config.write_text(
        'version = 0.1\n[default.deploy.parameters]\nstack_name = "shop-prod"\n', encoding="utf-8"
    )
    assert envvars.samconfig_stack_name(config) == "shop-prod"
    assert envvars.samconfig_stack_name(tmp_path / "missing.toml") is None
