"""Reads template.yaml so tests and the local stack use the deployed shape: tables, queues, functions, routes."""

from __future__ import annotations

import copy
import importlib.util
import os
import re
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"


class _CfnLoader(yaml.SafeLoader):
    """YAML loader that keeps CloudFormation short-form intrinsics (!Ref, !GetAtt, !Sub …) as long-form dicts."""


def _intrinsic(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> Any:
    name = suffix if suffix in ("Ref", "Condition") else f"Fn::{suffix}"
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
        if suffix == "GetAtt":
            value = str(value).split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    return {name: value}


_CfnLoader.add_multi_constructor("!", _intrinsic)


@cache
def load_template(path: Path = TEMPLATE) -> dict[str, Any]:
    with path.open(encoding="utf-8") as handle:
        document = yaml.load(handle, Loader=_CfnLoader)  # noqa: S506 (a SafeLoader subclass)
    if not isinstance(document, dict):
        raise ValueError(f"{path} is not a CloudFormation template")
    return document


def translate(parameters: Mapping[str, str] | None = None, path: Path = TEMPLATE) -> dict[str, Any]:
    """template.yaml as SAM's transform hands it to CloudFormation: the RestApi's OpenAPI body with each method's
    integration, the stages, event source mappings, roles. What API Gateway, Lambda and IAM actually receive.

    Local CodeUri/ContentUri are replaced by S3 placeholders, as `sam validate` does; no AWS call is made.
    `parameters` are the values CloudFormation would pass to the transform (SAM resolves some Refs with them).
    """
    return copy.deepcopy(_translated(tuple(sorted((parameters or {}).items())), path))


@cache
def _translated(parameters: tuple[tuple[str, str], ...], path: Path) -> dict[str, Any]:
    import boto3
    from samtranslator.parser.parser import Parser
    from samtranslator.translator.translator import Translator
    from samtranslator.yaml_helper import yaml_parse

    document = yaml_parse(path.read_text(encoding="utf-8"))
    for resource in document.get("Resources", {}).values():
        properties = resource.get("Properties") or {}
        for key in ("CodeUri", "ContentUri"):
            if isinstance(properties.get(key), str):
                properties[key] = "s3://local-placeholder/" + properties[key].strip("/")
    # The region only fills AWS::Region/AWS::Partition; the template names managed policies by ARN, so the
    # translator never needs IAM's list of them.
    translator = Translator({}, Parser(), boto_session=boto3.session.Session(region_name="us-east-1"))
    translated: dict[str, Any] = translator.translate(document, dict(parameters), get_managed_policy_map=dict)
    return translated


@dataclass(frozen=True, slots=True)
class Route:
    method: str
    path: str
    auth: str  # "AWS_IAM" or "NONE"


@dataclass(frozen=True, slots=True)
class FunctionSpec:
    logical_id: str
    code_uri: str
    handler: str
    timeout: int
    routes: tuple[Route, ...] = ()
    queues: tuple[str, ...] = ()  # logical ids of the SQS queues that trigger it
    batch_sizes: Mapping[str, int] = field(default_factory=dict)


def functions(template: Mapping[str, Any] | None = None) -> list[FunctionSpec]:
    """Every AWS::Serverless::Function with its API routes and SQS triggers, Globals applied."""
    template = template or load_template()
    globals_ = template.get("Globals", {}).get("Function", {})
    api_default = "NONE"
    for resource in template["Resources"].values():
        if resource["Type"] == "AWS::Serverless::Api":
            api_default = resource["Properties"].get("Auth", {}).get("DefaultAuthorizer", "NONE")
    specs = []
    for logical_id, resource in template["Resources"].items():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        props = resource["Properties"]
        routes: list[Route] = []
        queues: list[str] = []
        batch_sizes: dict[str, int] = {}
        for event in props.get("Events", {}).values():
            event_props = event.get("Properties", {})
            if event["Type"] == "Api":
                auth = event_props.get("Auth", {}).get("Authorizer", api_default)
                routes.append(Route(event_props["Method"].upper(), event_props["Path"], auth))
            elif event["Type"] == "SQS":
                queue_logical_id = event_props["Queue"]["Fn::GetAtt"][0]
                queues.append(queue_logical_id)
                batch_sizes[queue_logical_id] = int(event_props.get("BatchSize", 10))
        specs.append(
            FunctionSpec(
                logical_id=logical_id,
                code_uri=props["CodeUri"],
                handler=props.get("Handler", globals_.get("Handler", "app.lambda_handler")),
                timeout=int(props.get("Timeout", globals_.get("Timeout", 3))),
                routes=tuple(routes),
                queues=tuple(queues),
                batch_sizes=batch_sizes,
            )
        )
    return specs


def function(logical_id: str) -> FunctionSpec:
    for spec in functions():
        if spec.logical_id == logical_id:
            return spec
    raise KeyError(logical_id)


def cold_start() -> None:
    """Forget the layer's per-container caches (clients, settings, parameters), as a new Lambda container would."""
    for name, module in list(sys.modules.items()):
        if not (name == "wxfunnel" or name.startswith("wxfunnel.")):
            continue
        for value in list(vars(module).values()):
            clear = getattr(value, "cache_clear", None)
            if callable(clear):
                clear()
        reset = getattr(module, "_reset_container", None)
        if callable(reset):
            reset()


def use_layer() -> None:
    """Make the `wxfunnel` layer package importable, as Lambda does by mounting the layer.

    WXFUNNEL_LAYER_DIR names a built layer's `python/` directory to use instead of the source (the benchmark imports
    the layer as `sam build` makes it: dependencies and bytecode included).
    """
    layer = os.environ.get("WXFUNNEL_LAYER_DIR") or str(ROOT / "layers" / "wxfunnel")
    if layer not in sys.path:
        sys.path.insert(0, layer)


def load_handler(logical_id: str) -> Callable[[dict[str, Any], Any], Any]:
    """Import a function's handler the way Lambda does: its CodeUri is the root, the layer is on sys.path."""
    spec = function(logical_id)
    module_name, attribute = spec.handler.rsplit(".", 1)
    code_dir = ROOT / spec.code_uri
    unique = f"_wxfunnel_fn_{logical_id}_{module_name}"
    module = sys.modules.get(unique)
    if module is None:
        use_layer()
        import_spec = importlib.util.spec_from_file_location(unique, code_dir / f"{module_name}.py")
        if import_spec is None or import_spec.loader is None:
            raise ImportError(f"cannot load {code_dir / module_name}.py")
        module = importlib.util.module_from_spec(import_spec)
        sys.modules[unique] = module
        import_spec.loader.exec_module(module)
    handler: Callable[[dict[str, Any], Any], Any] = getattr(module, attribute)
    return handler


def _table_kwargs(name: str, props: Mapping[str, Any]) -> dict[str, Any]:
    kwargs: dict[str, Any] = {
        "TableName": name,
        "AttributeDefinitions": props["AttributeDefinitions"],
        "KeySchema": props["KeySchema"],
        "BillingMode": props.get("BillingMode", "PAY_PER_REQUEST"),
    }
    if "GlobalSecondaryIndexes" in props:
        kwargs["GlobalSecondaryIndexes"] = props["GlobalSecondaryIndexes"]
    return kwargs


# The stack the local stack and the tests stand for: the README's and samconfig.toml's, so the development apps live
# where that stack's apps would (its AppsParameterPrefix default, /wxfunnel/apps/).
LOCAL_STACK_NAME = "wxfunnel"


LOCAL_RESOURCE_PREFIX = "wxfunnel-local"


def local_table_name(logical_id: str, prefix: str = LOCAL_RESOURCE_PREFIX) -> str:
    """The name `provision` gives a table of the template (the local stack's and the tests')."""
    return f"{prefix}-{logical_id}"


def provision(
    dynamodb: Any,
    sqs: Any,
    prefix: str = LOCAL_RESOURCE_PREFIX,
    stack_name: str = LOCAL_STACK_NAME,
    s3: Any = None,
) -> dict[str, str]:
    """Create the template's DynamoDB tables, SQS queues and S3 buckets; return the Globals environment,
    resolved. `s3` defaults to a client in the DynamoDB client's region (the endpoint from the environment)."""
    template = load_template()
    physical: dict[str, str] = {}
    queue_arns: dict[str, str] = {}
    resources = template["Resources"]
    for logical_id, resource in resources.items():
        if resource["Type"] == "AWS::DynamoDB::Table":
            name = local_table_name(logical_id, prefix)
            dynamodb.create_table(**_table_kwargs(name, resource["Properties"]))
            ttl = resource["Properties"].get("TimeToLiveSpecification")
            if ttl:
                dynamodb.update_time_to_live(
                    TableName=name,
                    TimeToLiveSpecification={"AttributeName": ttl["AttributeName"], "Enabled": True},
                )
            physical[logical_id] = name
    buckets = [lid for lid, r in resources.items() if r["Type"] == "AWS::S3::Bucket"]
    if buckets:
        import boto3  # here, not at the top: the cold-import benchmark loads this module before its clock starts

        region = dynamodb.meta.region_name
        s3 = s3 or boto3.client("s3", region_name=region)
        for logical_id in buckets:
            name = local_table_name(logical_id, prefix).lower()
            location = (
                {} if region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region}}
            )
            s3.create_bucket(Bucket=name, **location)
            physical[logical_id] = name
    # Dead-letter queues first: a redrive policy names its target by ARN.
    queues = [(lid, r) for lid, r in resources.items() if r["Type"] == "AWS::SQS::Queue"]
    queues.sort(key=lambda item: "RedrivePolicy" in item[1].get("Properties", {}))
    for logical_id, resource in queues:
        props = resource.get("Properties", {})
        fifo = bool(props.get("FifoQueue"))
        name = f"{prefix}-{logical_id}" + (".fifo" if fifo else "")
        attributes: dict[str, str] = {}
        if fifo:
            attributes["FifoQueue"] = "true"
            attributes["ContentBasedDeduplication"] = str(
                props.get("ContentBasedDeduplication", False)
            ).lower()
        for key in ("VisibilityTimeout", "MessageRetentionPeriod"):
            if key in props:
                attributes[key] = str(props[key])
        redrive = props.get("RedrivePolicy")
        if redrive:
            target = redrive["deadLetterTargetArn"]["Fn::GetAtt"][0]
            attributes["RedrivePolicy"] = '{"deadLetterTargetArn":"%s","maxReceiveCount":"%s"}' % (
                queue_arns[target],
                redrive["maxReceiveCount"],
            )
        url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
        physical[logical_id] = url
        queue_arns[logical_id] = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
    return environment(physical, stack_name=stack_name, template=template)


def environment(
    physical: Mapping[str, str],
    *,
    stack_name: str = LOCAL_STACK_NAME,
    template: Mapping[str, Any] | None = None,
) -> dict[str, str]:
    """The Globals environment of the functions with the parameters' defaults, `physical` names for resources
    and `stack_name` for AWS::StackName, resolved as CloudFormation would."""
    template = template or load_template()
    resolver = _Resolver(template, physical, stack_name)
    return {key: str(resolver.value(value)) for key, value in _variables(template).items()}


def function_environments(
    physical: Mapping[str, str],
    *,
    stack_name: str = LOCAL_STACK_NAME,
    parameters: Mapping[str, str] | None = None,
    template: Mapping[str, Any] | None = None,
) -> dict[str, dict[str, str]]:
    """Each function's environment as CloudFormation sets it: the Globals variables, then the function's own (which
    win), with `parameters` as deployed (their defaults otherwise), `physical` ids for resources and `stack_name`
    for AWS::StackName."""
    template = template or load_template()
    resolver = _Resolver(template, physical, stack_name, parameters)
    shared = _variables(template)
    environments: dict[str, dict[str, str]] = {}
    for logical_id, resource in template["Resources"].items():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        own = (resource.get("Properties") or {}).get("Environment", {}).get("Variables", {})
        environments[logical_id] = {
            key: _as_text(resolver.value(value)) for key, value in {**shared, **own}.items()
        }
    return environments


def _as_text(value: Any) -> str:
    """An environment value as CloudFormation writes it (YAML true is "true")."""
    return str(value).lower() if isinstance(value, bool) else str(value)


def conditions(parameters: Mapping[str, str] | None = None) -> dict[str, bool]:
    """Each of the template's Conditions, with `parameters` given as at deploy time (the defaults otherwise)."""
    template = load_template()
    resolver = _Resolver(template, {}, LOCAL_STACK_NAME, parameters)
    return {name: resolver.condition(value) for name, value in template.get("Conditions", {}).items()}


def apps_parameter_prefix(stack_name: str = LOCAL_STACK_NAME) -> str:
    """The SSM prefix of the apps of a stack deployed with the template's defaults (the local stack's by default)."""
    template = load_template()
    return str(_Resolver(template, {}, stack_name).value(_variables(template)["APPS_PARAMETER_PREFIX"]))


def _variables(template: Mapping[str, Any]) -> dict[str, Any]:
    return dict(template.get("Globals", {}).get("Function", {}).get("Environment", {}).get("Variables", {}))


class _Resolver:
    """The intrinsic functions the Globals environment uses: Ref, Fn::Sub, Fn::If and the conditions' Fn::Equals,
    Fn::Not, Fn::And, Fn::Or. Anything else is a ValueError (the local stack would otherwise guess)."""

    def __init__(
        self,
        template: Mapping[str, Any],
        physical: Mapping[str, str],
        stack_name: str,
        parameters: Mapping[str, str] | None = None,
    ) -> None:
        self.parameters = template.get("Parameters", {})
        self.values = dict(parameters or {})
        self.conditions = template.get("Conditions", {})
        self.physical = physical
        self.stack_name = stack_name

    def ref(self, name: str) -> str:
        if name == "AWS::StackName":
            return self.stack_name
        if name in self.physical:
            return self.physical[name]
        if name in self.values:
            return self.values[name]
        if name in self.parameters:
            return str(self.parameters[name].get("Default", ""))
        raise ValueError(f"cannot resolve Ref {name} locally")

    def value(self, value: Any) -> Any:
        if not (isinstance(value, Mapping) and len(value) == 1):
            return value
        [(function, argument)] = value.items()
        if function == "Ref":
            return self.ref(argument)
        if function == "Fn::Sub":
            text, variables = (argument, {}) if isinstance(argument, str) else argument
            local = {name: str(self.value(item)) for name, item in variables.items()}
            return re.sub(r"\$\{([^}!]+)\}", lambda m: local.get(m[1]) or self.ref(m[1]), text)
        if function == "Fn::If":
            name, when_true, when_false = argument
            return self.value(when_true if self.condition(self.conditions[name]) else when_false)
        raise ValueError(f"cannot resolve {function} locally")

    def condition(self, value: Any) -> bool:
        [(function, argument)] = value.items()
        if function == "Fn::Equals":
            left, right = (str(self.value(item)) for item in argument)
            return left == right
        if function == "Fn::Not":
            return not self.condition(argument[0])
        if function == "Fn::And":
            return all(self.condition(item) for item in argument)
        if function == "Fn::Or":
            return any(self.condition(item) for item in argument)
        if function == "Condition":
            return self.condition(self.conditions[argument])
        raise ValueError(f"cannot resolve condition {function} locally")


def queue_url_for(env: Mapping[str, str], logical_id: str) -> str:
    """The URL of a queue provisioned by `provision`, by its logical id (for pollers and tests)."""
    for value in env.values():
        if value.rsplit("/", 1)[-1].split(".fifo")[0].endswith(f"-{logical_id}"):
            return value
    raise KeyError(logical_id)
