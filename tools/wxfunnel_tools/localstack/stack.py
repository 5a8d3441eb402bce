"""The whole local stack in one context manager: embedded AWS, the API Gateway front, the SQS pollers and
the WeChat sandbox, wired through the environment as the template wires the deployed functions."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from typing import Any

from wxfunnel_tools.devapps import DEV_APPS
from wxfunnel_tools.localstack.aws import EmbeddedAws
from wxfunnel_tools.localstack.front import Front
from wxfunnel_tools.localstack.poller import Poller, drain
from wxfunnel_tools.localstack.runtime import Handler, LocalFunction
from wxfunnel_tools.localstack.terminal import listening
from wxfunnel_tools.localstack.wechat_router import RealWeChat, WeChatRouter
from wxfunnel_tools.sandbox import Sandbox
from wxfunnel_tools.template import FunctionSpec, functions, queue_url_for
from wxfunnel_tools.template import cold_start as forget_containers

# Variables that would send boto3 elsewhere than the embedded AWS while the stack runs.
_HIDDEN = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE")
# Local defaults: EMF metric lines on stdout would drown the logs an engineer reads.
LOCAL_DEFAULTS = {"POWERTOOLS_METRICS_DISABLED": "true"}

log = logging.getLogger("wxfunnel_tools.local")


class LocalStack:
    """`with LocalStack() as stack:` runs everything on 127.0.0.1 (port 0: any free port) until the block ends

    The functions run in this process, so the stack sets their environment in os.environ and restores it on
    stop. `handlers` replaces a function's handler (tests); `function_specs` the template's functions;
    `real_wechat` adds an app whose WeChat API calls go to WeChat itself (wechat_router), the others' to the sandbox.
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        sandbox: bool = True,
        sandbox_port: int = 0,
        aws_port: int = 0,
        apps: Mapping[str, Mapping[str, Any]] | None = None,
        handlers: Mapping[str, Handler] | None = None,
        function_specs: Sequence[FunctionSpec] | None = None,
        environment: Mapping[str, str] | None = None,
        real_wechat: RealWeChat | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.sandbox_port = sandbox_port
        self.aws_port = aws_port
        self.with_sandbox = sandbox
        self.apps = {name: dict(document) for name, document in (apps or DEV_APPS).items()}
        self.real_wechat = real_wechat
        if real_wechat is not None:
            if not sandbox:
                raise ValueError("real_wechat routes the other apps to the sandbox: keep the sandbox")
            self.apps[real_wechat.app] = dict(real_wechat.config)
        self._handlers = dict(handlers or {})
        self._specs = list(function_specs) if function_specs is not None else None
        self._overrides = dict(environment or {})
        self.env: dict[str, str] = {}
        self.aws: EmbeddedAws | None = None
        self.sandbox: Sandbox | None = None
        self.front: Front | None = None
        self.router: WeChatRouter | None = None
        self.functions: dict[str, LocalFunction] = {}
        self.pollers: list[Poller] = []
        self._saved: dict[str, str | None] = {}

    # --- lifecycle ------------------------------------------------------------------------------------------

    def start(self) -> LocalStack:
        try:
            self._start()
        except BaseException:  # Ctrl-C or a failure half-way: release what was started
            self.stop()
            raise
        return self

    def _start(self) -> None:
        # Every server listens before the slow provisioning, so a port in use is reported at once.
        specs = self._specs if self._specs is not None else functions()
        self.functions = {
            spec.logical_id: LocalFunction(spec, self._handlers.get(spec.logical_id)) for spec in specs
        }
        with listening("api", self.port):
            self.front = Front(self.functions.values(), host=self.host, port=self.port)
        if self.with_sandbox:
            with listening("sandbox", self.sandbox_port):
                self.sandbox = Sandbox.start(self.host, self.sandbox_port)
        with listening("aws", self.aws_port):
            self.aws = EmbeddedAws(self.host, self.aws_port)
        env = {**self.aws.environment(), **self.aws.provision(self.apps)}
        if self.sandbox is not None:
            for name, document in self.apps.items():
                if self.real_wechat is None or name != self.real_wechat.app:
                    self.sandbox.register_app(document["appid"], document["secret"], document["kind"])
            api_base, mp_base = self.sandbox.api_base, self.sandbox.mp_base
            if self.real_wechat is not None:
                self.router = WeChatRouter(self.real_wechat, api_base, mp_base, host=self.host).start()
                api_base, mp_base = self.router.api_base, self.router.mp_base
            env.update(
                {
                    "WECHAT_API_BASE": api_base,
                    "WECHAT_API_BACKUP_BASE": api_base,  # the router fails over to WeChat's backup itself
                    "WECHAT_MP_BASE": mp_base,
                }
            )
        env.update(LOCAL_DEFAULTS)
        env.update(self._overrides)
        self._apply_environment(env)
        self.front.start()
        aws = self.aws
        for function in self.functions.values():
            for queue in function.spec.queues:
                poller = Poller(
                    function,
                    queue_url_for(env, queue),
                    lambda: aws.client("sqs"),
                    batch_size=function.spec.batch_sizes.get(queue, 10),
                )
                self.pollers.append(poller.start())
        log.info("local stack up: %s", self.url)

    def stop(self) -> None:
        """Stop pollers, front, WeChat router, sandbox and moto (in that order), then restore the environment.
        Idempotent."""
        for poller in self.pollers:
            poller.request_stop()
        for poller in self.pollers:
            poller.stop()
        self.pollers = []
        if self.front is not None:
            self.front.stop()
            self.front = None
        if self.router is not None:
            self.router.stop()
            self.router = None
        if self.sandbox is not None:
            self.sandbox.stop()
            self.sandbox = None
        if self.aws is not None:
            self.aws.stop()
            self.aws = None
        self._restore_environment()

    def __enter__(self) -> LocalStack:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    def _apply_environment(self, env: Mapping[str, str]) -> None:
        for key in (*_HIDDEN, *env):
            if key not in self._saved:
                self._saved[key] = os.environ.get(key)
        for key in _HIDDEN:
            os.environ.pop(key, None)
        os.environ.update(env)
        self.env = dict(env)
        forget_containers()

    def _restore_environment(self) -> None:
        for key, value in self._saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        self._saved = {}
        forget_containers()

    # --- what callers use -----------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """The API's base URL with its stage, e.g. http://127.0.0.1:8900/v1 (the admin API's URL too)."""
        if self.front is None:
            raise RuntimeError("the local stack is not started")
        return self.front.url

    def callback_url(self, app: str) -> str:
        """The URL to configure as the app's server URL (服务器地址 / 消息推送 URL)."""
        return f"{self.url}/wechat/{app}"

    @property
    def aws_endpoint(self) -> str:
        if self.aws is None:
            raise RuntimeError("the local stack is not started")
        return self.aws.endpoint_url

    def client(self, service: str) -> Any:
        """A boto3 client of the embedded AWS (one per thread)."""
        if self.aws is None:
            raise RuntimeError("the local stack is not started")
        return self.aws.client(service)

    def queue_url(self, logical_id: str) -> str:
        return queue_url_for(self.env, logical_id)

    def drain(self, timeout: float = 30.0) -> None:
        """Wait until the SQS-triggered functions consumed everything (TimeoutError says what remains)."""
        drain(self.client("sqs"), self.pollers, timeout=timeout)
