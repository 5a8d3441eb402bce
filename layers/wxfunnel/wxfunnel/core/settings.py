"""Environment settings of a wxfunnel function, read once per container into a typed, frozen model."""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cache


@dataclass(frozen=True, slots=True)
class Settings:
    """The function's environment: table and queue names, WeChat bases, limits and options."""

    apps_parameter_prefix: str
    tokens_table: str
    dedupe_table: str
    subscriptions_table: str
    channels_table: str
    notifications_table: str
    outbox_queue_url: str
    outbox_dlq_url: str
    fanout_queue_url: str
    export_queue_url: str
    exports_bucket: str
    wechat_api_base: str
    wechat_api_backup_base: str
    wechat_mp_base: str
    replay_window_seconds: int
    max_body_bytes: int
    parameters_max_age_seconds: int
    erase_on_unsubscribe: bool
    sender_max_attempts: int
    export_max_attempts: int  # the export queue's maxReceiveCount: the last attempt records the failure
    permanent_qr_cap: int
    qr_reuse_min_remaining_share: (
        float  # reuse a temporary code while more than this share of its life is left
    )
    public_base_url: str = ""  # the live links' base (a custom domain); "" - the API's URL of each request


def _flag(value: str) -> bool:
    return value.strip().lower() in {"1", "true", "yes", "on"}


@cache
def settings() -> Settings:
    env = os.environ.get
    return Settings(
        apps_parameter_prefix=env("APPS_PARAMETER_PREFIX", "/wxfunnel/apps/"),
        tokens_table=env("TOKENS_TABLE", "wxfunnel-tokens"),
        dedupe_table=env("DEDUPE_TABLE", "wxfunnel-dedupe"),
        subscriptions_table=env("SUBSCRIPTIONS_TABLE", "wxfunnel-subscriptions"),
        channels_table=env("CHANNELS_TABLE", "wxfunnel-channels"),
        notifications_table=env("NOTIFICATIONS_TABLE", "wxfunnel-notifications"),
        outbox_queue_url=env("OUTBOX_QUEUE_URL", ""),
        outbox_dlq_url=env("OUTBOX_DLQ_URL", ""),
        fanout_queue_url=env("FANOUT_QUEUE_URL", ""),
        export_queue_url=env("EXPORT_QUEUE_URL", ""),
        exports_bucket=env("EXPORTS_BUCKET", ""),
        wechat_api_base=env("WECHAT_API_BASE", "https://api.weixin.qq.com").rstrip("/"),
        wechat_api_backup_base=env("WECHAT_API_BACKUP_BASE", "https://api2.weixin.qq.com").rstrip("/"),
        wechat_mp_base=env("WECHAT_MP_BASE", "https://mp.weixin.qq.com").rstrip("/"),
        replay_window_seconds=int(env("REPLAY_WINDOW_SECONDS", "600")),
        max_body_bytes=int(env("MAX_BODY_BYTES", str(64 * 1024))),
        parameters_max_age_seconds=int(env("PARAMETERS_MAX_AGE_SECONDS", "300")),
        erase_on_unsubscribe=_flag(env("ERASE_ON_UNSUBSCRIBE", "false")),
        sender_max_attempts=int(env("SENDER_MAX_ATTEMPTS", "5")),
        export_max_attempts=int(env("EXPORT_MAX_ATTEMPTS", "3")),
        permanent_qr_cap=int(env("PERMANENT_QR_CAP", "100000")),
        qr_reuse_min_remaining_share=float(env("QR_REUSE_MIN_REMAINING_SHARE", "0.5")),
        public_base_url=env("PUBLIC_BASE_URL", "").rstrip("/"),
    )
