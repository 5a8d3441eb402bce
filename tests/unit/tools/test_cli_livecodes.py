"""The CLI's own work for live codes: a logo placed within what level H recovers, batch files read as rows."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest

from wxfunnel.entry.admin.printfiles import render
from wxfunnel_tools import cli
from wxfunnel_tools.cli import Failure
from wxfunnel_tools.cli_livecodes import LOGO_SHARE, QUIET_ZONE, read_rows, with_logo

LINK = "https://go.example.com/l/demo-oa/ab3d5fgh7k"


@pytest.mark.parametrize("scale", [1, 4, 10])
def test_a_logo_sits_centred_on_a_white_square_within_the_recoverable_share(scale: int) -> None:
    svg = render(LINK, "svg", scale)
    width = float(re.search(rb'width="([\d.]+)"', svg).group(1))
    framed = with_logo(svg, b"\x89PNG fake", "image/png").decode()
    rect = re.search(
        r'<rect x="([\d.]+)" y="([\d.]+)" width="([\d.]+)" height="([\d.]+)" fill="#fff"/>', framed
    )
    x, y, side, _ = (float(v) for v in rect.groups())
    code_width = width - 2 * QUIET_ZONE * scale
    assert side / code_width <= 0.3  # the blanked share the print tests decode through (zbar, level H)
    assert side / code_width > LOGO_SHARE
    assert abs(x + side / 2 - width / 2) < 0.01 and abs(y + side / 2 - width / 2) < 0.01
    assert framed.rstrip().endswith("</svg>") and 'href="data:image/png;base64,' in framed


def test_a_logo_needs_an_svg() -> None:
    with pytest.raises(Failure):
        with_logo(b"\x89PNG not an svg", b"", "image/png")


def test_batch_files_are_csv_with_a_header_or_json_rows(tmp_path: Path) -> None:
    csv_file = tmp_path / "rows.csv"
    csv_file.write_text("\ufeffName, Scene ,tag\n门店 1, store-1 ,s\n门店 2,,\n", encoding="utf-8")
    assert read_rows(str(csv_file)) == [
        {"name": "门店 1", "scene": "store-1", "tag": "s"},
        {"name": "门店 2", "scene": "", "tag": ""},
    ]
    listed = tmp_path / "rows.json"
    listed.write_text('[{"name": "a"}]', encoding="utf-8")
    wrapped = tmp_path / "wrapped.json"
    wrapped.write_text('{"rows": [{"name": "a"}]}', encoding="utf-8")
    assert read_rows(str(listed)) == read_rows(str(wrapped)) == [{"name": "a"}]
    bad = tmp_path / "bad.json"
    bad.write_text('{"name": "a"}', encoding="utf-8")
    with pytest.raises(Failure):
        read_rows(str(bad))


@pytest.mark.parametrize("scene", ["~starts-with-a-tilde", "店铺A/二楼", "100%", "plain"])
def test_followers_name_their_scene_as_a_path_segment_does(scene: str) -> None:
    """The API reads ?scene= as it reads a scene in a path (scene_from_segment): sent raw, "~x" was misread."""
    from wxfunnel.protocol.limits import scene_from_segment

    query = cli._followers_query(argparse.Namespace(app="demo-oa", scene=scene, promoter=None, team=None))
    assert scene_from_segment(query["scene"]) == scene
