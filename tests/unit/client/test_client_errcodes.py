"""WeChat errcodes become typed exceptions that say whether a retry can help."""

from __future__ import annotations

import pytest

from wxfunnel.client import errors
from wxfunnel.client.http import redact


@pytest.mark.parametrize(
    ("errcode", "family", "retryable"),
    [
        (40001, errors.TokenInvalid, True),
        (40014, errors.TokenInvalid, True),
        (42001, errors.TokenInvalid, True),
        (45009, errors.RateLimited, True),
        (45011, errors.RateLimited, True),
        (45047, errors.UserQuotaExhausted, False),
        (45015, errors.OutsideWindow, False),
        (43004, errors.RecipientUnavailable, False),
        (40003, errors.RecipientUnavailable, False),
        (43019, errors.RecipientUnavailable, False),
        (48002, errors.RecipientUnavailable, False),
        (43101, errors.RecipientUnavailable, False),
        (-1, errors.SystemBusy, True),
        (40164, errors.IpNotWhitelisted, False),
        (40013, errors.CredentialsInvalid, False),
        (40125, errors.CredentialsInvalid, False),
        (48001, errors.ApiUnauthorized, False),
        (40007, errors.InvalidArgument, False),
        (44002, errors.InvalidArgument, False),
        (47003, errors.InvalidArgument, False),
    ],
)
def test_each_errcode_maps_to_its_family(
    errcode: int, family: type[errors.WeChatError], retryable: bool
) -> None:
    error = errors.from_response(errcode, "something rid: 65d1f2a3-1a2b3c4d-5e6f7a8b")

    assert type(error) is family
    assert error.errcode == errcode
    assert error.retryable is retryable
    assert error.permanent is not retryable
    assert error.rid == "65d1f2a3-1a2b3c4d-5e6f7a8b"


def test_the_user_quota_is_a_rate_limit_that_waiting_does_not_fix() -> None:
    error = errors.from_response(45047, "out of response count limit")

    assert isinstance(error, errors.RateLimited)
    assert error.permanent


def test_an_unknown_errcode_is_a_permanent_base_error() -> None:
    error = errors.from_response(99999, "new error rid: abc-def")

    assert type(error) is errors.WeChatError
    assert error.permanent
    assert error.rid == "abc-def"
    assert "99999" in str(error)


def test_ip_not_whitelisted_tells_the_operator_what_to_do() -> None:
    error = errors.from_response(40164, "invalid ip 1.2.3.4, not in whitelist rid: x-y")

    assert "whitelist" in str(error).lower()
    assert "console" in str(error)
    assert "1.2.3.4" in str(error)


def test_network_failures_are_retryable_and_missing_tickets_are_not() -> None:
    assert errors.WeChatUnavailable("timeout").retryable
    assert errors.QrTicketNotFound("gone").permanent
    assert errors.InvalidArgument("scene_id").errcode is None
    assert isinstance(errors.InvalidArgument("x"), ValueError)


def test_errmsg_without_rid_has_no_rid() -> None:
    assert errors.from_response(40001, "invalid credential").rid is None


def test_tokens_and_secrets_are_redacted_from_urls() -> None:
    text = (
        "GET /cgi-bin/user/info?access_token=SBX_abc-123&openid=o1 and /cgi-bin/token?appid=wx1&secret=s3cr3t"
    )

    redacted = redact(text)

    assert "SBX_abc-123" not in redacted
    assert "s3cr3t" not in redacted
    assert "access_token=***" in redacted
    assert "openid=o1" in redacted


@pytest.mark.parametrize(
    "errcode", [40016, 40017, 40018, 40019, 40020, 40022, 40023, 40025, 40027, 40054, 40055, 45064]
)
def test_a_menu_wechat_refuses_is_an_invalid_argument(errcode: int) -> None:
    error = errors.from_response(errcode, "invalid button name size rid: 1-2")

    assert type(error) is errors.InvalidArgument
    assert error.permanent and errcode in errors.MENU_CODES


def test_no_menu_is_not_mapped_to_a_family() -> None:
    """46003 "menu no exist" is a state menu_get answers as the empty menu, not a malformed request."""
    assert type(errors.from_response(46003, "menu no exist")) is errors.WeChatError
