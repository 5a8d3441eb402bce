"""The `wxfunnel` command: the local stack and the operator's commands (app configuration, QR codes, …).

Every subcommand is one small function registered in COMMANDS with the function that declares its arguments;
it receives the parsed arguments and returns the exit status (0 done, 1 failed with a reason on stderr, 2 a port
that cannot be used).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

from wxfunnel_tools import cli_livecodes as L
from wxfunnel_tools.template import use_layer

DEFAULT_LOCAL_PORT = 8900
DEFAULT_SANDBOX_PORT = 8901
DEFAULT_AWS_PORT = 8902
SECRET_FIELDS = frozenset({"secret", "token", "encoding_aes_key", "previous_encoding_aes_key"})


class Failure(Exception):
    """A command could not do its job; the message is printed as is and the exit status is 1."""


def _session(args: argparse.Namespace) -> Any:
    """The caller's AWS session; against the local stack (AWS_ENDPOINT_URL on 127.0.0.1) dummy credentials do."""
    import boto3

    from wxfunnel_tools.admin_client import LOCAL_REGION, is_loopback

    session = boto3.session.Session(profile_name=args.profile, region_name=args.region)
    if is_loopback(os.environ.get("AWS_ENDPOINT_URL", "")) and session.get_credentials() is None:
        session = boto3.session.Session(
            aws_access_key_id="local",
            aws_secret_access_key="local",
            region_name=args.region or session.region_name or LOCAL_REGION,
        )
    elif is_loopback(os.environ.get("AWS_ENDPOINT_URL", "")) and not session.region_name:
        session = boto3.session.Session(profile_name=args.profile, region_name=LOCAL_REGION)
    return session


def _aws_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--profile", help="AWS profile (default: the usual AWS credential chain)")
    parser.add_argument("--region", help="AWS region (default: the profile's or AWS_REGION)")


def _stack_options(parser: argparse.ArgumentParser) -> None:
    _aws_options(parser)
    parser.add_argument(
        "--stack-name", help="a deployed wxfunnel stack: its outputs give the URLs and prefix"
    )


def admin_options(parser: argparse.ArgumentParser) -> None:
    """Options of every command that calls the admin API (qr, stats, notify…)."""
    _stack_options(parser)
    parser.add_argument(
        "--admin-url",
        default=os.environ.get("WXFUNNEL_ADMIN_URL"),
        help=f"admin API base URL (default: $WXFUNNEL_ADMIN_URL, the stack's AdminApiUrl output, "
        f"or the local stack at http://127.0.0.1:{DEFAULT_LOCAL_PORT}/v1)",
    )


def admin_client(args: argparse.Namespace) -> Any:
    """The admin API client the options name: --admin-url, --stack-name's output, or the local stack."""
    from wxfunnel_tools.admin_client import AdminClient, stack_admin_url

    session = _session(args)
    if args.admin_url:
        url = args.admin_url
    elif args.stack_name:
        url = stack_admin_url(args.stack_name, session)
    else:
        url = f"http://127.0.0.1:{DEFAULT_LOCAL_PORT}/v1"
    return AdminClient(url, session=session, region=args.region)


# --- local ------------------------------------------------------------------------------------------------


def _local_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--port",
        type=int,
        default=DEFAULT_LOCAL_PORT,
        help="API port: callbacks and admin API (default: %(default)s; 0: any free port)",
    )
    parser.add_argument(
        "--sandbox-port",
        type=int,
        default=DEFAULT_SANDBOX_PORT,
        help="WeChat sandbox port (default: %(default)s; 0: any free port)",
    )
    parser.add_argument(
        "--aws-port",
        type=int,
        default=DEFAULT_AWS_PORT,
        help="embedded AWS (moto) port (default: %(default)s; 0: any free port)",
    )
    parser.add_argument(
        "--log-level",
        default="INFO",
        help="log level of the functions, POWERTOOLS_LOG_LEVEL (default: %(default)s)",
    )
    parser.add_argument(
        "--verbose",
        action="store_true",
        help="also log every request (the API front's and the embedded AWS's access logs)",
    )
    parser.add_argument(
        "--real-wechat",
        metavar="NAME=FILE",
        help="add the app NAME configured by FILE (e.g. WeChat's test account) and send its WeChat API calls to "
        "api.weixin.qq.com instead of the sandbox; every other app keeps the sandbox",
    )


def _raise_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


# The flag that moves each server of `wxfunnel local` to another port.
LOCAL_PORT_FLAGS = {"api": "--port", "sandbox": "--sandbox-port", "aws": "--aws-port"}


def _real_wechat(option: str | None) -> Any:
    """The RealWeChat of `--real-wechat NAME=FILE` (the file validated as an app configuration), or None."""
    if not option:
        return None
    from wxfunnel_tools.localstack import RealWeChat

    name, separator, path = option.partition("=")
    if not separator or not path:
        raise Failure("--real-wechat takes NAME=FILE: the app's name and its JSON configuration")
    return RealWeChat(name, _read_config(path, name))


def run_local(args: argparse.Namespace) -> int:
    use_layer()
    from wxfunnel_tools.devapps import demo_apps
    from wxfunnel_tools.localstack import LocalStack, PortUnavailable
    from wxfunnel_tools.localstack.terminal import configure_logging
    from wxfunnel_tools.localstack.wechat_router import describe

    real_wechat = _real_wechat(args.real_wechat)
    configure_logging(verbose=args.verbose)
    signal.signal(signal.SIGTERM, _raise_interrupt)
    print("starting the local stack (embedded AWS, WeChat sandbox, API front, SQS pollers)…", flush=True)
    stack = LocalStack(
        apps=demo_apps(),  # the demo's world: every example the banner and the README print answers
        port=args.port,
        sandbox_port=args.sandbox_port,
        aws_port=args.aws_port,
        environment={"POWERTOOLS_LOG_LEVEL": args.log_level.upper()},
        real_wechat=real_wechat,
    )
    try:
        with stack:
            print(local_banner(stack), flush=True)
            if real_wechat is not None:
                print(describe(real_wechat, stack.callback_url(real_wechat.app)), flush=True)
            while True:
                time.sleep(3600)
    except PortUnavailable as exc:
        print(f"wxfunnel: {exc.advice(LOCAL_PORT_FLAGS[exc.server], '`wxfunnel local`')}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\nstopped.", flush=True)
    return 0


def local_banner(stack: Any) -> str:
    """What `wxfunnel local` prints: the URLs, each dev app's console settings, and commands to try."""
    from wxfunnel.protocol import crypto
    from wxfunnel_tools.admin_client import LOCAL_CREDENTIALS

    access_key, secret_key = LOCAL_CREDENTIALS.access_key, LOCAL_CREDENTIALS.secret_key
    timestamp, nonce = str(int(time.time())), "20240601"
    oa = stack.apps["demo-oa"]
    verify_query = (
        f"signature={crypto.signature(oa['token'], timestamp, nonce)}"
        f"&timestamp={timestamp}&nonce={nonce}&echostr=hello-wechat"
    )
    sandbox = stack.sandbox.api_base if stack.sandbox else "(not running)"
    lines = [
        "",
        "wxfunnel local stack — Ctrl-C to stop",
        f"  API (stage v1)      {stack.url}",
        f"  Admin API (IAM)     {stack.url}   (SigV4 with the local credentials {access_key} / {secret_key})",
        f"  WeChat sandbox      {sandbox}",
        f"  Embedded AWS        {stack.aws_endpoint}   (export AWS_ENDPOINT_URL=… to use it from aws/boto3)",
        "",
        "Apps (the WeChat console settings each would have):",
    ]
    real = getattr(stack.real_wechat, "app", None)
    for name, stated in stack.apps.items():
        # A real account's secrets stay in its file (the terminal may be shared or recorded); the demo's are made up.
        document = mask(stated) if name == real else stated
        kind = "Official Account" if document["kind"] == "official_account" else "Mini Program"
        lines += [
            f"  {name}  ({kind}, appid {document['appid']})",
            f"    URL             {stack.callback_url(name)}",
            f"    Token           {document['token']}",
            f"    EncodingAESKey  {document.get('encoding_aes_key') or '(none)'}",
            "    Mode            plain, compatible or safe: the callback follows each push's encrypt_type"
            + ("; data format XML or JSON" if document["kind"] == "mini_program" else ""),
        ]
    lines += [
        "",
        'Try (README, "Try it: be a WeChat user"; the signature below is valid for 10 minutes):',
        "  # WeChat's URL verification: answers hello-wechat",
        f"  curl -s '{stack.callback_url('demo-oa')}?{verify_query}'",
        "  # a WeChat user: follows through a channel's code, types 666 in the Mini Program's chat, asks for their code",
        "  wxfunnel qr create --app demo-oa --scene spring-poster --name 春季海报 --welcome 春季海报欢迎你！ --tag spring",
        "  wxfunnel simulate follow --app demo-oa --scene spring-poster",
        "  wxfunnel simulate text 666 --app demo-mp --mode safe --data-format json",
        "  wxfunnel simulate click MY_CODE --app demo-oa",
        "  # the admin API is AWS_IAM: locally, sign with the local credentials (the CLI and console do)",
        f"  curl -s --aws-sigv4 'aws:amz:us-east-1:execute-api' --user {access_key}:{secret_key} \\",
        f"       '{stack.url}/qrcodes?app=demo-oa'",
        "  # what the WeChat sandbox was asked to do",
        f"  curl -s '{sandbox}/__sandbox__/calls'",
        "  # the stored app configuration, secrets masked",
        f"  AWS_ENDPOINT_URL={stack.aws_endpoint} wxfunnel config get demo-oa",
        "  # the official account's custom menu, through the sandbox (docs/menu.md)",
        f"  AWS_ENDPOINT_URL={stack.aws_endpoint} WECHAT_API_BASE={sandbox} wxfunnel menu get demo-oa",
        "",
    ]
    return "\n".join(lines)


# --- config -----------------------------------------------------------------------------------------------


def _read_json(path: str) -> Any:
    """The JSON document in `path`; Failure says where it is not JSON (before anything else is checked)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise Failure(f"{path}: cannot read: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise Failure(f"{path}: not UTF-8 text") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise Failure(f"{path}: not valid JSON: line {exc.lineno} column {exc.colno}: {exc.msg}") from None


def _read_config(path: str, name: str, *, named_by: str = "app") -> dict[str, Any]:
    """Parse and validate an app's JSON file; Failure names the problem (and never a secret): JSON errors first,
    then the app's name (`named_by` says where the name came from), then the configuration."""
    use_layer()
    from wxfunnel.config.app import parse_app_config
    from wxfunnel.config.base import APP_NAME, InvalidAppConfig

    document = _read_json(path)
    if not APP_NAME.fullmatch(name):
        rule = "lower-case letters, digits, '-' or '_', at most 64"
        if named_by == "file":
            raise Failure(f"{path}: the file name '{name}' is no app name ({rule}): give --app NAME")
        raise Failure(f"invalid app name '{name}': {rule}")
    try:
        parse_app_config(name, document)
    except InvalidAppConfig as exc:
        raise Failure(f"{path}: invalid: {exc}") from None
    return dict(document)


def mask(document: Any) -> Any:
    """The document with every secret field shown as its first two characters and ****."""
    if isinstance(document, dict):
        return {
            key: (str(value)[:2] + "****" if key in SECRET_FIELDS and value else mask(value))
            for key, value in document.items()
        }
    if isinstance(document, list):
        return [mask(item) for item in document]
    return document


def _prefix(args: argparse.Namespace, session: Any) -> str:
    """The SSM prefix of the stack the command is about. Each stack has its own (/<stack name>/apps/ by default), so
    a deployed stack must be named: its AppsParameterPrefix output, or --prefix (which must then agree with it).
    Against the local stack (AWS_ENDPOINT_URL on 127.0.0.1) the local stack's prefix is the default."""
    from wxfunnel_tools.admin_client import is_loopback, stack_output
    from wxfunnel_tools.template import apps_parameter_prefix

    stack_prefix = stack_output(args.stack_name, "AppsParameterPrefix", session) if args.stack_name else None
    if args.prefix and stack_prefix and args.prefix != stack_prefix:
        raise Failure(f"--prefix {args.prefix} is not stack {args.stack_name}'s prefix ({stack_prefix})")
    if args.prefix or stack_prefix:
        return str(args.prefix or stack_prefix)
    if is_loopback(os.environ.get("AWS_ENDPOINT_URL", "")):
        return apps_parameter_prefix()
    raise Failure(
        "name the stack: --stack-name <stack> (its AppsParameterPrefix output, /<stack>/apps/ by default) or "
        "--prefix; each stack keeps its own apps"
    )


def _config_validate_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", help="the app's JSON configuration")
    parser.add_argument(
        "--app", "--name", dest="app", help="the app's name (default: the file name without .json)"
    )


def run_config_validate(args: argparse.Namespace) -> int:
    name = args.app or Path(args.file).stem
    document = _read_config(args.file, name, named_by="app" if args.app else "file")
    print(f"{args.file}: valid {document['kind']} configuration for app '{name}' (appid {document['appid']})")
    return 0


CONFIG_TEMPLATES: dict[str, dict[str, Any]] = {
    "official_account": {
        "kind": "official_account",
        "appid": "wx0000000000000000",
        "secret": "REPLACE-WITH-THE-APPSECRET",
        "token": "ReplaceWithYourToken",
        "encoding_aes_key": "ReplaceWithTheEncodingAESKeyOf43LettersOrDi",
        "message_mode": "safe",
        "original_id": "gh_000000000000",
        "time_zone": "Asia/Shanghai",
        "welcome": "欢迎关注！",
        "channel_welcome_default": "欢迎你通过海报关注！",
        "referral_text": "你由 {referrer} 推荐关注",
        "keywords": [{"match": "exact", "pattern": "你好", "reply": {"type": "text", "content": "你好！"}}],
        "fallback": {"type": "transfer_customer_service"},
    },
    "mini_program": {
        "kind": "mini_program",
        "appid": "wx0000000000000000",
        "secret": "REPLACE-WITH-THE-APPSECRET",
        "token": "ReplaceWithYourToken",
        "encoding_aes_key": "ReplaceWithTheEncodingAESKeyOf43LettersOrDi",
        "message_mode": "safe",
        "keywords": [
            {
                "match": "exact",
                "pattern": "关注",
                "reply": {
                    "type": "follow_qr",
                    "oa": "my-oa",
                    "scene": "mp-contact",
                    "as": "link",
                    "title": "关注公众号",
                    "description": "扫码关注，直播开始时提醒你",
                },
            }
        ],
        "fallback": {"type": "transfer_customer_service"},
    },
}

CONFIG_NOTES = """Replace each placeholder with your account's values before `wxfunnel config put`:
  appid, secret         微信开发者平台 > 我的业务 > 公众号/服务号 (or 小程序) > 基础信息 > 开发密钥 (docs/deploy.md)
  token, encoding_aes_key, message_mode
                        the values you enter in 域名与消息推送配置 (消息推送 for a Mini Program): Token 3-32
                        letters or digits, EncodingAESKey 43, mode plaintext | compatible | safe
  original_id           the account's gh_… id (optional: pushes addressed to another account are refused)
  time_zone             the IANA zone your statistics days start in (default Asia/Shanghai)
  the other keys        the rules (top-level keys: welcome, keywords, referral, card, fallback…): docs/rules.md
Check it with: wxfunnel config validate {file} --app {app}"""


def _config_init_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("app", help="the app's name (its callback URL will end in /wechat/<app>)")
    parser.add_argument("--kind", choices=sorted(CONFIG_TEMPLATES), default="official_account")
    parser.add_argument("--out", help="the file to write (default: <app>.json; never overwritten)")


def run_config_init(args: argparse.Namespace) -> int:
    use_layer()
    from wxfunnel.config.base import APP_NAME

    if not APP_NAME.fullmatch(args.app):
        raise Failure(f"invalid app name '{args.app}': lower-case letters, digits, '-' or '_', at most 64")
    out = Path(args.out or f"{args.app}.json")
    try:
        with out.open("x", encoding="utf-8") as handle:
            json.dump(CONFIG_TEMPLATES[args.kind], handle, ensure_ascii=False, indent=2)
            handle.write("\n")
    except FileExistsError:
        raise Failure(f"{out} exists; not overwritten (--out another file)") from None
    print(f"wrote {out}: a {args.kind} configuration with placeholders")
    print(CONFIG_NOTES.format(file=out, app=args.app))
    return 0


def _config_put_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("app", help="the app's name, the last part of its callback URL (/wechat/<app>)")
    parser.add_argument("file", help="the app's JSON configuration")
    parser.add_argument(
        "--prefix", help="SSM path prefix (default: the --stack-name's output; the local stack's locally)"
    )
    _stack_options(parser)


def run_config_put(args: argparse.Namespace) -> int:
    document = _read_config(args.file, args.app)
    session = _session(args)
    name = _prefix(args, session) + args.app
    value = json.dumps(document, ensure_ascii=False, separators=(",", ":"))
    request: dict[str, Any] = {"Name": name, "Value": value, "Type": "SecureString", "Overwrite": True}
    if len(value.encode("utf-8")) > 4096:
        request["Tier"] = "Advanced"  # standard parameters hold 4 KB; many rules need more
    session.client("ssm").put_parameter(**request)
    print(f"stored {name} (SecureString); functions pick it up within PARAMETERS_MAX_AGE_SECONDS (5 min)")
    return 0


def _config_get_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("app", help="the app's name")
    parser.add_argument(
        "--prefix", help="SSM path prefix (default: the --stack-name's output; the local stack's locally)"
    )
    _stack_options(parser)


def run_config_get(args: argparse.Namespace) -> int:
    session = _session(args)
    name = _prefix(args, session) + args.app
    client = session.client("ssm")
    try:
        value = client.get_parameter(Name=name, WithDecryption=True)["Parameter"]["Value"]
    except client.exceptions.ParameterNotFound:
        raise Failure(f"no configuration at {name}") from None
    try:
        document = json.loads(value)
    except json.JSONDecodeError:
        raise Failure(f"{name} does not hold JSON") from None
    print(json.dumps(mask(document), ensure_ascii=False, indent=2))
    return 0


# --- console ---------------------------------------------------------------------------------------------


def _console_arguments(parser: argparse.ArgumentParser) -> None:
    from wxfunnel_tools.console.command import arguments

    arguments(parser)


def run_console(args: argparse.Namespace) -> int:
    from wxfunnel_tools.console.command import run

    return run(args)


# --- admin API: qr, stats, notify ------------------------------------------------------------------------


def _print_json(document: Any) -> None:
    print(json.dumps(document, ensure_ascii=False, indent=2))


def _scene(text: str) -> int | str:
    return int(text) if text.isascii() and text.isdigit() else text


def _scene_segment(scene: str) -> str:
    """A scene in an admin API path (`~<base64url>` unless plain ASCII: a "/" or "%" in a scene stays in it)."""
    use_layer()
    from wxfunnel.protocol.limits import scene_segment

    return scene_segment(scene)


def _qr_create_arguments(parser: argparse.ArgumentParser) -> None:
    admin_options(parser)
    parser.add_argument("--app", required=True, help="an official account's app name")
    parser.add_argument(
        "--scene", required=True, help="digits: an integer scene; anything else: a string scene"
    )
    parser.add_argument("--permanent", action="store_true", help="a permanent code (counts against 100,000)")
    parser.add_argument("--expire-seconds", type=int, help="a temporary code's lifetime (≤ 2592000)")
    parser.add_argument("--name", required=True, help="the channel's name")
    parser.add_argument("--welcome", help="the welcome message for followers through this code")
    parser.add_argument("--tag", help="tag followers through this code")
    parser.add_argument("--referrer-name", help="the referring person's name (referral codes)")
    parser.add_argument("--referrer-openid", help="the referring person's openid (no self-referral credit)")
    parser.add_argument(
        "--promoter", help="the promoter this code counts for (`wxfunnel promoters add` first)"
    )


def run_qr_create(args: argparse.Namespace) -> int:
    channel: dict[str, Any] = {"name": args.name}
    if args.welcome:
        channel["welcome_message"] = args.welcome
    if args.tag:
        channel["tag"] = args.tag
    if args.referrer_name:
        channel["referrer"] = {"name": args.referrer_name, "openid": args.referrer_openid}
    if args.promoter:
        channel["promoter"] = args.promoter
    body: dict[str, Any] = {
        "app": args.app,
        "scene": _scene(args.scene),
        "permanent": args.permanent,
        "channel": channel,
    }
    if args.expire_seconds is not None:
        body["expire_seconds"] = args.expire_seconds
    _print_json(admin_client(args).request("POST", "/qrcodes", json_body=body).json())
    return 0


def _qr_list_arguments(parser: argparse.ArgumentParser) -> None:
    admin_options(parser)
    parser.add_argument("--app", required=True)
    _format_option(parser)


QR_COLUMNS = (
    ("scene", "场景 scene"),
    ("name", "渠道 name"),
    ("state", "状态 state"),
    ("kind", "类型 kind"),
    ("promoter", "推广员 promoter"),
    ("expires", "有效期至 expires"),
)


def run_qr_list(args: argparse.Namespace) -> int:
    client, token, items = admin_client(args), None, []
    while True:
        page = client.request("GET", "/qrcodes", query={"app": args.app, "next_token": token}).json()
        items.extend(page["items"])
        token = page.get("next_token")
        if not token:
            break
    if args.format == "json":
        _print_json(items)
        return 0
    rows = [
        {
            "scene": item["scene"],
            "name": item["channel"].get("name"),
            "state": item.get("state"),
            "kind": item.get("kind"),
            "promoter": item["channel"].get("promoter"),
            "expires": "permanent" if item.get("permanent") else item.get("expires_at"),
        }
        for item in items
    ]
    _print_rows(rows, QR_COLUMNS, args.format)
    return 0


def _qr_image_arguments(parser: argparse.ArgumentParser) -> None:
    admin_options(parser)
    parser.add_argument("--app", required=True)
    parser.add_argument("--scene", required=True)
    parser.add_argument("--out", required=True, help="file to write the QR image to")


def run_qr_image(args: argparse.Namespace) -> int:
    response = admin_client(args).request("GET", f"/qrcodes/{args.app}/{_scene_segment(args.scene)}/image")
    with open(args.out, "wb") as handle:
        handle.write(response.body)
    print(f"{args.out}: {len(response.body)} bytes")
    return 0


def _stats_arguments(parser: argparse.ArgumentParser) -> None:
    admin_options(parser)
    parser.add_argument("--app", required=True)
    parser.add_argument("--scene", help="one channel (default: every channel of the app)")
    parser.add_argument("--from", dest="start", help="YYYY-MM-DD (default: 30 days ago)")
    parser.add_argument("--to", dest="end", help="YYYY-MM-DD (default: today)")
    parser.add_argument(
        "--generation", type=int, help="a past channel of a retired scene (see `wxfunnel qr history`)"
    )
    _format_option(parser)


COUNT_COLUMNS = (
    ("new_followers", "新关注 new"),
    ("returning_followers", "回流 back"),
    ("scans", "扫码 scans"),
    ("unfollows", "取关 unf"),
    ("net", "净增 net"),
    ("referrals", "推荐 ref"),
)


def run_stats(args: argparse.Namespace) -> int:
    path = (
        f"/channels/{args.app}/stats"
        if not args.scene
        else f"/channels/{args.app}/{_scene_segment(args.scene)}/stats"
    )
    query = {"from": args.start, "to": args.end, "generation": args.generation}
    report = admin_client(args).request("GET", path, query=query).json()
    if args.format == "json":
        _print_json(report)
        return 0
    if args.scene:  # one channel: its days
        rows = [{"date": day["date"], **{k: day.get(k) for k, _ in COUNT_COLUMNS}} for day in report["days"]]
        rows.append({"date": "合计 total", **report["totals"]})
        columns: Sequence[tuple[str, str]] = (("date", "日期 date"), *COUNT_COLUMNS)
    else:  # the app: its channels
        rows = [{"scene": c["scene"], "name": c.get("name"), **c["totals"]} for c in report["channels"]]
        rows.append({"scene": "合计 total", **report["totals"]})
        columns = (("scene", "场景 scene"), ("name", "渠道 name"), *COUNT_COLUMNS)
    if args.format == "table":
        print(
            f"{report['app']} {report.get('scene', '')} {report['from']} — {report['to']} ({report['time_zone']})"
        )
    _print_rows(rows, columns, args.format)
    return 0


def _notify_arguments(parser: argparse.ArgumentParser) -> None:
    admin_options(parser)
    parser.add_argument("--app", required=True)
    parser.add_argument("--request-id", required=True, help="repeating it sends nothing twice")
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("--scene", action="append", dest="scenes", help="a scene (repeatable)")
    target.add_argument("--scene-prefix")
    parser.add_argument("--touch", choices=["any", "first", "last"], default="any")
    parser.add_argument("--template-id", required=True)
    parser.add_argument(
        "--data", action="append", default=[], metavar="KEY=VALUE", help="template data (repeatable)"
    )
    parser.add_argument("--url")


def run_notify(args: argparse.Namespace) -> int:
    data = dict(item.split("=", 1) for item in args.data if "=" in item)
    body: dict[str, Any] = {
        "request_id": args.request_id,
        "app": args.app,
        "touch": args.touch,
        "template_id": args.template_id,
        "data": data,
    }
    if args.scenes:
        body["scenes"] = args.scenes
    else:
        body["scene_prefix"] = args.scene_prefix
    if args.url:
        body["url"] = args.url
    _print_json(admin_client(args).request("POST", "/notifications", json_body=body).json())
    return 0


def _notify_status_arguments(parser: argparse.ArgumentParser) -> None:
    admin_options(parser)
    parser.add_argument("id", help="the notification's id (POST /notifications answered it)")
    _format_option(parser)


def run_notify_status(args: argparse.Namespace) -> int:
    report = admin_client(args).request("GET", f"/notifications/{quote(args.id, safe='')}").json()
    if args.format == "json":
        _print_json(report)
        return 0
    keys = ("status", "audience", "queued", "sent", "failed", "skipped")
    row = {key: report.get(key) for key in keys}
    row["failed_reasons"] = ", ".join(f"{k}: {v}" for k, v in (report.get("failed_reasons") or {}).items())
    columns = [(key, key) for key in (*keys, "failed_reasons")]
    if args.format == "table":
        print(f"notification {report['id']} ({report.get('request_id')}, app {report.get('app')})")
    _print_rows([row], columns, args.format)
    return 0


# --- channel lifecycle, promoters, followers ------------------------------------------------------------------


def _format_option(parser: argparse.ArgumentParser) -> None:
    from wxfunnel_tools.tables import FORMATS

    parser.add_argument("--format", choices=FORMATS, default="table", help="table (default), json or csv")


def _period_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--from", dest="start", help="YYYY-MM-DD (default: 30 days before the account's today)"
    )
    parser.add_argument("--to", dest="end", help="YYYY-MM-DD (default: the account's today)")


def _print_rows(rows: list[dict[str, Any]], columns: Sequence[tuple[str, str]], fmt: str) -> None:
    from wxfunnel_tools.tables import render

    print(render(rows, columns, fmt))


def _channel_path(args: argparse.Namespace, suffix: str = "") -> str:
    return f"/qrcodes/{args.app}/{_scene_segment(args.scene)}{suffix}"


def _qr_scene_arguments(parser: argparse.ArgumentParser) -> None:
    admin_options(parser)
    parser.add_argument("--app", required=True)
    parser.add_argument("--scene", required=True)


def _qr_update_arguments(parser: argparse.ArgumentParser) -> None:
    _qr_scene_arguments(parser)
    parser.add_argument("--name")
    parser.add_argument("--welcome")
    parser.add_argument("--tag")
    parser.add_argument("--notes")
    parser.add_argument("--promoter", help="the promoter this code counts for from now on")
    state = parser.add_mutually_exclusive_group()
    state.add_argument(
        "--disable", action="store_true", help="keep counting, but greet by default and tag nobody"
    )
    state.add_argument("--enable", action="store_true", help="undo --disable")


def run_qr_update(args: argparse.Namespace) -> int:
    given = {
        "name": args.name,
        "welcome_message": args.welcome,
        "tag": args.tag,
        "notes": args.notes,
        "promoter": args.promoter,
    }
    body: dict[str, Any] = {}
    channel = {key: value for key, value in given.items() if value is not None}
    if channel:
        body["channel"] = channel
    if args.disable or args.enable:
        body["state"] = "disabled" if args.disable else "active"
    if not body:
        raise Failure(
            "nothing to change: give --name, --welcome, --tag, --notes, --promoter, --disable or --enable"
        )
    _print_json(admin_client(args).request("PATCH", _channel_path(args), json_body=body).json())
    return 0


def run_qr_retire(args: argparse.Namespace) -> int:
    _print_json(admin_client(args).request("POST", _channel_path(args, "/retire")).json())
    return 0


def run_qr_history(args: argparse.Namespace) -> int:
    _print_json(admin_client(args).request("GET", _channel_path(args, "/history")).json())
    return 0


def _promoter_details(parser: argparse.ArgumentParser, *, required: bool) -> None:
    admin_options(parser)
    parser.add_argument("--app", required=True)
    parser.add_argument("--id", required=True, help="1-64 of a-z 0-9 _ - (e.g. alice, store-12)")
    parser.add_argument("--name", required=required, help="the name followers are told")
    parser.add_argument("--openid", help="their openid on the account (never credited for themselves)")
    parser.add_argument("--team", help="their team, for the team roll-up")
    parser.add_argument("--notes")


def run_promoters_add(args: argparse.Namespace) -> int:
    body = {"app": args.app, "id": args.id, "name": args.name}
    body.update({k: v for k, v in (("openid", args.openid), ("team", args.team), ("notes", args.notes)) if v})
    _print_json(admin_client(args).request("POST", "/promoters", json_body=body).json())
    return 0


def run_promoters_update(args: argparse.Namespace) -> int:
    given = {"name": args.name, "openid": args.openid, "team": args.team, "notes": args.notes}
    body = {key: value for key, value in given.items() if value is not None}
    if not body:
        raise Failure("nothing to change: give --name, --openid, --team or --notes")
    path = f"/promoters/{args.app}/{args.id}"
    _print_json(admin_client(args).request("PATCH", path, json_body=body).json())
    return 0


def _promoters_list_arguments(parser: argparse.ArgumentParser) -> None:
    admin_options(parser)
    parser.add_argument("--app", required=True)
    parser.add_argument("--team")
    _format_option(parser)


PROMOTER_COLUMNS = (
    ("id", "ID"),
    ("name", "名字"),
    ("team", "团队"),
    ("referrals", "累计推荐"),
    ("openid", "openid"),
)


def run_promoters_list(args: argparse.Namespace) -> int:
    answer = (
        admin_client(args).request("GET", "/promoters", query={"app": args.app, "team": args.team}).json()
    )
    _print_rows(answer["items"], PROMOTER_COLUMNS, args.format)
    return 0


def _promoter_arguments(parser: argparse.ArgumentParser) -> None:
    admin_options(parser)
    parser.add_argument("--app", required=True)
    parser.add_argument("--id", required=True)


def run_promoters_show(args: argparse.Namespace) -> int:
    _print_json(admin_client(args).request("GET", f"/promoters/{args.app}/{args.id}").json())
    return 0


def _promoter_stats_arguments(parser: argparse.ArgumentParser) -> None:
    _promoter_arguments(parser)
    _period_options(parser)


def run_promoters_stats(args: argparse.Namespace) -> int:
    path = f"/promoters/{args.app}/{args.id}/stats"
    _print_json(admin_client(args).request("GET", path, query={"from": args.start, "to": args.end}).json())
    return 0


def _ranking_arguments(parser: argparse.ArgumentParser) -> None:
    admin_options(parser)
    parser.add_argument("--app", required=True)
    parser.add_argument("--teams", action="store_true", help="rank the teams instead of the promoters")
    _period_options(parser)
    _format_option(parser)


def run_promoters_ranking(args: argparse.Namespace) -> int:
    path = f"/promoters/{args.app}/ranking"
    answer = admin_client(args).request("GET", path, query={"from": args.start, "to": args.end}).json()
    key = "teams" if args.teams else "promoters"
    rows = [{**entry, **entry["totals"]} for entry in answer[key]]
    who = (
        (("team", "团队"), ("promoters", "人数"))
        if args.teams
        else (("id", "ID"), ("name", "名字"), ("team", "团队"))
    )
    counts = (("referrals", "推荐"), ("new_followers", "新关注"), ("unfollows", "取关"), ("net", "净增"))
    if args.format == "table":
        print(f"{answer['from']} — {answer['to']} ({answer['time_zone']})")
    _print_rows(rows, (("rank", "名次"), *who, *counts), args.format)
    return 0


def _team_stats_arguments(parser: argparse.ArgumentParser) -> None:
    admin_options(parser)
    parser.add_argument("--app", required=True)
    parser.add_argument("--team", required=True)
    _period_options(parser)


def run_team_stats(args: argparse.Namespace) -> int:
    path = f"/teams/{args.app}/{quote(args.team, safe='')}/stats"
    _print_json(admin_client(args).request("GET", path, query={"from": args.start, "to": args.end}).json())
    return 0


def _followers_arguments(parser: argparse.ArgumentParser) -> None:
    admin_options(parser)
    parser.add_argument("--app", required=True)
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--scene", help="the people one channel brought")
    which.add_argument("--promoter", help="the people all of a promoter's channels brought")
    which.add_argument("--team", help="the people a team's channels brought")


def _followers_query(args: argparse.Namespace) -> dict[str, Any]:
    scene = _scene_segment(args.scene) if args.scene else None  # as in a path: a scene may start with "~"
    return {"app": args.app, "scene": scene, "promoter": args.promoter, "team": args.team}


FOLLOWER_COLUMNS = (
    ("openid", "openid"),
    ("scene", "场景"),
    ("channel", "渠道"),
    ("brought", "首次来源"),
    ("status", "状态"),
    ("followed_at", "关注时间"),
    ("unfollowed_at", "取关时间"),
    ("tags", "标签"),
)


def _followers_list_arguments(parser: argparse.ArgumentParser) -> None:
    _followers_arguments(parser)
    _format_option(parser)


def run_followers_list(args: argparse.Namespace) -> int:
    client, token, rows = admin_client(args), None, []
    while True:
        query = {**_followers_query(args), "limit": 100, "next_token": token}
        page = client.request("GET", "/followers", query=query).json()
        rows.extend(page["items"])
        token = page.get("next_token")
        if not token:
            break
    _print_rows(rows, FOLLOWER_COLUMNS, args.format)
    return 0


def _followers_export_arguments(parser: argparse.ArgumentParser) -> None:
    _followers_arguments(parser)
    parser.add_argument("--out", help="the CSV file (default: the name the API gives, in this directory)")


EXPORT_POLL_SECONDS = 3.0
EXPORT_WAIT_SECONDS = 20 * 60  # ExportFunction's 15 minutes, and time to start


def run_followers_export(args: argparse.Namespace) -> int:
    import re

    from wxfunnel_tools.admin_client import AdminError

    client = admin_client(args)
    query = _followers_query(args)
    try:
        response = client.request("GET", "/followers/export", query=query, accept="text/csv")
    except AdminError as exc:
        if (exc.body or {}).get("error", {}).get("rule") != "export_too_large":
            raise
        print("too many followers for one answer: exporting in the background …", file=sys.stderr)
        body, name = _background_export(client, query)
    else:
        if response.headers.get("Content-Type", "").startswith("text/csv"):
            body = response.body
            found = re.search(r"filename\*=UTF-8''([^;]+)", response.headers.get("Content-Disposition", ""))
            name = unquote(found[1]) if found else "followers.csv"
        else:
            link = response.json()
            body, name = _download(link["url"]), link["file"]
    out = args.out or os.path.basename(name)
    with open(out, "wb") as handle:
        handle.write(body)
    rows = max(0, body.decode("utf-8-sig").count("\n") - 1)
    print(f"{out}: {rows} rows, {len(body)} bytes")
    return 0


def _download(url: str) -> bytes:
    import requests

    fetched = requests.get(url, timeout=60)  # a presigned S3 link: it carries its own authorisation
    fetched.raise_for_status()
    return fetched.content


def _background_export(client: Any, query: dict[str, Any]) -> tuple[bytes, str]:
    """POST /followers/exports, then its status every few seconds until done → (the file, its name)."""
    from wxfunnel_tools.admin_client import AdminError

    status = client.request("POST", "/followers/exports", query=query).json()
    waited = 0.0
    while status["status"] not in ("done", "failed") and waited < EXPORT_WAIT_SECONDS:
        time.sleep(EXPORT_POLL_SECONDS)
        waited += EXPORT_POLL_SECONDS
        status = client.request("GET", status["links"]["self"]).json()  # the API's own link to it
    if status["status"] == "failed":
        raise AdminError(0, f"the background export {status['id']} failed: {status.get('reason')}")
    if status["status"] != "done":
        where = f"GET {status['links']['self']}"  # its file's link is there once it is done (for a day)
        raise AdminError(
            0, f"the background export {status['id']} is still {status['status']}; ask later: {where}"
        )
    return _download(status["url"]), status["file"]


# --- events sign, demo -------------------------------------------------------------------------------------


def _events_sign_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("app", help="the app name in the URL (a development app, or give --config)")
    parser.add_argument(
        "message", help="a JSON file with the push's fields in WeChat's names, or - for stdin"
    )
    parser.add_argument(
        "--config", help="the app's JSON configuration (default: the development app of that name)"
    )
    parser.add_argument("--mode", choices=["plain", "compat", "safe"], default="plain")
    parser.add_argument("--format", dest="fmt", choices=["xml", "json"], default="xml")


def run_events_sign(args: argparse.Namespace) -> int:
    use_layer()
    from wxfunnel_tools.devapps import DEV_APPS
    from wxfunnel_tools.pushes import callback_event, signed_push

    config = _read_config(args.config, args.app) if args.config else DEV_APPS.get(args.app)
    if config is None:
        raise Failure(f"no development app '{args.app}': pass --config FILE")
    if args.message == "-":
        text = sys.stdin.read()
    else:
        with open(args.message, encoding="utf-8") as handle:
            text = handle.read()
    fields = json.loads(text)
    if not isinstance(fields, dict) or "FromUserName" not in fields:
        raise Failure("the message must be a JSON object with WeChat's fields (ToUserName, FromUserName, …)")
    query, body = signed_push(config, fields, fmt=args.fmt, mode=args.mode)
    _print_json(callback_event(args.app, query, body))
    return 0


def run_demo(args: argparse.Namespace) -> int:
    use_layer()
    from wxfunnel_tools.demo import main as demo_main

    return demo_main()


def _simulate_arguments(parser: argparse.ArgumentParser) -> None:
    from wxfunnel_tools.simulate import arguments

    arguments(parser)


def run_simulate(args: argparse.Namespace) -> int:
    from wxfunnel_tools.simulate import run

    return run(args)


# --- migrations ------------------------------------------------------------------------------------------


def _migrate_arguments(parser: argparse.ArgumentParser) -> None:
    _stack_options(parser)
    parser.add_argument(
        "--table", help="the ChannelsTable's name (default: the stack's, or the local stack's)"
    )


def _stack_table(
    args: argparse.Namespace, session: Any, logical_id: str, explicit: str | None, option: str
) -> str:
    """The name of the stack's table `logical_id`: `explicit` (the command's `option`), the --stack-name's
    resource, or the local stack's (AWS_ENDPOINT_URL on 127.0.0.1)."""
    from wxfunnel_tools.admin_client import is_loopback
    from wxfunnel_tools.template import local_table_name

    if explicit:
        return explicit
    if args.stack_name:
        resource = session.client("cloudformation").describe_stack_resource(
            StackName=args.stack_name, LogicalResourceId=logical_id
        )
        return str(resource["StackResourceDetail"]["PhysicalResourceId"])
    if is_loopback(os.environ.get("AWS_ENDPOINT_URL", "")):
        return local_table_name(logical_id)
    raise Failure(f"name the stack: --stack-name <stack> (or {option} <{logical_id} name>)")


def run_migrate_stats_day_index(args: argparse.Namespace) -> int:
    """Counter items written before the ByDay index get its key, so app-wide statistics see their days."""
    session = _session(args)
    table = _stack_table(args, session, "ChannelsTable", args.table, "--table")
    use_layer()
    from wxfunnel.store.counters import backfill_day_index

    updated = backfill_day_index(session.client("dynamodb"), table)
    print(f"{table}: {updated} statistics counter(s) given their day index key (0 when already done)")
    return 0


# --- custom menu -----------------------------------------------------------------------------------------


def _menu_file(path: str) -> dict[str, Any]:
    """Parse and check a menu file (menu/create's body); Failure names the file and the first problem's path."""
    use_layer()
    from wxfunnel.protocol.limits import menu_problem

    document = _read_json(path)
    problem = menu_problem(document)
    if problem:
        raise Failure(f"{path}: {problem}")
    return dict(document)


def _menu_keys(menu: Mapping[str, Any]) -> list[str]:
    """The keys the menu's CLICK (and scan, picture, location) buttons push, in reading order."""
    keys: list[str] = []
    for button in menu["button"]:
        for action in button.get("sub_button") or [button]:
            if "key" in action:
                keys.append(str(action["key"]))
    return keys


def _wechat_options(parser: argparse.ArgumentParser) -> None:
    """Options of the commands that call WeChat from this machine, as the stack's functions would."""
    parser.add_argument("app", help="an official account's app name")
    parser.add_argument(
        "--prefix", help="SSM path prefix (default: the --stack-name's output; the local stack's locally)"
    )
    parser.add_argument(
        "--tokens-table",
        help="the TokensTable holding the app's shared access token (default: the --stack-name's, or the local "
        "stack's)",
    )
    parser.add_argument(
        "--wechat-api-base",
        default=os.environ.get("WECHAT_API_BASE"),
        help="the WeChat API base URL (default: $WECHAT_API_BASE; against the local stack its sandbox, "
        f"http://127.0.0.1:{DEFAULT_SANDBOX_PORT}; else https://api.weixin.qq.com with api2 as backup)",
    )
    _stack_options(parser)


def _wechat_api_base(args: argparse.Namespace) -> str | None:
    """Where to call WeChat: --wechat-api-base ($WECHAT_API_BASE), the local stack's sandbox when AWS is the
    local stack's (its dev apps are unknown to WeChat), else None: the layer's default, the real API."""
    from wxfunnel_tools.admin_client import is_loopback

    if args.wechat_api_base:
        return str(args.wechat_api_base).rstrip("/")
    if is_loopback(os.environ.get("AWS_ENDPOINT_URL", "")):
        return f"http://127.0.0.1:{DEFAULT_SANDBOX_PORT}"
    return None


@contextmanager
def _layer_process(environment: Mapping[str, str], session: Any) -> Iterator[None]:
    """Run the layer in this process as one of the stack's functions: its environment variables, the caller's AWS
    session as boto3's default, fresh per-container caches, its log lines on stderr (stdout stays the command's
    answer) from WARNING up; all restored afterwards."""
    import boto3

    from wxfunnel.core.observability import logger
    from wxfunnel_tools.template import cold_start

    saved = {key: os.environ.get(key) for key in environment}
    saved_session, saved_level = boto3.DEFAULT_SESSION, logger.log_level
    handlers = [h for h in logger.handlers if isinstance(h, logging.StreamHandler)]
    streams = [handler.setStream(sys.stderr) for handler in handlers]
    os.environ.update(environment)
    boto3.DEFAULT_SESSION = session
    logger.setLevel(logging.WARNING)
    cold_start()
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        boto3.DEFAULT_SESSION = saved_session
        logger.setLevel(saved_level)
        for handler, stream in zip(handlers, streams, strict=True):
            if stream is not None:
                handler.setStream(stream)
        cold_start()


def _on_wechat(args: argparse.Namespace, action: Callable[[Any], Any]) -> Any:
    """`action(client)` with the app's WeChatClient wired as the stack's functions wire it (entry.wechat): the
    app's configuration under the stack's SSM prefix, the access token shared through the stack's TokensTable
    (the functions' token is used; a new one is fetched only through the same lease, never beside it)."""
    session = _session(args)
    prefix = _prefix(args, session)
    table = _stack_table(args, session, "TokensTable", args.tokens_table, "--tokens-table")
    environment = {"APPS_PARAMETER_PREFIX": prefix, "TOKENS_TABLE": table}
    base = _wechat_api_base(args)
    if base:
        environment |= {"WECHAT_API_BASE": base, "WECHAT_API_BACKUP_BASE": base}
        print(f"wxfunnel: WeChat API at {base}", file=sys.stderr)
    use_layer()
    from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError

    from wxfunnel.client import errors
    from wxfunnel.config.base import InvalidAppConfig, UnknownApp
    from wxfunnel.entry.wechat import client_for

    with _layer_process(environment, session):
        try:
            return action(client_for(args.app))
        except UnknownApp:
            raise Failure(f"no configuration at {prefix}{args.app}") from None
        except InvalidAppConfig as exc:
            raise Failure(f"{prefix}{args.app}: invalid: {exc}") from None
        except GetParameterError as exc:
            raise Failure(f"cannot read {prefix}{args.app}: {exc}") from None
        except errors.IpNotWhitelisted as exc:
            raise Failure(
                f"{args.app}: WeChat refused this machine's IP (40164: {exc.errmsg}). It guards fetching an access "
                f"token, which the CLI does only when the one the stack's functions keep in {table} is no longer "
                "valid: add this machine's public IP to the account's IP whitelist (微信开发者平台 > 基础信息 > "
                "开发密钥 > IP白名单), or retry while the functions keep the token fresh."
            ) from None
        except errors.WeChatError as exc:
            raise Failure(f"{args.app}: {exc}") from None


def _menu_file_arguments(parser: argparse.ArgumentParser) -> None:
    _wechat_options(parser)
    parser.add_argument("file", help='the menu as JSON: {"button": [...]} (see docs/menu.md)')


def run_menu_get(args: argparse.Namespace) -> int:
    menu = _on_wechat(args, lambda client: client.menu_get())
    _print_json(menu)
    if not menu["button"]:
        print(f"wxfunnel: {args.app} has no menu set through the API (WeChat's 46003)", file=sys.stderr)
    return 0


def run_menu_put(args: argparse.Namespace) -> int:
    menu = _menu_file(args.file)  # a bad file stops here: no AWS, no WeChat
    _on_wechat(args, lambda client: client.menu_create(menu))
    print(
        f"{args.app}: menu set ({len(menu['button'])} buttons; keys: {', '.join(_menu_keys(menu)) or 'none'}). "
        "A user's WeChat fetches it on opening the chat once its copy is 5 minutes old (unfollow and follow: at "
        "once)."
    )
    return 0


def run_menu_delete(args: argparse.Namespace) -> int:
    _on_wechat(args, lambda client: client.menu_delete())
    print(f"{args.app}: menu deleted (with any personalised menus)")
    return 0


def _menu_validate_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", help='the menu as JSON: {"button": [...]}')


def run_menu_validate(args: argparse.Namespace) -> int:
    menu = _menu_file(args.file)
    print(
        f"{args.file}: a valid menu ({len(menu['button'])} buttons; keys: {', '.join(_menu_keys(menu)) or 'none'})"
    )
    return 0


# --- the table -------------------------------------------------------------------------------------------


def _no_arguments(parser: argparse.ArgumentParser) -> None:
    return None


@dataclass(frozen=True, slots=True)
class Command:
    path: tuple[str, ...]  # ("config", "put") is `wxfunnel config put`
    help: str
    run: Callable[[argparse.Namespace], int]
    arguments: Callable[[argparse.ArgumentParser], None] = _no_arguments


GROUPS = {
    "config": "an app's configuration in SSM Parameter Store",
    "livecode": "live codes: printed codes that never expire, re-pointable (admin API)",
    "campaign": "campaigns: channels grouped over a period, with their funnel (admin API)",
    "welcome": "a channel's welcome sequence (admin API)",
    "qr": "channel QR codes (admin API)",
    "notify": "reminders to the followers of some scenes (admin API)",
    "promoters": "promoters, their statistics and the leaderboard (admin API)",
    "teams": "promoters' teams (admin API)",
    "followers": "who a channel, promoter or team brought (admin API)",
    "events": "WeChat pushes as API Gateway events",
    "migrate": "one-shot data migrations after an upgrade (idempotent)",
    "menu": "an official account's custom menu (WeChat's menu API, called from this machine)",
}

COMMANDS: tuple[Command, ...] = (
    Command(("demo",), "play every product flow on the local stack", run_demo),
    Command(("qr", "create"), "create a channel QR code", run_qr_create, _qr_create_arguments),
    Command(("qr", "list"), "list an app's channel QR codes", run_qr_list, _qr_list_arguments),
    Command(("qr", "image"), "download a channel's QR image", run_qr_image, _qr_image_arguments),
    Command(("qr", "update"), "edit, disable or enable a channel", run_qr_update, _qr_update_arguments),
    Command(
        ("qr", "retire"),
        "end a channel: its scene can then be given to a new channel, counted apart",
        run_qr_retire,
        _qr_scene_arguments,
    ),
    Command(("qr", "history"), "a scene's current and past channels", run_qr_history, _qr_scene_arguments),
    Command(
        ("promoters", "add"),
        "create a promoter",
        run_promoters_add,
        lambda parser: _promoter_details(parser, required=True),
    ),
    Command(
        ("promoters", "update"),
        "change a promoter's name, openid, team or notes",
        run_promoters_update,
        lambda parser: _promoter_details(parser, required=False),
    ),
    Command(("promoters", "list"), "an app's promoters", run_promoters_list, _promoters_list_arguments),
    Command(("promoters", "show"), "a promoter and their channels", run_promoters_show, _promoter_arguments),
    Command(
        ("promoters", "stats"),
        "a promoter's days, all their channels together",
        run_promoters_stats,
        _promoter_stats_arguments,
    ),
    Command(
        ("promoters", "ranking"),
        "the promoters (or teams) ranked by credited followers",
        run_promoters_ranking,
        _ranking_arguments,
    ),
    Command(("teams", "stats"), "a team's days", run_team_stats, _team_stats_arguments),
    Command(
        ("followers", "list"),
        "who a channel, promoter or team brought",
        run_followers_list,
        _followers_list_arguments,
    ),
    Command(
        ("followers", "export"),
        "the same as a CSV file (UTF-8 for Excel)",
        run_followers_export,
        _followers_export_arguments,
    ),
    Command(("stats",), "per-channel statistics", run_stats, _stats_arguments),
    Command(
        ("notify", "send"), "send a reminder to the followers of some scenes", run_notify, _notify_arguments
    ),
    Command(
        ("notify", "status"),
        "a reminder's progress: sent, failed (by reason), skipped",
        run_notify_status,
        _notify_status_arguments,
    ),
    Command(
        ("config", "init"),
        "write a configuration file with placeholders to fill in",
        run_config_init,
        _config_init_arguments,
    ),
    Command(
        ("events", "sign"),
        "sign (and encrypt) a push as an API Gateway event",
        run_events_sign,
        _events_sign_arguments,
    ),
    Command(
        ("migrate", "stats-day-index"),
        "give statistics counters written before the ByDay index their day key",
        run_migrate_stats_day_index,
        _migrate_arguments,
    ),
    Command(
        ("livecode", "create"),
        "create a live code for a channel",
        L.run_livecode_create,
        L.livecode_create_arguments,
    ),
    Command(("livecode", "list"), "list an app's live codes", L.run_livecode_list, L.livecode_list_arguments),
    Command(
        ("livecode", "update"),
        "re-point a live code, change its page, switch it off or on",
        L.run_livecode_update,
        L.livecode_update_arguments,
    ),
    Command(
        ("livecode", "print"),
        "download a live code's print file (PNG or SVG, optionally with a logo)",
        L.run_livecode_print,
        L.livecode_print_arguments,
    ),
    Command(
        ("livecode", "zip"),
        "download print files of many live codes as a ZIP",
        L.run_livecode_zip,
        L.livecode_zip_arguments,
    ),
    Command(("campaign", "create"), "create a campaign", L.run_campaign_create, L.campaign_create_arguments),
    Command(
        ("campaign", "update"),
        "change a campaign (its end closes its pages)",
        L.run_campaign_update,
        L.campaign_update_arguments,
    ),
    Command(("campaign", "list"), "list an app's campaigns", L.run_campaign_list, L.admin_arguments),
    Command(("campaign", "add"), "put channels in a campaign", L.run_campaign_add, L.campaign_add_arguments),
    Command(
        ("funnel",),
        "visits → new followers → still following, of a channel or a campaign",
        L.run_funnel,
        L.funnel_arguments,
    ),
    Command(
        ("welcome", "set"),
        "set a channel's welcome sequence from a JSON file",
        L.run_welcome_set,
        L.welcome_set_arguments,
    ),
    Command(
        ("batch",),
        "create many channels with live codes from a CSV or JSON file",
        L.run_batch,
        L.batch_arguments,
    ),
    Command(("local",), "run the local stack until Ctrl-C", run_local, _local_arguments),
    Command(
        ("simulate",),
        "play a WeChat user: follow, scan, unfollow, text, card, click, view, enter",
        run_simulate,
        _simulate_arguments,
    ),
    Command(("console",), "serve the operator console on 127.0.0.1", run_console, _console_arguments),
    Command(
        ("config", "validate"),
        "check an app's JSON configuration",
        run_config_validate,
        _config_validate_arguments,
    ),
    Command(
        ("config", "put"),
        "validate, then store an app's configuration",
        run_config_put,
        _config_put_arguments,
    ),
    Command(
        ("config", "get"),
        "show an app's stored configuration, secrets masked",
        run_config_get,
        _config_get_arguments,
    ),
    Command(
        ("menu", "get"), "print an official account's custom menu as JSON", run_menu_get, _wechat_options
    ),
    Command(
        ("menu", "put"),
        "check a menu file, then set it as the account's custom menu",
        run_menu_put,
        _menu_file_arguments,
    ),
    Command(("menu", "delete"), "delete an official account's custom menu", run_menu_delete, _wechat_options),
    Command(("menu", "validate"), "check a menu file", run_menu_validate, _menu_validate_arguments),
)


EXAMPLES: dict[tuple[str, ...], str] = {
    ("livecode", "create"): "livecode create --app demo-oa --scene 店铺A --title '店铺A · 扫码关注'",
    ("livecode", "list"): "livecode list --app demo-oa",
    ("livecode", "update"): "livecode update --app demo-oa --code ab3d5fgh7k --scene summer",
    ("livecode", "print"): "livecode print --app demo-oa --code ab3d5fgh7k --out poster.svg --logo logo.png",
    ("livecode", "zip"): "livecode zip --app demo-oa --codes-from stores.json --out prints.zip",
    (
        "campaign",
        "create",
    ): "campaign create --app demo-oa --id spring --name 春季活动 --start 2026-03-01 --end 2026-03-31",
    ("campaign", "update"): "campaign update --app demo-oa --id spring --end 2026-04-15",
    ("campaign", "list"): "campaign list --app demo-oa",
    ("campaign", "add"): "campaign add --app demo-oa --campaign spring --scene store-1 --scene store-2",
    ("funnel",): "funnel --app demo-oa --campaign spring",
    ("welcome", "set"): "welcome set --app demo-oa --scene store-1 welcome.json",
    (
        "batch",
    ): "batch --app demo-oa stores.csv --batch stores --campaign spring --zip prints.zip --result stores.json",
    ("demo",): "demo",
    ("qr", "create"): "qr create --app demo-oa --scene 春节海报 --name 春节海报 --permanent --tag spring",
    ("qr", "list"): "qr list --app demo-oa --format csv > channels.csv",
    ("qr", "image"): "qr image --app demo-oa --scene 春节海报 --out poster.jpg",
    ("qr", "update"): "qr update --app demo-oa --scene 春节海报 --welcome 新年快乐 --disable",
    ("qr", "retire"): "qr retire --app demo-oa --scene 春节海报",
    ("qr", "history"): "qr history --app demo-oa --scene 春节海报",
    ("promoters", "add"): "promoters add --app demo-oa --id wang --name 王小明 --team 华东一组",
    ("promoters", "update"): "promoters update --app demo-oa --id wang --team 华南一组",
    ("promoters", "list"): "promoters list --app demo-oa --team 华东一组",
    ("promoters", "show"): "promoters show --app demo-oa --id wang",
    ("promoters", "stats"): "promoters stats --app demo-oa --id wang --from 2026-11-01 --to 2026-11-30",
    ("promoters", "ranking"): "promoters ranking --app demo-oa --teams --format csv",
    ("teams", "stats"): "teams stats --app demo-oa --team 华东一组",
    ("followers", "list"): "followers list --app demo-oa --promoter wang",
    ("followers", "export"): "followers export --app demo-oa --scene 春节海报 --out poster-followers.csv",
    ("stats",): "stats --app demo-oa --scene 春节海报 --from 2026-11-01 --to 2026-11-30",
    ("notify", "send"): (
        "notify send --app demo-oa --request-id live-10 --scene-prefix live.live_id=10& "
        "--template-id TPL --data thing1=直播开始了 --url https://live.example/10"
    ),
    ("notify", "status"): "notify status 3b1f6002-ba77-51dd-ae32-35f49694f116",
    ("events", "sign"): "events sign demo-oa push.json --mode safe > events/my-push.json",
    ("migrate", "stats-day-index"): "migrate stats-day-index --stack-name wxfunnel",
    ("local",): "local --port 8900",
    ("simulate",): "simulate follow --app demo-oa --scene spring-poster",
    ("console",): "console --local --open",
    ("config", "init"): "config init my-oa --kind official_account",
    ("config", "validate"): "config validate my-oa.json --app my-oa",
    ("config", "put"): "config put my-oa my-oa.json --stack-name wxfunnel",
    ("config", "get"): "config get my-oa --stack-name wxfunnel",
    ("menu", "get"): "menu get my-oa --stack-name wxfunnel",
    ("menu", "put"): "menu put my-oa menu.json --stack-name wxfunnel",
    ("menu", "delete"): "menu delete my-oa --stack-name wxfunnel",
    ("menu", "validate"): "menu validate menu.json",
}


def build_parser(commands: Sequence[Command] = COMMANDS) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="wxfunnel", description="wxfunnel: WeChat funnel on AWS Lambda")
    top = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    groups: dict[str, Any] = {}
    for command in commands:
        example = EXAMPLES.get(command.path)
        extra: dict[str, Any] = {"description": command.help}
        if example:
            extra.update(
                epilog=f"example:\n  wxfunnel {example}", formatter_class=argparse.RawDescriptionHelpFormatter
            )
        if len(command.path) == 1:
            sub = top.add_parser(command.path[0], help=command.help, **extra)
        else:
            group, name = command.path
            if group not in groups:
                group_parser = top.add_parser(group, help=GROUPS.get(group, group))
                groups[group] = group_parser.add_subparsers(
                    dest="subcommand", required=True, metavar="COMMAND"
                )
            sub = groups[group].add_parser(name, help=command.help, **extra)
        command.arguments(sub)
        sub.set_defaults(run=command.run)
    return parser


def _compatible(argv: Sequence[str]) -> list[str]:
    """`wxfunnel notify --app …` (before `notify send|status`) still sends."""
    argv = list(argv)
    if argv[:1] == ["notify"] and (len(argv) == 1 or argv[1] not in ("send", "status", "-h", "--help")):
        argv.insert(1, "send")
    return argv


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(_compatible(sys.argv[1:] if argv is None else argv))
    try:
        return int(args.run(args))
    except Failure as exc:
        print(f"wxfunnel: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:
        # Only what AWS, the admin API or the network answered is an operator's problem; anything else is a bug.
        import requests
        from botocore.exceptions import BotoCoreError, ClientError

        from wxfunnel_tools.admin_client import AdminError

        if isinstance(exc, BotoCoreError | ClientError | AdminError | requests.RequestException):
            print(f"wxfunnel: {exc}", file=sys.stderr)
            return 1
        raise


if __name__ == "__main__":
    sys.exit(main())
