"""Admin logic of batch creation: many channels at once (one per store, say), each with a live code to print.

POST /batches takes JSON `{"app", "batch"?, "campaign"?, "rows": [...]}` or CSV (`Content-Type: text/csv`, the app,
batch and campaign in the query string, a header row naming the columns). A row: `name` (required), `scene` (else
generated: `<batch>-<row number on 3 digits>`), `promoter`, `tag`, `welcome` (the passive welcome text), `title` and
`text` (its live code's page); in JSON also `welcome_sequence` (messages as PUT …/welcome takes them).

Idempotent per row: a row whose channel exists with what the row says is `unchanged` and keeps its live code; a
row that says something else updates the channel (`updated`, its code kept); a new scene is `created` with a live
code. Repeating a request therefore creates nothing twice (generated scenes follow the row's position: repeat the
file in the same order, or give scenes). Each row gets its own result; a refused row does not stop the others.
No WeChat call is made: a channel's code is created by its live code's first visit (entry.landing), so a few
hundred rows fit in one request.
"""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any

from wxfunnel.core.fields import Fields
from wxfunnel.domain.channels import Channel, timestamp
from wxfunnel.domain.ids import id_problem
from wxfunnel.domain.jobs import MessageSpec
from wxfunnel.domain.livecodes import TEXT_MAX, TITLE_MAX, LiveCode
from wxfunnel.domain.promoters import promoter_id_problem
from wxfunnel.entry.admin.errors import AdminError, Conflict, ValidationFailed, invalid
from wxfunnel.entry.admin.livecodes import create_live, link
from wxfunnel.entry.admin.qrcodes import NAME_MAX, WELCOME_MAX, given_to, links, official_account
from wxfunnel.entry.admin.welcome import parse_messages
from wxfunnel.protocol import limits
from wxfunnel.store import campaigns, channels, livecodes

BATCH_MAX = 200
WORKERS = 8
COLUMNS = ("name", "scene", "promoter", "tag", "welcome", "title", "text")
_ROW_FIELDS = frozenset({*COLUMNS, "welcome_sequence"})


@dataclass(frozen=True, slots=True)
class Row:
    """One channel of a batch, as its JSON or CSV row states it."""

    number: int  # 1-based, data rows only
    name: str
    scene: str
    given: frozenset[str]  # the fields the row states (others keep what the channel has)
    promoter: str | None = None
    tag: str | None = None
    welcome: str | None = None
    title: str | None = None
    text: str | None = None
    sequence: tuple[MessageSpec, ...] = ()


@dataclass(frozen=True, slots=True)
class Request:
    """A batch: its app, its id and campaign (if any), and its rows."""

    app: str
    batch: str | None
    campaign: str | None
    rows: list[Row | dict[str, Any]]  # parsed rows, or the result of a row refused while parsing


# --- reading the request ------------------------------------------------------------------------------------------


def _scene_of(data: Fields, batch: str | None, number: int) -> str:
    scene = data.get("scene")
    if isinstance(scene, int) and not isinstance(scene, bool):
        scene = str(scene)
    if scene in (None, ""):
        if batch is None:
            raise data.fail(
                "scene", "is required unless the request names a batch (scenes are then generated)"
            )
        scene = f"{batch}-{number:03d}"
    problem = limits.scene_problem(scene)
    if problem:
        raise data.fail("scene", f"{problem} ({limits.SCENE_RULE})")
    return str(scene)


def _row(data: Fields, batch: str | None, number: int) -> Row:
    data.only(_ROW_FIELDS)
    sequence: tuple[MessageSpec, ...] = ()
    welcome = data.text("welcome", max_chars=WELCOME_MAX)
    if data.get("welcome_sequence") is not None:
        first, sequence = parse_messages(data.children("welcome_sequence", maximum=4))
        welcome = welcome or first
    return Row(
        number=number,
        name=data.required_text("name", max_chars=NAME_MAX, blank=False),
        scene=_scene_of(data, batch, number),
        given=frozenset(key for key in data if data.get(key) not in (None, "")),
        promoter=data.text("promoter", check=promoter_id_problem),
        tag=data.text("tag", check=limits.tag_name_problem),
        welcome=welcome,
        title=data.text("title", max_chars=TITLE_MAX),
        text=data.text("text", max_chars=TEXT_MAX),
        sequence=sequence,
    )


def _refused(number: int, scene: str | None, error: AdminError) -> dict[str, Any]:
    return {
        "row": number,
        "status": "error",
        "scene": scene,
        # rule and params as in every error body: the console shows the row's problem in Chinese
        "error": {"code": error.code, "message": error.message, "field": error.field, **error.details()},
    }


def _rows(items: list[Any], batch: str | None) -> list[Row | dict[str, Any]]:
    if not 1 <= len(items) <= BATCH_MAX:
        raise invalid(
            "rows",
            f"must hold 1 to {BATCH_MAX} rows (split larger files: the CLI does)",
            rule="batch_rows",
            params={"max": BATCH_MAX},
        )
    parsed: list[Row | dict[str, Any]] = []
    seen: dict[str, int] = {}
    for index, item in enumerate(items):
        number = index + 1
        try:
            row = _row(Fields.of(item, f"rows[{index}]", invalid), batch, number)
        except AdminError as error:
            parsed.append(_refused(number, None, error))
            continue
        if row.scene in seen:
            repeated = invalid(
                f"rows[{index}].scene",
                f"repeats the scene of row {seen[row.scene]}",
                rule="duplicate_row",
                params={"row": seen[row.scene]},
            )
            parsed.append(_refused(number, row.scene, repeated))
            continue
        seen[row.scene] = number
        parsed.append(row)
    return parsed


def _header(data: Fields) -> tuple[str, str | None, str | None]:
    app = data.required_text("app", max_chars=64)
    official_account(app)
    batch = data.text("batch", check=id_problem)
    campaign = data.text("campaign", check=id_problem)
    if campaign is not None and campaigns.get(app, campaign) is None:
        raise invalid("campaign", f"app '{app}' has no campaign '{campaign}' (POST /campaigns first)")
    return app, batch, campaign


def parse_json(body: Any) -> Request:
    if not isinstance(body, Mapping):
        raise ValidationFailed("the body must be a JSON object")
    data = Fields.of(body, "", invalid)
    data.only({"app", "batch", "campaign", "rows"})
    app, batch, campaign = _header(data)
    rows = body.get("rows")
    if not isinstance(rows, list):
        raise invalid("rows", "is required: a list of rows")
    return Request(app, batch, campaign, _rows(rows, batch))


def parse_csv(text: str, query: Mapping[str, str]) -> Request:
    app, batch, campaign = _header(Fields.of(dict(query), "", invalid))
    reader = csv.reader(io.StringIO(text.removeprefix("\ufeff")))
    try:
        lines = [line for line in reader if any(cell.strip() for cell in line)]
    except csv.Error as exc:
        raise invalid("csv", f"is not CSV ({exc})", rule="csv") from None
    if not lines:
        raise invalid(
            "csv",
            f"needs a header row naming its columns ({', '.join(COLUMNS)})",
            rule="csv_header",
            params={"allowed": ", ".join(COLUMNS)},
        )
    header = [cell.strip().lower() for cell in lines[0]]
    unknown = [name for name in header if name not in COLUMNS]
    if unknown or "name" not in header or len(set(header)) != len(header):
        raise invalid(
            "csv",
            f"columns must be among {', '.join(COLUMNS)}, once each, and include name",
            rule="csv_columns",
            params={"allowed": ", ".join(COLUMNS)},
        )
    items = [{name: value.strip() for name, value in zip(header, line, strict=False)} for line in lines[1:]]
    return Request(app, batch, campaign, _rows(items, batch))


# --- applying it ----------------------------------------------------------------------------------------------


def _channel_for(row: Row, app: str, campaign: str | None, stamp: str) -> Channel:
    channel = Channel(
        app=app,
        scene=row.scene,
        scene_type="str",
        permanent=False,
        kind="channel",
        name=row.name,
        welcome_message=row.welcome,
        tag=row.tag,
        created_at=stamp,
        updated_at=stamp,
        campaign=campaign,
        welcome_sequence=row.sequence,
    )
    return given_to(channel, row.promoter, field="promoter") if row.promoter else channel


def _as_row_says(existing: Channel, row: Row, campaign: str | None) -> Channel:
    """The existing channel with what the row states (fields it leaves out keep their value)."""
    changed = replace(existing, name=row.name)
    if "promoter" in row.given:
        changed = given_to(changed, row.promoter, field="promoter")
    if "tag" in row.given:
        changed = replace(changed, tag=row.tag)
    if "welcome" in row.given or "welcome_sequence" in row.given:
        changed = replace(changed, welcome_message=row.welcome)
    if "welcome_sequence" in row.given:
        changed = replace(changed, welcome_sequence=row.sequence)
    if campaign is not None:
        changed = replace(changed, campaign=campaign)
    return changed


def _stored_channel(request: Request, row: Row, stamp: str) -> tuple[Channel, str]:
    """The row's channel as stored now, and what happened to it: created, updated or unchanged."""
    existing = channels.get(request.app, row.scene)
    if existing is None:
        created = _channel_for(row, request.app, request.campaign, stamp)
        if channels.create(created):
            return created, "created"
        existing = channels.get(request.app, row.scene)  # another request created it just now
        if existing is None:
            raise Conflict(f"scene: '{row.scene}' changed while this row was applied; retry", field="scene")
    if existing.kind != "channel":
        raise invalid(
            "scene",
            f"'{row.scene}' is a {existing.kind} code, which the operator does not edit",
            rule="not_operator_channel",
            params={"kind": existing.kind},
        )
    channel = _as_row_says(existing, row, request.campaign)
    if channel == existing:
        return existing, "unchanged"
    channel = replace(channel, updated_at=stamp)
    channels.update_info(channel)
    return channel, "updated"


def _apply(request: Request, row: Row, live_codes: Mapping[str, LiveCode], base: str) -> dict[str, Any]:
    app, stamp = request.app, timestamp(time.time())
    channel, status = _stored_channel(request, row, stamp)
    live = live_codes.get(row.scene)
    if live is None:
        live, _ = create_live(app, row.scene, title=row.title, text=row.text)
    else:
        texts = {key: getattr(row, key) for key in ("title", "text") if key in row.given}
        fresh = replace(live, **texts)
        if fresh != live or status == "updated":  # the page's texts, or its channel's snapshot, changed
            campaign = campaigns.get(app, channel.campaign) if channel.campaign else None
            live = livecodes.refresh(fresh, channels.get(app, row.scene), campaign, stamp)
    return {
        "row": row.number,
        "status": status,
        "scene": row.scene,
        "name": channel.name,
        "code": live.code,
        "link": link(base, live),
        "links": {**links(app, row.scene), "livecode": f"/livecodes/{app}/{live.code}"},
    }


def run(request: Request, base: str) -> dict[str, Any]:
    """Apply every row (in parallel; each on its own) → the per-row results, in row order, and their counts."""
    live_codes: dict[str, LiveCode] = {}
    for live in livecodes.all_of(request.app):
        live_codes.setdefault(live.scene, live)

    def one(row: Row | dict[str, Any]) -> dict[str, Any]:
        if isinstance(row, dict):
            return row
        try:
            return _apply(request, row, live_codes, base)
        except AdminError as error:
            return _refused(row.number, row.scene, error)

    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        results = list(pool.map(one, request.rows))
    counts = {status: 0 for status in ("created", "updated", "unchanged", "error")}
    for result in results:
        counts[result["status"]] += 1
    return {
        "app": request.app,
        "batch": request.batch,
        "campaign": request.campaign,
        "counts": counts,
        "rows": results,
        "codes": [result["code"] for result in results if result.get("code")],
    }
