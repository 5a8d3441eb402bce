"""Print files of live links: the QR code of a link as PNG and SVG, and many of them as one ZIP.

Drawn with segno at error correction level H (about 30 % of the code's words can be lost and it still reads: room
for a logo in the centre up to 30 % of its width, tested with zbar), with the standard quiet zone of 4 modules. The PNG is 300 dpi;
the SVG scales to any poster. What is encoded is the live link itself, never a WeChat ticket: the print never
expires.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final, Literal

import segno

QUIET_ZONE: Final = 4
SCALE_DEFAULT: Final = 10  # pixels (PNG) or user units (SVG) per module
SCALE_MAX: Final = 40
DPI: Final = 300
ARCHIVE_MAX: Final = 500  # codes per ZIP: its two files each stay well within a Lambda response
Format = Literal["png", "svg"]
CONTENT_TYPES: Final = {"png": "image/png", "svg": "image/svg+xml"}
FORMATS: Final[tuple[Format, ...]] = ("png", "svg")


def code_of(link: str) -> segno.QRCode:
    return segno.make(link, error="h", micro=False, boost_error=False)


def render(link: str, fmt: Format, scale: int = SCALE_DEFAULT) -> bytes:
    """The QR code of `link` as a PNG or an SVG file."""
    buffer = io.BytesIO()
    if fmt == "png":
        code_of(link).save(buffer, kind="png", scale=scale, border=QUIET_ZONE, dpi=DPI)
    else:
        code_of(link).save(buffer, kind="svg", scale=scale, border=QUIET_ZONE, title=link, xmldecl=True)
    return buffer.getvalue()


@dataclass(frozen=True, slots=True)
class PrintEntry:
    """One live code in a print file."""

    code: str
    link: str
    scene: str
    title: str


def _slug(text: str) -> str:
    """A file-name-safe form of a title (letters of any script and digits kept; at most 40 characters)."""
    cleaned = re.sub(r"[^\w-]+", "-", text, flags=re.UNICODE).strip("-_")
    return cleaned[:40]


def archive(entries: Iterable[PrintEntry], scale: int = SCALE_DEFAULT) -> bytes:
    """A ZIP of each live code's PNG and SVG (`<code>-<title>.png|svg`) and an index.csv (code, link, scene,
    title)."""
    buffer = io.BytesIO()
    index = io.StringIO()
    writer = csv.writer(index)
    writer.writerow(["code", "link", "scene", "title", "png", "svg"])
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as bundle:
        for entry in entries:
            stem = entry.code + (f"-{_slug(entry.title)}" if _slug(entry.title) else "")
            for fmt in FORMATS:
                bundle.writestr(f"{stem}.{fmt}", render(entry.link, fmt, scale))
            writer.writerow([entry.code, entry.link, entry.scene, entry.title, f"{stem}.png", f"{stem}.svg"])
        bundle.writestr("index.csv", "\ufeff" + index.getvalue())  # a BOM: spreadsheet apps read it as UTF-8
    return buffer.getvalue()
