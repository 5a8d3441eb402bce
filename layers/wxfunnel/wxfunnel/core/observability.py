"""The logger and metrics every wxfunnel function shares (Powertools), created once per container."""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics

logger = Logger(service="wxfunnel")
metrics = Metrics(namespace="wxfunnel", service="wxfunnel")
