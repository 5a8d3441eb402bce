"""WeChatClient: one method per WeChat API endpoint wxfunnel uses, inputs validated before any network call.

Every call goes through `_call`: take the shared token (tokens.TokenLease), call, and on a token error
(40001/40014/42001) swap the token compare-and-swap style and retry exactly once.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import quote

from wxfunnel.client import http
from wxfunnel.client.errors import InvalidArgument, TokenInvalid, WeChatError, WeChatUnavailable
from wxfunnel.client.outbound import CustomMessage, custom_payload
from wxfunnel.client.tokens import TokenLease, TokenTable
from wxfunnel.config.app import AppConfig
from wxfunnel.config.base import AccountKind
from wxfunnel.core.observability import logger
from wxfunnel.core.settings import settings
from wxfunnel.protocol import limits

_TAG_EXISTS = 45157
_MENU_NOT_FOUND = 46003  # "menu no exist": menu/get of an account without a menu set through the API


class MediaCache(Protocol):
    """Where uploaded media ids are remembered (store.media in the functions)."""

    def get(self, app: str, name: str) -> str | None: ...
    def put(self, app: str, name: str, media_id: str, expires_at: float) -> None: ...


@dataclass(frozen=True, slots=True)
class QrTicket:
    """A QR code WeChat created (qrcode/create): its ticket, content and image URL."""

    ticket: str
    url: str  # the QR code's content (http://weixin.qq.com/q/…)
    expire_seconds: int | None  # None for a permanent code; for a temporary one, what was requested
    image_url: str  # showqrcode URL, ticket URL-encoded


@dataclass(frozen=True, slots=True)
class UserInfo:
    """The fields of user/info that wxfunnel reads about one user of an Official Account."""

    openid: str
    subscribed: bool
    subscribe_time: int | None = None
    unionid: str | None = None
    remark: str = ""
    tag_ids: tuple[int, ...] = ()
    subscribe_scene: str | None = None
    qr_scene: int | None = None
    qr_scene_str: str | None = None
    language: str | None = None


def _openid(openid: str) -> None:
    problem = limits.openid_problem(openid)
    if problem:
        raise InvalidArgument(f"openid {problem}")


def _nonempty(value: object, name: str) -> None:
    if not isinstance(value, str) or not value.strip():
        raise InvalidArgument(f"{name} must be a non-empty string")


def qrcode_request(scene: int | str, *, permanent: bool, expire_seconds: int | None) -> dict[str, Any]:
    """The `qrcode/create` body, or InvalidArgument naming the field and the rule it breaks (protocol.limits).

    int scene → QR_SCENE (temporary) or QR_LIMIT_SCENE (permanent); str scene → QR_STR_SCENE / QR_LIMIT_STR_SCENE.
    expire_seconds: temporary only, default 604800; passing it for a permanent code is an error.
    """
    problem = limits.scene_problem(scene, permanent=permanent)
    if problem:
        raise InvalidArgument(f"scene {problem}")
    scene_value: dict[str, Any] = {"scene_id": scene} if isinstance(scene, int) else {"scene_str": scene}
    action = ("QR_LIMIT_" if permanent else "QR_") + ("SCENE" if isinstance(scene, int) else "STR_SCENE")
    body: dict[str, Any] = {"action_name": action, "action_info": {"scene": scene_value}}
    if permanent:
        if expire_seconds is not None:
            raise InvalidArgument("expire_seconds applies to temporary QR codes only")
        return body
    seconds = limits.QR_DEFAULT_EXPIRE_SECONDS if expire_seconds is None else expire_seconds
    problem = limits.expire_seconds_problem(seconds)
    if problem:
        raise InvalidArgument(f"expire_seconds {problem}")
    return {"expire_seconds": seconds, **body}


def menu_request(menu: Mapping[str, Any]) -> dict[str, Any]:
    """The `menu/create` body, or InvalidArgument naming the first problem by its path (limits.menu_problem):
    the buttons as given, without the empty `sub_button` menu/get puts on every action (so that a menu read
    back can be put again)."""
    problem = limits.menu_problem(menu)
    if problem:
        raise InvalidArgument(f"menu {problem}")
    return {"button": _menu_buttons(menu["button"])}


def _menu_buttons(buttons: Sequence[Any]) -> list[dict[str, Any]]:
    """Buttons in menu/create's shape: an action's fields, or a group's name and its sub-buttons."""
    shaped: list[dict[str, Any]] = []
    for button in buttons:
        if not isinstance(button, Mapping):
            raise WeChatUnavailable(f"a menu button is not an object: {button!r}")
        fields = {key: value for key, value in button.items() if key != "sub_button"}
        subs = button.get("sub_button")
        if subs:
            if not isinstance(subs, list):
                raise WeChatUnavailable(f"a menu button's sub_button is not a list: {subs!r}")
            fields["sub_button"] = _menu_buttons(subs)
        shaped.append(fields)
    return shaped


def _image_type(content: bytes) -> str:
    if content.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if content.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if content[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    raise InvalidArgument("content must be a JPEG, PNG or GIF image")


class WeChatClient:
    """The WeChat API for one configured account (OA or MP), sharing its access token through DynamoDB."""

    def __init__(self, app: AppConfig, tokens: TokenTable, media: MediaCache) -> None:
        self.app = app
        self.tokens = TokenLease(app, tokens)
        self._media = media
        self._tag_ids: dict[str, int] = {}
        self._tag_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"WeChatClient({self.app.name!r}, {self.app.kind.value})"

    # --- plumbing -----------------------------------------------------------------------------------------

    def _require(self, kind: AccountKind, what: str) -> None:
        if self.app.kind is not kind:
            raise InvalidArgument(
                f"{what} needs a {kind.value}; '{self.app.name}' is a {self.app.kind.value}"
            )

    def _call(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        json_body: Mapping[str, Any] | None = None,
        files: http.Files | None = None,
    ) -> dict[str, Any]:
        token = self.tokens.current()
        try:
            return http.call(
                method, path, access_token=token, params=params, json_body=json_body, files=files
            )
        except TokenInvalid:
            logger.info("access token rejected; replacing it, retrying once", extra={"app": self.app.name})
        token = self.tokens.replace(token)
        return http.call(method, path, access_token=token, params=params, json_body=json_body, files=files)

    # --- QR codes -----------------------------------------------------------------------------------------

    def create_qrcode(
        self, scene: int | str, *, permanent: bool, expire_seconds: int | None = None
    ) -> QrTicket:
        """Create a parametric QR code (OA only).

        https://developers.weixin.qq.com/doc/offiaccount/Account_Management/Generating_a_Parametric_QR_Code.html
        """
        self._require(AccountKind.OFFICIAL_ACCOUNT, "qrcode/create")
        body = qrcode_request(scene, permanent=permanent, expire_seconds=expire_seconds)
        answer = self._call("POST", "/cgi-bin/qrcode/create", json_body=body)
        ticket, url = answer.get("ticket"), answer.get("url")
        if not isinstance(ticket, str) or not ticket or not isinstance(url, str):
            raise WeChatUnavailable("qrcode/create answered without a ticket")
        return QrTicket(
            ticket=ticket,
            url=url,
            expire_seconds=None if permanent else int(body["expire_seconds"]),
            image_url=self.showqrcode_url(ticket),
        )

    def showqrcode_url(self, ticket: str) -> str:
        """The image URL of a ticket (no token needed; the ticket URL-encoded).

        https://developers.weixin.qq.com/doc/offiaccount/Account_Management/Generating_a_Parametric_QR_Code.html
        """
        _nonempty(ticket, "ticket")
        return f"{settings().wechat_mp_base}/cgi-bin/showqrcode?ticket={quote(ticket, safe='')}"

    def fetch_qrcode_image(self, ticket: str) -> tuple[bytes, str]:
        """Download the QR image of `ticket` → (bytes, content type); QrTicketNotFound for an unknown ticket.

        https://developers.weixin.qq.com/doc/offiaccount/Account_Management/Generating_a_Parametric_QR_Code.html
        """
        return http.get_image(self.showqrcode_url(ticket))

    # --- customer service ---------------------------------------------------------------------------------

    def send_custom(self, openid: str, message: CustomMessage) -> None:
        """Send a customer-service message (MP: text, image, link, miniprogrampage; OA: text, image, news,
        miniprogrampage).

        OA: https://developers.weixin.qq.com/doc/offiaccount/Message_Management/Service_Center_messages.html
        MP: https://developers.weixin.qq.com/miniprogram/dev/OpenApiDoc/kf-mgnt/kf-message/sendCustomMessage.html
        """
        _openid(openid)
        payload = custom_payload(self.app.kind, openid, message)
        self._call("POST", "/cgi-bin/message/custom/send", json_body=payload)

    def typing(self, openid: str, on: bool = True) -> None:
        """Show (or cancel) "typing…" to the user in the customer-service chat.

        OA: https://developers.weixin.qq.com/doc/offiaccount/Message_Management/Service_Center_messages.html
        MP: https://developers.weixin.qq.com/miniprogram/dev/OpenApiDoc/kf-mgnt/kf-message/setTyping.html
        """
        _openid(openid)
        self._call(
            "POST",
            "/cgi-bin/message/custom/typing",
            json_body={"touser": openid, "command": "Typing" if on else "CancelTyping"},
        )

    def upload_image(self, content: bytes, filename: str = "image.jpg") -> str:
        """Upload a temporary image → media_id, reused (by sha256 of the bytes) for just under its 3-day life.

        OA: https://developers.weixin.qq.com/doc/offiaccount/Asset_Management/New_temporary_materials.html
        MP: https://developers.weixin.qq.com/miniprogram/dev/OpenApiDoc/kf-mgnt/kf-message/uploadTempMedia.html
        """
        if not isinstance(content, bytes | bytearray) or not content:
            raise InvalidArgument("content must be non-empty image bytes")
        if len(content) > limits.MEDIA_MAX_BYTES:
            raise InvalidArgument(
                f"content must be at most {limits.MEDIA_MAX_BYTES} bytes (WeChat's image limit)"
            )
        content_type = _image_type(bytes(content))
        _nonempty(filename, "filename")
        digest = hashlib.sha256(content).hexdigest()
        cached = self._media.get(self.app.name, digest)
        if cached is not None:
            return cached
        answer = self._call(
            "POST",
            "/cgi-bin/media/upload",
            params={"type": "image"},
            files={"media": (filename, bytes(content), content_type)},
        )
        media_id = answer.get("media_id")
        if not isinstance(media_id, str) or not media_id:
            raise WeChatUnavailable("media/upload answered without a media_id")
        created = float(answer.get("created_at") or time.time())
        self._media.put(self.app.name, digest, media_id, created + limits.MEDIA_REUSE_SECONDS)
        return media_id

    # --- users and tags (OA) ------------------------------------------------------------------------------

    def user_info(self, openid: str) -> UserInfo:
        """A user's follow status and where they came from (no nickname/avatar since 2021-12-27).

        https://developers.weixin.qq.com/doc/offiaccount/User_Management/Get_users_basic_information_UnionID.html
        """
        self._require(AccountKind.OFFICIAL_ACCOUNT, "user/info")
        _openid(openid)
        answer = self._call("GET", "/cgi-bin/user/info", params={"openid": openid, "lang": "zh_CN"})
        return UserInfo(
            openid=str(answer.get("openid") or openid),
            subscribed=answer.get("subscribe") == 1,
            subscribe_time=answer.get("subscribe_time") or None,
            unionid=answer.get("unionid") or None,
            remark=str(answer.get("remark") or ""),
            tag_ids=tuple(int(t) for t in answer.get("tagid_list") or ()),
            subscribe_scene=answer.get("subscribe_scene") or None,
            qr_scene=answer.get("qr_scene") or None,
            qr_scene_str=answer.get("qr_scene_str") or None,
            language=answer.get("language") or None,
        )

    def create_tag(self, name: str) -> int:
        """Create a user tag → its id (≤ 30 bytes, ≤ 100 tags per account; 45157 if the name exists).

        https://developers.weixin.qq.com/doc/offiaccount/User_Management/User_Tag_Management.html
        """
        self._require(AccountKind.OFFICIAL_ACCOUNT, "tags/create")
        self._tag_name(name)
        answer = self._call("POST", "/cgi-bin/tags/create", json_body={"tag": {"name": name}})
        tag_id = int(answer["tag"]["id"])
        self._tag_ids[name] = tag_id
        return tag_id

    def tags(self) -> dict[str, int]:
        """Every tag of the account, name → id.

        https://developers.weixin.qq.com/doc/offiaccount/User_Management/User_Tag_Management.html
        """
        self._require(AccountKind.OFFICIAL_ACCOUNT, "tags/get")
        answer = self._call("GET", "/cgi-bin/tags/get")
        return {str(tag["name"]): int(tag["id"]) for tag in answer.get("tags") or ()}

    def tag_id(self, name: str) -> int:
        """The id of tag `name`, created if missing (tags/get, then tags/create; cached per container)."""
        self._tag_name(name)
        with self._tag_lock:
            if name in self._tag_ids:
                return self._tag_ids[name]
            self._tag_ids.update(self.tags())
            if name not in self._tag_ids:
                try:
                    self.create_tag(name)
                except WeChatError as exc:
                    if exc.errcode != _TAG_EXISTS:
                        raise
                    self._tag_ids.update(self.tags())  # created concurrently by another container
            return self._tag_ids[name]

    def tag_users(self, tag_id: int, openids: Sequence[str]) -> None:
        """Tag users, in batches of at most 50 openids per call.

        https://developers.weixin.qq.com/doc/offiaccount/User_Management/User_Tag_Management.html
        """
        self._require(AccountKind.OFFICIAL_ACCOUNT, "tags/members/batchtagging")
        if isinstance(tag_id, bool) or not isinstance(tag_id, int) or tag_id <= 0:
            raise InvalidArgument("tag_id must be a positive integer")
        if isinstance(openids, str):
            raise InvalidArgument("openids must be a sequence of openids, not a string")
        unique = list(dict.fromkeys(openids))
        for openid in unique:
            _openid(openid)
        for start in range(0, len(unique), limits.TAG_BATCH):
            self._call(
                "POST",
                "/cgi-bin/tags/members/batchtagging",
                json_body={"openid_list": unique[start : start + limits.TAG_BATCH], "tagid": tag_id},
            )

    @staticmethod
    def _tag_name(name: str) -> None:
        problem = limits.tag_name_problem(name)
        if problem:
            raise InvalidArgument(f"tag name {problem}")

    # --- template (OA) and subscribe (MP) messages --------------------------------------------------------

    def send_template(
        self,
        openid: str,
        template_id: str,
        data: Mapping[str, str],
        *,
        url: str | None = None,
        miniprogram: Mapping[str, str] | None = None,
        client_msg_id: str | None = None,
    ) -> str:
        """Send a template message (OA) → msgid; `client_msg_id` makes WeChat drop repeats for 10 minutes.

        https://developers.weixin.qq.com/doc/offiaccount/Message_Management/Template_Message_Interface.html
        """
        self._require(AccountKind.OFFICIAL_ACCOUNT, "message/template/send")
        _openid(openid)
        _nonempty(template_id, "template_id")
        body: dict[str, Any] = {"touser": openid, "template_id": template_id, "data": self._data(data)}
        if url is not None:
            problem = limits.url_problem(url)
            if problem:
                raise InvalidArgument(f"url {problem}")
            body["url"] = url
        if miniprogram is not None:
            appid = miniprogram.get("appid", "")
            problem = limits.appid_problem(appid)
            if problem:
                raise InvalidArgument(f"miniprogram.appid {problem}")
            body["miniprogram"] = {"appid": appid, "pagepath": str(miniprogram.get("pagepath", ""))}
        if client_msg_id is not None:
            _nonempty(client_msg_id, "client_msg_id")
            body["client_msg_id"] = client_msg_id
        answer = self._call("POST", "/cgi-bin/message/template/send", json_body=body)
        return str(answer.get("msgid", ""))

    def send_subscribe_message(
        self,
        openid: str,
        template_id: str,
        data: Mapping[str, str],
        *,
        page: str | None = None,
        miniprogram_state: str | None = None,
        lang: str | None = None,
    ) -> None:
        """Send a subscribe message (MP); 43101 (RecipientUnavailable) when the user has no quota left.

        https://developers.weixin.qq.com/miniprogram/dev/OpenApiDoc/mp-message-management/subscribe-message/sendMessage.html
        """
        self._require(AccountKind.MINI_PROGRAM, "message/subscribe/send")
        _openid(openid)
        _nonempty(template_id, "template_id")
        body: dict[str, Any] = {"touser": openid, "template_id": template_id, "data": self._data(data)}
        if page is not None:
            _nonempty(page, "page")
            body["page"] = page
        if miniprogram_state is not None:
            if miniprogram_state not in {"developer", "trial", "formal"}:
                raise InvalidArgument("miniprogram_state must be developer, trial or formal")
            body["miniprogram_state"] = miniprogram_state
        if lang is not None:
            if lang not in {"zh_CN", "en_US", "zh_HK", "zh_TW"}:
                raise InvalidArgument("lang must be zh_CN, en_US, zh_HK or zh_TW")
            body["lang"] = lang
        self._call("POST", "/cgi-bin/message/subscribe/send", json_body=body)

    @staticmethod
    def _data(data: Mapping[str, str]) -> dict[str, dict[str, str]]:
        if not isinstance(data, Mapping) or not data:
            raise InvalidArgument("data must be a non-empty mapping of keyword → value")
        rendered: dict[str, dict[str, str]] = {}
        for key, value in data.items():
            if not isinstance(key, str) or not key or not isinstance(value, str):
                raise InvalidArgument(f"data[{key!r}] must map a keyword name to a string value")
            rendered[key] = {"value": value}
        return rendered

    # --- custom menu (OA) ---------------------------------------------------------------------------------

    def menu_create(self, menu: Mapping[str, Any]) -> None:
        """Set the account's custom menu, `{"button": [...]}`, replacing the current one (checked first: see
        limits.menu_problem). A CLICK button's key comes back as the push's EventKey. Clients fetch the menu
        again when a user opens the chat and their copy is over 5 minutes old (unfollow and follow shows it at
        once). Verified accounts only (48001, ApiUnauthorized, otherwise); a menu WeChat refuses is an
        InvalidArgument (errors.MENU_CODES).

        https://developers.weixin.qq.com/doc/service/api/custommenu/api_createcustommenu
        """
        self._require(AccountKind.OFFICIAL_ACCOUNT, "menu/create")
        self._call("POST", "/cgi-bin/menu/create", json_body=menu_request(menu))

    def menu_get(self) -> dict[str, Any]:
        """The account's custom menu as menu_create takes it (`{"button": [...]}`), or `{"button": []}` when
        it has none: WeChat's 46003 ("menu no exist") is a state, not a failure, answered as the empty menu.

        Only the menu set through the API: personalised menus (`conditionalmenu`) are left out, and a menu
        published in the web console is visible to get_current_selfmenu_info only (another shape).

        https://developers.weixin.qq.com/doc/service/api/custommenu/api_getmenu
        """
        self._require(AccountKind.OFFICIAL_ACCOUNT, "menu/get")
        try:
            answer = self._call("GET", "/cgi-bin/menu/get")
        except WeChatError as exc:
            if exc.errcode != _MENU_NOT_FOUND:
                raise
            return {"button": []}
        menu = answer.get("menu")
        buttons = menu.get("button") if isinstance(menu, dict) else None
        if not isinstance(buttons, list):
            raise WeChatUnavailable("menu/get answered without menu.button")
        return {"button": _menu_buttons(buttons)}

    def menu_delete(self) -> None:
        """Delete the account's custom menu (and, WeChat's rule, every personalised menu).

        https://developers.weixin.qq.com/doc/service/api/custommenu/api_deletemenu
        """
        self._require(AccountKind.OFFICIAL_ACCOUNT, "menu/delete")
        self._call("GET", "/cgi-bin/menu/delete")

    # --- platform -----------------------------------------------------------------------------------------

    def callback_ips(self) -> list[str]:
        """The IP addresses WeChat pushes from.

        https://developers.weixin.qq.com/doc/offiaccount/Basic_Information/Get_the_WeChat_server_IP_address.html
        """
        answer = self._call("GET", "/cgi-bin/getcallbackip")
        return [str(ip) for ip in answer.get("ip_list") or ()]
