"""The `wxfunnel` commands for live codes, campaigns, funnels, welcome sequences and batches (admin API).

Registered in cli.COMMANDS like every other command: each is a small function receiving the parsed arguments.
`batch` reads a CSV or JSON file, sends it in chunks the API takes (BATCH_MAX rows), prints one line per row and
can download every row's print files as one ZIP; `livecode print --logo` puts a logo in the centre of an SVG print
file (within what the code's error correction recovers).
"""

from __future__ import annotations

import argparse
import base64
import csv
import io
import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import quote

BATCH_MAX = 200  # rows per request (entry.admin.batch.BATCH_MAX)
ARCHIVE_MAX = 500  # codes per ZIP (entry.admin.printfiles.ARCHIVE_MAX)
LOGO_SHARE = (
    0.22  # of the code's width, quiet zone excluded: inside the 30 % that level H is tested to recover
)
QUIET_ZONE = 4


def _client(args: argparse.Namespace) -> Any:
    from wxfunnel_tools import cli

    return cli.admin_client(args)


def _failure(message: str) -> Exception:
    from wxfunnel_tools.cli import Failure

    return Failure(message)


def _print_json(document: Any) -> None:
    print(json.dumps(document, ensure_ascii=False, indent=2))


def admin_arguments(parser: argparse.ArgumentParser) -> None:
    from wxfunnel_tools.cli import admin_options

    admin_options(parser)
    parser.add_argument("--app", required=True, help="an official account's app name")


def _segment(scene: str) -> str:
    from wxfunnel_tools.cli import _scene_segment

    return _scene_segment(scene)


# --- livecode -----------------------------------------------------------------------------------------------------


def livecode_create_arguments(parser: argparse.ArgumentParser) -> None:
    admin_arguments(parser)
    parser.add_argument(
        "--scene", required=True, help="the channel it shows (create it with `qr create` first)"
    )
    parser.add_argument("--code", help="a code of your own (default: a random one)")
    parser.add_argument("--title", help="the page's title (default: the channel's name)")
    parser.add_argument("--text", help="a short text under the title")


def run_livecode_create(args: argparse.Namespace) -> int:
    body = {"app": args.app, "scene": args.scene, "code": args.code, "title": args.title, "text": args.text}
    record = (
        _client(args).request("POST", "/livecodes", json_body={k: v for k, v in body.items() if v}).json()
    )
    _print_json(record)
    return 0


def livecode_list_arguments(parser: argparse.ArgumentParser) -> None:
    admin_arguments(parser)
    parser.add_argument("--scene", help="only the live codes of this channel")


def run_livecode_list(args: argparse.Namespace) -> int:
    client, token, items = _client(args), None, []
    while True:
        page = client.request(
            "GET", "/livecodes", query={"app": args.app, "scene": args.scene, "next_token": token}
        ).json()
        items.extend(page["items"])
        token = page.get("next_token")
        if not token:
            break
    for item in items:
        print(f"{item['code']:<12} {item['state']:<8} {item['scene']:<24} {item['link']}")
    return 0


def livecode_update_arguments(parser: argparse.ArgumentParser) -> None:
    admin_arguments(parser)
    parser.add_argument("--code", required=True)
    parser.add_argument("--scene", help="re-point it at another channel (the print stays the same)")
    parser.add_argument("--title")
    parser.add_argument("--text")
    parser.add_argument("--state", choices=["active", "disabled"])


def run_livecode_update(args: argparse.Namespace) -> int:
    body = {key: getattr(args, key) for key in ("scene", "title", "text", "state") if getattr(args, key)}
    if not body:
        raise _failure("nothing to change: give --scene, --title, --text or --state")
    _print_json(_client(args).request("PUT", f"/livecodes/{args.app}/{args.code}", json_body=body).json())
    return 0


def livecode_print_arguments(parser: argparse.ArgumentParser) -> None:
    admin_arguments(parser)
    parser.add_argument("--code", required=True)
    parser.add_argument("--out", required=True, help="the file to write (.png or .svg)")
    parser.add_argument("--format", choices=["png", "svg"], help="default: the --out file's extension")
    parser.add_argument("--scale", type=int, help="pixels (PNG) or units (SVG) per module (default 10)")
    parser.add_argument("--logo", help="an image (PNG or JPEG) to put in the centre of an SVG print file")


def with_logo(svg: bytes, logo: bytes, mime: str) -> bytes:
    """An SVG QR code (as segno draws it) with `logo` centred on a white square of LOGO_SHARE of the code's width."""
    text = svg.decode("utf-8", errors="replace")
    size = re.search(r'<svg[^>]*\bwidth="([\d.]+)"', text)
    if size is None or "</svg>" not in text:
        raise _failure("the print file is not an SVG with a width")
    width = float(size.group(1))
    scale = re.search(r'transform="scale\(([\d.]+)\)"', text)
    unit = float(scale.group(1)) if scale else 1.0  # segno leaves the transform out at scale 1
    side = (width - 2 * QUIET_ZONE * unit) * LOGO_SHARE
    pad = side * 1.1
    corner, image_corner = (width - pad) / 2, (width - side) / 2
    data = base64.b64encode(logo).decode("ascii")
    overlay = (
        f'<rect x="{corner:.2f}" y="{corner:.2f}" width="{pad:.2f}" height="{pad:.2f}" fill="#fff"/>'
        f'<image x="{image_corner:.2f}" y="{image_corner:.2f}" width="{side:.2f}" height="{side:.2f}" '
        f'preserveAspectRatio="xMidYMid meet" href="data:{mime};base64,{data}"/>'
    )
    return text.replace("</svg>", overlay + "</svg>").encode("utf-8")


def run_livecode_print(args: argparse.Namespace) -> int:
    fmt = args.format or Path(args.out).suffix.lstrip(".").lower()
    if fmt not in ("png", "svg"):
        raise _failure("--out must end in .png or .svg (or give --format)")
    if args.logo and fmt != "svg":
        raise _failure("--logo needs an SVG print file (--format svg): a PNG is drawn without one")
    query = {"format": fmt, "scale": args.scale}
    content = _client(args).request("GET", f"/livecodes/{args.app}/{args.code}/qr", query=query).body
    if args.logo:
        logo = Path(args.logo).read_bytes()
        mime = "image/png" if logo.startswith(b"\x89PNG") else "image/jpeg"
        content = with_logo(content, logo, mime)
    Path(args.out).write_bytes(content)
    print(f"{args.out}: {len(content)} bytes")
    return 0


def livecode_zip_arguments(parser: argparse.ArgumentParser) -> None:
    admin_arguments(parser)
    parser.add_argument("--code", action="append", dest="codes", default=[], help="a live code (repeatable)")
    parser.add_argument("--codes-from", help="the JSON a `batch` command wrote with --result")
    parser.add_argument("--out", required=True, help="the ZIP file to write")


def _zip(args: argparse.Namespace, codes: list[str], out: str) -> None:
    client = _client(args)
    if len(codes) > ARCHIVE_MAX:
        raise _failure(f"at most {ARCHIVE_MAX} codes per ZIP (got {len(codes)})")
    archive = client.request("POST", "/archives", json_body={"app": args.app, "codes": codes}).body
    Path(out).write_bytes(archive)
    print(f"{out}: print files of {len(codes)} live codes ({len(archive)} bytes)")


def run_livecode_zip(args: argparse.Namespace) -> int:
    codes = list(args.codes)
    if args.codes_from:
        codes += json.loads(Path(args.codes_from).read_text(encoding="utf-8"))["codes"]
    if not codes:
        raise _failure("name the live codes: --code (repeatable) or --codes-from")
    _zip(args, codes, args.out)
    return 0


# --- campaign -----------------------------------------------------------------------------------------------------


def campaign_create_arguments(parser: argparse.ArgumentParser) -> None:
    admin_arguments(parser)
    parser.add_argument("--id", required=True, help="lower-case letters, digits, - and _")
    parser.add_argument("--name", required=True)
    parser.add_argument("--start", required=True, help="YYYY-MM-DD, the account's local day")
    parser.add_argument("--end", required=True, help="YYYY-MM-DD, included")
    parser.add_argument("--ended-scene", help="after the end, its pages show this channel's QR")


def run_campaign_create(args: argparse.Namespace) -> int:
    body = {"app": args.app, "id": args.id, "name": args.name, "start": args.start, "end": args.end}
    if args.ended_scene:
        body["ended_scene"] = args.ended_scene
    _print_json(_client(args).request("POST", "/campaigns", json_body=body).json())
    return 0


def campaign_update_arguments(parser: argparse.ArgumentParser) -> None:
    admin_arguments(parser)
    parser.add_argument("--id", required=True)
    parser.add_argument("--name")
    parser.add_argument("--start")
    parser.add_argument("--end")
    parser.add_argument("--ended-scene")


def run_campaign_update(args: argparse.Namespace) -> int:
    body = {key: getattr(args, key) for key in ("name", "start", "end", "ended_scene") if getattr(args, key)}
    if not body:
        raise _failure("nothing to change: give --name, --start, --end or --ended-scene")
    _print_json(_client(args).request("PUT", f"/campaigns/{args.app}/{args.id}", json_body=body).json())
    return 0


def run_campaign_list(args: argparse.Namespace) -> int:
    for item in _client(args).request("GET", "/campaigns", query={"app": args.app}).json()["items"]:
        print(f"{item['id']:<24} {item['status']:<9} {item['start']} … {item['end']}  {item['name']}")
    return 0


def campaign_add_arguments(parser: argparse.ArgumentParser) -> None:
    admin_arguments(parser)
    parser.add_argument("--campaign", required=True, help="the campaign, or 'none' to take the channels out")
    parser.add_argument(
        "--scene", action="append", dest="scenes", required=True, help="a channel (repeatable)"
    )


def run_campaign_add(args: argparse.Namespace) -> int:
    client = _client(args)
    campaign = None if args.campaign == "none" else args.campaign
    for scene in args.scenes:
        answer = client.request(
            "PUT", f"/channels/{args.app}/{_segment(scene)}/campaign", json_body={"campaign": campaign}
        ).json()
        print(
            f"{scene}: campaign {answer['campaign']} ({answer['live_codes_refreshed']} live codes refreshed)"
        )
    return 0


# --- funnel, welcome ----------------------------------------------------------------------------------------------


def funnel_arguments(parser: argparse.ArgumentParser) -> None:
    admin_arguments(parser)
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("--scene", help="one channel")
    target.add_argument("--campaign", help="a campaign's channels")
    target.add_argument("--promoter", help="the channels given to a promoter (their id)")
    parser.add_argument("--from", dest="start", help="YYYY-MM-DD")
    parser.add_argument("--to", dest="end", help="YYYY-MM-DD")


def run_funnel(args: argparse.Namespace) -> int:
    if args.scene:
        path = f"/channels/{args.app}/{_segment(args.scene)}/funnel"
    elif args.promoter:
        path = f"/promoters/{args.app}/{quote(args.promoter, safe='')}/funnel"
    else:
        path = f"/campaigns/{args.app}/{args.campaign}/funnel"
    report = _client(args).request("GET", path, query={"from": args.start, "to": args.end}).json()
    conversion = "-" if report["conversion"] is None else f"{100 * report['conversion']:.1f} %"
    print(
        f"{report['from']} … {report['to']}: {report['visits']} visits → {report['new_followers']} new followers"
    )
    print(f"  conversion {conversion}")
    for window in report["retention"]:
        rate = "-" if window["rate"] is None else f"{100 * window['rate']:.1f} %"
        print(
            f"  still following after {window['days']:>2} days: {window['retained']} of {window['cohort']} "
            f"({rate}; {window['pending']} not yet {window['days']} days in)"
        )
    for channel in report.get("channels", []):
        print(
            f"    {channel['scene']:<24} {channel['visits']:>6} visits {channel['new_followers']:>5} followers"
        )
    return 0


def welcome_set_arguments(parser: argparse.ArgumentParser) -> None:
    admin_arguments(parser)
    parser.add_argument("--scene", required=True)
    parser.add_argument("file", help='a JSON list of messages: [{"type": "text", "content": "…"}, …]')


def run_welcome_set(args: argparse.Namespace) -> int:
    messages = json.loads(Path(args.file).read_text(encoding="utf-8"))
    path = f"/channels/{args.app}/{_segment(args.scene)}/welcome"
    _print_json(_client(args).request("PUT", path, json_body={"messages": messages}).json())
    return 0


# --- batch --------------------------------------------------------------------------------------------------------


def batch_arguments(parser: argparse.ArgumentParser) -> None:
    admin_arguments(parser)
    parser.add_argument(
        "file", help="a CSV (name,scene,promoter,tag,welcome,title,text) or a JSON list of rows"
    )
    parser.add_argument("--batch", help="an id for generated scenes (<batch>-001 …) of rows without a scene")
    parser.add_argument("--campaign", help="put every channel in this campaign")
    parser.add_argument("--zip", help="also download every row's print files into this ZIP")
    parser.add_argument("--result", help="write the per-row results (JSON) to this file")


def read_rows(path: str) -> list[dict[str, Any]]:
    """The rows of a CSV or JSON batch file (a JSON list, or an object with "rows")."""
    text = Path(path).read_text(encoding="utf-8-sig")
    if path.lower().endswith(".json"):
        document = json.loads(text)
        rows = document.get("rows") if isinstance(document, dict) else document
        if not isinstance(rows, list):
            raise _failure(f"{path}: a JSON batch is a list of rows or an object with rows")
        return rows
    reader = csv.DictReader(io.StringIO(text))
    return [{k.strip().lower(): (v or "").strip() for k, v in row.items() if k} for row in reader]


def run_batch(args: argparse.Namespace) -> int:
    rows = read_rows(args.file)
    if not rows:
        raise _failure(f"{args.file}: no rows")
    if args.batch:  # the API numbers rows per request: the CLI names generated scenes itself, file-wide
        rows = [
            {**row, "scene": row.get("scene") or f"{args.batch}-{number:03d}"}
            for number, row in enumerate(rows, start=1)
        ]
    client, results = _client(args), []
    for start in range(0, len(rows), BATCH_MAX):
        body: dict[str, Any] = {"app": args.app, "rows": rows[start : start + BATCH_MAX]}
        if args.batch:
            body["batch"] = args.batch
        if args.campaign:
            body["campaign"] = args.campaign
        answer = client.request("POST", "/batches", json_body=body).json()
        results += [{**row, "row": row["row"] + start} for row in answer["rows"]]
    failed = 0
    for row in results:
        if row["status"] == "error":
            failed += 1
            print(f"row {row['row']:>4}  error      {row['error']['message']}")
        else:
            print(f"row {row['row']:>4}  {row['status']:<9}  {row['scene']:<24} {row['code']}  {row['link']}")
    codes = [row["code"] for row in results if row.get("code")]
    if args.result:
        Path(args.result).write_text(
            json.dumps({"rows": results, "codes": codes}, ensure_ascii=False, indent=2), encoding="utf-8"
        )
    if args.zip and codes:
        for start in range(0, len(codes), ARCHIVE_MAX):
            out = (
                args.zip
                if len(codes) <= ARCHIVE_MAX
                else f"{args.zip.removesuffix('.zip')}-{start // ARCHIVE_MAX + 1}.zip"
            )
            _zip(args, codes[start : start + ARCHIVE_MAX], out)
    print(f"{len(results) - failed} rows done, {failed} refused")
    return 1 if failed else 0
