"""Rows for people and for scripts: aligned tables that measure Chinese as two columns, JSON, or CSV.

print(render(rows, [("scene", "场景"), ("name", "名称")], "table"))
"""

from __future__ import annotations

import csv
import io
import json
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

FORMATS = ("table", "json", "csv")


def width(text: str) -> int:
    """Columns `text` takes in a terminal: wide and full-width characters (Chinese) take two, combining marks none."""
    total = 0
    for char in text:
        if unicodedata.combining(char):
            continue
        total += 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1
    return total


def pad(text: str, columns: int) -> str:
    return text + " " * max(0, columns - width(text))


def cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return ",".join(cell(item) for item in value)
    return str(value)


def render(rows: Iterable[Mapping[str, Any]], columns: Sequence[tuple[str, str]], fmt: str = "table") -> str:
    """`rows` as an aligned table (headers from `columns`: (key, title)), CSV with the keys as headers, or JSON."""
    rows = list(rows)
    if fmt == "json":
        return json.dumps(rows, ensure_ascii=False, indent=2)
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow([key for key, _ in columns])
        for row in rows:
            writer.writerow([cell(row.get(key)) for key, _ in columns])
        return out.getvalue().rstrip("\n")
    if fmt != "table":
        raise ValueError(f"unknown format {fmt!r} (one of {', '.join(FORMATS)})")
    grid = [[title for _, title in columns]] + [[cell(row.get(key)) for key, _ in columns] for row in rows]
    widths = [max(width(line[i]) for line in grid) for i in range(len(columns))]
    lines = ["  ".join(pad(text, widths[i]) for i, text in enumerate(line)).rstrip() for line in grid]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)
