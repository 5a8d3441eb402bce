"""`make events` runs on its own (a fresh interpreter, no test path set up) and what it writes is accepted; the
committed events are stale only by their age, and the README's `sam local invoke` steps sign them first."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from wxfunnel_tools.events import app_configurations
from wxfunnel_tools.template import ROOT

EVENTS = ROOT / "events"
REFRESH = "run `make events` and commit what it writes"


def _tree(folder: Path) -> set[str]:
    return {str(path.relative_to(folder)) for path in folder.rglob("*.json")}


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
    written = _tree(tmp_path)
    assert written <= _tree(EVENTS) - {"env.json"}, f"every generated file is also committed: {REFRESH}"
    pushes = sorted(name for name in written if name.startswith("callback-"))
    assert len(pushes) >= 4
    for name in pushes:
        reply = callback.invoke(json.loads((tmp_path / name).read_text(encoding="utf-8")))
        assert reply.status == 200, (name, reply.body)
    verify = json.loads((tmp_path / "verify.json").read_text(encoding="utf-8"))
    reply = callback.verify(verify)
    assert reply.status == 200 and reply.body == verify["queryStringParameters"]["echostr"].encode()


def _committed(name: str) -> dict:
    return json.loads((EVENTS / name).read_text(encoding="utf-8"))


@pytest.mark.parametrize("name", sorted(p.name for p in EVENTS.glob("callback-*.json")))
def test_a_committed_push_is_refused_for_its_age_only(
    aws, callback, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    """Signed with the development apps' current tokens and keys: accepted by a callback whose clock reads the
    push's own time, so `make events` (which only signs again, now) is all it takes."""
    from wxfunnel.entry import intake

    event = _committed(name)
    signed_at = int(event["queryStringParameters"]["timestamp"])
    window = int(aws.env.get("REPLAY_WINDOW_SECONDS") or 600)
    # A clock past the replay window refuses it (whenever the events were last signed), its own time accepts it.
    monkeypatch.setattr(intake, "time", SimpleNamespace(time=lambda: signed_at + window + 60.0))
    assert callback.invoke(event).status == 403, "an old push must be refused as a replay"
    monkeypatch.setattr(intake, "time", SimpleNamespace(time=lambda: signed_at + 5.0))
    reply = callback.invoke(event)
    assert reply.status == 200, (
        f"{name} no longer matches the development apps: {REFRESH} ({reply.body[:200]!r})"
    )


def test_the_committed_verification_matches_the_development_app(aws, callback) -> None:
    event = _committed("verify.json")
    reply = callback.verify(event)
    assert reply.status == 200, f"verify.json no longer matches the development app: {REFRESH}"


def test_the_committed_apps_are_those_the_events_are_signed_for() -> None:
    for name, document in app_configurations().items():
        assert _committed(name) == document, f"events/{name} is stale: {REFRESH}"


def _sam_local_steps() -> list[str]:
    """The commands of the README's `sam local invoke` section, in order."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("### `sam build` and `sam local invoke`", 1)[1].split("\n## ", 1)[0]
    return [line.strip() for line in section.splitlines() if line.startswith("    ") and line.strip()]


def test_the_readme_signs_the_wechat_events_right_before_invoking_them() -> None:
    steps = _sam_local_steps()
    invocations = [i for i, step in enumerate(steps) if step.startswith("sam local invoke")]
    assert invocations, "the README shows `sam local invoke`"
    assert steps.index("sam build") < invocations[0]
    for index in invocations:
        event = re.search(r"-e (events/\S+)", steps[index])
        assert event and (ROOT / event[1]).is_file(), steps[index]
        assert "--env-vars events/env.json" in steps[index], steps[index]
        if re.search(r"events/(callback|verify)", event[1]):
            signed = [i for i, step in enumerate(steps[:index]) if step.startswith("make events")]
            assert signed, f"`make events` must come before {steps[index]}"
    assert any(step.startswith("make env-vars") for step in steps[: invocations[0]])
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert re.search(r"^env-vars:", makefile, re.MULTILINE) and re.search(r"^events:", makefile, re.MULTILINE)
