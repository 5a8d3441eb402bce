"""`make bench`'s cold-start section runs against the layer as the Makefile builds it (a smoke run: one process each)."""

from __future__ import annotations

import pytest

from wxfunnel_tools.bench import imports

pytestmark = pytest.mark.xdist_group("sam")


def test_cold_start_section_measures_the_built_layer_with_and_without_bytecode() -> None:
    section, heavy = imports.run(["CallbackFunction"], runs=1, breakdown_runs=1)
    rendered = section.render()
    names = [row[0] for row in section.rows]
    assert names == ["import boto3 + dynamodb client", "CallbackFunction"]
    baseline, callback = section.rows
    assert all(isinstance(value, float) and value > 0 for value in (baseline[1], callback[1], callback[5]))
    assert callback[5] > callback[1], "ready includes the import"
    assert "with the layer's .pyc files" in rendered
    assert any(row[0] == "wxfunnel.protocol" for row in heavy.rows), heavy.render()
