"""HTTP client of the admin API (AWS_IAM routes): SigV4-signed with the caller's AWS credentials for a
deployed stack, with dummy local credentials for the local stack; a stack's URL comes from its outputs."""

from __future__ import annotations

import ipaddress
import json
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import boto3
import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

LOCAL_REGION = "us-east-1"
# What signs for the local stack (whose front verifies signatures with them): real credentials never go there.
LOCAL_CREDENTIALS = Credentials("AKIDLOCALADMIN", "local-secret")
# API Gateway turns the QR route's base64 answer into the image only when the request's FIRST Accept type is one of
# the API's binary media types (image/jpeg, image/png); `Accept: application/json` gets the base64 text.
IMAGE_ACCEPT = "image/jpeg, image/png"
ZIP_ACCEPT = "application/zip"
_EXECUTE_API_HOST = re.compile(r"^[a-z0-9]+\.execute-api\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?$")


class AdminError(Exception):
    """The admin API answered an error (`status` and the API's `message` say which) or cannot be called at all
    (status 0: no credentials, no region, a stack without the output)."""

    def __init__(self, status: int, message: str, body: Any = None) -> None:
        super().__init__(f"HTTP {status}: {message}" if status else message)
        self.status = status
        self.message = message
        self.body = body


@dataclass(frozen=True, slots=True)
class AdminResponse:
    status: int
    headers: dict[str, str] = field(repr=False)
    body: bytes = field(repr=False)

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


def is_loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def region_from_url(url: str) -> str | None:
    """The region of an execute-api URL (https://abc.execute-api.eu-west-1.amazonaws.com/v1), else None."""
    found = _EXECUTE_API_HOST.match(urlsplit(url).hostname or "")
    return found.group(1) if found else None


def accept_for(path: str) -> str:
    """The Accept header for an admin path: the image types for QR images and print files, zip for print
    archives, else JSON. API Gateway returns a binary body only when the first Accept type is a binary one."""
    route = urlsplit(path).path.rstrip("/")
    if route.endswith(("/image", "/qr")):
        return IMAGE_ACCEPT
    if route == "/archives":
        return ZIP_ACCEPT
    return "application/json"


def stack_output(stack_name: str, key: str, session: boto3.session.Session | None = None) -> str:
    """One output of a deployed CloudFormation stack (e.g. AdminApiUrl, AppsParameterPrefix)."""
    session = session or boto3.session.Session()
    stacks = session.client("cloudformation").describe_stacks(StackName=stack_name)["Stacks"]
    for output in stacks[0].get("Outputs") or []:
        if output["OutputKey"] == key:
            return str(output["OutputValue"])
    raise AdminError(0, f"stack {stack_name} has no output {key} (is it a wxfunnel stack, fully deployed?)")


def stack_admin_url(stack_name: str, session: boto3.session.Session | None = None) -> str:
    return stack_output(stack_name, "AdminApiUrl", session)


class AdminClient:
    """`AdminClient(url).request("GET", "/qrcodes", query={"app": "demo-oa"}).json()`; errors raise AdminError."""

    def __init__(
        self,
        base_url: str,
        *,
        session: boto3.session.Session | None = None,
        region: str | None = None,
        timeout: float = 30.0,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.local = is_loopback(self.base_url)
        if self.local:
            self._credentials = LOCAL_CREDENTIALS
            self.region = region or LOCAL_REGION
            return
        session = session or boto3.session.Session()
        credentials = session.get_credentials()
        if credentials is None:
            raise AdminError(
                0, "no AWS credentials found (aws configure, AWS_PROFILE or environment variables)"
            )
        self._credentials = credentials
        resolved = region or region_from_url(self.base_url) or session.region_name
        if not resolved:
            raise AdminError(0, "cannot tell the API's region: pass --region")
        self.region = resolved

    def request(
        self,
        method: str,
        path: str,
        *,
        query: dict[str, Any] | None = None,
        json_body: Any = None,
        raise_for_status: bool = True,
        accept: str | None = None,
        body: bytes | None = None,
        content_type: str | None = None,
    ) -> AdminResponse:
        """Sign and send one request; `path` is relative to the stage (e.g. "/qrcodes"); `accept` defaults to
        `accept_for(path)`. A body is `json_body`, or raw `body` bytes of `content_type` (a CSV file)."""
        url = self.base_url + "/" + path.lstrip("/")
        pairs = {k: str(v) for k, v in (query or {}).items() if v is not None}
        if pairs:
            url += "?" + urlencode(pairs, quote_via=quote)
        headers = {"Accept": accept or accept_for(path)}
        data: bytes | None = body
        if body is not None:
            headers["Content-Type"] = content_type or "application/octet-stream"
        if json_body is not None:
            data = json.dumps(json_body, ensure_ascii=False).encode("utf-8")
            headers["Content-Type"] = "application/json"
        signed = AWSRequest(method=method.upper(), url=url, data=data, headers=headers)
        SigV4Auth(self._credentials.get_frozen_credentials(), "execute-api", self.region).add_auth(signed)
        response = requests.request(
            method.upper(), url, headers=dict(signed.headers.items()), data=data, timeout=self.timeout
        )
        result = AdminResponse(response.status_code, dict(response.headers), response.content)
        if raise_for_status and response.status_code >= 400:
            raise AdminError(response.status_code, _error_message(result), _json_or_none(result))
        return result


def _json_or_none(response: AdminResponse) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _error_message(response: AdminResponse) -> str:
    """API Gateway's {"message"} or wxfunnel's {"error": {"message"}} or the raw text."""
    body = _json_or_none(response)
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict) and error.get("message"):
            return str(error["message"])
        if body.get("message"):
            return str(body["message"])
    return response.body.decode("utf-8", errors="replace")[:500] or f"HTTP {response.status}"
