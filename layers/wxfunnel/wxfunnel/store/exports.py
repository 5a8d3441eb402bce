"""Exports in the stack's ExportsBucket: a file too large for one API answer, fetched through a short-lived link.

Objects live under `exports/<app>/<uuid>/<file name>` and expire with the bucket's lifecycle rule (a day); the
link is a presigned GET valid for EXPORT_LINK_SECONDS, so nobody without it (and nobody after it) can read them.
"""

from __future__ import annotations

import uuid

from wxfunnel.core.aws import s3
from wxfunnel.core.settings import settings

EXPORT_LINK_SECONDS = 900


def put(app: str, filename: str, body: bytes, content_type: str) -> str:
    """Store an export → a presigned link to download it (for EXPORT_LINK_SECONDS)."""
    key = f"exports/{app}/{uuid.uuid4().hex}/{filename}"
    bucket = settings().exports_bucket
    s3().put_object(Bucket=bucket, Key=key, Body=body, ContentType=content_type)
    link: str = s3().generate_presigned_url(
        "get_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=EXPORT_LINK_SECONDS
    )
    return link
