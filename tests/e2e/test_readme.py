"""The README followed as written: `make dev`'s stack (`wxfunnel local`, default ports), then every command of "Try it:
be a WeChat user" run by bash in a second process, each exiting 0 and printing what its comment promises; the
sandbox then shows what WeChat would have done (the welcome answered, the follower tagged, her code sent)."""

from __future__ import annotations

import os
import queue
import re
import shlex
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from wxfunnel_tools.cli import DEFAULT_LOCAL_PORT, DEFAULT_SANDBOX_PORT
from wxfunnel_tools.sandbox import RemoteSandbox

pytestmark = pytest.mark.xdist_group("localstack")

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def try_it_commands() -> list[tuple[str, str | None]]:
    """(command, what its `# reply: …` comment promises) for each line of the README's "Try it" block."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("### Try it: be a WeChat user", 1)[1]
    block = section.split("```bash\n", 1)[1].split("\n```", 1)[0]
    found = []
    for line in block.splitlines():
        command, _, comment = line.partition(" # ")
        shlex.split(command)  # a line bash could not read is a README bug
        promise = re.match(r"\s*reply: ([^,(]+)", comment)
        found.append((command.strip(), promise[1].strip() if promise else None))
    return found


def _free(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) != 0


@pytest.fixture(scope="module")
def make_dev() -> Iterator[subprocess.Popen[str]]:
    """`make dev` without make: `wxfunnel local` on its default ports, until its banner is printed."""
    for port in (DEFAULT_LOCAL_PORT, DEFAULT_SANDBOX_PORT):
        assert _free(port), f"port {port} is taken: the README's commands need make dev's default ports"
    process = subprocess.Popen(
        [str(BIN / "wxfunnel"), "local"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PATH": f"{BIN}:{os.environ['PATH']}"},
    )
    try:
        yield _ready(process)
    finally:
        process.terminate()
        process.wait(timeout=30)


def _ready(process: subprocess.Popen[str]) -> subprocess.Popen[str]:
    """Wait for the banner (a reader thread: a buffered pipe hides the lines already read from select)."""
    assert process.stdout is not None
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in process.stdout or ()], daemon=True).start()
    deadline, seen = time.monotonic() + 180, []
    while time.monotonic() < deadline:
        try:
            seen.append(lines.get(timeout=1))
        except queue.Empty:
            assert process.poll() is None, "".join(seen)
            continue
        if "Ctrl-C to stop" in seen[-1]:
            return process
    pytest.fail("wxfunnel local printed no banner in 180 s:\n" + "".join(seen))


def test_the_readmes_try_it_commands_do_what_they_say(make_dev: subprocess.Popen[str]) -> None:
    commands = try_it_commands()
    assert len(commands) >= 8 and any(promise for _, promise in commands)
    env = {**os.environ, "PATH": f"{BIN}:{os.environ['PATH']}"}
    env.pop("AWS_ENDPOINT_URL", None)
    for command, promise in commands:
        done = subprocess.run(
            ["bash", "-c", command],
            check=False,
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, f"{command}\n{done.stdout}\n{done.stderr}"
        if promise:
            assert promise in done.stdout, f"{command} promised {promise!r}:\n{done.stdout}"
    sandbox = RemoteSandbox(f"http://127.0.0.1:{DEFAULT_SANDBOX_PORT}")
    tagged = sandbox.calls("tags/members/batchtagging")
    assert tagged and tagged[0]["payload"]["openid_list"] == ["o_simulated_user"]
    sent = [
        c["payload"]
        for c in sandbox.calls("message/custom/send")
        if c["payload"].get("touser") == "o_xiaohong"
    ]
    assert [message["msgtype"] for message in sent] == ["text", "image"]  # the intro, then her own code
