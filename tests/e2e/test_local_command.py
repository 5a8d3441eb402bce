"""`wxfunnel local` and `wxfunnel console` as a person starts them: ports as flags with their defaults in --help, a
port in use is one line naming the flag (exit status 2, no traceback), quiet logs unless --verbose."""

from __future__ import annotations

import logging
import os
import re
import selectors
import signal
import socket
import subprocess
import sys
import time
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

from wxfunnel_tools import cli

pytestmark = pytest.mark.xdist_group("localstack")

WXFUNNEL = str(Path(sys.executable).parent / "wxfunnel")
# A werkzeug (moto) access line, e.g. `127.0.0.1 - - [06/Dec/2026 16:45:04] "POST / HTTP/1.1" 200 -`
MOTO_ACCESS = re.compile(r'"(GET|POST) \S+ HTTP/1\.1" \d{3}')
# The API front's access line, e.g. `16:45:04 GET /v1/qrcodes -> QrCodeFunction 200`
FRONT_ACCESS = re.compile(r"GET /v1/qrcodes -> QrCodeFunction 200")


@pytest.fixture
def restored_process() -> Iterator[None]:
    """`wxfunnel local` sets up logging and SIGTERM for the process: give the next tests theirs back."""
    names = ("wxfunnel_tools", "wxfunnel_tools.local.access", "werkzeug", "botocore")
    saved = {name: logging.getLogger(name) for name in names}
    state = {name: (logger.handlers[:], logger.propagate, logger.level) for name, logger in saved.items()}
    sigterm = signal.getsignal(signal.SIGTERM)
    with warnings.catch_warnings():
        yield
    signal.signal(signal.SIGTERM, sigterm)
    for name, (handlers, propagate, level) in state.items():
        saved[name].handlers, saved[name].propagate = handlers, propagate
        saved[name].setLevel(level)


@pytest.fixture
def taken_port() -> Iterator[int]:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        yield holder.getsockname()[1]


def _help(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    with pytest.raises(SystemExit):
        cli.build_parser().parse_args(argv)
    return " ".join(capsys.readouterr().out.split())  # argparse wraps lines wherever it likes


def test_local_help_shows_each_port_flag_with_its_default(capsys: pytest.CaptureFixture[str]) -> None:
    text = _help(["local", "--help"], capsys)
    assert "--port PORT API port: callbacks and admin API (default: 8900" in text
    assert "--sandbox-port SANDBOX_PORT WeChat sandbox port (default: 8901" in text
    assert "--aws-port AWS_PORT embedded AWS (moto) port (default: 8902" in text
    assert "--verbose" in text


def test_console_help_shows_its_port_default(capsys: pytest.CaptureFixture[str]) -> None:
    text = _help(["console", "--help"], capsys)
    assert "console port (default: 8910" in text and "--verbose" in text


@pytest.mark.parametrize("flag", ["--port", "--sandbox-port", "--aws-port"])
def test_a_port_in_use_is_one_line_naming_its_flag_and_status_2(
    flag: str, taken_port: int, restored_process: None, capfd: pytest.CaptureFixture[str]
) -> None:
    ports = {"--port": "0", "--sandbox-port": "0", "--aws-port": "0", flag: str(taken_port)}
    started = time.monotonic()
    assert cli.main(["local", *[item for pair in ports.items() for item in pair]]) == 2
    err = capfd.readouterr().err
    assert err == f"wxfunnel: port {taken_port} is in use (another `wxfunnel local`?) — use {flag}\n"
    assert time.monotonic() - started < 20  # before the slow provisioning; the embedded AWS used to hang here


def test_the_console_port_in_use_is_one_line_and_status_2(
    taken_port: int, restored_process: None, capfd: pytest.CaptureFixture[str]
) -> None:
    argv = ["console", "--port", str(taken_port), "--url", "http://127.0.0.1:1/v1"]
    assert cli.main(argv) == 2
    err = capfd.readouterr().err
    assert err == f"wxfunnel: port {taken_port} is in use (another `wxfunnel console`?) — use --port\n"


# --- the logs of a running stack, in a process of its own (as `make dev` runs it) ------------------------------


class Running:
    """A `wxfunnel …` process: its stdout read until a line matches, stopped with SIGTERM (what Ctrl-C does)."""

    def __init__(self, folder: Path, *args: str) -> None:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        env.pop("AWS_ENDPOINT_URL", None)
        self.err_path = folder / f"stderr-{len(list(folder.iterdir()))}.txt"
        with self.err_path.open("w") as err:  # a file: a pipe nobody reads would block a verbose process
            self.process = subprocess.Popen([WXFUNNEL, *args], stdout=subprocess.PIPE, stderr=err, env=env)
        self.out = ""

    def wait_for(self, pattern: str, timeout: float = 60) -> re.Match[str]:
        assert self.process.stdout is not None
        selector = selectors.DefaultSelector()
        selector.register(self.process.stdout, selectors.EVENT_READ)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = re.search(pattern, self.out)
            if found:
                return found
            if selector.select(timeout=0.5):
                chunk = os.read(self.process.stdout.fileno(), 65536)  # unbuffered: select sees what is left
                if not chunk:
                    break
                self.out += chunk.decode("utf-8", errors="replace")
        raise AssertionError(f"no {pattern!r} in:\n{self.out}\n{self.stop()}")

    def stop(self) -> str:
        """SIGTERM, then everything the process wrote on stderr."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        self.process.communicate(timeout=30)
        return self.err_path.read_text(encoding="utf-8", errors="replace")


@pytest.fixture
def local_quiet_and_verbose(tmp_path: Path) -> Iterator[tuple[Running, Running]]:
    ports = ("--port", "0", "--sandbox-port", "0", "--aws-port", "0")
    quiet = Running(tmp_path, "local", *ports)
    verbose = Running(tmp_path, "local", *ports, "--verbose")
    yield quiet, verbose
    for running in (quiet, verbose):
        if running.process.poll() is None:
            running.process.kill()
            running.process.communicate()


def _use(api: str) -> None:
    """An admin call (SigV4, the QR function, DynamoDB), as a developer would try one."""
    from wxfunnel_tools.admin_client import AdminClient

    AdminClient(api).request("GET", "/qrcodes", query={"app": "demo-oa"})


def test_local_is_quiet_by_default_and_verbose_shows_every_request(
    local_quiet_and_verbose: tuple[Running, Running],
) -> None:
    quiet, verbose = local_quiet_and_verbose
    urls = [running.wait_for(r"API \(stage v1\)\s+(\S+)")[1] for running in (quiet, verbose)]
    for url in urls:
        _use(url)
    time.sleep(2.5)  # the SQS pollers ask the embedded AWS every second
    quiet_err, verbose_err = quiet.stop(), verbose.stop()
    assert "Traceback" not in quiet_err + verbose_err
    assert not MOTO_ACCESS.search(quiet_err), quiet_err[:2000]
    assert not FRONT_ACCESS.search(quiet_err), quiet_err[:2000]
    assert "local stack up" in quiet_err  # the tools' own lines are still there
    assert MOTO_ACCESS.search(verbose_err), verbose_err[:2000]
    assert FRONT_ACCESS.search(verbose_err), verbose_err[:2000]


def test_console_local_is_quiet_by_default(tmp_path: Path) -> None:
    running = Running(tmp_path, "console", "--local", "--port", "0")
    try:
        console = running.wait_for(r"operator console: (\S+)")[1]
        import urllib.request

        with urllib.request.urlopen(console, timeout=10) as page:
            assert page.status == 200
        time.sleep(2.5)
    finally:
        err = running.stop()
    assert "Traceback" not in err
    assert not MOTO_ACCESS.search(err), err[:2000]
    assert "GET / HTTP/1.1" not in err, err[:2000]
