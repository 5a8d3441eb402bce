"""template.yaml's operational settings: queue consumers that finish their batches, alarms that reset, the
dashboard, the egress options, per-stack configuration."""

from __future__ import annotations

from typing import Any

from wxfunnel_tools.template import load_template

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
    assert {name for name, _, _ in _sqs_events()} == {"SenderFunction", "FanoutFunction"}
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
