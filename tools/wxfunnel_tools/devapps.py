"""The documented development apps (one Official Account, one Mini Program) used by events/, tests and the local stack.

These values are development fixtures, not secrets: they only work against the local WeChat sandbox.
"""

from __future__ import annotations

from typing import Any

DEMO_OA = "demo-oa"
DEMO_MP = "demo-mp"

DEV_APPS: dict[str, dict[str, Any]] = {
    DEMO_OA: {
        "kind": "official_account",
        "appid": "wx0a0a0a0a0a0a0a0a",
        "secret": "dev-oa-secret-only-valid-in-the-sandbox",
        "token": "wxfunnelDevToken",
        "encoding_aes_key": "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG",
        "original_id": "gh_0a0a0a0a0a0a",
    },
    DEMO_MP: {
        "kind": "mini_program",
        "appid": "wx0b0b0b0b0b0b0b0b",
        "secret": "dev-mp-secret-only-valid-in-the-sandbox",
        "token": "wxfunnelDevToken",
        "encoding_aes_key": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "original_id": "gh_0b0b0b0b0b0b",
    },
}


def seed_apps(ssm: Any, prefix: str, apps: dict[str, dict[str, Any]] | None = None) -> None:
    """Write each app's JSON as a SecureString parameter at <prefix><name>."""
    import json

    for name, document in (apps or DEV_APPS).items():
        ssm.put_parameter(
            Name=f"{prefix}{name}", Value=json.dumps(document), Type="SecureString", Overwrite=True
        )
