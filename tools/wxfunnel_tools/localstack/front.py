"""The local API Gateway: an HTTP server on 127.0.0.1 that turns requests into REST proxy events for the
template's functions and their answers back into HTTP, with API Gateway's own error answers. AWS_IAM routes take
only requests SigV4-signed with the local credentials (admin_client.LOCAL_CREDENTIALS) for the API's region and the
execute-api service, as a deployed API takes only signatures of real credentials: `make dev` behind a tunnel does
not open the admin API. The stages, the binary media types and how API Gateway invokes each method come from SAM's
translation of the template (`RestApi`), so SAM's defaults behave here as on AWS. Bodies reach the functions as a
REST API passes them: base64 for a binary media type, UTF-8 text (U+FFFD for what is not UTF-8) otherwise."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import logging
import re
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from wxfunnel_tools.admin_client import LOCAL_CREDENTIALS, LOCAL_REGION
from wxfunnel_tools.apigw import proxy_event
from wxfunnel_tools.httpbody import BodyRefused, read_body
from wxfunnel_tools.localstack.routes import Match, NoRoute, RouteTable
from wxfunnel_tools.localstack.runtime import ACCOUNT_ID, FunctionTimedOut, InvocationFailed, LocalFunction
from wxfunnel_tools.localstack.terminal import ACCESS_LOGGER
from wxfunnel_tools.template import translate

MAX_PAYLOAD_BYTES = 10 * 1024 * 1024  # API Gateway's request payload quota
INTEGRATION_TIMEOUT_SECONDS = 29.0
SIGNATURE_MAX_SKEW = timedelta(minutes=15)  # API Gateway's "Signature expired" beyond that, either way
SIGNING_SERVICE = "execute-api"
# A request without Content-Type is taken as JSON (API Gateway's default for choosing how to treat a payload).
DEFAULT_CONTENT_TYPE = "application/json"
_CREDENTIAL = re.compile(r"Credential=([^/,\s]+)/")
_AUTHORIZATION_FIELD = re.compile(r"(Credential|SignedHeaders|Signature)=([^,\s]+)")
_INCOMPLETE_SIGNATURE = (
    "Authorization header requires 'Credential' parameter. Authorization header requires 'Signature' "
    "parameter. Authorization header requires 'SignedHeaders' parameter."
)

log = logging.getLogger("wxfunnel_tools.local")
access_log = logging.getLogger(ACCESS_LOGGER)


class GatewayAnswer(Exception):
    """An answer API Gateway gives itself, without invoking the function."""

    def __init__(self, status: int, message: str, error_type: str | None = None, detail: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.error_type = error_type
        self.detail = detail


def _missing_token(detail: str) -> GatewayAnswer:
    return GatewayAnswer(403, "Missing Authentication Token", "MissingAuthenticationTokenException", detail)


@dataclass(frozen=True, slots=True)
class RestApi:
    """What API Gateway does with a request before and after the function, as the deployed API is configured:
    read from SAM's translation of the template (what CloudFormation hands API Gateway), not from the template's
    own words, so SAM's defaults (an extra stage, caller credentials) show up here as they would on AWS."""

    stages: tuple[str, ...]  # the template's StageName first
    binary_media_types: tuple[str, ...]
    # (METHOD, resource) whose integration has `credentials: arn:aws:iam::*:user/*`: invoked as the caller
    caller_credentials: frozenset[tuple[str, str]]


def rest_api(translated: Mapping[str, Any] | None = None) -> RestApi:
    translated = translated or translate()
    parameters = translated.get("Parameters", {})

    def value(item: Any) -> str:
        if isinstance(item, Mapping) and "Ref" in item:
            return str(parameters[item["Ref"]]["Default"])
        return str(item)

    resources = translated["Resources"].values()
    [api] = [r for r in resources if r["Type"] == "AWS::ApiGateway::RestApi"]
    body = api["Properties"]["Body"]
    stages = [value(r["Properties"]["StageName"]) for r in resources if r["Type"] == "AWS::ApiGateway::Stage"]
    stages += [
        value(r["Properties"]["StageName"])
        for r in resources
        if r["Type"] == "AWS::ApiGateway::Deployment" and "StageName" in r["Properties"]
    ]
    caller = frozenset(
        ("ANY" if method == "x-amazon-apigateway-any-method" else method.upper(), path)
        for path, item in body.get("paths", {}).items()
        for method, operation in item.items()
        if isinstance(operation, Mapping)
        and str(operation.get("x-amazon-apigateway-integration", {}).get("credentials", "")).endswith(
            ":iam::*:user/*"
        )
    )
    return RestApi(
        stages=tuple(stages),
        binary_media_types=tuple(
            str(t).lower() for t in body.get("x-amazon-apigateway-binary-media-types", [])
        ),
        caller_credentials=caller,
    )


def caller_identity(authorization: str | None) -> dict[str, Any]:
    """requestContext.identity for an AWS_IAM route: the caller the SigV4 Authorization names (the front has
    checked its signature with `verify_signature` before the event is built)."""
    if not authorization:
        raise _missing_token("this route is AWS_IAM: send a SigV4-signed request")
    if not authorization.startswith("AWS4-HMAC-SHA256"):
        raise GatewayAnswer(403, _INCOMPLETE_SIGNATURE, "IncompleteSignatureException")
    found = _CREDENTIAL.search(authorization)
    access_key = found.group(1) if found else "AKIALOCAL"
    return {
        "accountId": ACCOUNT_ID,
        "accessKey": access_key,
        "caller": f"AIDALOCAL:{access_key}",
        "user": "AIDALOCAL",
        "userArn": f"arn:aws:iam::{ACCOUNT_ID}:user/local",
    }


def _signature_mismatch(detail: str) -> GatewayAnswer:
    return GatewayAnswer(
        403,
        "The request signature we calculated does not match the signature you provided. Check your AWS Secret "
        "Access Key and signing method. Consult the service documentation for details.",
        "InvalidSignatureException",
        detail,
    )


def verify_signature(
    method: str,
    target: str,
    headers: Iterable[tuple[str, str]],
    body: bytes,
    *,
    credentials: Credentials = LOCAL_CREDENTIALS,
    region: str = LOCAL_REGION,
    now: datetime | None = None,
) -> None:
    """GatewayAnswer (403) unless the request is SigV4-signed with `credentials` for the API's region and the
    execute-api service: botocore's signature of the same method, path, query, signed headers, body and X-Amz-Date
    must equal the one sent (API Gateway's AWS_IAM check, without IAM policies). `target` is the request line's
    path and query, as received."""
    pairs = list(headers)
    authorization = next((v for k, v in pairs if k.lower() == "authorization"), None)
    caller_identity(authorization)  # no Authorization, or not SigV4: API Gateway's answers for those
    assert authorization is not None
    fields = dict(_AUTHORIZATION_FIELD.findall(authorization))
    if len(fields) != 3:
        raise GatewayAnswer(403, _INCOMPLETE_SIGNATURE, "IncompleteSignatureException")
    scope = fields["Credential"].split("/")
    frozen = credentials.get_frozen_credentials()
    if len(scope) != 5 or scope[4] != "aws4_request":
        raise _signature_mismatch("malformed credential scope")
    access_key, day, scope_region, service, _ = scope
    # API Gateway's own answers to a signature scoped to another region or service (both 403)
    if scope_region != region:
        raise GatewayAnswer(
            403,
            f"Credential should be scoped to a valid region, not '{scope_region}'. ",
            "InvalidSignatureException",
            f"this API is in {region}",
        )
    if service != SIGNING_SERVICE:
        raise GatewayAnswer(
            403,
            f"Credential should be scoped to correct service: '{SIGNING_SERVICE}'. ",
            "InvalidSignatureException",
            f"the credential scope names {service}",
        )
    if not hmac.compare_digest(access_key, frozen.access_key):
        raise GatewayAnswer(
            403,
            "The security token included in the request is invalid.",
            "UnrecognizedClientException",
            f"the local stack takes signatures of its local credentials ({frozen.access_key}) only",
        )
    amz_date = next((v for k, v in pairs if k.lower() == "x-amz-date"), "")
    try:
        signed_at = datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    except ValueError:
        raise GatewayAnswer(
            403,
            "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.",
            "IncompleteSignatureException",
        ) from None
    if abs((now or datetime.now(UTC)) - signed_at) > SIGNATURE_MAX_SKEW:
        raise GatewayAnswer(403, "Signature expired", "InvalidSignatureException", f"signed at {amz_date}")
    signed_names = fields["SignedHeaders"].lower().split(";")
    if day != amz_date[:8] or "host" not in signed_names:
        raise _signature_mismatch("the scope's day is not X-Amz-Date's, or Host is not signed")
    declared_hash = next((v for k, v in pairs if k.lower() == "x-amz-content-sha256"), None)
    if declared_hash is not None and declared_hash != hashlib.sha256(body).hexdigest():
        raise _signature_mismatch("X-Amz-Content-SHA256 is not the body's")
    parts = urlsplit(target)
    path = target if target.startswith("/") else parts.path + (f"?{parts.query}" if parts.query else "")
    host = next((v for k, v in pairs if k.lower() == "host"), "")
    request = AWSRequest(method=method.upper(), url=f"http://{host}{path}", data=body)
    for name in signed_names:
        values = [v for k, v in pairs if k.lower() == name]
        if not values:
            raise _signature_mismatch(f"signed header {name} is not in the request")
        for value in values:
            request.headers[name] = (
                value  # HTTPHeaders appends: a repeated header is signed as its values joined
            )
    request.context["timestamp"] = amz_date
    signer = SigV4Auth(frozen, SIGNING_SERVICE, region)
    expected = signer.signature(signer.string_to_sign(request, signer.canonical_request(request)), request)
    if not hmac.compare_digest(
        expected.encode("ascii"), fields["Signature"].encode("ascii", errors="replace")
    ):
        raise _signature_mismatch("signature mismatch")


def build_event(
    match: Match,
    *,
    method: str,
    path: str,
    query: str,
    headers: Iterable[tuple[str, str]],
    body: bytes,
    stage: str,
    binary_types: tuple[str, ...],
    source_ip: str = "127.0.0.1",
) -> dict[str, Any]:
    """The proxy event API Gateway would hand `match.function` for this request."""
    pairs = list(headers)
    single: dict[str, str] = {}
    multi: dict[str, list[str]] = {}
    for name, value in pairs:
        single[name] = value  # API Gateway keeps the last value of a repeated header
        multi.setdefault(name, []).append(value)
    identity: dict[str, Any] = {}
    if match.route.auth == "AWS_IAM":
        authorization = next((v for k, v in pairs if k.lower() == "authorization"), None)
        identity = caller_identity(authorization)
    event = proxy_event(
        method,
        match.route.path,
        path,
        path_parameters=match.path_parameters,
        query=query or None,
        body=None,
        headers=single,
        stage=stage,
    )
    event["multiValueHeaders"] = multi
    query_pairs = parse_qsl(query, keep_blank_values=True)
    if query_pairs:
        multi_query: dict[str, list[str]] = {}
        for name, value in query_pairs:
            multi_query.setdefault(name, []).append(value)
        event["multiValueQueryStringParameters"] = multi_query
    if body:
        content_type = next((v for k, v in pairs if k.lower() == "content-type"), DEFAULT_CONTENT_TYPE)
        if is_binary_media_type(content_type, binary_types):
            event["body"] = base64.b64encode(body).decode("ascii")
            event["isBase64Encoded"] = True
        else:
            # A text payload is UTF-8 to API Gateway: bytes that are not become U+FFFD, as on AWS (which is why
            # binary uploads without a matching binaryMediaTypes entry arrive corrupted). A handler sees bytes
            # that are not UTF-8 only through a binary media type, base64-encoded.
            event["body"] = body.decode("utf-8", errors="replace")
    event["requestContext"]["identity"].update({"sourceIp": source_ip, **identity})
    event["requestContext"]["domainName"] = single.get("Host") or single.get("host") or "127.0.0.1"
    return event


def is_binary_media_type(media_type: str | None, binary_types: Iterable[str]) -> bool:
    """Whether API Gateway (REST) treats `media_type` (a request's Content-Type, or the first type of its Accept
    header) as one of the API's binaryMediaTypes. Compared without parameters or case; an entry `type/*` takes
    every subtype of its type and `*/*` every type, but a wildcard type with a subtype (`*/x`) takes nothing
    (AWS does not support wildcards on the left), and a wildcard in the request's own type is no match for a
    concrete entry (`Accept: image/*` is not image/png).
    https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-payload-encodings.html"""
    kind, slash, subtype = (media_type or "").split(",")[0].split(";")[0].strip().lower().partition("/")
    if not (kind and slash and subtype):
        return False
    for entry in binary_types:
        entry_kind, _, entry_subtype = entry.split(";")[0].strip().lower().partition("/")
        if (entry_kind, entry_subtype) == ("*", "*"):
            return True
        if entry_kind == kind and entry_subtype in ("*", subtype):
            return True
    return False


def converts_to_binary(accept: str | None, binary_types: Iterable[str]) -> bool:
    """Whether API Gateway (REST) decodes a proxy response with isBase64Encoded into binary: only when the
    request's first Accept media type is one of the API's binary media types; otherwise the client receives the
    base64 text as is. The response's own Content-Type does not count."""
    return is_binary_media_type(accept, binary_types)


def shape_response(
    result: Any, *, accept: str | None = None, binary_types: Iterable[str] = ()
) -> tuple[int, list[tuple[str, str]], bytes]:
    """(status, headers, body) of a Lambda proxy result for a request whose Accept header is `accept`; a malformed
    result is a 502, as in API Gateway."""
    if not isinstance(result, Mapping) or not isinstance(result.get("statusCode"), int):
        raise GatewayAnswer(502, "Internal server error", detail="malformed Lambda proxy response")
    headers: list[tuple[str, str]] = [(str(k), str(v)) for k, v in (result.get("headers") or {}).items()]
    seen = {name.lower() for name, _ in headers}
    for name, values in (result.get("multiValueHeaders") or {}).items():
        if str(name).lower() in seen:
            continue  # API Gateway lets multiValueHeaders add values, never duplicate a single header
        headers.extend((str(name), str(value)) for value in values)
    body = result.get("body")
    if body is None:
        payload = b""
    elif result.get("isBase64Encoded") and converts_to_binary(accept, binary_types):
        try:
            payload = base64.b64decode(str(body), validate=True)
        except (binascii.Error, ValueError):
            raise GatewayAnswer(502, "Internal server error", detail="body is not valid base64") from None
    else:
        payload = str(body).encode("utf-8")
    if not any(name.lower() == "content-type" for name, _ in headers):
        headers.append(("Content-Type", "application/json"))
    return int(result["statusCode"]), headers, payload


class Front(ThreadingHTTPServer):
    """ThreadingHTTPServer serving the template's routes under /<stage>; `start()` runs it in a thread."""

    daemon_threads = True
    allow_reuse_address = True
    # API Gateway takes a burst of connections at once (the stage's throttling burst is 2000 requests); socketserver's
    # listen backlog of 5 made Linux drop the SYNs of most of a burst of 200. The kernel caps it at net.core.somaxconn.
    request_queue_size = 2048

    def __init__(
        self,
        functions: Iterable[LocalFunction],
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        stage: str | None = None,
        credentials: Credentials = LOCAL_CREDENTIALS,
        region: str = LOCAL_REGION,
    ) -> None:
        self.functions = {function.spec.logical_id: function for function in functions}
        self.credentials = credentials
        self.region = region
        self.routes = RouteTable(function.spec for function in self.functions.values())
        self.api = rest_api()
        self.stages = (stage,) if stage else self.api.stages
        self.stage = self.stages[0]
        self.binary_types = self.api.binary_media_types
        self._thread: threading.Thread | None = None
        super().__init__((host, port), _Handler)

    @property
    def url(self) -> str:
        """The stage's base URL, e.g. http://127.0.0.1:8900/v1 (like the AdminApiUrl output)."""
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}/{self.stage}"

    def start(self) -> Front:
        self._thread = threading.Thread(
            target=self.serve_forever, name="apigw-front", kwargs={"poll_interval": 0.1}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None:
            self.shutdown()
            self._thread.join()
            self._thread = None
        self.server_close()

    def resolve(self, method: str, target: str) -> tuple[Match, str, str, str]:
        """(match, stage, path without the stage, raw query) for a request target, or GatewayAnswer."""
        parts = urlsplit(target)
        stage = parts.path.split("/")[1] if parts.path.startswith("/") else ""
        if stage not in self.stages:
            served = " or ".join(f"/{name}/" for name in self.stages)
            raise GatewayAnswer(403, "Forbidden", "ForbiddenException", f"URLs start with {served}")
        path = parts.path[len(stage) + 1 :] or "/"
        found = self.routes.match(method, path)
        if isinstance(found, NoRoute):
            raise _missing_token(found.reason)
        return found, stage, path, parts.query

    def check_invocation(self, match: Match) -> None:
        """GatewayAnswer (500) when API Gateway would invoke the function with the caller's credentials: the local
        credentials stand for the least-privileged operator (execute-api:Invoke on the admin routes, nothing
        else), who may not call lambda:InvokeFunction, so API Gateway answers 500 before the function runs
        ("Execution failed due to configuration error: Invalid permissions on Lambda function")."""
        if (match.route.method, match.route.path) in self.api.caller_credentials:
            raise GatewayAnswer(
                500,
                "Internal server error",
                detail="API Gateway invokes this function with the caller's credentials (SAM's default for "
                "AWS_IAM; set Auth.InvokeRole: NONE): an operator with only execute-api:Invoke gets a 500",
            )


class _Handler(BaseHTTPRequestHandler):
    server: Front
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        access_log.debug("front: " + format, *args)

    def do_GET(self) -> None:
        self._serve()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = do_GET

    def _read_body(self) -> bytes:
        try:
            return read_body(self.headers, self.rfile, MAX_PAYLOAD_BYTES, chunked=True)
        except BodyRefused as refused:
            self.close_connection = True  # what is left of the body must not be read as the next request
            if refused.status == HTTPStatus.REQUEST_ENTITY_TOO_LARGE:
                raise GatewayAnswer(413, "Request Too Long", detail=refused.message) from None
            raise GatewayAnswer(int(refused.status), "Bad Request", detail=refused.message) from None

    def _serve(self) -> None:
        front = self.server
        try:
            body = self._read_body()
            match, stage, path, query = front.resolve(self.command, self.path)
            if match.route.auth == "AWS_IAM":
                verify_signature(
                    self.command,
                    self.path,
                    self.headers.items(),
                    body,
                    credentials=front.credentials,
                    region=front.region,
                )
            front.check_invocation(match)
            event = build_event(
                match,
                method=self.command,
                path=path,
                query=query,
                headers=self.headers.items(),
                body=body,
                stage=stage,
                binary_types=front.binary_types,
                source_ip=self.client_address[0],
            )
            function = front.functions[match.function.logical_id]
            try:
                result = function.invoke(event, queue_timeout=INTEGRATION_TIMEOUT_SECONDS)
            except FunctionTimedOut as exc:
                raise GatewayAnswer(502, "Internal server error", detail=str(exc)) from None
            except InvocationFailed as exc:
                raise GatewayAnswer(502, "Internal server error", detail=str(exc)) from None
            status, headers, payload = shape_response(
                result, accept=self.headers.get("Accept"), binary_types=front.binary_types
            )
            access_log.info(
                "%s %s -> %s %d", self.command, self.path.split("?")[0], match.function.logical_id, status
            )
        except GatewayAnswer as answer:
            status = answer.status
            payload = json.dumps({"message": answer.message}).encode("utf-8")
            headers = [("Content-Type", "application/json")]
            if answer.error_type:
                headers.append(("x-amzn-ErrorType", answer.error_type))
            if answer.detail:
                headers.append(("x-wxfunnel-local-reason", answer.detail))  # local only: says why
            (log.warning if status >= 500 else access_log.info)(
                "%s %s -> %d %s (%s)",
                self.command,
                self.path.split("?")[0],
                status,
                answer.message,
                answer.detail,
            )
        self._write(status, headers, payload)

    def _write(self, status: int, headers: list[tuple[str, str]], payload: bytes) -> None:
        try:
            self.send_response(status)
            for name, value in headers:
                if name.lower() not in {"content-length", "connection", "transfer-encoding"}:
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.send_header("x-amzn-RequestId", "local")
            if self.close_connection:
                self.send_header("Connection", "close")
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
