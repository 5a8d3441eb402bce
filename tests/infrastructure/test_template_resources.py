"""template.yaml: each function's role grants the calls its code makes, follower data outlives the stack, and the
alarms reach an operator when a topic is given."""

from __future__ import annotations

from typing import Any

import pytest

from wxfunnel_tools.template import load_template

# (action, resource) pairs each function's code path calls; a transaction needs the action of each of its items.
CALLS = {
    "VerifyFunction": {("ssm:GetParameter", "apps")},
    "CallbackFunction": {
        ("ssm:GetParameter", "apps"),
        ("dynamodb:BatchGetItem", "DedupeTable"),
        ("dynamodb:BatchGetItem", "SubscriptionsTable"),
        ("dynamodb:BatchGetItem", "ChannelsTable"),
        ("dynamodb:PutItem", "DedupeTable"),
        ("dynamodb:PutItem", "SubscriptionsTable"),
        ("dynamodb:UpdateItem", "SubscriptionsTable"),
        ("dynamodb:UpdateItem", "ChannelsTable"),
        ("sqs:SendMessage", "OutboxQueue"),
    },
    "QrCodeFunction": {
        ("ssm:GetParameter", "apps"),
        ("dynamodb:GetItem", "ChannelsTable"),
        ("dynamodb:PutItem", "ChannelsTable"),
        ("dynamodb:Query", "ChannelsTable"),
        ("dynamodb:UpdateItem", "ChannelsTable"),
        ("dynamodb:DeleteItem", "ChannelsTable"),  # release_permanent's transaction
        ("dynamodb:GetItem", "TokensTable"),
        ("dynamodb:UpdateItem", "TokensTable"),
        ("sqs:SendMessage", "ExportQueue"),  # a background followers export
        ("s3:PutObject", "ExportsBucket/exports/*"),  # a large export's file; a background export's status
        (
            "s3:GetObject",
            "ExportsBucket/exports/*",
        ),  # the status; the presigned links are signed with this role
        (
            "s3:ListBucket",
            "ExportsBucket",
        ),  # else S3 answers a missing status 403, not 404 (an expired export)
    },
    "ExportFunction": {
        ("ssm:GetParameter", "apps"),
        ("dynamodb:GetItem", "ChannelsTable"),  # a scene's channel
        ("dynamodb:Query", "ChannelsTable"),  # an app's channels (a promoter's or a team's selection)
        ("dynamodb:Query", "SubscriptionsTable/index/ByTouchedScene"),  # who came through a channel
        ("dynamodb:BatchGetItem", "SubscriptionsTable"),  # their follower records (and touches)
        (
            "s3:PutObject",
            "ExportsBucket/exports/*",
        ),  # the status; the file (multipart uploads need PutObject)
        ("s3:GetObject", "ExportsBucket/exports/*"),  # the status, read first (a redelivered request)
        ("s3:AbortMultipartUpload", "ExportsBucket/exports/*"),  # a failed upload leaves no parts behind
        ("s3:ListBucket", "ExportsBucket"),  # a missing status is 404, not 403
        ("sqs:ChangeMessageVisibility", "ExportQueue"),  # a failed attempt's retry a minute later
    },
    "LandingFunction": {
        ("ssm:GetParameter", "apps"),
        ("dynamodb:GetItem", "ChannelsTable"),  # the live code; a renewal reads the channel
        ("dynamodb:UpdateItem", "ChannelsTable"),  # the visit counter; the lease, the new code, the snapshot
        ("dynamodb:GetItem", "TokensTable"),
        ("dynamodb:UpdateItem", "TokensTable"),
    },
    "LiveCodeFunction": {
        ("ssm:GetParameter", "apps"),
        ("dynamodb:GetItem", "ChannelsTable"),
        ("dynamodb:PutItem", "ChannelsTable"),  # live codes, campaigns, a batch's channels
        (
            "dynamodb:UpdateItem",
            "ChannelsTable",
        ),  # a channel's campaign, welcome, info; a live code's snapshot
        ("dynamodb:Query", "ChannelsTable"),
        ("dynamodb:Query", "ChannelsTable/index/ByDay"),  # a campaign's funnel
    },
    "NotifyFunction": {
        ("ssm:GetParameter", "apps"),
        ("dynamodb:GetItem", "NotificationsTable"),
        ("dynamodb:PutItem", "NotificationsTable"),
        ("dynamodb:UpdateItem", "NotificationsTable"),
        ("dynamodb:Query", "ChannelsTable"),
        ("sqs:SendMessage", "FanoutQueue"),
    },
    "FanoutFunction": {
        ("dynamodb:Query", "SubscriptionsTable/index/*"),
        ("dynamodb:GetItem", "NotificationsTable"),
        ("dynamodb:PutItem", "NotificationsTable"),
        ("dynamodb:UpdateItem", "NotificationsTable"),
        ("sqs:SendMessage", "OutboxQueue"),
        ("sqs:SendMessage", "FanoutQueue"),
    },
    "SenderFunction": {
        ("ssm:GetParameter", "apps"),
        ("dynamodb:GetItem", "TokensTable"),
        ("dynamodb:PutItem", "TokensTable"),
        ("dynamodb:UpdateItem", "TokensTable"),
        ("dynamodb:GetItem", "DedupeTable"),
        ("dynamodb:PutItem", "DedupeTable"),
        ("dynamodb:UpdateItem", "DedupeTable"),  # a completion whose reminder count was left pending
        ("dynamodb:UpdateItem", "NotificationsTable"),
        ("dynamodb:GetItem", "SubscriptionsTable"),
        ("dynamodb:UpdateItem", "SubscriptionsTable"),
        ("dynamodb:Query", "SubscriptionsTable"),
        ("dynamodb:DeleteItem", "SubscriptionsTable"),
        ("dynamodb:GetItem", "ChannelsTable"),
        ("dynamodb:PutItem", "ChannelsTable"),
        ("dynamodb:UpdateItem", "ChannelsTable"),  # the renewal lease of a channel's code
        ("sqs:SendMessage", "OutboxDeadLetterQueue"),
        ("sqs:ChangeMessageVisibility", "OutboxQueue"),
    },
}


def _resource(value: Any) -> str:
    if "Fn::GetAtt" in value:
        return str(value["Fn::GetAtt"][0])
    sub = value["Fn::Sub"]
    text = str(sub if isinstance(sub, str) else sub[0])
    if text.endswith(":parameter${Prefix}*"):
        return "apps"
    return text.replace("${", "").replace(".Arn}", "")


def granted(logical_id: str) -> set[tuple[str, str]]:
    """What the function's role allows: its inline statements and the stack's managed policies it names."""
    pairs = set()
    resources = load_template()["Resources"]
    for named in resources[logical_id]["Properties"].get("Policies", []):
        policy = resources[named["Ref"]]["Properties"]["PolicyDocument"] if "Ref" in named else named
        for statement in policy["Statement"]:
            assert statement["Effect"] == "Allow"
            resources = (
                statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
            )
            pairs |= {
                (action, _resource(resource)) for action in statement["Action"] for resource in resources
            }
    return pairs


def test_every_function_is_listed() -> None:
    resources = load_template()["Resources"]
    assert set(CALLS) == {name for name, r in resources.items() if r["Type"] == "AWS::Serverless::Function"}


@pytest.mark.parametrize("logical_id", sorted(CALLS))
def test_each_function_may_make_the_calls_its_code_makes(logical_id: str) -> None:
    missing = CALLS[logical_id] - granted(logical_id)
    assert not missing, f"{logical_id} would get AccessDenied for {sorted(missing)}"


def test_no_function_may_scan_or_write_in_bulk() -> None:
    for logical_id in CALLS:
        actions = {action for action, _ in granted(logical_id)}
        assert not actions & {"dynamodb:Scan", "dynamodb:BatchWriteItem", "dynamodb:*", "sqs:*", "ssm:*"}


def test_follower_data_is_kept_when_the_stack_or_the_table_goes() -> None:
    resources = load_template()["Resources"]
    for table in ("SubscriptionsTable", "ChannelsTable"):
        assert resources[table]["DeletionPolicy"] == "Retain", table
        assert resources[table]["UpdateReplacePolicy"] == "Retain", table


def test_every_alarm_notifies_the_alarm_topic_when_one_is_given() -> None:
    template = load_template()
    assert template["Parameters"]["AlarmTopicArn"]["Default"] == ""
    assert template["Conditions"]["NotifyAlarms"] == {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "AlarmTopicArn"}, ""]}]
    }
    alarms = [r for r in template["Resources"].values() if r["Type"] == "AWS::CloudWatch::Alarm"]
    assert alarms
    for alarm in alarms:
        assert alarm["Properties"]["AlarmActions"] == {
            "Fn::If": ["NotifyAlarms", [{"Ref": "AlarmTopicArn"}], {"Ref": "AWS::NoValue"}]
        }
