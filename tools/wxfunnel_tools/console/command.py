"""`wxfunnel console`: serve the operator console on 127.0.0.1 for a deployed stack, a URL or the local stack."""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import time
import webbrowser
from collections.abc import Iterator
from typing import Any

DEFAULT_CONSOLE_PORT = 8910


def arguments(parser: argparse.ArgumentParser) -> None:
    from wxfunnel_tools.cli import DEFAULT_LOCAL_PORT

    parser.add_argument("--profile", help="AWS profile (default: the usual AWS credential chain)")
    parser.add_argument("--region", help="AWS region (default: the URL's, the profile's or AWS_REGION)")
    target = parser.add_mutually_exclusive_group()
    target.add_argument("--stack-name", help="a deployed wxfunnel stack: its AdminApiUrl output is used")
    target.add_argument(
        "--url",
        default=os.environ.get("WXFUNNEL_ADMIN_URL"),
        help=f"admin API base URL (default: $WXFUNNEL_ADMIN_URL, else the local stack of `make dev` at "
        f"http://127.0.0.1:{DEFAULT_LOCAL_PORT}/v1)",
    )
    target.add_argument("--local", action="store_true", help="start a local stack in this process and use it")
    parser.add_argument(
        "--port",
        type=int,
        default=DEFAULT_CONSOLE_PORT,
        help="console port (default: %(default)s; 0: any free port)",
    )
    parser.add_argument("--open", action="store_true", help="open the console in the default browser")
    parser.add_argument(
        "--verbose",
        action="store_true",
        help="also log every request (the console's, and with --local the local stack's access logs)",
    )


@contextlib.contextmanager
def _admin_url(args: argparse.Namespace, session: Any) -> Iterator[str]:
    """The admin API the console talks to, with the local stack running while needed."""
    from wxfunnel_tools.cli import DEFAULT_LOCAL_PORT
    from wxfunnel_tools.template import use_layer

    if args.local:
        use_layer()
        from wxfunnel_tools.localstack import LocalStack
        from wxfunnel_tools.localstack.terminal import configure_logging

        configure_logging(verbose=args.verbose)
        print("starting the local stack (embedded AWS, WeChat sandbox, API front, SQS pollers)…", flush=True)
        from wxfunnel_tools.devapps import demo_apps

        with LocalStack(apps=demo_apps(), port=0, sandbox_port=0) as stack:
            print(f"local stack: {stack.url}  (WeChat callback: {stack.callback_url('demo-oa')})", flush=True)
            yield stack.url
    elif args.stack_name:
        from wxfunnel_tools.admin_client import stack_admin_url

        yield stack_admin_url(args.stack_name, session)
    else:
        yield args.url or f"http://127.0.0.1:{DEFAULT_LOCAL_PORT}/v1"


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def run(args: argparse.Namespace) -> int:
    import boto3

    from wxfunnel_tools.admin_client import AdminError
    from wxfunnel_tools.cli import Failure
    from wxfunnel_tools.console import serve, signer_for
    from wxfunnel_tools.localstack.terminal import PortUnavailable, listening

    signal.signal(signal.SIGTERM, _interrupt)
    session = boto3.session.Session(profile_name=args.profile, region_name=args.region)
    try:
        with _admin_url(args, session) as admin_url:
            try:
                signer = signer_for(admin_url, session, args.region)
            except AdminError as exc:
                raise Failure(exc.message) from exc
            with listening("console", args.port):
                console = serve(admin_url, port=args.port, signer=signer, quiet=not args.verbose)
            with console:
                print(f"operator console: {console.url}  ->  {admin_url}  (Ctrl-C to stop)", flush=True)
                if args.open:
                    webbrowser.open(console.url)
                while True:
                    time.sleep(3600)
    except PortUnavailable as exc:
        if exc.server != "console":
            raise  # the local stack of --local listens on free ports
        print(f"wxfunnel: {exc.advice('--port', '`wxfunnel console`')}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\nstopped.", flush=True)
    return 0
