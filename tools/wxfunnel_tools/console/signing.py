"""Signers for the console server: SigV4 for API Gateway's AWS_IAM routes, with the credentials the
admin client would use (the operator's for a deployed stack, dummy ones for the local stack)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest

from wxfunnel_tools.admin_client import (
    LOCAL_CREDENTIALS,
    LOCAL_REGION,
    AdminError,
    is_loopback,
    region_from_url,
)
from wxfunnel_tools.console.server import Signer


def sigv4_signer(credentials: Any, region: str, service: str = "execute-api") -> Signer:
    """Signs with botocore Credentials, refreshed on every call (temporary credentials expire)."""

    def sign(method: str, url: str, headers: Mapping[str, str], body: bytes) -> Mapping[str, str]:
        request = AWSRequest(method=method, url=url, data=body, headers=dict(headers))
        SigV4Auth(credentials.get_frozen_credentials(), service, region).add_auth(request)
        return dict(request.headers.items())

    return sign


def signer_for(admin_url: str, session: Any = None, region: str | None = None) -> Signer:
    """The signer for `admin_url`: local credentials for a loopback URL, else the session's (AdminError
    when there are none or the region cannot be told)."""
    if is_loopback(admin_url):
        return sigv4_signer(LOCAL_CREDENTIALS, region or LOCAL_REGION)
    import boto3

    session = session or boto3.session.Session()
    credentials = session.get_credentials()
    if credentials is None:
        raise AdminError(0, "no AWS credentials found (aws configure, AWS_PROFILE or environment variables)")
    resolved = region or region_from_url(admin_url) or session.region_name
    if not resolved:
        raise AdminError(0, "cannot tell the API's region: pass --region")
    return sigv4_signer(credentials, resolved)
