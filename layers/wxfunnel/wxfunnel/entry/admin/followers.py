"""Who a channel, a promoter or a team brought: the people who came through their codes, page by page, and as CSV.

A row is one person through one channel: their openid, the channel, whether it was their first touch (the channel
that brought them), their first and last touch, whether they still follow, when they followed or left, and the tags
wxfunnel gives through those channels. Everyone who followed or scanned through a code is found through the touch
index (an opt-in record per scene, kept after an unfollow), then their follower records in batches: a page costs
one index query and one batch read, whatever the app's size. A reassigned scene's channel (Channel.since) lists only
who came through the scene since it holds it, and "brought" only those it brought: a page reads their touches too
(one more batch read); the people of its past channels stay out of its list.

CSV: a file for a spreadsheet (UTF-8 with a byte-order mark, so Excel shows Chinese); one too large for one API
answer is stored in the stack's bucket and answered with a short-lived link (store.exports). An export reads a
channel's audience shards at once (one thread each), and stops with a 422 (`export_too_large`) when it would outlast
the function: the operator is told to export the channels one at a time instead of meeting a gateway timeout.
"""

from __future__ import annotations

import base64
import binascii
import csv
import io
import json
import time
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

from wxfunnel.domain import stats
from wxfunnel.domain.channels import Channel, timestamp
from wxfunnel.domain.exports import EXPORT_ID, SELECTORS, ExportRequest, stalled
from wxfunnel.domain.followers import Follower
from wxfunnel.domain.promoters import promoter_id_problem, team_name_ok
from wxfunnel.entry.admin.errors import NotFound, invalid
from wxfunnel.entry.admin.qrcodes import known_app, scene_param
from wxfunnel.store import channels, exports, followers
from wxfunnel.store.followers import AUDIENCE_SHARDS

PAGE_DEFAULT, PAGE_MAX = 50, 100
CSV_TYPE = "text/csv; charset=utf-8"
# Index pages one list answer reads at most: a reassigned scene's pages may hold only past channels' people, and
# an answer with no rows (and a next_token) is better than reading on past the function's time.
LIST_INDEX_PAGES_MAX = 16
EXPORT_MARGIN_SECONDS = 3.0  # of the function's time, kept to store a large file in the bucket and answer
EXPORT_INLINE_BYTES = (
    4 * 1024 * 1024
)  # above this a CSV goes to the bucket (API Gateway answers ≤ 10 MB, Lambda 6 MB)
COLUMNS = (
    "openid",
    "scene",
    "channel",
    "brought",
    "status",
    "first_touch",
    "last_touch",
    "first_followed_at",
    "followed_at",
    "unfollowed_at",
    "tags",
)


@dataclass(frozen=True, slots=True)
class Selection:
    """The channels whose people are listed, in a fixed order (the pages' cursor walks it)."""

    app: str
    label: str  # for file names: the scene, promoter or team
    channels: tuple[Channel, ...]
    tags: Mapping[str, str] | None = None  # scene → tag of the app's channels, when select() read them all
    by: str = "scene"  # what the query selected by: scene, promoter or team (domain.exports.SELECTORS)


def select(query: Mapping[str, str]) -> Selection:
    app = query.get("app") or ""
    if not app:
        raise invalid("app", "is required (GET /followers?app=<app>&scene=|promoter=|team=)")
    known_app(app)
    given = [key for key in SELECTORS if query.get(key)]
    if len(given) != 1:
        raise invalid("scene", "give exactly one of scene, promoter or team")
    key, value = given[0], query[given[0]]
    if key == "scene":
        scene = scene_param(app, value)
        channel = channels.get(app, scene)
        if channel is None:
            raise NotFound(f"app '{app}' has no channel with scene '{scene}'", field="scene")
        return Selection(app, scene, (channel,))
    # Never echoed when malformed: it may be anything a caller put in the query (and it names the export's file).
    if key == "promoter" and promoter_id_problem(value) is not None:
        raise NotFound(f"promoter: app '{app}' has no promoter with that id", field="promoter")
    if key == "team" and not team_name_ok(value):
        raise NotFound(f"team: app '{app}' has no team with that name", field="team")
    every = channels.with_prefix(app, "")
    chosen = [c for c in every if (c.credited_promoter if key == "promoter" else c.team) == value]
    return Selection(app, value, tuple(sorted(chosen, key=lambda c: c.scene)), _tags(every), by=key)


def _tags(every: Iterable[Channel]) -> dict[str, str]:
    return {c.scene: c.tag for c in every if c.tag}


def _encode(cursor: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(cursor, separators=(",", ":")).encode()).decode()


def _decode(token: str, selection: Selection) -> dict[str, Any]:
    """The cursor of a next_token this API issued for `selection`: a channel of it, a shard, that shard's index
    key. Anything else is a 422 naming next_token, rule cursor (an index or shard out of range would page forever
    or fail; a foreign key would read another scene's audience)."""
    try:
        cursor = json.loads(base64.urlsafe_b64decode(token.encode("ascii")))
        if not isinstance(cursor, dict) or set(cursor) - {"i", "s", "k"}:
            raise ValueError(token)
        index, shard = cursor.get("i"), cursor.get("s")
        if type(index) is not int or type(shard) is not int:  # bool is an int too
            raise ValueError(token)
        if not (0 <= index < len(selection.channels) and 0 <= shard < AUDIENCE_SHARDS):
            raise ValueError(token)
        channel = selection.channels[index]
        key = followers.checked_cursor(selection.app, channel.scene, "any", shard, cursor.get("k"))
    except (binascii.Error, UnicodeError, ValueError):
        raise invalid("next_token", "was not issued by this API", rule="cursor") from None
    return {"i": index, "s": shard, "k": key}


def _time(epoch: int | None) -> str | None:
    return timestamp(epoch) if epoch is not None else None


def _row(channel: Channel, follower: Follower | None, openid: str, tags: Mapping[str, str]) -> dict[str, Any]:
    first = follower.first_scene if follower else None
    last = follower.last_scene if follower else None
    return {
        "openid": openid,
        "scene": channel.scene,
        "channel": channel.name,
        "brought": first == channel.scene
        and follower is not None
        and channel.counts_touch(follower.first_subscribed_at or 0),
        "status": follower.status.value if follower else "unknown",
        "first_touch": first,
        "last_touch": last,
        "first_followed_at": _time(follower.first_subscribed_at if follower else None),
        "followed_at": _time(follower.subscribed_at if follower else None),
        "unfollowed_at": _time(follower.unsubscribed_at if follower else None),
        "tags": sorted(
            {tags[scene] for scene in (channel.scene, first, last) if scene is not None and scene in tags}
        ),
    }


def _all_tags(selection: Selection) -> Mapping[str, str]:
    return selection.tags if selection.tags is not None else _tags(channels.with_prefix(selection.app, ""))


def _page(
    selection: Selection, channel: Channel, shard: int, key: Any, *, limit: int, tags: Mapping[str, str]
) -> tuple[list[dict[str, Any]], Any]:
    """One index page of a channel's audience in one shard as rows, and the shard's cursor after it (None: done)."""
    page = followers.audience_page(selection.app, channel.scene, "any", shard, key, limit=limit)
    openids = page.openids
    if channel.since is not None:
        # a reassigned scene: only who came through it since this channel holds it
        last = followers.last_touches(selection.app, channel.scene, openids)
        openids = [openid for openid in openids if channel.counts_touch(last.get(openid, 0))]
    records = followers.get_many(selection.app, openids)
    return [_row(channel, records.get(openid), openid, tags) for openid in openids], page.cursor


def _pages(
    selection: Selection, cursor: dict[str, Any], limit: int
) -> Iterator[tuple[list[dict[str, Any]], dict[str, Any] | None]]:
    """Pages of rows from `cursor` on, each with the cursor after it (None at the end)."""
    tags = _all_tags(selection)
    index, shard, key = cursor["i"], cursor["s"], cursor.get("k")
    while index < len(selection.channels):
        rows, key = _page(selection, selection.channels[index], shard, key, limit=limit, tags=tags)
        if key is None:
            shard += 1
            if shard == AUDIENCE_SHARDS:
                index, shard = index + 1, 0
        after = {"i": index, "s": shard, "k": key} if index < len(selection.channels) else None
        yield rows, after
        if after is None:
            return


def list_followers(query: Mapping[str, str]) -> dict[str, Any]:
    """GET /followers?app=&scene=|promoter=|team=&limit=&next_token= → one page of rows (possibly short: a page
    ends with an index page; possibly empty after LIST_INDEX_PAGES_MAX index pages), and the token of the next."""
    selection = select(query)
    raw = query.get("limit") or str(PAGE_DEFAULT)
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= PAGE_MAX:
        raise invalid("limit", f"must be an integer from 1 to {PAGE_MAX}")
    token = query.get("next_token")
    cursor = _decode(token, selection) if token else {"i": 0, "s": 0, "k": None}
    rows: list[dict[str, Any]] = []
    after: dict[str, Any] | None = cursor
    for read, (page, after) in enumerate(_pages(selection, cursor, int(raw)), start=1):
        rows.extend(page)
        if rows or after is None or read == LIST_INDEX_PAGES_MAX:
            break
    return {"items": rows, "next_token": _encode(after) if after is not None else None}


class OutOfTime(Exception):
    """The export would outlast the function."""


def _shard_rows(
    selection: Selection, channel: Channel, shard: int, tags: Mapping[str, str], deadline: float
) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    key: Any = None
    while True:
        if time.monotonic() > deadline:
            raise OutOfTime
        page, key = _page(selection, channel, shard, key, limit=PAGE_MAX, tags=tags)
        rows.extend(page)
        if key is None:
            return rows


def _csv_lines(lines: Iterable[Sequence[object]]) -> bytes:
    out = io.StringIO()
    csv.writer(out).writerows(lines)
    return out.getvalue().encode("utf-8")


def _csv_rows(rows: Iterable[Mapping[str, Any]]) -> bytes:
    """Rows as CSV lines (tags joined by |, None as empty)."""
    return _csv_lines(
        ["|".join(row[c]) if c == "tags" else ("" if row[c] is None else row[c]) for c in COLUMNS]
        for row in rows
    )


# A byte-order mark, so that Excel reads the file as UTF-8 (Chinese names), then the header line.
_CSV_HEAD = "\ufeff".encode() + _csv_lines([COLUMNS])


def _csv(selection: Selection, deadline: float) -> bytes:
    """The CSV of every row in the list's order (channel, then shard), a channel's shards read at once."""
    parts = [_CSV_HEAD]
    tags = _all_tags(selection)
    with ThreadPoolExecutor(max_workers=AUDIENCE_SHARDS) as pool:
        for channel in selection.channels:
            shards = [
                pool.submit(_shard_rows, selection, channel, shard, tags, deadline)
                for shard in range(AUDIENCE_SHARDS)
            ]
            parts.extend(_csv_rows(shard.result()) for shard in shards)
    return b"".join(parts)


def csv_pages(selection: Selection, deadline: float) -> Iterator[tuple[bytes, int]]:
    """The same CSV as an export answer, a page at a time (one shard after another: memory stays one page) →
    (its bytes, how many rows they hold); OutOfTime past `deadline` (time.monotonic())."""
    yield _CSV_HEAD, 0
    for rows, _ in _pages(selection, {"i": 0, "s": 0, "k": None}, PAGE_MAX):
        if time.monotonic() > deadline:
            raise OutOfTime
        yield _csv_rows(rows), len(rows)


def filename(selection: Selection, time_zone: str, now: float | None = None) -> str:
    """followers-<app>-<label>-<the account's day>.csv: the day the operator sees on the console's statistics."""
    day = stats.today(time_zone, now).strftime("%Y%m%d")
    return f"followers-{selection.app}-{selection.label}-{day}.csv"


def content_disposition(name: str) -> str:
    """An attachment named `name`, Chinese kept (RFC 6266 / RFC 5987 filename*), with an ASCII fallback."""
    fallback = "".join(char if char.isascii() and (char.isalnum() or char in "-_.") else "_" for char in name)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


def export(query: Mapping[str, str], deadline: float | None = None) -> tuple[bytes | None, dict[str, Any]]:
    """GET /followers/export → (the CSV, its headers), or (None, {"url", ...}) when it went to the bucket; a 422
    (`export_too_large`) when the rows cannot be read before `deadline` (time.monotonic() when the function's time
    runs out; default 30 s from now)."""
    deadline = time.monotonic() + 30.0 if deadline is None else deadline
    selection = select(query)
    try:
        body = _csv(selection, deadline - EXPORT_MARGIN_SECONDS)
    except OutOfTime:
        raise invalid(
            selection.by,
            "has more followers than one export answer can read in the function's time; start a background "
            "export instead (POST /followers/exports with the same query)",
            rule="export_too_large",
        ) from None
    name = filename(selection, known_app(selection.app).time_zone)
    if len(body) <= EXPORT_INLINE_BYTES:
        return body, {"Content-Disposition": content_disposition(name)}
    url = exports.put(selection.app, name, body, CSV_TYPE, content_disposition(name))
    return None, {"url": url, "bytes": len(body), "expires_in": exports.EXPORT_LINK_SECONDS, "file": name}


def start_export(query: Mapping[str, str], now: float | None = None) -> dict[str, Any]:
    """POST /followers/exports?app=&scene=|promoter=|team= → the background export of GET /followers/export's CSV,
    queued (202): ExportFunction builds it without the answer's time limit (entry.exports). The selection is
    checked here, as the export would check it; its status (export_status) says when the file is ready."""
    selection = select(query)
    now = time.time() if now is None else now
    request = ExportRequest(uuid.uuid4().hex, selection.app, selection.by, query[selection.by], int(now))
    status = {
        "id": request.id,
        "app": request.app,
        request.selector: request.value,
        "status": "queued",
        "file": filename(selection, known_app(selection.app).time_zone, now),
        "requested_at": timestamp(now),
    }
    exports.write_status(request.app, request.id, status)
    try:
        exports.enqueue(request)
    except Exception:
        # The caller gets a 500 and never polls this export: record it as failed rather than queued for a day.
        exports.write_status(request.app, request.id, {**status, "status": "failed", "reason": "error"})
        raise
    return _status_view(status)


def export_status(export_id: str, query: Mapping[str, str]) -> dict[str, Any]:
    """GET /followers/exports/{id}?app= → where a background export stands: queued, running, done (with a link
    to its file, valid for EXPORT_LINK_SECONDS) or failed (with its reason); a 404 once it has expired (a day)."""
    app = query.get("app") or ""
    if not app:
        raise invalid("app", "is required (GET /followers/exports/<id>?app=<app>)")
    known_app(app)
    status = exports.read_status(app, export_id) if EXPORT_ID.fullmatch(export_id) else None
    if status is None:
        raise NotFound(
            f"export: app '{app}' has no export with this id (they expire after a day)", field="export"
        )
    return _status_view(status)


def _status_view(status: Mapping[str, Any]) -> dict[str, Any]:
    view = dict(status)
    if stalled(view, time.time()):
        view.update(
            status="failed", reason="error", detail="the export stopped without finishing; start it again"
        )
    if view.get("status") == "done":
        view["url"] = exports.link(view["app"], view["id"], view["file"], content_disposition(view["file"]))
        view["expires_in"] = exports.EXPORT_LINK_SECONDS
    view["links"] = {"self": f"/followers/exports/{view['id']}?{urlencode({'app': view['app']})}"}
    return view
