"""The local stack over real HTTP: the template's routes, API Gateway's own answers, SQS pollers, clean stop."""

from __future__ import annotations

import base64
import http.client
import json
import os
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from wxfunnel_tools import cli
from wxfunnel_tools.admin_client import LOCAL_CREDENTIALS, AdminClient
from wxfunnel_tools.devapps import DEV_APPS
from wxfunnel_tools.localstack import LocalFunction, LocalStack, Poller, drain
from wxfunnel_tools.pushes import message, signed_push
from wxfunnel_tools.qrimage import encodes
from wxfunnel_tools.tables import width
from wxfunnel_tools.template import FunctionSpec, Route, functions

pytestmark = pytest.mark.xdist_group("localstack")

SEEN: list[dict[str, Any]] = []
RELEASE_SLOW = threading.Event()


def boom(event: dict[str, Any], context: Any) -> Any:
    raise RuntimeError("the handler failed")


def slow(event: dict[str, Any], context: Any) -> Any:
    RELEASE_SLOW.wait(10)  # far past its 1 s Timeout; released once the test has its answer
    return {"statusCode": 200, "body": "too late"}


def echo(event: dict[str, Any], context: Any) -> Any:
    SEEN.append(
        {
            "event": event,
            "remaining": context.get_remaining_time_in_millis(),
            "function": context.function_name,
            "memory": context.memory_limit_in_mb,
        }
    )
    return {
        "statusCode": 201,
        "headers": {"Content-Type": "text/plain"},
        "multiValueHeaders": {"Set-Cookie": ["a=1", "b=2"]},
        "body": "echo",
    }


FAKES = [
    FunctionSpec(
        "BoomFunction", "functions/none/", "app.lambda_handler", 3, routes=(Route("GET", "/boom", "NONE"),)
    ),
    FunctionSpec(
        "SlowFunction", "functions/none/", "app.lambda_handler", 1, routes=(Route("GET", "/slow", "NONE"),)
    ),
    FunctionSpec(
        "EchoFunction",
        "functions/none/",
        "app.lambda_handler",
        7,
        routes=(Route("POST", "/echo/{name}", "NONE"), Route("GET", "/private/{name}", "AWS_IAM")),
    ),
]


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    with LocalStack(
        function_specs=[*functions(), *FAKES],
        handlers={"BoomFunction": boom, "SlowFunction": slow, "EchoFunction": echo},
    ) as running:
        yield running


def call(
    url: str, *, method: str = "GET", body: bytes | None = None, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


# --- lifecycle ------------------------------------------------------------------------------------------------


def test_the_stack_stops_cleanly_and_restores_the_environment() -> None:
    """Runs first, before the module's stack exists: one LocalStack per process at a time (moto is global)."""
    before = os.environ.get("AWS_ENDPOINT_URL")
    threads_before = set(threading.enumerate())
    stack = LocalStack(sandbox=True).start()
    assert stack.sandbox is not None
    url, endpoint, sandbox = stack.url, stack.aws_endpoint, stack.sandbox.api_base
    assert os.environ["AWS_ENDPOINT_URL"] == endpoint and os.environ["WECHAT_API_BASE"] == sandbox
    stack.stop()
    stack.stop()  # idempotent
    assert os.environ.get("AWS_ENDPOINT_URL") == before
    for base in (url, endpoint, sandbox):
        with pytest.raises(OSError):
            urllib.request.urlopen(base, timeout=2)
    started = set(threading.enumerate()) - threads_before
    for thread in started:
        thread.join(2)
    assert not [thread.name for thread in started if thread.is_alive() and not thread.daemon]
    assert not [
        thread.name
        for thread in started
        if thread.is_alive()
        and thread.name.startswith(("sqs-poller", "apigw-front", "wechat-sandbox", "lambda-"))
    ]


# --- routes and API Gateway's answers -------------------------------------------------------------------------


def test_wechat_url_verification_reaches_the_real_verify_function(stack: LocalStack) -> None:
    from wxfunnel.protocol import crypto

    timestamp = str(int(time.time()))
    query = {
        "signature": crypto.signature(DEV_APPS["demo-oa"]["token"], timestamp, "42"),
        "timestamp": timestamp,
        "nonce": "42",
        "echostr": "hello-wechat",
    }
    status, _, body = call(stack.callback_url("demo-oa") + "?" + urlencode(query))
    assert (status, body) == (200, b"hello-wechat")
    assert stack.callback_url("demo-oa") == f"{stack.url}/wechat/demo-oa" and stack.url.endswith("/v1")


def test_a_signed_push_reaches_the_real_callback_function(stack: LocalStack) -> None:
    app = DEV_APPS["demo-oa"]
    fields = message("text", openid="o_e2e_user", to_user=app["original_id"], Content="hello", msg_id=7001)
    query, body = signed_push(app, fields, mode="safe")
    status, _, _ = call(
        stack.callback_url("demo-oa") + "?" + urlencode(query),
        method="POST",
        body=body,
        headers={"Content-Type": "text/xml"},
    )
    assert status == 200


def test_the_event_and_context_are_api_gateways_and_lambdas(stack: LocalStack) -> None:
    SEEN.clear()
    status, headers, body = call(
        f"{stack.url}/echo/a%20b?x=1&x=2",
        method="POST",
        body=b'{"k":1}',
        headers={"Content-Type": "application/json"},
    )
    assert (status, body) == (201, b"echo")
    assert headers["Content-Type"] == "text/plain"
    seen = SEEN[-1]
    event = seen["event"]
    assert event["resource"] == "/echo/{name}" and event["pathParameters"] == {"name": "a b"}
    assert event["multiValueQueryStringParameters"] == {"x": ["1", "2"]}
    assert event["body"] == '{"k":1}' and event["requestContext"]["path"] == "/v1/echo/a%20b"
    assert seen["function"] == "EchoFunction" and seen["memory"] > 0
    assert 0 < seen["remaining"] <= 7000


def test_a_response_can_set_several_cookies(stack: LocalStack) -> None:
    connection = http.client.HTTPConnection(*_address(stack), timeout=10)
    connection.request("POST", "/v1/echo/x", body=b"")
    response = connection.getresponse()
    assert response.status == 201
    assert response.headers.get_all("Set-Cookie") == ["a=1", "b=2"]
    connection.close()


@pytest.mark.parametrize(
    ("method", "path"), [("GET", "/nothing/here"), ("DELETE", "/wechat/demo-oa"), ("GET", "/")]
)
def test_an_unknown_route_or_method_is_missing_authentication_token(
    stack: LocalStack, method: str, path: str
) -> None:
    status, headers, body = call(stack.url + path, method=method)
    assert status == 403
    assert json.loads(body) == {"message": "Missing Authentication Token"}
    assert headers["x-amzn-ErrorType"] == "MissingAuthenticationTokenException"


@pytest.mark.parametrize(
    "stage", ["v2", "Stage"]
)  # "Stage": SAM's extra stage, not deployed (OpenApiVersion)
def test_a_url_outside_the_stage_is_forbidden(stack: LocalStack, stage: str) -> None:
    root = stack.url.rsplit("/", 1)[0]
    status, _, body = call(f"{root}/{stage}/wechat/demo-oa")
    assert (status, json.loads(body)) == (403, {"message": "Forbidden"})


def test_an_iam_route_without_a_signature_is_refused_before_the_function(stack: LocalStack) -> None:
    SEEN.clear()
    status, _, body = call(f"{stack.url}/private/x")
    assert (status, json.loads(body)) == (403, {"message": "Missing Authentication Token"})
    status, _, _ = call(f"{stack.url}/qrcodes?app=demo-oa")
    assert status == 403
    assert SEEN == []


def test_a_sigv4_signed_request_reaches_an_iam_function_with_the_caller(stack: LocalStack) -> None:
    SEEN.clear()
    client = AdminClient(stack.url)
    response = client.request("GET", "/private/x", raise_for_status=False)
    assert response.status == 201
    identity = SEEN[-1]["event"]["requestContext"]["identity"]
    assert identity["accessKey"] == "AKIDLOCALADMIN" and identity["userArn"]
    real = client.request("GET", "/qrcodes", query={"app": "demo-oa"}, raise_for_status=False)
    assert real.status == 200, real.body
    assert real.json()["items"] == []


def test_the_qr_image_reaches_the_admin_client_and_the_cli_as_an_image(
    stack: LocalStack, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """API Gateway decodes the function's base64 only for a binary first Accept type (as the front does)."""
    client = AdminClient(stack.url)
    channel = {"app": "demo-oa", "scene": "accept-header", "channel": {"name": "Accept"}}
    created = client.request("POST", "/qrcodes", json_body=channel).json()
    path = "/qrcodes/demo-oa/accept-header/image"
    image = client.request("GET", path)
    assert image.body.startswith(b"\x89PNG\r\n"), image.body[:40]  # the sandbox draws PNGs, WeChat JPEGs
    assert encodes(image.body, created["url"])  # a phone scanning the download reads the code's URL
    as_json = client.request("GET", path, accept="application/json")
    assert base64.b64decode(as_json.body, validate=True) == image.body
    out = tmp_path / "qr.png"
    argv = ["qr", "image", "--app", "demo-oa", "--scene", "accept-header", "--out", str(out)]
    assert cli.main([*argv, "--admin-url", stack.url]) == 0, capsys.readouterr().err
    assert out.read_bytes() == image.body


@pytest.mark.parametrize("scene", ["春节海报", "spring poster", "店铺A/二楼"])
def test_the_cli_creates_downloads_and_counts_channels_whose_scenes_operators_write(
    stack: LocalStack, tmp_path: Path, capsys: pytest.CaptureFixture[str], scene: str
) -> None:
    """Chinese, spaces and "/" in a scene: created, its image downloaded and its statistics read by the CLI over
    HTTP (API Gateway's routing sees the scene's URL form, never a raw "/" or "%2F")."""
    admin = ["--admin-url", stack.url]
    create = ["qr", "create", "--app", "demo-oa", "--scene", scene, "--name", f"渠道 {scene}"]
    assert cli.main([*create, *admin]) == 0, capsys.readouterr().err
    created = printed(capsys.readouterr().out)
    assert created["scene"] == scene and created["links"]["self"].startswith("/qrcodes/demo-oa/")
    out = tmp_path / "qr.png"
    assert cli.main(["qr", "image", "--app", "demo-oa", "--scene", scene, "--out", str(out), *admin]) == 0
    assert out.read_bytes().startswith(b"\x89PNG")
    capsys.readouterr()
    gh = DEV_APPS["demo-oa"]["original_id"]
    follow = message(
        "event", openid=f"o-cli-{len(scene)}", to_user=gh, Event="subscribe", EventKey=f"qrscene_{scene}"
    )
    query, body = signed_push(DEV_APPS["demo-oa"], follow)
    assert call(f"{stack.callback_url('demo-oa')}?{urlencode(query)}", method="POST", body=body)[0] == 200
    assert cli.main(["stats", "--app", "demo-oa", "--scene", scene, "--format", "json", *admin]) == 0
    report = printed(capsys.readouterr().out)
    assert (report["scene"], report["totals"]["new_followers"]) == (scene, 1)


def printed(out: str) -> Any:
    """The JSON document a command printed (indented), among the in-process functions' one-line log records."""
    lines = out.splitlines()
    start = max(index for index, line in enumerate(lines) if line == "{")
    return json.loads("\n".join(lines[start:]))


def _signed(
    url: str,
    credentials: Credentials,
    *,
    method: str = "GET",
    body: bytes = b"",
    service: str = "execute-api",
    region: str = "us-east-1",
) -> dict[str, str]:
    """The headers of `method url` with `body`, SigV4-signed with `credentials` as any AWS client signs."""
    signed = AWSRequest(method=method, url=url, data=body, headers={"Content-Type": "application/json"})
    SigV4Auth(credentials, service, region).add_auth(signed)
    return dict(signed.headers.items())


@pytest.mark.parametrize(
    ("scope", "message"),
    [
        ({"region": "eu-west-1"}, "Credential should be scoped to a valid region, not 'eu-west-1'. "),
        ({"service": "s3"}, "Credential should be scoped to correct service: 'execute-api'. "),
        ({"service": "lambda"}, "Credential should be scoped to correct service: 'execute-api'. "),
    ],
)
def test_a_valid_signature_for_another_region_or_service_is_refused_as_api_gateway_does(
    stack: LocalStack, scope: dict[str, str], message: str
) -> None:
    """The signature itself is right (the local credentials, this request): only its scope is not this API's."""
    SEEN.clear()
    url = f"{stack.url}/private/x"
    status, headers, body = call(url, headers=_signed(url, LOCAL_CREDENTIALS, **scope))
    assert (status, json.loads(body)) == (403, {"message": message})
    assert headers["x-amzn-ErrorType"] == "InvalidSignatureException"
    assert SEEN == []


def test_a_request_signed_with_other_credentials_is_refused_before_the_function(stack: LocalStack) -> None:
    SEEN.clear()
    url = f"{stack.url}/private/x"
    status, headers, _ = call(url, headers=_signed(url, Credentials("AKIDSOMEONE", "guessed")))
    assert status == 403 and headers["x-amzn-ErrorType"] == "UnrecognizedClientException"
    forged = f"{LOCAL_CREDENTIALS.access_key}/20260101/us-east-1/execute-api/aws4_request"
    status, headers, _ = call(
        url,
        headers={
            "Authorization": f"AWS4-HMAC-SHA256 Credential={forged}, SignedHeaders=host;x-amz-date, Signature=00",
            "X-Amz-Date": time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()),
        },
    )
    assert status == 403 and headers["x-amzn-ErrorType"] == "InvalidSignatureException"
    assert SEEN == []


def test_a_signed_request_altered_on_the_way_is_refused(stack: LocalStack) -> None:
    SEEN.clear()
    url = f"{stack.url}/private/x"
    headers = _signed(url, LOCAL_CREDENTIALS)
    assert call(url, headers=headers)[0] == 201
    assert call(f"{stack.url}/private/y", headers=headers)[0] == 403
    assert call(f"{url}?admin=1", headers=headers)[0] == 403
    posted = _signed(f"{stack.url}/qrcodes", LOCAL_CREDENTIALS, method="POST", body=b'{"app": "demo-oa"}')
    status, _, _ = call(f"{stack.url}/qrcodes", method="POST", body=b'{"app": "demo-mp"}', headers=posted)
    assert status == 403
    assert len(SEEN) == 1


def test_a_signature_older_than_15_minutes_is_expired(stack: LocalStack) -> None:
    url = f"{stack.url}/private/x"
    headers = _signed(url, LOCAL_CREDENTIALS)
    headers["X-Amz-Date"] = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(time.time() - 16 * 60))
    status, _, body = call(url, headers=headers)
    assert (status, json.loads(body)) == (403, {"message": "Signature expired"})


def test_a_raising_handler_is_a_502_internal_server_error(stack: LocalStack) -> None:
    status, _, body = call(f"{stack.url}/boom")
    assert (status, json.loads(body)) == (502, {"message": "Internal server error"})


def test_a_handler_past_its_timeout_is_a_502(stack: LocalStack) -> None:
    RELEASE_SLOW.clear()
    started = time.monotonic()
    try:
        status, headers, body = call(f"{stack.url}/slow")
    finally:
        RELEASE_SLOW.set()
    assert (status, json.loads(body)) == (502, {"message": "Internal server error"})
    assert "Task timed out after 1 seconds" in headers["x-wxfunnel-local-reason"]
    assert time.monotonic() - started < 5, "the answer came at the function's Timeout, not the handler's end"


def test_a_body_over_10_mb_is_refused(stack: LocalStack) -> None:
    connection = http.client.HTTPConnection(*_address(stack), timeout=10)
    connection.putrequest("POST", "/v1/echo/big")
    connection.putheader("Content-Length", str(10 * 1024 * 1024 + 1))
    connection.endheaders()
    response = connection.getresponse()
    assert response.status == 413
    connection.close()


def _raw(stack: LocalStack, request: bytes) -> bytes:
    """The status line of the answer to a hand-framed request."""
    with socket.create_connection(_address(stack), timeout=10) as connection:
        connection.sendall(request)
        return connection.makefile("rb").readline()


@pytest.mark.parametrize("length", ["abc", "-1", "+5", "1_0", "5, 5"])
def test_a_malformed_content_length_is_a_400(stack: LocalStack, length: str) -> None:
    status = _raw(
        stack, f"POST /v1/echo/x HTTP/1.1\r\nHost: a\r\nContent-Length: {length}\r\n\r\nhello".encode()
    )
    assert status.startswith(b"HTTP/1.1 400 "), status


@pytest.mark.parametrize("size", [b"zz", b"-1", b"0x5", b""])
def test_a_malformed_chunk_size_is_a_400(stack: LocalStack, size: bytes) -> None:
    head = b"POST /v1/echo/x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
    status = _raw(stack, head + size + b"\r\nhello\r\n0\r\n\r\n")
    assert status.startswith(b"HTTP/1.1 400 "), status


def test_a_chunked_body_reaches_the_function(stack: LocalStack) -> None:
    SEEN.clear()
    head = b"POST /v1/echo/x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    status = _raw(stack, head + b"3\r\nabc\r\n2;ext=1\r\nde\r\n0\r\n\r\n")
    assert status.startswith(b"HTTP/1.1 201 "), status
    assert SEEN[-1]["event"]["body"] == "abcde"


def _address(stack: LocalStack) -> tuple[str, int]:
    parts = urlsplit(stack.url)
    return str(parts.hostname), int(parts.port or 80)


# --- SQS pollers ----------------------------------------------------------------------------------------------


def test_each_sqs_triggered_function_has_a_poller_with_its_batch_size(stack: LocalStack) -> None:
    pollers = {poller.function.spec.logical_id: poller for poller in stack.pollers}
    assert pollers["SenderFunction"].queue_url == stack.queue_url("OutboxQueue")
    assert pollers["SenderFunction"].batch_size == 5
    assert pollers["FanoutFunction"].batch_size == 5
    stack.drain(timeout=10)


def _queue(sqs: Any, name: str, **attributes: str) -> tuple[str, str]:
    url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return url, arn


def test_a_poller_deletes_successes_redelivers_failures_and_moto_dead_letters_them(stack: LocalStack) -> None:
    sqs = stack.client("sqs")
    dlq_url, dlq_arn = _queue(sqs, "e2e-dlq")
    url, _ = _queue(
        sqs,
        "e2e-work",
        VisibilityTimeout="1",
        RedrivePolicy=json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 2}),
    )
    received: list[dict[str, Any]] = []
    lock = threading.Lock()

    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        with lock:
            received.extend(event["Records"])
        failed = [r["messageId"] for r in event["Records"] if r["body"] == "bad"]
        return {"batchItemFailures": [{"itemIdentifier": message_id} for message_id in failed]}

    function = LocalFunction(
        FunctionSpec("Worker", "functions/none/", "app.lambda_handler", 5, queues=("W",)), handler
    )
    poller = Poller(function, url, lambda: stack.client("sqs"), batch_size=10).start()
    try:
        sqs.send_message(
            QueueUrl=url,
            MessageBody="ok",
            MessageAttributes={"kind": {"DataType": "String", "StringValue": "greeting"}},
        )
        sqs.send_message(QueueUrl=url, MessageBody="bad")
        drain(sqs, [poller], timeout=20)
    finally:
        poller.stop()
    bodies = [record["body"] for record in received]
    assert bodies.count("ok") == 1 and bodies.count("bad") == 2
    ok = next(record for record in received if record["body"] == "ok")
    assert ok["messageAttributes"]["kind"]["stringValue"] == "greeting"
    assert ok["messageAttributes"]["kind"]["dataType"] == "String"
    assert ok["eventSource"] == "aws:sqs" and ok["eventSourceARN"].endswith(":e2e-work")
    assert ok["awsRegion"] and ok["receiptHandle"] and ok["md5OfBody"]
    receives = [int(r["attributes"]["ApproximateReceiveCount"]) for r in received if r["body"] == "bad"]
    assert receives == [1, 2]
    dead = sqs.receive_message(QueueUrl=dlq_url, WaitTimeSeconds=1)["Messages"]
    assert [message["Body"] for message in dead] == ["bad"]


def test_a_raising_handler_fails_the_whole_fifo_batch(stack: LocalStack) -> None:
    sqs = stack.client("sqs")
    url, _ = _queue(sqs, "e2e-jobs.fifo", FifoQueue="true", VisibilityTimeout="1")
    attempts: list[list[dict[str, Any]]] = []

    def handler(event: dict[str, Any], context: Any) -> None:
        attempts.append(event["Records"])
        if len(attempts) == 1:
            raise RuntimeError("the first attempt fails")

    for n in range(2):
        sqs.send_message(
            QueueUrl=url,
            MessageBody=f"job-{n}",
            MessageGroupId="demo-oa#o_user",
            MessageDeduplicationId=f"job-{n}",
        )
    function = LocalFunction(FunctionSpec("Jobs", "functions/none/", "app.lambda_handler", 5), handler)
    poller = Poller(function, url, lambda: stack.client("sqs"), batch_size=10).start()
    try:
        drain(sqs, [poller], timeout=20)
    finally:
        poller.stop()
    assert [record["body"] for record in attempts[0]] == ["job-0", "job-1"]
    redelivered = sorted(record["body"] for batch in attempts[1:] for record in batch)
    assert redelivered == ["job-0", "job-1"]
    attributes = next(r for r in attempts[0] if r["body"] == "job-1")["attributes"]
    assert attributes["MessageGroupId"] == "demo-oa#o_user"
    assert attributes["MessageDeduplicationId"] == "job-1" and attributes["SequenceNumber"]


def test_drain_says_which_queue_still_holds_work(stack: LocalStack) -> None:
    sqs = stack.client("sqs")
    url, _ = _queue(sqs, "e2e-stuck", VisibilityTimeout="30")

    def failing(event: dict[str, Any], context: Any) -> None:
        raise RuntimeError("always")

    poller = Poller(
        LocalFunction(FunctionSpec("Stuck", "functions/none/", "app.lambda_handler", 5), failing),
        url,
        lambda: stack.client("sqs"),
    ).start()
    try:
        sqs.send_message(QueueUrl=url, MessageBody="x")
        with pytest.raises(TimeoutError, match="e2e-stuck: 1"):
            drain(sqs, [poller], timeout=2)
    finally:
        poller.stop()


def test_the_cli_manages_promoters_ranks_them_and_exports_who_they_brought(
    stack: LocalStack, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    admin = ["--admin-url", stack.url]
    app = ["--app", "demo-oa"]
    add = ["promoters", "add", *app, "--id", "cli-wang", "--name", "王小明", "--team", "华东一组"]
    assert cli.main([*add, *admin]) == 0, capsys.readouterr().err
    for scene in ("cli-wang-海报", "cli-wang-展台"):
        assert (
            cli.main(
                ["qr", "create", *app, "--scene", scene, "--name", scene, "--promoter", "cli-wang", *admin]
            )
            == 0
        )
    gh = DEV_APPS["demo-oa"]["original_id"]
    for index, scene in enumerate(("cli-wang-海报", "cli-wang-展台", "cli-wang-展台")):
        follow = message(
            "event", openid=f"o-cli-p{index}", to_user=gh, Event="subscribe", EventKey=f"qrscene_{scene}"
        )
        query, body = signed_push(DEV_APPS["demo-oa"], follow)
        assert call(f"{stack.callback_url('demo-oa')}?{urlencode(query)}", method="POST", body=body)[0] == 200
    capsys.readouterr()

    assert cli.main(["promoters", "ranking", *app, "--format", "csv", *admin]) == 0
    lines = [line for line in capsys.readouterr().out.splitlines() if not line.startswith("{")]
    [row] = [line for line in lines if "cli-wang" in line]
    assert lines[0].startswith("rank,id,name,team,referrals,new_followers")
    assert row.split(",")[1:6] == ["cli-wang", "王小明", "华东一组", "3", "3"]

    assert cli.main(["promoters", "ranking", *app, *admin]) == 0  # a table: Chinese takes two columns
    table = [
        line for line in capsys.readouterr().out.splitlines() if "cli-wang" in line or line.startswith("名次")
    ]
    header, mine = table
    assert header.index("团队") < header.index("推荐")
    assert width(mine[: mine.index("3")]) == width(header[: header.index("推荐")])

    out = tmp_path / "followers.csv"
    assert cli.main(["followers", "export", *app, "--promoter", "cli-wang", "--out", str(out), *admin]) == 0
    assert "3 rows" in capsys.readouterr().out
    exported = out.read_bytes().decode("utf-8-sig")
    assert exported.count("o-cli-p") == 3 and "cli-wang-展台" in exported

    # Too many for one answer: the CLI exports in the background (ExportFunction) and saves the same rows.
    from wxfunnel.entry.admin import followers

    monkeypatch.setattr(followers, "EXPORT_MARGIN_SECONDS", 3600.0)
    monkeypatch.setattr(cli, "EXPORT_POLL_SECONDS", 0.2)
    background = tmp_path / "background.csv"
    assert (
        cli.main(["followers", "export", *app, "--promoter", "cli-wang", "--out", str(background), *admin])
        == 0
    )
    assert "3 rows" in capsys.readouterr().out
    assert sorted(background.read_bytes().decode("utf-8-sig").splitlines()) == sorted(exported.splitlines())
    monkeypatch.undo()

    assert cli.main(["qr", "update", *app, "--scene", "cli-wang-海报", "--disable", *admin]) == 0
    assert printed(capsys.readouterr().out)["state"] == "disabled"
    assert cli.main(["qr", "retire", *app, "--scene", "cli-wang-海报", *admin]) == 0
    assert printed(capsys.readouterr().out)["state"] == "retired"
    assert cli.main(["qr", "create", *app, "--scene", "cli-wang-海报", "--name", "新海报", *admin]) == 0
    assert printed(capsys.readouterr().out)["generation"] == 1
    assert cli.main(["qr", "history", *app, "--scene", "cli-wang-海报", *admin]) == 0
    history = printed(capsys.readouterr().out)
    assert [entry["channel"]["name"] for entry in history["past"]] == ["cli-wang-海报"]
