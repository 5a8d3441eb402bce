"""What `wxfunnel local` and `wxfunnel console --local` print: a port that cannot be used as one line naming the
flag that moves it, and quiet logs unless --verbose (no access line per request of the front, the embedded AWS
or the console; the functions' own logs and every warning and error stay).
"""

from __future__ import annotations

import contextlib
import errno
import logging
import sys
import warnings
from collections.abc import Iterator

# Errors of bind(): the port is taken, privileged, or the address is not this machine's.
_BIND_ERRORS = frozenset({errno.EADDRINUSE, errno.EACCES, errno.EADDRNOTAVAIL})

ACCESS_LOGGER = "wxfunnel_tools.local.access"
_FORMAT = logging.Formatter("%(asctime)s %(message)s", datefmt="%H:%M:%S")


class PortUnavailable(Exception):
    """A server of the local stack (or the console) could not listen on its port."""

    def __init__(self, server: str, port: int, error: OSError) -> None:
        super().__init__(f"{server}: port {port}: {error.strerror}")
        self.server = server  # "api", "sandbox", "aws", "console", "router"
        self.port = port
        self.in_use = error.errno == errno.EADDRINUSE
        self.reason = error.strerror or str(error)

    def advice(self, flag: str, holder: str) -> str:
        """One line for a person, e.g. "port 8900 is in use (another `wxfunnel local`?) — use --port"."""
        if self.in_use:
            return f"port {self.port} is in use (another {holder}?) — use {flag}"
        return f"port {self.port} cannot be used ({self.reason.lower()}) — use {flag}"


@contextlib.contextmanager
def listening(server: str, port: int) -> Iterator[None]:
    """Turns the bind() error of the server started inside the block into PortUnavailable."""
    try:
        yield
    except OSError as exc:
        if exc.errno in _BIND_ERRORS:
            raise PortUnavailable(server, port, exc) from None
        raise


def configure_logging(*, verbose: bool) -> None:
    """Log lines of the tools on stderr, access logs only when `verbose`.

    The tools get their own handler instead of the root logger's: the functions' Powertools logger adds a filter
    to every root handler that drops each record whose logger name contains its service name ("wxfunnel"), so
    after the first invocation the root handler would silently swallow every `wxfunnel_tools` line.
    """
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_FORMAT)
    tools = logging.getLogger("wxfunnel_tools")
    tools.handlers = [handler]
    tools.propagate = False
    tools.setLevel(logging.INFO)
    access_level = logging.INFO if verbose else logging.WARNING
    logging.getLogger(ACCESS_LOGGER).setLevel(access_level)
    # moto's server logs one line per request through werkzeug, and the pollers ask it all the time.
    werkzeug = logging.getLogger("werkzeug")
    werkzeug.setLevel(access_level)
    werkzeug.handlers = [handler]
    werkzeug.propagate = False
    logging.getLogger("botocore").setLevel(logging.WARNING)
    if not verbose:
        # Metrics are off locally (POWERTOOLS_METRICS_DISABLED): Powertools says so at every flush.
        warnings.filterwarnings("ignore", message="No application metrics to publish")
