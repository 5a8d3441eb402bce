"""A local WeChat API sandbox (stdlib HTTP server) for tests, the local stack and the demo.

Start it and point wxfunnel at it:

    sandbox = Sandbox.start()                 # 127.0.0.1, any free port; Sandbox.start(port=8901) to fix it
    sandbox.register_dev_apps()               # demo-oa / demo-mp from wxfunnel_tools.devapps
    WECHAT_API_BASE = sandbox.api_base        # e.g. http://127.0.0.1:40123
    WECHAT_MP_BASE  = sandbox.mp_base         # api_base + "/mp" (serves /cgi-bin/showqrcode only)
    ...
    sandbox.stop()

Endpoints (answers and errcodes as WeChat's; every error errmsg ends in "rid: …"):
  GET  /cgi-bin/token                  classic token; 40002 grant_type, 41002/41004 missing, 40013 appid,
                                       40125 secret; each call issues a new token, older ones die 5 min later
  POST /cgi-bin/stable_token           same token until its last 5 minutes; force_refresh=true replaces it
  POST /cgi-bin/qrcode/create          OA only (48001 for an MP); the four action_names, scene ranges and
                                       expire_seconds 1..2592000 (40035 naming the field); tickets contain
                                       '+', '/' and '=' so that a client that forgets URL-encoding fails
  GET  {mp_base}/cgi-bin/showqrcode    a PNG of the QR code of the ticket's url (segno), for a known,
                                       unexpired ticket; 404 otherwise (WeChat sends a JPEG of it)
  POST /cgi-bin/message/custom/send    MP: text, image, link, miniprogrampage only; OA: its types but not link
                                       (40008); 40003 bad openid, 40007 unknown media_id, 44002 empty body,
                                       47001 bad JSON, 45002 text > 2048 bytes
  POST /cgi-bin/message/custom/typing  Typing | CancelTyping
  POST /cgi-bin/media/upload           multipart field `media`; MP images only (40004); 40006 over 2 MB;
                                       media_ids live 3 days
  GET  /cgi-bin/user/info              OA; subscribe 1/0 from the followers the sandbox keeps, qr_scene(_str)
  POST /cgi-bin/tags/create, GET /cgi-bin/tags/get, POST /cgi-bin/tags/members/batchtagging (1..50 openids
                                       else 40032; followers only; 45157 name taken, 45158 too long, 45159 id)
  POST /cgi-bin/message/template/send  OA; 40037 template_id, 47003 data; client_msg_id: a repeat for the same
                                       user within 10 min is not delivered again and answers the first msgid
  POST /cgi-bin/message/subscribe/send MP; 43101 when require_subscription and no grant is left
  GET  /cgi-bin/getcallbackip
  POST /cgi-bin/menu/create            OA only (48001 for an MP); replaces the app's menu. 1-3 buttons
                                       (40016, also for a body without "button"), 1-5 sub-buttons (40023),
                                       two levels (40022); names ≤ 16 / 60 bytes (40018 / 40025), the 13
                                       types (40017 / 40024), keys ≤ 128 bytes (40019 / 40026), URLs ≤ 1024
                                       bytes (40020 / 40027) and http(s) (40055 / 40054): top-level codes /
                                       sub-button codes; a miniprogram's appid must be an MP the sandbox knows
                                       (45064), with a pagepath; a missing media_id 40007, article_id 40035
  GET  /cgi-bin/menu/get               OA; {"menu": {"button": [...]}} with an empty sub_button on every
                                       action, as WeChat answers it; 46003 when the app has no menu
  GET  /cgi-bin/menu/delete            OA; forgets the app's menu (ok when there is none)
Every API call needs a valid access_token: 41001 missing, 40001 unknown/invalidated, 42001 expired.
Opt-in strictness: Sandbox.start(require_follow=True) → 43004 when an OA sends to a non-follower;
require_session=True → 45015 without a user interaction in 48 h, 45047 after 5 messages;
require_subscription=True → subscribe/send needs grant_subscription().

Recorder: every call is kept as a `Call(endpoint, method, appid, payload, errcode, status, at, openid)`,
`appid` being the app whose token was used:
    sandbox.calls("message/custom/send", appid=MP_APPID)[-1].payload == {...}
    sandbox.count("stable_token") == 1 ; sandbox.token_requests(appid) ; sandbox.counters()
Deliveries (what the user would see): sandbox.deliveries(openid=…).

Fault injection: sandbox.fail_next(endpoint, errcode=… | status=5xx | delay=seconds | drop=True, times=N,
openid=…); sandbox.invalidate_tokens(appid) (40001), sandbox.expire_tokens(appid) (42001),
sandbox.advance(seconds) moves the sandbox clock. `sandbox.dead_base` (or `refusing_base()`) is a base URL
that refuses connections, for failover tests.

Users: sandbox.follow(oa_appid, openid, scene=…), unfollow, interact, grant_subscription. QR tickets:
sandbox.qr(ticket), sandbox.qr_for_url(content_or_image_url), sandbox.scene_for_ticket(ticket). Menus:
sandbox.menu(appid) (the buttons as menu/create received them, None without a menu).

From another process, the same through HTTP: POST {api_base}/__sandbox__/apps|faults|faults/clear|invalidate|
expire|follow|unfollow|interact|grant|advance|reset|calls/reset (JSON bodies with the arguments above) and
GET /__sandbox__/calls?endpoint=&appid=, /qr?ticket= or ?url=, /deliveries?openid=, /following?appid=&openid=,
/menu?appid=;
`RemoteSandbox(api_base)` wraps them with the same method names.
"""

from __future__ import annotations

from wxfunnel_tools.sandbox.remote import RemoteSandbox
from wxfunnel_tools.sandbox.server import ClosedPort, Sandbox, refusing_base
from wxfunnel_tools.sandbox.state import (
    MINI_PROGRAM,
    OFFICIAL_ACCOUNT,
    Call,
    Delivery,
    Media,
    QrRecord,
    World,
    endpoint_path,
)

__all__ = [
    "MINI_PROGRAM",
    "OFFICIAL_ACCOUNT",
    "Call",
    "ClosedPort",
    "Delivery",
    "Media",
    "QrRecord",
    "RemoteSandbox",
    "Sandbox",
    "World",
    "endpoint_path",
    "refusing_base",
]
