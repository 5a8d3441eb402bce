"""domain.exports: a background export's request survives the queue, and nothing else is taken for one."""

from __future__ import annotations

import json

import pytest

from wxfunnel.domain.exports import EXPORT_ID, SELECTORS, WIRE_VERSION, ExportRequest
from wxfunnel.domain.jobs import InvalidJob

ID = "0123456789abcdef0123456789abcdef"


def wire(**changes: object) -> str:
    body: dict[str, object] = {
        "v": 1,
        "id": ID,
        "app": "demo-oa",
        "selector": "scene",
        "value": "春节海报",
        "requested_at": 1_800_000_000,
    }
    body.update(changes)
    return json.dumps({k: v for k, v in body.items() if v is not None}, ensure_ascii=False)


def test_a_request_round_trips_and_selects_in_the_export_routes_words() -> None:
    request = ExportRequest(ID, "demo-oa", "promoter", "alice", 1_800_000_000)
    assert ExportRequest.from_wire(request.to_wire()) == request
    assert request.query == {"app": "demo-oa", "promoter": "alice"}
    assert json.loads(request.to_wire())["v"] == WIRE_VERSION == 1


def test_the_version_1_wire_format_as_queued_today_still_reads() -> None:
    """A request queued before a deploy is read after it: this is the body version 1 sends."""
    assert ExportRequest.from_wire(wire()) == ExportRequest(ID, "demo-oa", "scene", "春节海报", 1_800_000_000)
    assert '"春节海报"' in ExportRequest.from_wire(wire()).to_wire()  # UTF-8, not \\u escapes


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ("not json", "export request: not JSON"),
        ("[" * 100_000, "export request: not JSON"),
        ("[1, 2]", "export request of an unknown version"),
        (wire(v=2), "export request of an unknown version"),
        (wire(v=None), "export request of an unknown version"),
        (wire(id="0123"), "export request: malformed id or selector"),
        (wire(id=ID.upper()), "export request: malformed id or selector"),
        (wire(selector="campaign"), "export request: malformed id or selector"),
        (wire(id=None), "export request: id must be a non-empty string"),
        (wire(app=""), "export request: app must be a non-empty string"),
        (wire(app=7), "export request: app must be a non-empty string"),
        (wire(selector=None), "export request: selector must be a non-empty string"),
        (wire(value=""), "export request: value must be a non-empty string"),
        (wire(requested_at="1800000000"), "export request: requested_at must be an integer"),
        (wire(requested_at=True), "export request: requested_at must be an integer"),
        (wire(requested_at=None), "export request: requested_at must be an integer"),
    ],
)
def test_anything_else_is_refused_as_no_job(body: str, says: str) -> None:
    with pytest.raises(InvalidJob) as refused:
        ExportRequest.from_wire(body)
    assert str(refused.value) == says


def test_ids_and_selectors() -> None:
    assert EXPORT_ID.fullmatch(ID) and not EXPORT_ID.fullmatch(ID + "0")
    assert SELECTORS == ("scene", "promoter", "team")


def test_a_running_export_is_stalled_once_no_attempt_can_still_be_running() -> None:
    from wxfunnel.domain.channels import epoch_of
    from wxfunnel.domain.exports import BUILD_SECONDS_MAX, STALL_GRACE_SECONDS, stalled

    started = "2026-12-07T01:00:00Z"
    limit = epoch_of(started) + BUILD_SECONDS_MAX + STALL_GRACE_SECONDS
    assert (BUILD_SECONDS_MAX, STALL_GRACE_SECONDS) == (900, 60)
    assert not stalled({"status": "running", "started_at": started}, limit)
    assert stalled({"status": "running", "started_at": started}, limit + 1)
    for other in ({"status": "queued", "started_at": started}, {"status": "done", "started_at": started}):
        assert not stalled(other, limit + 10_000)
    assert not stalled({"status": "running"}, limit + 10_000)
    assert not stalled({"status": "running", "started_at": None}, limit + 10_000)
