"""The WeChat API client: typed errors, a shared access-token lease, failover, one method per endpoint.

Its storage (the token lease's item, the media cache) is injected; the functions get a wired client from
`wxfunnel.entry.wechat.client_for`:

    client_for("demo-mp").send_custom(openid, TextMessage("hi"))
"""

from __future__ import annotations

from wxfunnel.client import errors
from wxfunnel.client.api import MediaCache, QrTicket, UserInfo, WeChatClient
from wxfunnel.client.outbound import (
    CustomMessage,
    ImageMessage,
    LinkMessage,
    MiniProgramPageMessage,
    NewsMessage,
    TextMessage,
)
from wxfunnel.client.tokens import TokenTable

__all__ = [
    "CustomMessage",
    "ImageMessage",
    "LinkMessage",
    "MediaCache",
    "MiniProgramPageMessage",
    "NewsMessage",
    "QrTicket",
    "TextMessage",
    "TokenTable",
    "UserInfo",
    "WeChatClient",
    "errors",
]
