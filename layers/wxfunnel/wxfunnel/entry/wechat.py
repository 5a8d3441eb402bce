"""The WeChat client of an app, wired with its storage (the shared token lease, the media cache), once per container."""

from __future__ import annotations

from wxfunnel.client.api import WeChatClient
from wxfunnel.config.loader import load_app
from wxfunnel.store.media import MediaCache
from wxfunnel.store.tokens import TokenTable

_clients: dict[str, WeChatClient] = {}


def _reset_container() -> None:
    _clients.clear()


def client_for(app_name: str) -> WeChatClient:
    """The container's client for app `app_name` (rebuilt when its configuration changes)."""
    app = load_app(app_name)
    client = _clients.get(app_name)
    if client is None or client.app != app:
        client = _clients[app_name] = WeChatClient(app, TokenTable(), MediaCache())
    return client
