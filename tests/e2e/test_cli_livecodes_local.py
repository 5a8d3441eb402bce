"""The `wxfunnel` live-code, campaign, batch and funnel commands against the local stack, as an operator runs them."""

from __future__ import annotations

import json
import zipfile
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest

from wxfunnel_tools import cli
from wxfunnel_tools.localstack import LocalStack

pytestmark = pytest.mark.xdist_group("localstack")
OA = "demo-oa"


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    with LocalStack() as running:
        yield running


def run(stack: LocalStack, capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    status = cli.main([*argv, "--admin-url", stack.url])
    captured = capsys.readouterr()
    assert status == 0, captured.err
    return captured.out


def test_a_campaign_batch_prints_zips_and_funnels(
    stack: LocalStack, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    today = date.today()
    run(
        stack,
        capsys,
        "campaign",
        "create",
        "--app",
        OA,
        "--id",
        "spring",
        "--name",
        "Spring",
        "--start",
        (today - timedelta(days=2)).isoformat(),
        "--end",
        (today + timedelta(days=30)).isoformat(),
    )
    assert "spring" in run(stack, capsys, "campaign", "list", "--app", OA)
    rows = tmp_path / "stores.csv"
    rows.write_text(
        "name,scene,tag,welcome\n门店 1,,store,欢迎\n门店 2,cli-store-2,store,\n", encoding="utf-8"
    )
    result, archive = tmp_path / "result.json", tmp_path / "prints.zip"
    out = run(
        stack,
        capsys,
        "batch",
        "--app",
        OA,
        str(rows),
        "--batch",
        "cli",
        "--campaign",
        "spring",
        "--zip",
        str(archive),
        "--result",
        str(result),
    )
    assert "row    1  created" in out and "cli-001" in out and "2 rows done, 0 refused" in out
    codes = json.loads(result.read_text())["codes"]
    assert len(codes) == 2 and len(zipfile.ZipFile(archive).namelist()) == 5  # 2 × (png, svg) + index.csv

    listed = run(stack, capsys, "livecode", "list", "--app", OA, "--scene", "cli-001")
    assert codes[0] in listed
    png = tmp_path / "store1.png"
    run(stack, capsys, "livecode", "print", "--app", OA, "--code", codes[0], "--out", str(png))
    assert png.read_bytes().startswith(b"\x89PNG")
    logo, svg = tmp_path / "logo.png", tmp_path / "store1.svg"
    logo.write_bytes(png.read_bytes())
    run(
        stack,
        capsys,
        "livecode",
        "print",
        "--app",
        OA,
        "--code",
        codes[0],
        "--out",
        str(svg),
        "--logo",
        str(logo),
    )
    assert "data:image/png;base64," in svg.read_text()

    assert "disabled" in run(
        stack, capsys, "livecode", "update", "--app", OA, "--code", codes[1], "--state", "disabled"
    )
    funnel = run(stack, capsys, "funnel", "--app", OA, "--campaign", "spring")
    assert "0 visits → 0 new followers" in funnel and "still following after  7 days" in funnel


def test_a_refused_row_makes_the_batch_exit_1(
    stack: LocalStack, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    rows = tmp_path / "rows.json"
    rows.write_text(json.dumps([{"name": "ok", "scene": "cli-ok"}, {"name": "no scene"}]), encoding="utf-8")
    assert cli.main(["batch", "--app", OA, str(rows), "--admin-url", stack.url]) == 1
    out = capsys.readouterr().out
    assert "row    1  created" in out and "row    2  error" in out and "1 rows done, 1 refused" in out
