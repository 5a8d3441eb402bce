"""`make events` runs on its own (a fresh interpreter, no test path set up) and what it writes is accepted."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from wxfunnel_tools.template import ROOT


def test_make_events_writes_sample_events_the_handlers_accept(aws, callback, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    done = subprocess.run(
        [sys.executable, "-m", "wxfunnel_tools.events", str(tmp_path)],
        cwd=ROOT / "tools",
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    written = sorted(p.name for p in tmp_path.iterdir())
    committed = sorted(p.name for p in (ROOT / "events").iterdir() if p.suffix == ".json")
    assert set(written) <= set(committed), "every generated event is also a committed sample"
    pushes = [name for name in written if name.startswith("callback-")]
    assert len(pushes) >= 4
    for name in pushes:
        reply = callback.invoke(json.loads((tmp_path / name).read_text(encoding="utf-8")))
        assert reply.status == 200, (name, reply.body)
    verify = json.loads((tmp_path / "verify.json").read_text(encoding="utf-8"))
    reply = callback.verify(verify)
    assert reply.status == 200 and reply.body == verify["queryStringParameters"]["echostr"].encode()
