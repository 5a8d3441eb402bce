"""`wxfunnel config put/get`: each stack keeps its own apps, so a deployed stack is named, never guessed."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest

from wxfunnel_tools import cli
from wxfunnel_tools.devapps import DEV_APPS
from wxfunnel_tools.testing import REGION, Aws


@pytest.fixture
def app_file(tmp_path: Path) -> Path:
    path = tmp_path / "shop.json"
    path.write_text(json.dumps(DEV_APPS["demo-oa"]), encoding="utf-8")
    return path


def _deployed(name: str, prefix: str) -> None:
    """A stack with the AppsParameterPrefix output (moto's CloudFormation)."""
    boto3.client("cloudformation", region_name=REGION).create_stack(
        StackName=name,
        TemplateBody=json.dumps(
            {
                "Resources": {"Queue": {"Type": "AWS::SQS::Queue"}},
                "Outputs": {"AppsParameterPrefix": {"Value": prefix}},
            }
        ),
    )


def _names(aws: Aws) -> set[str]:
    pages = aws.ssm.get_paginator("describe_parameters").paginate()
    return {parameter["Name"] for page in pages for parameter in page["Parameters"]}


def test_put_without_a_stack_or_a_prefix_writes_nothing(
    aws: Aws, app_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = _names(aws)
    assert cli.main(["config", "put", "shop", str(app_file)]) == 1
    assert "--stack-name" in capsys.readouterr().err
    assert _names(aws) == before


def test_put_and_get_use_the_named_stacks_prefix_only(
    aws: Aws, app_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _deployed("wxfunnel-staging", "/wxfunnel-staging/apps/")
    _deployed("wxfunnel-prod", "/wxfunnel-prod/apps/")
    assert cli.main(["config", "put", "shop", str(app_file), "--stack-name", "wxfunnel-staging"]) == 0
    assert "/wxfunnel-staging/apps/shop" in _names(aws)
    assert not {name for name in _names(aws) if name.startswith("/wxfunnel-prod/")}
    capsys.readouterr()
    assert cli.main(["config", "get", "shop", "--stack-name", "wxfunnel-staging"]) == 0
    assert json.loads(capsys.readouterr().out)["secret"] == "de****"
    assert cli.main(["config", "get", "shop", "--stack-name", "wxfunnel-prod"]) == 1
    assert "no configuration at /wxfunnel-prod/apps/shop" in capsys.readouterr().err


def test_a_prefix_that_is_not_the_named_stacks_is_refused(
    aws: Aws, app_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _deployed("wxfunnel-staging", "/wxfunnel-staging/apps/")
    argv = ["config", "put", "shop", str(app_file), "--stack-name", "wxfunnel-staging"]
    assert cli.main([*argv, "--prefix", "/wxfunnel-prod/apps/"]) == 1
    assert "is not stack wxfunnel-staging's prefix" in capsys.readouterr().err
    assert not {name for name in _names(aws) if name.endswith("/shop")}
    assert cli.main(["config", "put", "shop", str(app_file), "--prefix", "/elsewhere/apps/"]) == 0
    assert "/elsewhere/apps/shop" in _names(aws)
