"""Background followers exports: POST /followers/exports through QrCodeFunction, the request through ExportQueue
to the real ExportFunction, the status and the file in the exports bucket (moto), as an operator polls them."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import pytest
import requests

from wxfunnel_tools.sqs_events import pump, receive_event, settle
from wxfunnel_tools.template import load_handler
from wxfunnel_tools.testing import admin_call, lambda_context

OA = "demo-oa"


@pytest.fixture
def funnel(make_funnel):
    return make_funnel({OA: {"welcome": "欢迎"}})


@pytest.fixture
def exporter():
    return load_handler("ExportFunction")


def call(funnel, method: str, resource: str, path: str, **query) -> tuple[int, Any]:
    """QrCodeFunction's route as API Gateway calls it for an operator (path parameters from the resource's
    placeholders) → (status, the JSON answer or the body's bytes)."""
    names = [part[1:-1] for part in resource.split("/") if part.startswith("{")]
    values = [p for p, r in zip(path.split("/"), resource.split("/"), strict=True) if p != r]
    status, data, _ = admin_call(
        funnel.qrcodes,
        "QrCodeFunction",
        method,
        resource,
        path,
        params=dict(zip(names, values, strict=True)) or None,
        query={k: str(v) for k, v in query.items()} or None,
    )
    return status, data


def run_exports(funnel, exporter) -> list[str]:
    """ExportQueue's event source mapping: what ExportFunction reported failed."""
    return pump(
        funnel.aws.sqs, funnel.aws.env["EXPORT_QUEUE_URL"], exporter, lambda_context("ExportFunction")
    )


def status_of(funnel, export: dict) -> dict:
    status, answer = call(
        funnel, "GET", "/followers/exports/{export_id}", f"/followers/exports/{export['id']}", app=OA
    )
    assert status == 200, answer
    return answer


def rows_of(text: str) -> set[tuple[str, str]]:
    assert text.startswith("\ufeff")
    return {(r["openid"], r["channel"]) for r in csv.DictReader(io.StringIO(text.removeprefix("\ufeff")))}


def test_an_export_queued_runs_in_the_background_and_its_file_is_the_exports_csv(
    funnel, exporter, monkeypatch
):
    funnel.create_channel("春节海报", name="春节海报渠道", tag="spring")
    for openid in ("o-1", "o-2", "o-3"):
        funnel.follow(openid, "春节海报")
    funnel.push(OA, "event", "o-3", Event="unsubscribe")

    status, queued = call(
        funnel, "POST", "/followers/exports", "/followers/exports", app=OA, scene="春节海报"
    )
    assert status == 202, queued
    assert queued["status"] == "queued" and queued["scene"] == "春节海报" and "url" not in queued
    assert queued["file"].startswith("followers-demo-oa-春节海报-") and queued["file"].endswith(".csv")
    assert status_of(funnel, queued)["status"] == "queued"  # nothing ran yet

    assert run_exports(funnel, exporter) == []
    done = status_of(funnel, queued)
    assert done["status"] == "done" and done["rows"] == 3 and done["expires_in"] == 900, done
    assert done["links"]["self"] == f"/followers/exports/{queued['id']}?app={OA}"
    downloaded = requests.get(done["url"], timeout=10)
    assert downloaded.status_code == 200 and len(downloaded.content) == done["bytes"]
    # saved under its name (Chinese kept), not shown in the browser
    assert "filename*=UTF-8''followers-demo-oa-%E6%98%A5" in downloaded.headers["Content-Disposition"]
    exported = downloaded.content.decode("utf-8")
    assert rows_of(exported) == {("o-1", "春节海报渠道"), ("o-2", "春节海报渠道"), ("o-3", "春节海报渠道")}

    # The same CSV as the export answer (row order aside: the background export reads one shard after another).
    _, answer = call(funnel, "GET", "/followers/export", "/followers/export", app=OA, scene="春节海报")
    answered = answer.decode("utf-8")
    assert sorted(answered.splitlines()) == sorted(exported.splitlines())

    # A redelivered request does not build the export again.
    from wxfunnel.store import exports

    uploads = []
    monkeypatch.setattr(exports, "upload", lambda *args, **kwargs: uploads.append(args))
    funnel.aws.sqs.send_message(
        QueueUrl=funnel.aws.env["EXPORT_QUEUE_URL"],
        MessageBody=json.dumps(
            {
                "v": 1,
                "id": queued["id"],
                "app": OA,
                "selector": "scene",
                "value": "春节海报",
                "requested_at": 1,
            }
        ),
    )
    assert run_exports(funnel, exporter) == []
    assert uploads == [] and status_of(funnel, queued)["finished_at"] == done["finished_at"]


def test_a_large_export_is_streamed_in_parts_and_a_promoters_covers_their_channels(
    funnel, exporter, monkeypatch
):
    from wxfunnel.store import exports

    monkeypatch.setattr(exports, "PART_BYTES", 5 * 1024 * 1024)  # S3's smallest part
    funnel.admin(
        funnel.qrcodes, "POST", "/promoters", "/promoters", {"app": OA, "id": "alice", "name": "王小明"}
    )
    funnel.create_channel("poster", name="海报", promoter="alice")
    funnel.create_channel("booth", name="展台", promoter="alice")
    funnel.follow("o-poster", "poster")
    funnel.follow("o-booth", "booth")

    # Pages of CSV as large as a real export's, so the file needs a multipart upload of several parts.
    from wxfunnel.entry.admin import followers

    pages = followers.csv_pages

    def padded(selection, deadline):
        yield from pages(selection, deadline)
        yield b"#" * (11 * 1024 * 1024), 0

    monkeypatch.setattr(followers, "csv_pages", padded)
    _, queued = call(funnel, "POST", "/followers/exports", "/followers/exports", app=OA, promoter="alice")
    assert run_exports(funnel, exporter) == []
    done = status_of(funnel, queued)
    assert done["status"] == "done" and done["rows"] == 2 and done["bytes"] > 11 * 1024 * 1024
    body = requests.get(done["url"], timeout=30).content
    assert len(body) == done["bytes"]
    assert rows_of(body.rstrip(b"#").decode("utf-8")) == {("o-poster", "海报"), ("o-booth", "展台")}


def test_an_export_too_large_for_the_function_ends_failed_and_is_not_retried(funnel, exporter, monkeypatch):
    from wxfunnel.entry import exports as worker

    funnel.create_channel("poster", name="海报")
    funnel.follow("o-1", "poster")
    monkeypatch.setattr(worker, "MARGIN_SECONDS", 3600.0)  # whatever the function's time, it is too short
    _, queued = call(funnel, "POST", "/followers/exports", "/followers/exports", app=OA, scene="poster")
    assert run_exports(funnel, exporter) == []  # done with, not retried: a retry meets the same limit
    failed = status_of(funnel, queued)
    assert (failed["status"], failed["reason"]) == ("failed", "export_too_large") and "url" not in failed


def test_an_export_failing_on_every_attempt_says_so_and_goes_to_its_dead_letter_queue(
    funnel, exporter, monkeypatch
):
    from wxfunnel.store import exports

    funnel.create_channel("poster", name="海报")
    funnel.follow("o-1", "poster")

    def broken(*_, **__):
        raise ConnectionError("S3 is down")

    monkeypatch.setattr(exports, "upload", broken)
    monkeypatch.setattr(exports, "RETRY_SECONDS", 0)  # the next attempt comes back at once (a minute in AWS)
    _, queued = call(funnel, "POST", "/followers/exports", "/followers/exports", app=OA, scene="poster")
    sqs, url = funnel.aws.sqs, funnel.aws.env["EXPORT_QUEUE_URL"]
    for attempt in (1, 2):
        assert len(run_exports_once(funnel, exporter)) == 1, attempt
        retrying = status_of(funnel, queued)
        assert (retrying["status"], retrying["attempt"], retrying["error"]) == (
            "queued",
            attempt,
            "ConnectionError",
        )
    assert len(run_exports_once(funnel, exporter)) == 1
    failed = status_of(funnel, queued)
    assert (failed["status"], failed["reason"], failed["error"], failed["attempt"]) == (
        "failed",
        "error",
        "ConnectionError",
        3,
    )
    dead = url.replace("ExportQueue", "ExportDeadLetterQueue")
    assert sqs.receive_message(QueueUrl=url).get("Messages") is None  # moved on by the redrive policy
    assert json.loads(sqs.receive_message(QueueUrl=dead)["Messages"][0]["Body"])["id"] == queued["id"]


def test_an_attempt_that_died_without_a_word_is_reported_failed_once_no_attempt_can_still_run(
    funnel, exporter, monkeypatch
):
    import time

    from wxfunnel.domain import exports as model
    from wxfunnel.domain.channels import timestamp
    from wxfunnel.store import exports

    funnel.create_channel("poster", name="海报")
    funnel.follow("o-1", "poster")
    _, queued = call(funnel, "POST", "/followers/exports", "/followers/exports", app=OA, scene="poster")
    started = time.time() - model.BUILD_SECONDS_MAX - model.STALL_GRACE_SECONDS
    running = {**status_of(funnel, queued), "status": "running", "started_at": timestamp(started + 5)}
    running.pop("links")
    exports.write_status(OA, queued["id"], running)  # as a timed-out attempt leaves it
    assert status_of(funnel, queued)["status"] == "running"  # it may still be running
    exports.write_status(OA, queued["id"], {**running, "started_at": timestamp(started - 5)})
    stalled = status_of(funnel, queued)
    assert (stalled["status"], stalled["reason"]) == ("failed", "error") and "stopped" in stalled["detail"]


def test_an_export_whose_app_or_channel_went_away_ends_not_found_without_retries(
    funnel, exporter, monkeypatch
):
    from wxfunnel.entry.admin import followers

    funnel.create_channel("poster", name="海报")
    _, queued = call(funnel, "POST", "/followers/exports", "/followers/exports", app=OA, scene="poster")

    def gone(query):
        raise followers.NotFound("scene: app 'demo-oa' has no channel with scene 'poster'", field="scene")

    monkeypatch.setattr(followers, "select", gone)
    assert run_exports(funnel, exporter) == []  # done with: a retry would find it gone too
    failed = status_of(funnel, queued)
    assert (failed["status"], failed["reason"]) == ("failed", "not_found") and "poster" in failed["detail"]


def run_exports_once(funnel, exporter) -> list[str]:
    """One receive of the event source mapping: what ExportFunction reported failed."""
    sqs, url = funnel.aws.sqs, funnel.aws.env["EXPORT_QUEUE_URL"]
    event = receive_event(sqs, url)
    assert event is not None
    return settle(sqs, url, event, exporter(event, lambda_context("ExportFunction")))


def test_an_export_is_refused_like_the_export_answer_and_an_unknown_id_is_a_404(funnel):
    status, refused = call(funnel, "POST", "/followers/exports", "/followers/exports", app=OA, scene="nope")
    assert (status, refused["error"]["field"]) == (404, "scene")
    status, refused = call(funnel, "POST", "/followers/exports", "/followers/exports", app=OA)
    assert (status, refused["error"]["field"]) == (422, "scene")
    for field, value in (
        ("promoter", "p" * 2000),
        ("promoter", "a/b"),
        ("team", "t" * 2000),
        ("team", "\ufffd"),
    ):
        status, refused = call(
            funnel, "POST", "/followers/exports", "/followers/exports", app=OA, **{field: value}
        )
        assert (status, refused["error"]["field"]) == (404, field), (field, value)
        assert value not in json.dumps(refused, ensure_ascii=False)
    for export_id in ("0" * 32, "..%2Fstatus", "A" * 32, "x" * 2000):
        status, missing = call(
            funnel, "GET", "/followers/exports/{export_id}", f"/followers/exports/{export_id}", app=OA
        )
        assert (status, missing["error"]["field"]) == (404, "export"), export_id
        assert "x" * 100 not in json.dumps(missing)
    status, refused = call(funnel, "GET", "/followers/exports/{export_id}", "/followers/exports/" + "0" * 32)
    assert (status, refused["error"]["field"]) == (422, "app")


def test_the_sample_events_start_and_build_an_export(funnel, exporter):
    """events/followers-export-start.json (QrCodeFunction) and events/export-request.json (ExportFunction), as
    `sam local invoke` hands them over."""
    from wxfunnel_tools.template import ROOT

    funnel.create_channel("spring-poster", name="Spring poster")
    funnel.follow("o-1", "spring-poster")
    start = json.loads((ROOT / "events" / "followers-export-start.json").read_text(encoding="utf-8"))
    response = funnel.qrcodes(start, lambda_context("QrCodeFunction"))
    assert response["statusCode"] == 202, response
    request = json.loads((ROOT / "events" / "export-request.json").read_text(encoding="utf-8"))
    assert exporter(request, lambda_context("ExportFunction")) == {"batchItemFailures": []}
    export_id = json.loads(request["Records"][0]["body"])["id"]
    done = status_of(funnel, {"id": export_id})
    assert (done["status"], done["rows"], done["scene"]) == ("done", 1, "spring-poster")


def test_an_export_sqs_refused_is_recorded_failed_not_left_queued(funnel, monkeypatch):
    from wxfunnel.store import exports

    funnel.create_channel("poster", name="海报")
    written = []
    real = exports.write_status
    monkeypatch.setattr(
        exports, "write_status", lambda app, eid, status: (written.append(eid), real(app, eid, status))
    )

    def refused(request):
        raise ConnectionError("SQS is down")

    monkeypatch.setattr(exports, "enqueue", refused)
    status, answer = call(funnel, "POST", "/followers/exports", "/followers/exports", app=OA, scene="poster")
    assert status == 500 and "SQS" not in json.dumps(answer)
    [export_id] = set(written)
    failed = status_of(funnel, {"id": export_id})
    assert (failed["status"], failed["reason"]) == ("failed", "error")
