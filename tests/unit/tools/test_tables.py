"""Tables for terminals (Chinese takes two columns), CSV and JSON for scripts."""

from __future__ import annotations

import csv
import io
import json

import pytest

from wxfunnel_tools.tables import render, width

ROWS = [
    {"scene": "spring", "name": "春节海报", "total": 12, "tags": ["a", "b"], "active": True},
    {"scene": "店铺A/二楼", "name": "Booth", "total": 3, "tags": [], "active": False},
]
COLUMNS = (("scene", "场景"), ("name", "名称"), ("total", "合计"), ("tags", "标签"), ("active", "启用"))


def test_chinese_and_full_width_characters_take_two_columns():
    assert (width("abc"), width("春节"), width("Ａ"), width("é"), width("e\u0301")) == (3, 4, 2, 1, 1)


def test_every_column_of_a_table_starts_at_the_same_screen_column():
    header, rule, first, second = render(ROWS, COLUMNS).splitlines()
    assert set(rule) <= {"-", " "}

    def column(line: str, text: str) -> int:
        return width(line[: line.index(text)])

    assert column(first, "春节海报") == column(second, "Booth") == column(header, "名称")
    assert column(first, "12") == column(second, "3") == column(header, "合计")
    assert column(first, "yes") == column(second, "no") == column(header, "启用")


def test_csv_has_the_keys_as_headers_and_json_the_rows():
    table = list(csv.reader(io.StringIO(render(ROWS, COLUMNS, "csv"))))
    assert table[0] == ["scene", "name", "total", "tags", "active"]
    assert table[1] == ["spring", "春节海报", "12", "a,b", "yes"] and table[2][0] == "店铺A/二楼"
    assert json.loads(render(ROWS, COLUMNS, "json")) == ROWS


def test_an_unknown_format_is_refused():
    with pytest.raises(ValueError, match="unknown format"):
        render(ROWS, COLUMNS, "xml")
