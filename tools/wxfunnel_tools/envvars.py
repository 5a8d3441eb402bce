"""The --env-vars file of `sam local invoke`: each function's environment as a deployed stack gives it.

`sam local invoke` runs a built function in Docker but cannot resolve what the template's variables refer to
(`TOKENS_TABLE: !Ref TokensTable` is a table of a deployed stack): without this file such variables are empty, and
SAM lets the file set only the variables the template declares. So this writes, for every function, the Globals
variables and the function's own, resolved against a deployed stack: its resources' physical ids, its parameter
values and its name (CloudFormation DescribeStacks and ListStackResources; nothing is written to AWS).

    make env-vars [STACK=wxfunnel]     # → events/env.json, for `sam local invoke … --env-vars events/env.json`
    python -m wxfunnel_tools.envvars [--stack-name NAME] [--region R] [--profile P] [--out FILE]

The stack defaults to samconfig.toml's (the one `sam deploy` targets); the AWS credentials and region are the usual
ones (AWS_PROFILE, AWS_REGION, --profile, --region), the same that `sam local invoke` hands the function.
"""

from __future__ import annotations

import argparse
import json
import sys
import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from wxfunnel_tools.template import ROOT, function_environments

DEFAULT_OUT = ROOT / "events" / "env.json"
SAMCONFIG = ROOT / "samconfig.toml"


class NoStack(Exception):
    """The stack cannot be read (not deployed, no credentials, another region): the message says which."""


def samconfig_stack_name(path: Path = SAMCONFIG) -> str | None:
    """The stack name samconfig.toml gives `sam deploy` (default environment), if any."""
    try:
        config = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError):
        return None
    default = config.get("default", {})
    for command in ("deploy", "global"):
        name = default.get(command, {}).get("parameters", {}).get("stack_name")
        if name:
            return str(name)
    return None


def stack_env_vars(stack_name: str, session: Any) -> dict[str, dict[str, str]]:
    """{function logical id: its environment} for the deployed stack `stack_name`."""
    from botocore.exceptions import BotoCoreError, ClientError

    cloudformation = session.client("cloudformation")
    try:
        [stack] = cloudformation.describe_stacks(StackName=stack_name)["Stacks"]
        physical: dict[str, str] = {}
        for page in cloudformation.get_paginator("list_stack_resources").paginate(StackName=stack_name):
            for resource in page["StackResourceSummaries"]:
                if resource.get("PhysicalResourceId"):
                    physical[resource["LogicalResourceId"]] = resource["PhysicalResourceId"]
    except ClientError as exc:
        raise NoStack(f"stack {stack_name}: {exc.response['Error'].get('Message', exc)}") from None
    except BotoCoreError as exc:
        raise NoStack(f"stack {stack_name}: {exc}") from None
    parameters = {
        item["ParameterKey"]: item.get("ResolvedValue", item.get("ParameterValue", ""))
        for item in stack.get("Parameters", [])
    }
    return function_environments(physical, stack_name=stack["StackName"], parameters=parameters)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m wxfunnel_tools.envvars",
        description="Write the --env-vars file of `sam local invoke` for a deployed stack.",
    )
    parser.add_argument(
        "--stack-name",
        default=samconfig_stack_name(),
        help="the deployed stack (default: samconfig.toml's, %(default)s)",
    )
    parser.add_argument("--region", help="its region (default: AWS_REGION or the profile's)")
    parser.add_argument("--profile", help="AWS profile (default: the usual credential chain)")
    parser.add_argument(
        "--out", type=Path, default=DEFAULT_OUT, help="the file to write (default: %(default)s)"
    )
    args = parser.parse_args(argv)
    if not args.stack_name:
        print("envvars: name the deployed stack: --stack-name NAME (or STACK=NAME for make)", file=sys.stderr)
        return 1
    import boto3

    session = boto3.session.Session(profile_name=args.profile, region_name=args.region)
    try:
        env_vars = stack_env_vars(args.stack_name, session)
    except NoStack as exc:
        print(f"envvars: {exc}", file=sys.stderr)
        return 1
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(env_vars, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    print(
        f"{args.out}: the environment of {len(env_vars)} functions of stack {args.stack_name} "
        f"({session.region_name}), for `sam local invoke <Function> --env-vars {args.out}`"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
