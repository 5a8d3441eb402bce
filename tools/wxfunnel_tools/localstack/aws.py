"""The embedded AWS of the local stack: a moto server on 127.0.0.1 with the template's tables and queues and
the development apps in SSM, atomic per DynamoDB request like the real service, and the environment that points
boto3 (handlers and CLI alike) at it."""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import urllib.request
from collections.abc import Mapping
from typing import Any

import boto3
from botocore.config import Config
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import BaseWSGIServer, make_server

from wxfunnel_tools.devapps import DEV_APPS, seed_apps
from wxfunnel_tools.localstack.runtime import REGION
from wxfunnel_tools.moto_dynamodb import atomic_dynamodb
from wxfunnel_tools.template import LOCAL_RESOURCE_PREFIX, provision

# Dummy credentials: moto accepts any, and real ones must never be sent to a local endpoint.
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local", "AWS_SESSION_TOKEN": "local"}

log = logging.getLogger("wxfunnel_tools.local")


class EmbeddedAws:
    """A started moto server; `environment()` points a process at it; `client(name)` is a boto3 client."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        # The server's threads answer concurrent requests: without this, two writers (the callback and the sender,
        # or a WeChat retry racing its original) interleave inside one moto operation.
        self._atomic = contextlib.ExitStack()
        self._atomic.enter_context(atomic_dynamodb())
        try:
            self._server = _moto_server(host, port)
        except BaseException:
            self._atomic.close()
            raise
        self._thread = threading.Thread(target=self._server.serve_forever, name="embedded-aws", daemon=True)
        self._thread.start()
        self.endpoint_url = f"http://{host}:{self._server.port}"
        self._session = boto3.session.Session(
            aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
            aws_session_token=CREDENTIALS["AWS_SESSION_TOKEN"],
            region_name=REGION,
        )

    def environment(self) -> dict[str, str]:
        """AWS_ENDPOINT_URL (honoured by boto3 for every service), dummy credentials and the region."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint_url,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_REGION": REGION,
            **CREDENTIALS,
        }

    def client(self, service: str) -> Any:
        """A client of the embedded AWS, safe to use from the thread that creates it."""
        return self._session.client(
            service,  # type: ignore[call-overload]
            endpoint_url=self.endpoint_url,
            config=Config(
                retries={"mode": "standard", "max_attempts": 2}, connect_timeout=2, read_timeout=10
            ),
        )

    def provision(
        self, apps: Mapping[str, Mapping[str, Any]] | None = None, prefix: str = LOCAL_RESOURCE_PREFIX
    ) -> dict[str, str]:
        """Create the template's tables, queues and buckets, seed the apps; return the Globals environment."""
        self.reset()
        env = provision(self.client("dynamodb"), self.client("sqs"), prefix=prefix, s3=self.client("s3"))
        seed_apps(
            self.client("ssm"),
            env["APPS_PARAMETER_PREFIX"],
            {k: dict(v) for k, v in (apps or DEV_APPS).items()},
        )
        log.info(
            "embedded AWS at %s: tables, queues and buckets of template.yaml, apps %s",
            self.endpoint_url,
            ", ".join(apps or DEV_APPS),
        )
        return env

    def reset(self) -> None:
        """Forget every resource: moto's state is process-wide, shared with any earlier stack."""
        request = urllib.request.Request(f"{self.endpoint_url}/moto-api/reset", method="POST", data=b"")
        with urllib.request.urlopen(request, timeout=10) as response:
            response.read()

    def stop(self) -> None:
        """Reset moto (best effort) and always release the server, its thread and its socket."""
        try:
            with contextlib.suppress(OSError):  # a reset that fails must not leave the server listening
                self.reset()
        finally:
            try:
                self._server.shutdown()
                self._thread.join()
                self._server.server_close()
            finally:
                self._atomic.close()


def _moto_server(host: str, port: int) -> BaseWSGIServer:
    """moto's threaded WSGI server on a socket bound here: moto's ThreadedMotoServer binds in its thread, where
    a port in use ends the thread (werkzeug calls sys.exit) and leaves the caller waiting forever."""
    listener = socket.create_server((host, port), backlog=128)  # OSError (EADDRINUSE…) in the caller
    try:
        return make_server(
            host,
            port,
            DomainDispatcherApplication(create_backend_app),
            threaded=True,
            request_handler=MotoRequestHandler,
            fd=listener.fileno(),
        )
    finally:
        listener.close()  # the server listens on its own duplicate of the descriptor
