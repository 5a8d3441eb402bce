"""The local stack: the template's functions behind a local API Gateway, SQS pollers, moto, WeChat sandbox.

with LocalStack(port=8900) as stack:
    stack.callback_url("demo-oa")   # http://127.0.0.1:8900/v1/wechat/demo-oa
    stack.url                       # the admin API base (AWS_IAM routes need a SigV4 Authorization header)
    stack.sandbox.api_base          # the WeChat sandbox the functions call
    stack.drain(timeout=30)         # until the SQS-triggered functions have consumed everything
"""

from __future__ import annotations

from wxfunnel_tools.localstack.front import Front
from wxfunnel_tools.localstack.poller import Poller, drain
from wxfunnel_tools.localstack.routes import Match, NoRoute, RouteTable
from wxfunnel_tools.localstack.runtime import FunctionTimedOut, InvocationFailed, LambdaContext, LocalFunction
from wxfunnel_tools.localstack.stack import LocalStack
from wxfunnel_tools.localstack.terminal import PortUnavailable
from wxfunnel_tools.localstack.wechat_router import RealWeChat, Upstreams, WeChatRouter

__all__ = [
    "Front",
    "FunctionTimedOut",
    "InvocationFailed",
    "LambdaContext",
    "LocalFunction",
    "LocalStack",
    "Match",
    "NoRoute",
    "Poller",
    "PortUnavailable",
    "RealWeChat",
    "RouteTable",
    "Upstreams",
    "WeChatRouter",
    "drain",
]
