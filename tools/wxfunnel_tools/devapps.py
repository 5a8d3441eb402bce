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
        "message_mode": "plaintext",  # accepts plaintext and encrypted pushes, so the tools can show both
    },
    DEMO_MP: {
        "kind": "mini_program",
        "appid": "wx0b0b0b0b0b0b0b0b",
        "secret": "dev-mp-secret-only-valid-in-the-sandbox",
        "token": "wxfunnelDevToken",
        "encoding_aes_key": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "original_id": "gh_0b0b0b0b0b0b",
        "message_mode": "plaintext",  # accepts plaintext and encrypted pushes, so the tools can show both
    },
}


def seed_apps(ssm: Any, prefix: str, apps: dict[str, dict[str, Any]] | None = None) -> None:
    """Write each app's JSON as a SecureString parameter at <prefix><name>."""
    import json

    for name, document in (apps or DEV_APPS).items():
        ssm.put_parameter(
            Name=f"{prefix}{name}", Value=json.dumps(document), Type="SecureString", Overwrite=True
        )


# The rules the demo and `wxfunnel local` run with (docs/rules.md): the product's five flows on the two dev apps.
DEMO_RULES: dict[str, dict[str, Any]] = {
    DEMO_OA: {
        "welcome": "欢迎关注！",
        "channel_welcome_default": "欢迎你通过海报关注！",
        "referral_text": "你由 {referrer} 推荐关注",
        "card_opt_in_text": "提醒已开启",
        "keywords": [{"match": "exact", "pattern": "hi", "reply": {"type": "text", "content": "你好"}}],
        # A follower's own code: a keyword or the custom menu's MY_CODE button (docs/rules.md, docs/menu.md).
        "referral": {
            "keyword": "我的二维码",
            "menu_key": "MY_CODE",
            "intro_text": "这是你的专属二维码，朋友扫码关注后会看到是你推荐的",
            "name_keyword": "我的名字",
            "name_reply": "好的，朋友们会看到：{name}",
            "notify_referrer": "{name}，又一位朋友通过你的二维码关注了，这是第 {count} 位",
        },
        "fallback": {"type": "transfer_customer_service"},
    },
    DEMO_MP: {
        "keywords": [
            {
                "match": "exact",
                "pattern": "666",
                "reply": {
                    "type": "follow_qr",
                    "oa": DEMO_OA,
                    "scene": "mp-666",
                    "as": "link",
                    "title": "关注公众号",
                    "description": "扫码关注",
                },
            },
        ],
        "card": {
            "oa": DEMO_OA,
            "keys": ["live_id", "user_id"],
            "prefix": "live.",
            "as": "link",
            "title": "扫码开启提醒",
            "description": "直播开始时提醒你",
            "expire_seconds": 86400,
            "opt_in_text": "直播提醒已开启",
        },
        "fallback": {"type": "transfer_customer_service"},
    },
}


def demo_apps() -> dict[str, dict[str, Any]]:
    """The development apps with the demo rules."""
    return {name: {**document, **DEMO_RULES.get(name, {})} for name, document in DEV_APPS.items()}
