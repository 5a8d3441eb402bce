"""template.yaml's operational settings: queue consumers that finish their batches, alarms that reset, the
dashboard, the egress options, per-stack configuration."""

from __future__ import annotations

import fnmatch
import json
import re
import tomllib
from typing import Any

from wxfunnel_tools.template import (
    LOCAL_STACK_NAME,
    ROOT,
    apps_parameter_prefix,
    conditions,
    functions,
    load_template,
)

# One WeChat call at its worst (the layer's client): 2 s connect + 5 s read, after a 2 s failed connect to the
# primary base before failing over to the backup.
WORST_WECHAT_CALL_SECONDS = 2 + 2 + 5


def _resources() -> dict[str, Any]:
    return dict(load_template()["Resources"])


def _sqs_events() -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    """(function, its properties, the SQS event's properties) for every queue consumer."""
    found = []
    for name, resource in _resources().items():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        for event in resource["Properties"].get("Events", {}).values():
            if event["Type"] == "SQS":
                found.append((name, resource["Properties"], event["Properties"]))
    return found


def test_each_queue_hides_a_batch_for_six_function_timeouts() -> None:
    """AWS's advice for Lambda consumers: a batch in flight stays invisible while retries of a throttled or slow
    invocation run; a shorter visibility timeout would hand the same records to a second invocation."""
    resources = _resources()
    assert {name for name, _, _ in _sqs_events()} == {"SenderFunction", "FanoutFunction", "ExportFunction"}
    for name, function, event in _sqs_events():
        queue = resources[event["Queue"]["Fn::GetAtt"][0]]["Properties"]
        assert queue["VisibilityTimeout"] >= 6 * function["Timeout"], name


def test_a_sender_batch_of_worst_case_calls_ends_well_within_the_timeout() -> None:
    """Records run one after another: a batch whose records each hit one worst-case WeChat call must end within
    half the timeout, leaving the other half for jobs that make several calls (token, QR, send). A timeout
    returns the whole batch after the visibility timeout, each record one receive poorer."""
    [(_, sender, outbox)] = [item for item in _sqs_events() if item[0] == "SenderFunction"]
    assert outbox["BatchSize"] * WORST_WECHAT_CALL_SECONDS <= sender["Timeout"] / 2
    assert "MaximumBatchingWindowInSeconds" not in outbox  # not supported for FIFO sources


def test_every_consumer_reports_partial_batch_failures() -> None:
    for name, _, event in _sqs_events():
        assert event["FunctionResponseTypes"] == ["ReportBatchItemFailures"], name


# --- follower data ----------------------------------------------------------------------------------------------

RETAINED = {"SubscriptionsTable", "ChannelsTable"}
# The properties whose change makes CloudFormation replace an AWS::DynamoDB::Table, as they are. A replaced
# retained table is not deleted, but the functions move to the new, empty one: change these only with a migration.
REPLACING_PROPERTIES = {
    "SubscriptionsTable": {
        "TableName": None,
        "LocalSecondaryIndexes": None,
        "KeySchema": [
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
    },
    "ChannelsTable": {
        "TableName": None,
        "LocalSecondaryIndexes": None,
        "KeySchema": [
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
    },
}


def test_no_template_change_replaces_a_retained_table() -> None:
    resources = _resources()
    assert {name for name, r in resources.items() if r.get("DeletionPolicy") == "Retain"} == RETAINED
    for name, pinned in REPLACING_PROPERTIES.items():
        properties = resources[name]["Properties"]
        assert {key: properties.get(key) for key in pinned} == pinned, name
        types = {a["AttributeName"]: a["AttributeType"] for a in properties["AttributeDefinitions"]}
        assert {types[key["AttributeName"]] for key in pinned["KeySchema"]} == {"S"}, name


def test_the_stack_policy_refuses_to_replace_or_remove_the_retained_tables() -> None:
    policy = json.loads((ROOT / "stack-policy.json").read_text(encoding="utf-8"))
    [allow, deny] = policy["Statement"]
    assert (allow["Effect"], allow["Action"], allow["Resource"]) == ("Allow", "Update:*", "*")
    assert deny["Effect"] == "Deny" and set(deny["Action"]) == {"Update:Replace", "Update:Delete"}
    assert {resource.removeprefix("LogicalResourceId/") for resource in deny["Resource"]} == RETAINED


# --- one stack, one set of apps ---------------------------------------------------------------------------------


def test_each_stack_reads_its_own_apps_prefix_by_default() -> None:
    """Two stacks in one account (staging, prod) sharing a prefix would share secrets and refresh each other's
    access tokens; the functions, their permission and the output the CLI reads all use the same prefix."""
    template = load_template()
    parameter = template["Parameters"]["AppsParameterPrefix"]
    assert parameter["Default"] == ""
    assert template["Conditions"]["StackAppsPrefix"] == {"Fn::Equals": [{"Ref": "AppsParameterPrefix"}, ""]}
    expression = {
        "Fn::If": ["StackAppsPrefix", {"Fn::Sub": "/${AWS::StackName}/apps/"}, {"Ref": "AppsParameterPrefix"}]
    }
    variables = template["Globals"]["Function"]["Environment"]["Variables"]
    assert variables["APPS_PARAMETER_PREFIX"] == expression
    assert template["Outputs"]["AppsParameterPrefix"]["Value"] == expression
    [statement] = template["Resources"]["AppsParameterReadPolicy"]["Properties"]["PolicyDocument"][
        "Statement"
    ]
    arn, names = statement["Resource"]["Fn::Sub"]
    assert arn.endswith(":parameter${Prefix}*") and names == {"Prefix": expression}
    assert apps_parameter_prefix("wxfunnel-staging") == "/wxfunnel-staging/apps/"


def test_samconfig_deploys_the_readmes_stack_whose_apps_are_where_they_always_were() -> None:
    config = tomllib.loads((ROOT / "samconfig.toml").read_text(encoding="utf-8"))
    stack_name = config["default"]["global"]["parameters"]["stack_name"]
    assert stack_name == LOCAL_STACK_NAME == "wxfunnel"
    assert f"--stack-name {stack_name}" in (ROOT / "README.md").read_text(encoding="utf-8")
    assert apps_parameter_prefix(stack_name) == "/wxfunnel/apps/"  # the former default: nothing moves
    assert config["default"]["deploy"]["parameters"]["capabilities"] == "CAPABILITY_IAM"


# --- alarms and the dashboard -----------------------------------------------------------------------------------

# alarm -> (namespace, metric, the resource or value of its one dimension that is not the stage)
ALARMS = {
    "CallbackErrorsAlarm": ("AWS/Lambda", "Errors", {"Ref": "CallbackFunction"}),
    "CallbackThrottlesAlarm": ("AWS/Lambda", "Throttles", {"Ref": "CallbackFunction"}),
    "CallbackLatencyAlarm": ("AWS/Lambda", "Duration", {"Ref": "CallbackFunction"}),
    "ApiServerErrorsAlarm": ("AWS/ApiGateway", "5XXError", {"Ref": "AWS::StackName"}),
    "OutboxAgeAlarm": (
        "AWS/SQS",
        "ApproximateAgeOfOldestMessage",
        {"Fn::GetAtt": ["OutboxQueue", "QueueName"]},
    ),
    "OutboxDeadLetterAlarm": ("wxfunnel", "JobsDeadLettered", "wxfunnel"),
    "FanoutDeadLetterAlarm": (
        "AWS/SQS",
        "ApproximateNumberOfMessagesVisible",
        {"Fn::GetAtt": ["FanoutDeadLetterQueue", "QueueName"]},
    ),
    "SenderErrorsAlarm": ("AWS/Lambda", "Errors", {"Ref": "SenderFunction"}),
    "FanoutErrorsAlarm": ("AWS/Lambda", "Errors", {"Ref": "FanoutFunction"}),
    "ExportErrorsAlarm": ("AWS/Lambda", "Errors", {"Ref": "ExportFunction"}),
    "ExportDeadLetterAlarm": (
        "AWS/SQS",
        "ApproximateNumberOfMessagesVisible",
        {"Fn::GetAtt": ["ExportDeadLetterQueue", "QueueName"]},
    ),
}


def _alarms() -> dict[str, dict[str, Any]]:
    return {n: r["Properties"] for n, r in _resources().items() if r["Type"] == "AWS::CloudWatch::Alarm"}


def _watched(alarm: dict[str, Any]) -> tuple[str, str, Any]:
    """(namespace, metric, first dimension's value) of an alarm on a metric or on an expression of one metric."""
    if "Metrics" in alarm:
        [metric] = [m["MetricStat"]["Metric"] for m in alarm["Metrics"] if "MetricStat" in m]
    else:
        metric = alarm
    return metric["Namespace"], metric["MetricName"], metric["Dimensions"][0]["Value"]


def emitted_metrics() -> tuple[str, str, set[str]]:
    """(namespace, service, metric names) the layer publishes (Powertools EMF), read from its source."""
    source = "\n".join(
        path.read_text(encoding="utf-8") for path in (ROOT / "layers" / "wxfunnel").rglob("*.py")
    )
    [(namespace, service)] = set(re.findall(r'Metrics\(namespace="(\w+)", service="(\w+)"\)', source))
    names = {
        name
        for call in re.findall(r"add_metric\(\s*name=(.*?),\s*unit=", source)
        for name in re.findall(r'"(\w+)"', call)
    }
    return namespace, service, names


def test_the_alarms_watch_the_callback_the_api_the_outbox_and_dead_letters() -> None:
    alarms = _alarms()
    assert set(alarms) == set(ALARMS)
    for name, expected in ALARMS.items():
        assert _watched(alarms[name]) == expected, name


def test_every_alarm_resets_when_its_condition_ends() -> None:
    """A DLQ's depth stays above 0 until someone empties the queue: an alarm on it stays in ALARM and says nothing
    about the next incident. Counts per period and the depth's growth (DIFF) reset."""
    for name, alarm in _alarms().items():
        assert alarm["TreatMissingData"] == "notBreaching", name
        if alarm.get("MetricName") == "ApproximateNumberOfMessagesVisible":
            raise AssertionError(f"{name} alarms on a queue's depth")
    [arrived] = [m for m in _alarms()["FanoutDeadLetterAlarm"]["Metrics"] if m.get("ReturnData")]
    assert arrived["Expression"] == "DIFF(FILL(depth, 0))"


def test_the_callback_alarms_before_wechat_gives_up_after_5_seconds() -> None:
    latency = _alarms()["CallbackLatencyAlarm"]
    assert latency["ExtendedStatistic"] == "p99" and latency["Threshold"] == 4000
    assert _resources()["CallbackFunction"]["Properties"]["Timeout"] == 5


def test_alarms_and_the_dashboard_use_only_metrics_the_code_emits() -> None:
    namespace, service, names = emitted_metrics()
    assert {"Pushes", "JobsDone", "JobsDeadLettered"} <= names
    variables = load_template()["Globals"]["Function"]["Environment"]["Variables"]
    assert (variables["POWERTOOLS_METRICS_NAMESPACE"], variables["POWERTOOLS_SERVICE_NAME"]) == (
        namespace,
        service,
    )
    for name, alarm in _alarms().items():
        if _watched(alarm)[0] == namespace:
            assert alarm["Dimensions"] == [{"Name": "service", "Value": service}], name
            assert alarm["MetricName"] in names, name
    for metric in _dashboard_metrics():
        if metric[0] == namespace:
            assert metric[2:4] == ["service", service] and metric[1] in names, metric


def _dashboard() -> dict[str, Any]:
    """The dashboard's body with every ${...} replaced by a sample value, checked to name a parameter, a resource
    (or its attribute) or a pseudo parameter."""
    template = load_template()
    text = template["Resources"]["FunnelDashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
    known = set(template["Parameters"]) | set(template["Resources"]) | {"AWS::Region", "AWS::StackName"}
    for name in re.findall(r"\$\{([^}]+)\}", text):
        assert name.split(".")[0] in known, name
    numbers = {f"${{{name}}}" for name, p in template["Parameters"].items() if p["Type"] == "Number"}
    body = re.sub(r"\$\{[^}]+\}", lambda m: "1800" if m[0] in numbers else "sample", text)
    return dict(json.loads(body))


def _dashboard_metrics() -> list[list[Any]]:
    """Every metric line with "." filled in from the line before, as CloudWatch reads them."""
    lines = []
    for widget in _dashboard()["widgets"]:
        previous: list[Any] = []
        for line in widget["properties"].get("metrics", []):
            names = [item for item in line if not isinstance(item, dict)]
            names = [previous[i] if item == "." else item for i, item in enumerate(names)]
            lines.append(names)
            previous = names
    return lines


def test_the_dashboard_shows_pushes_replies_outbox_depth_and_age_sends_and_dead_letters() -> None:
    shown = {(line[0], line[1]) for line in _dashboard_metrics()}
    assert {
        ("wxfunnel", "Pushes"),
        ("AWS/Lambda", "Invocations"),  # the callback's replies
        ("AWS/SQS", "ApproximateNumberOfMessagesVisible"),
        ("AWS/SQS", "ApproximateAgeOfOldestMessage"),
        ("wxfunnel", "JobsDone"),
        ("wxfunnel", "JobsDeadLettered"),
        ("AWS/ApiGateway", "5XXError"),
    } <= shown
    [alarm_widget] = [w for w in _dashboard()["widgets"] if w["type"] == "alarm"]
    assert len(alarm_widget["properties"]["alarms"]) == len(ALARMS)
    text = load_template()["Resources"]["FunnelDashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
    assert {f"${{{name}.Arn}}" for name in ALARMS} <= set(re.findall(r"\$\{\w+\.Arn\}", text))


# --- optional access logs -----------------------------------------------------------------------------------------


def test_api_access_logs_are_optional_json_lines_without_query_strings() -> None:
    """The callback's query string carries WeChat's signatures and, in safe mode, the user's openid."""
    template = load_template()
    assert template["Parameters"]["EnableApiAccessLogs"]["Default"] == "false"
    setting = template["Resources"]["WxfunnelApi"]["Properties"]["AccessLogSetting"]
    condition, enabled, disabled = setting["Fn::If"]
    assert (condition, disabled) == ("ApiAccessLogs", {"Ref": "AWS::NoValue"})
    assert enabled["DestinationArn"] == {"Fn::GetAtt": ["ApiAccessLogGroup", "Arn"]}
    assert template["Resources"]["ApiAccessLogGroup"]["Condition"] == "ApiAccessLogs"
    line = json.loads(enabled["Format"])
    assert {"requestId", "caller", "route", "status", "latencyMs"} <= set(line)
    assert all(value.startswith("$context.") for value in line.values())
    assert not [value for value in line.values() if "querystring" in value.lower() or "body" in value.lower()]


# --- static egress ------------------------------------------------------------------------------------------------


def _deployed(parameters: dict[str, str]) -> dict[str, dict[str, Any]]:
    """The EC2 resources and outputs CloudFormation would create with `parameters`, their Fn::If resolved."""
    holds = conditions(parameters)

    def resolved(value: Any) -> Any:
        if isinstance(value, dict):
            if set(value) == {"Fn::If"}:
                name, when_true, when_false = value["Fn::If"]
                return resolved(when_true if holds[name] else when_false)
            return {key: resolved(item) for key, item in value.items()}
        if isinstance(value, list):
            return [resolved(item) for item in value]
        return value

    template = load_template()
    entries = {
        name: r
        for name, r in template["Resources"].items()
        if r["Type"].startswith("AWS::EC2::") and holds.get(r.get("Condition", ""), True)
    }
    outputs = {
        f"Output.{n}": o for n, o in template["Outputs"].items() if holds.get(o.get("Condition", ""), True)
    }
    return {name: resolved(entry) for name, entry in {**entries, **outputs}.items()}


def _of_type(deployed: dict[str, dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {name: r["Properties"] for name, r in deployed.items() if r.get("Type") == kind}


def _zone_of_nat(deployed: dict[str, dict[str, Any]]) -> dict[str, int]:
    """NAT gateway -> the index of the availability zone (Fn::GetAZs) its public subnet is in."""
    subnets = _of_type(deployed, "AWS::EC2::Subnet")
    return {
        name: subnets[nat["SubnetId"]["Ref"]]["AvailabilityZone"]["Fn::Select"][0]
        for name, nat in _of_type(deployed, "AWS::EC2::NatGateway").items()
    }


def _nat_of_private_subnet(deployed: dict[str, dict[str, Any]]) -> dict[str, str]:
    """Private subnet -> the NAT gateway its route table's default route goes to."""
    tables = {
        a["SubnetId"]["Ref"]: a["RouteTableId"]["Ref"]
        for a in _of_type(deployed, "AWS::EC2::SubnetRouteTableAssociation").values()
    }
    routes = {
        r["RouteTableId"]["Ref"]: r["NatGatewayId"]["Ref"]
        for r in _of_type(deployed, "AWS::EC2::Route").values()
        if "NatGatewayId" in r
    }
    return {subnet: routes[table] for subnet, table in tables.items() if table in routes}


def test_without_static_egress_nothing_is_deployed_in_ec2() -> None:
    assert _of_type(_deployed({}), "AWS::EC2::NatGateway") == {}
    assert "Output.EgressIp" not in _deployed({})


def test_one_nat_gateway_serves_both_private_subnets_from_one_zone() -> None:
    deployed = _deployed({"EnableStaticEgress": "true"})
    assert set(_of_type(deployed, "AWS::EC2::EIP")) == {"EgressIp"}
    assert _nat_of_private_subnet(deployed) == {
        "EgressPrivateSubnetA": "EgressNatGateway",
        "EgressPrivateSubnetB": "EgressNatGateway",
    }
    assert {n for n in deployed if n.startswith("Output.Egress")} == {"Output.EgressIp"}


def test_two_nat_gateways_let_each_zone_leave_through_its_own_ip() -> None:
    """An outage of one zone leaves the other's functions, NAT gateway and IP working; WeChat whitelists both."""
    deployed = _deployed({"EnableStaticEgress": "true", "EgressNatGateways": "2"})
    nats = _of_type(deployed, "AWS::EC2::NatGateway")
    assert {nat["AllocationId"]["Fn::GetAtt"][0] for nat in nats.values()} == {"EgressIp", "EgressIpB"}
    zones = _zone_of_nat(deployed)
    assert sorted(zones.values()) == [0, 1]
    subnets = _of_type(deployed, "AWS::EC2::Subnet")
    for private, nat in _nat_of_private_subnet(deployed).items():
        assert subnets[private]["AvailabilityZone"]["Fn::Select"][0] == zones[nat], private
    assert len(set(_nat_of_private_subnet(deployed).values())) == 2
    [endpoint] = _of_type(deployed, "AWS::EC2::VPCEndpoint").values()
    assert len(endpoint["RouteTableIds"]) == 2
    assert {n for n in deployed if n.startswith("Output.Egress")} == {"Output.EgressIp", "Output.EgressIpB"}
    cidrs = [s["CidrBlock"]["Fn::Select"][0] for s in subnets.values()]
    assert sorted(cidrs) == [0, 1, 2, 3]


# --- the README's operator policy -----------------------------------------------------------------------------------


def _operator_policy() -> dict[str, Any]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```json\n(.*?)```", readme, flags=re.DOTALL)
    [policy] = [json.loads(block) for block in blocks if "execute-api:Invoke" in block]
    return dict(policy)


def test_the_readmes_operator_policy_invokes_every_admin_route_and_nothing_else() -> None:
    """What the README tells operators to hold: execute-api:Invoke on the admin routes (the functions are invoked by
    API Gateway itself), not the WeChat routes, and no other action."""
    [statement] = _operator_policy()["Statement"]
    assert (statement["Effect"], statement["Action"]) == ("Allow", "execute-api:Invoke")
    patterns = [arn.split(":<api-id>/", 1)[1] for arn in statement["Resource"]]
    stage = load_template()["Parameters"]["StageName"]["Default"]
    for spec in functions():
        for route in spec.routes:
            concrete = f"{stage}/{route.method}" + re.sub(r"\{[^}]+\}", "x", route.path)
            allowed = any(fnmatch.fnmatchcase(concrete, pattern) for pattern in patterns)
            assert allowed == (route.auth == "AWS_IAM"), (route, patterns)


def test_an_export_records_its_failure_on_the_attempt_before_its_dead_letter_queue() -> None:
    """ExportFunction marks an export failed on its last attempt (EXPORT_MAX_ATTEMPTS): that must be the export
    queue's maxReceiveCount, or an export would stay 'running' while SQS dead-letters it."""
    resources = _resources()
    [(_, function, event)] = [item for item in _sqs_events() if item[0] == "ExportFunction"]
    queue = resources[event["Queue"]["Fn::GetAtt"][0]]["Properties"]
    assert (
        int(function["Environment"]["Variables"]["EXPORT_MAX_ATTEMPTS"])
        == queue["RedrivePolicy"]["maxReceiveCount"]
    )
    assert event["BatchSize"] == 1  # one export has the function's whole time
    # the status route reports a `running` older than this as stalled
    from wxfunnel.domain.exports import BUILD_SECONDS_MAX

    assert function["Timeout"] == BUILD_SECONDS_MAX
