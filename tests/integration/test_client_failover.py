"""Failover to WECHAT_API_BACKUP_BASE happens when no connection to WECHAT_API_BASE can be made, only then."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from wxfunnel.client import TextMessage, errors, http
from wxfunnel.entry.wechat import client_for
from wxfunnel_tools.sandbox import Sandbox, refusing_base
from wxfunnel_tools.testing import cold_start

MP_APPID = "wx0b0b0b0b0b0b0b0b"
USER = "oUser0001"


@pytest.fixture
def backup(wechat: Sandbox) -> Iterator[Sandbox]:
    """A second sandbox as the disaster-recovery base, sharing nothing with the primary."""
    sandbox = Sandbox.start()
    sandbox.register_dev_apps()
    yield sandbox
    sandbox.stop()


def _bases(monkeypatch: pytest.MonkeyPatch, primary: str, backup: str) -> None:
    monkeypatch.setenv("WECHAT_API_BASE", primary)
    monkeypatch.setenv("WECHAT_API_BACKUP_BASE", backup)
    cold_start()


def test_a_refused_primary_fails_over_to_the_backup(wechat: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    _bases(monkeypatch, wechat.dead_base, wechat.api_base)
    mp = client_for("demo-mp")

    mp.send_custom(USER, TextMessage("via the backup"))

    assert wechat.count("stable_token", appid=MP_APPID) == 1
    assert wechat.calls("message/custom/send")[-1].payload["text"] == {"content": "via the backup"}


def test_after_a_failed_connect_the_container_prefers_the_backup(
    wechat: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    dead = refusing_base()
    try:
        _bases(monkeypatch, dead.url, wechat.api_base)
        mp = client_for("demo-mp")
        mp.callback_ips()
        assert http.api_bases() == [wechat.api_base, dead.url]
        mp.callback_ips()
    finally:
        dead.close()


def test_both_bases_down_is_wechat_unavailable(wechat: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    other = refusing_base()
    try:
        _bases(monkeypatch, wechat.dead_base, other.url)
        with pytest.raises(errors.WeChatUnavailable, match="no WeChat API base could be reached"):
            client_for("demo-mp").callback_ips()
    finally:
        other.close()


def test_http_errors_and_dropped_connections_are_not_failed_over(
    wechat: Sandbox, backup: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    _bases(monkeypatch, wechat.api_base, backup.api_base)
    mp = client_for("demo-mp")
    mp.callback_ips()

    wechat.fail_next("message/custom/send", status=503)
    with pytest.raises(errors.WeChatUnavailable):
        mp.send_custom(USER, TextMessage("maybe sent"))
    wechat.fail_next("message/custom/send", drop=True)
    with pytest.raises(errors.WeChatUnavailable):
        mp.send_custom(USER, TextMessage("maybe sent"))

    assert backup.count() == 0


def test_the_image_host_is_separate_and_a_refused_one_is_unavailable(
    wechat: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    qr = client_for("demo-oa").create_qrcode(1, permanent=False)
    monkeypatch.setenv("WECHAT_MP_BASE", wechat.dead_base)
    cold_start()

    with pytest.raises(errors.WeChatUnavailable):
        client_for("demo-oa").fetch_qrcode_image(qr.ticket)
