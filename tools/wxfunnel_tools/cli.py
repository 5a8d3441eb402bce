"""The `wxfunnel` command: the local stack and the operator's commands (app configuration, QR codes, …).

Every subcommand is one small function registered in COMMANDS with the function that declares its arguments;
it receives the parsed arguments and returns the exit status (0 done, 1 failed with a reason on stderr).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wxfunnel_tools import cli_livecodes as L
from wxfunnel_tools.template import use_layer

DEFAULT_LOCAL_PORT = 8900
DEFAULT_SANDBOX_PORT = 8901
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
    parser.add_argument("--port", type=int, default=DEFAULT_LOCAL_PORT, help="API port (0: any free port)")
    parser.add_argument("--sandbox-port", type=int, default=DEFAULT_SANDBOX_PORT, help="WeChat sandbox port")
    parser.add_argument(
        "--aws-port", type=int, default=0, help="embedded AWS (moto) port (default: any free)"
    )
    parser.add_argument(
        "--log-level", default="INFO", help="log level of the functions (POWERTOOLS_LOG_LEVEL)"
    )


def _raise_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def run_local(args: argparse.Namespace) -> int:
    use_layer()
    from wxfunnel_tools.localstack import LocalStack

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S")
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    logging.getLogger("botocore").setLevel(logging.WARNING)
    signal.signal(signal.SIGTERM, _raise_interrupt)
    print("starting the local stack (embedded AWS, WeChat sandbox, API front, SQS pollers)…", flush=True)
    stack = LocalStack(
        port=args.port,
        sandbox_port=args.sandbox_port,
        aws_port=args.aws_port,
        environment={"POWERTOOLS_LOG_LEVEL": args.log_level.upper()},
    )
    try:
        with stack:
            print(local_banner(stack), flush=True)
            while True:
                time.sleep(3600)
    except KeyboardInterrupt:
        print("\nstopped.", flush=True)
    return 0


def local_banner(stack: Any) -> str:
    """What `wxfunnel local` prints: the URLs, each dev app's console settings, and commands to try."""
    from wxfunnel.protocol import crypto
    from wxfunnel_tools.admin_client import LOCAL_CREDENTIALS
    from wxfunnel_tools.pushes import message, signed_push

    access_key, secret_key = LOCAL_CREDENTIALS.access_key, LOCAL_CREDENTIALS.secret_key
    timestamp, nonce = str(int(time.time())), "20240601"
    oa, mp = stack.apps["demo-oa"], stack.apps["demo-mp"]
    verify_query = (
        f"signature={crypto.signature(oa['token'], timestamp, nonce)}"
        f"&timestamp={timestamp}&nonce={nonce}&echostr=hello-wechat"
    )
    push_query, push_body = signed_push(
        mp,
        message(
            "text", openid="o_demo_user", to_user=mp["original_id"], Content="666", msg_id=int(timestamp)
        ),
        timestamp=int(timestamp),
        nonce=nonce,
    )
    push_url = stack.callback_url("demo-mp") + "?" + "&".join(f"{k}={v}" for k, v in push_query.items())
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
    for name, document in stack.apps.items():
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
        "Try (the signatures below are valid for 10 minutes, REPLAY_WINDOW_SECONDS):",
        "  # WeChat's URL verification: answers hello-wechat",
        f"  curl -s '{stack.callback_url('demo-oa')}?{verify_query}'",
        "  # an MP user types 666 in the customer-service chat",
        f"  curl -s -X POST -H 'Content-Type: text/xml' '{push_url}' \\",
        f"       --data-binary '{push_body.decode()}'",
        "  # the admin API is AWS_IAM: locally, sign with the local credentials (the CLI and console do)",
        f"  curl -s --aws-sigv4 'aws:amz:us-east-1:execute-api' --user {access_key}:{secret_key} \\",
        f"       '{stack.url}/qrcodes?app=demo-oa'",
        "  # what the WeChat sandbox was asked to do",
        f"  curl -s '{sandbox}/__sandbox__/calls'",
        "  # the stored app configuration, secrets masked",
        f"  AWS_ENDPOINT_URL={stack.aws_endpoint} wxfunnel config get demo-oa",
        "",
    ]
    return "\n".join(lines)


# --- config -----------------------------------------------------------------------------------------------


def _read_config(path: str, name: str) -> dict[str, Any]:
    """Parse and validate an app's JSON file; Failure names the problem (and never a secret)."""
    use_layer()
    from wxfunnel.config.app import parse_app_config
    from wxfunnel.config.base import APP_NAME, InvalidAppConfig

    if not APP_NAME.fullmatch(name):
        raise Failure(f"invalid app name '{name}': lower-case letters, digits, '-' or '_', at most 64")
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise Failure(f"{path}: cannot read: {exc.strerror}") from None
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise Failure(f"{path}: not valid JSON: line {exc.lineno} column {exc.colno}: {exc.msg}") from None
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
    parser.add_argument("--name", help="the app's name (default: the file name without .json)")


def run_config_validate(args: argparse.Namespace) -> int:
    name = args.name or Path(args.file).stem
    document = _read_config(args.file, name)
    print(f"{args.file}: valid {document['kind']} configuration for app '{name}' (appid {document['appid']})")
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


def run_qr_create(args: argparse.Namespace) -> int:
    channel: dict[str, Any] = {"name": args.name}
    if args.welcome:
        channel["welcome_message"] = args.welcome
    if args.tag:
        channel["tag"] = args.tag
    if args.referrer_name:
        channel["referrer"] = {"name": args.referrer_name, "openid": args.referrer_openid}
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


def run_qr_list(args: argparse.Namespace) -> int:
    client, token, items = admin_client(args), None, []
    while True:
        page = client.request("GET", "/qrcodes", query={"app": args.app, "next_token": token}).json()
        items.extend(page["items"])
        token = page.get("next_token")
        if not token:
            break
    for item in items:
        print(
            f"{item['scene']:<32} {item['channel'].get('name', ''):<24} {item.get('expires_at') or 'permanent'}"
        )
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


def run_stats(args: argparse.Namespace) -> int:
    path = (
        f"/channels/{args.app}/stats"
        if not args.scene
        else f"/channels/{args.app}/{_scene_segment(args.scene)}/stats"
    )
    _print_json(admin_client(args).request("GET", path, query={"from": args.start, "to": args.end}).json())
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


# --- migrations ------------------------------------------------------------------------------------------


def _migrate_arguments(parser: argparse.ArgumentParser) -> None:
    _stack_options(parser)
    parser.add_argument(
        "--table", help="the ChannelsTable's name (default: the stack's, or the local stack's)"
    )


def _channels_table(args: argparse.Namespace, session: Any) -> str:
    from wxfunnel_tools.admin_client import is_loopback
    from wxfunnel_tools.template import local_table_name

    if args.table:
        return str(args.table)
    if args.stack_name:
        resource = session.client("cloudformation").describe_stack_resource(
            StackName=args.stack_name, LogicalResourceId="ChannelsTable"
        )
        return str(resource["StackResourceDetail"]["PhysicalResourceId"])
    if is_loopback(os.environ.get("AWS_ENDPOINT_URL", "")):
        return local_table_name("ChannelsTable")
    raise Failure("name the stack: --stack-name <stack> (or --table <ChannelsTable name>)")


def run_migrate_stats_day_index(args: argparse.Namespace) -> int:
    """Counter items written before the ByDay index get its key, so app-wide statistics see their days."""
    session = _session(args)
    table = _channels_table(args, session)
    use_layer()
    from wxfunnel.store.counters import backfill_day_index

    updated = backfill_day_index(session.client("dynamodb"), table)
    print(f"{table}: {updated} statistics counter(s) given their day index key (0 when already done)")
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
    "events": "WeChat pushes as API Gateway events",
    "migrate": "one-shot data migrations after an upgrade (idempotent)",
}

COMMANDS: tuple[Command, ...] = (
    Command(("demo",), "play every product flow on the local stack", run_demo),
    Command(("qr", "create"), "create a channel QR code", run_qr_create, _qr_create_arguments),
    Command(("qr", "list"), "list an app's channel QR codes", run_qr_list, _qr_list_arguments),
    Command(("qr", "image"), "download a channel's QR image", run_qr_image, _qr_image_arguments),
    Command(("stats",), "per-channel statistics", run_stats, _stats_arguments),
    Command(("notify",), "send a reminder to the followers of some scenes", run_notify, _notify_arguments),
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
)


def build_parser(commands: Sequence[Command] = COMMANDS) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="wxfunnel", description="wxfunnel: WeChat funnel on AWS Lambda")
    top = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    groups: dict[str, Any] = {}
    for command in commands:
        if len(command.path) == 1:
            sub = top.add_parser(command.path[0], help=command.help, description=command.help)
        else:
            group, name = command.path
            if group not in groups:
                group_parser = top.add_parser(group, help=GROUPS.get(group, group))
                groups[group] = group_parser.add_subparsers(
                    dest="subcommand", required=True, metavar="COMMAND"
                )
            sub = groups[group].add_parser(name, help=command.help, description=command.help)
        command.arguments(sub)
        sub.set_defaults(run=command.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
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
