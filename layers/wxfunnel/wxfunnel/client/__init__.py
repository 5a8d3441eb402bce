"""The WeChat API client: typed errors, a shared access-token lease, failover, one method per endpoint.

from wxfunnel.client import client_for, errors, TextMessage
client_for("demo-mp").send_custom(openid, TextMessage("hi"))
"""

from __future__ import annotations

from wxfunnel.client import errors
from wxfunnel.client.api import QrTicket, UserInfo, WeChatClient, client_for
from wxfunnel.client.outbound import (
    CustomMessage,
    ImageMessage,
    LinkMessage,
    MiniProgramPageMessage,
    NewsMessage,
    TextMessage,
)

__all__ = [
    "CustomMessage",
    "ImageMessage",
    "LinkMessage",
    "MiniProgramPageMessage",
    "NewsMessage",
    "QrTicket",
    "TextMessage",
    "UserInfo",
    "WeChatClient",
    "client_for",
    "errors",
]
