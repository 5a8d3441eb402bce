"""Every error family, as WeChat (the sandbox) produces it, reaches the caller as its typed exception."""

from __future__ import annotations

import pytest

from wxfunnel.client import ImageMessage, TextMessage, errors
from wxfunnel.client import http as client_http
from wxfunnel.entry.wechat import client_for
from wxfunnel_tools.sandbox import Sandbox

OA_APPID = "wx0a0a0a0a0a0a0a0a"
MP_APPID = "wx0b0b0b0b0b0b0b0b"
USER = "oUser0001"


@pytest.mark.parametrize(
    ("errcode", "family"),
    [
        (45009, errors.RateLimited),
        (45011, errors.RateLimited),
        (45047, errors.UserQuotaExhausted),
        (45015, errors.OutsideWindow),
        (43004, errors.RecipientUnavailable),
        (40003, errors.RecipientUnavailable),
        (43019, errors.RecipientUnavailable),
        (48002, errors.RecipientUnavailable),
        (-1, errors.SystemBusy),
        (48001, errors.ApiUnauthorized),
        (40007, errors.InvalidArgument),
        (44002, errors.InvalidArgument),
    ],
)
def test_send_errors_arrive_typed_with_their_rid(
    wechat: Sandbox, errcode: int, family: type[errors.WeChatError]
) -> None:
    mp = client_for("demo-mp")
    wechat.fail_next("message/custom/send", errcode=errcode, openid=USER)

    with pytest.raises(family) as caught:
        mp.send_custom(USER, TextMessage("hi"))

    assert caught.value.errcode == errcode
    assert caught.value.rid
    mp.send_custom(USER, TextMessage("the fault was for one call only"))


def test_a_fault_for_one_openid_leaves_the_others_alone(wechat: Sandbox) -> None:
    mp = client_for("demo-mp")
    wechat.fail_next("message/custom/send", errcode=43019, openid="oBlocked", times=3)

    mp.send_custom(USER, TextMessage("fine"))
    with pytest.raises(errors.RecipientUnavailable):
        mp.send_custom("oBlocked", TextMessage("blocked"))


def test_real_sandbox_validation_maps_to_invalid_argument(wechat: Sandbox) -> None:
    with pytest.raises(errors.InvalidArgument) as caught:
        client_for("demo-mp").send_custom(USER, ImageMessage("never-uploaded"))

    assert caught.value.errcode == 40007


def test_outside_the_window_when_the_user_has_not_written(wechat: Sandbox) -> None:
    wechat.require_session = True
    mp = client_for("demo-mp")

    with pytest.raises(errors.OutsideWindow):
        mp.send_custom(USER, TextMessage("too late"))
    wechat.interact(MP_APPID, USER)
    for n in range(5):
        mp.send_custom(USER, TextMessage(f"reply {n}"))
    with pytest.raises(errors.UserQuotaExhausted):
        mp.send_custom(USER, TextMessage("a sixth"))


def test_a_non_follower_cannot_receive_oa_messages_when_the_sandbox_checks(wechat: Sandbox) -> None:
    wechat.require_follow = True

    with pytest.raises(errors.RecipientUnavailable) as caught:
        client_for("demo-oa").send_custom(USER, TextMessage("hi"))
    assert caught.value.errcode == 43004


def test_ip_not_whitelisted_on_the_token_endpoint(wechat: Sandbox) -> None:
    wechat.fail_next("stable_token", errcode=40164)

    with pytest.raises(errors.IpNotWhitelisted, match="whitelist"):
        client_for("demo-oa").callback_ips()


def test_a_wrong_secret_is_credentials_invalid(wechat: Sandbox) -> None:
    wechat.register_app(OA_APPID, "another-secret", "official_account")

    with pytest.raises(errors.CredentialsInvalid) as caught:
        client_for("demo-oa").callback_ips()
    assert caught.value.errcode == 40125


def test_an_unknown_appid_is_credentials_invalid(wechat: Sandbox) -> None:
    del wechat.apps[OA_APPID]

    with pytest.raises(errors.CredentialsInvalid) as caught:
        client_for("demo-oa").callback_ips()
    assert caught.value.errcode == 40013


def test_http_5xx_is_wechat_unavailable(wechat: Sandbox) -> None:
    mp = client_for("demo-mp")
    mp.callback_ips()
    wechat.fail_next("getcallbackip", status=502)

    with pytest.raises(errors.WeChatUnavailable) as caught:
        mp.callback_ips()
    assert caught.value.retryable


def test_a_dropped_connection_is_wechat_unavailable(wechat: Sandbox) -> None:
    mp = client_for("demo-mp")
    mp.callback_ips()
    wechat.fail_next("message/custom/send", drop=True)

    with pytest.raises(errors.WeChatUnavailable, match="lost"):
        mp.send_custom(USER, TextMessage("hi"))


def test_a_slow_answer_times_out(wechat: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(client_http, "TIMEOUTS", (2.0, 0.3))
    mp = client_for("demo-mp")
    mp.callback_ips()
    wechat.fail_next("getcallbackip", delay=1.0)

    with pytest.raises(errors.WeChatUnavailable, match="no answer"):
        mp.callback_ips()


def test_a_slow_answer_within_the_timeout_is_fine(wechat: Sandbox) -> None:
    wechat.fail_next("getcallbackip", delay=0.2)

    assert client_for("demo-mp").callback_ips()


def test_failure_logs_carry_rid_but_never_the_token_or_secret(
    wechat: Sandbox, caplog: pytest.LogCaptureFixture
) -> None:
    mp = client_for("demo-mp")
    wechat.fail_next("getcallbackip", errcode=-1)
    with pytest.raises(errors.SystemBusy) as caught:
        mp.callback_ips()
    wechat.fail_next("getcallbackip", drop=True)
    with pytest.raises(errors.WeChatUnavailable):
        mp.callback_ips()

    logged = [record.__dict__ for record in caplog.records]
    output = repr(logged)
    token = wechat.tokens_of(MP_APPID)[0]
    assert caught.value.rid and any(entry.get("rid") == caught.value.rid for entry in logged)
    assert token not in output
    assert "dev-mp-secret" not in output
