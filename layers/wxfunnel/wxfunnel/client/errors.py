"""WeChat API failures as types: one exception per errcode family, each saying whether a retry can help.

`retryable` is a class attribute: True means the same request may succeed later (after a backoff, a token
refresh or a network recovery); False means retrying cannot help until someone changes the request, the
configuration, or the user does something. `permanent` is its negation, for readability at the call site.

| class                | errcodes                                  | retryable                               |
|----------------------|-------------------------------------------|-----------------------------------------|
| TokenInvalid         | 40001, 40014, 42001                       | yes (after the client's refresh, retry) |
| CredentialsInvalid   | 40002, 40013, 40125, 41002, 41004         | no: fix appid/secret in the app config  |
| IpNotWhitelisted     | 40164, 89503, 89506, 89507                | no: whitelist the egress IP             |
| RateLimited          | 45009 (daily quota), 45011 (per minute)   | yes, with backoff                       |
| UserQuotaExhausted   | 45047 (the user's customer-service quota) | no (a RateLimited waiting for the user) |
| OutsideWindow        | 45015                                     | no: the user must interact first        |
| RecipientUnavailable | 40003, 43004, 43019, 48002, 43101         | no                                      |
| ApiUnauthorized      | 48001                                     | no: the account lacks the permission    |
| InvalidArgument      | 40004, 40007, 40008, 40035, 40037, 41001, | no (also raised locally, before a call) |
|                      | 44002, 45002, 47001, 47003, tag 45xxx,    |                                         |
|                      | menu 40015-40027, 40054, 40055, 40120,    |                                         |
|                      | 45064, 65316 (see MENU_CODES)             |                                         |
| SystemBusy           | -1                                        | yes, with backoff                       |
| WeChatUnavailable    | no answer: network, timeout, HTTP 5xx     | yes                                     |
| QrTicketNotFound     | showqrcode answered 404                   | no                                      |
| WeChatError (base)   | any other errcode                         | no                                      |
"""

from __future__ import annotations

import re
from typing import ClassVar

_RID = re.compile(r"rid:\s*([0-9A-Za-z-]+)")


def rid_of(errmsg: str) -> str | None:
    """The request id WeChat appends to errmsg (`… rid: 65d1f2a3-…`), which WeChat support asks for."""
    match = _RID.search(errmsg or "")
    return match.group(1) if match else None


class WeChatError(Exception):
    """A WeChat API call failed; `errcode`, `errmsg`, `rid` come from WeChat when it answered."""

    retryable: ClassVar[bool] = False
    codes: ClassVar[frozenset[int]] = frozenset()

    def __init__(self, message: str | None = None, *, errcode: int | None = None, errmsg: str = "") -> None:
        self.errcode = errcode
        self.errmsg = errmsg
        self.rid = rid_of(errmsg)
        if message is None:
            message = f"WeChat errcode {errcode}: {errmsg}" if errcode is not None else errmsg
        super().__init__(message)

    @property
    def permanent(self) -> bool:
        return not self.retryable


class TokenInvalid(WeChatError):
    """The access token was rejected (invalid, not the latest, or expired)."""

    retryable = True
    codes = frozenset({40001, 40014, 42001})


class CredentialsInvalid(WeChatError):
    """WeChat refused the appid or secret: the app configuration is wrong (or the secret was reset)."""

    codes = frozenset({40002, 40013, 40125, 41002, 41004})


class IpNotWhitelisted(WeChatError):
    """The caller's egress IP is not in the account's API IP whitelist."""

    codes = frozenset({40164, 89503, 89506, 89507})

    def __init__(self, message: str | None = None, *, errcode: int | None = None, errmsg: str = "") -> None:
        super().__init__(
            message
            or (
                f"WeChat errcode {errcode}: the calling IP is not whitelisted. Add this function's egress IP "
                "(the NAT gateway's Elastic IP) to the WeChat console: OA 设置与开发 > 基本配置 > IP白名单, "
                f"MP 开发管理 > 开发设置 > IP白名单. ({errmsg})"
            ),
            errcode=errcode,
            errmsg=errmsg,
        )


class RateLimited(WeChatError):
    """An API quota or rate limit was reached; retry later with backoff."""

    retryable = True
    codes = frozenset({45009, 45011})


class UserQuotaExhausted(RateLimited):
    """The customer-service quota for this user is used up (45047) until the user interacts again."""

    retryable = False
    codes = frozenset({45047})


class OutsideWindow(WeChatError):
    """The customer-service window for this user is closed (45015): the user has not interacted recently."""

    codes = frozenset({45015})


class RecipientUnavailable(WeChatError):
    """The recipient cannot receive it: bad openid, not following, blocked, or no subscription quota left."""

    codes = frozenset({40003, 43004, 43019, 48002, 43101})


class ApiUnauthorized(WeChatError):
    """The account has no permission for this API (e.g. an unverified account, or an OA-only API on an MP)."""

    codes = frozenset({48001})


# menu/create refusing a malformed menu, with WeChat's errmsg [OFF:
# developers.weixin.qq.com/doc/oplatform/developers/errCode,
# …/doc/oplatform/en/Return_codes/Return_code_descriptions_new]: 40015 invalid menu type, 40016 invalid button
# size (1-3 buttons; also a body without "button"), 40017 button type, 40018 button name size, 40019 button
# key size, 40020 button url size, 40021 invalid menu version, 40022 invalid sub_menu level, 40023 sub button
# size (1-5), 40024 sub button type, 40025 sub button name size, 40026 sub button key size, 40027 sub button
# url size (also a missing url), 40054 invalid sub button url domain, 40055 invalid button url domain; 40120
# invalid use sub button type [COMM: developers.weixin.qq.com community]; 45064 a mini program the account is
# not linked to, 65316 links to more than 3 domains [SDK: wechatpy WeChatErrorCode]. (46003 "menu no exist" is
# no error of the request: WeChatClient.menu_get answers it as the empty menu.)
MENU_CODES = frozenset(
    {40015, 40016, 40017, 40018, 40019, 40020, 40021, 40022, 40023, 40024, 40025, 40026, 40027}
    | {40054, 40055, 40120, 45064, 65316}
)


class InvalidArgument(WeChatError, ValueError):
    """The request is malformed; raised locally before any network call or mapped from WeChat's answer."""

    codes = MENU_CODES | frozenset(
        {
            40004,
            40007,
            40008,
            40035,
            40037,
            40097,
            40117,
            41001,
            44002,
            45002,
            47001,
            47003,
            45056,
            45059,
            45157,
            45158,
            45159,
        }
    )


class SystemBusy(WeChatError):
    """WeChat said it is busy (-1); retry with backoff."""

    retryable = True
    codes = frozenset({-1})


class WeChatUnavailable(WeChatError):
    """No usable answer: connection failed on every base, timeout, dropped connection, HTTP 5xx or garbage."""

    retryable = True


class QrTicketNotFound(WeChatError):
    """showqrcode does not know the ticket (wrong or expired)."""


_FAMILIES: tuple[type[WeChatError], ...] = (
    TokenInvalid,
    CredentialsInvalid,
    IpNotWhitelisted,
    UserQuotaExhausted,
    RateLimited,
    OutsideWindow,
    RecipientUnavailable,
    ApiUnauthorized,
    InvalidArgument,
    SystemBusy,
)
_BY_CODE: dict[int, type[WeChatError]] = {code: family for family in _FAMILIES for code in family.codes}


def from_response(errcode: int, errmsg: str = "") -> WeChatError:
    """The exception for a WeChat `{"errcode": …, "errmsg": …}` answer (errcode != 0)."""
    return _BY_CODE.get(errcode, WeChatError)(errcode=errcode, errmsg=errmsg)
