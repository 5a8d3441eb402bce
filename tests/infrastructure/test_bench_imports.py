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


def test_before_and_after_runs_both_trees_alternately_in_one_run() -> None:
    """`make bench-against REV=…` (a smoke run against this very commit: one round, one process each)."""
    from wxfunnel_tools.bench import against

    cold, warm, per_push = against.run("HEAD", rounds=1, import_runs=1, iterations=20)
    trees = [row[0] for row in cold.rows]
    assert trees[0] == "import boto3 + dynamodb client" and trees[1] == "HEAD" and "(this tree)" in trees[2]
    assert all(isinstance(row[1], float) and row[1] > 0 for row in cold.rows), cold.render()
    assert [row[0] for row in warm.rows] == [
        "plaintext XML (OA)",
        "safe-mode XML (OA)",
        "plaintext JSON (MP)",
        "safe-mode JSON (MP)",
    ]
    assert all(isinstance(value, float) and value > 0 for row in warm.rows for value in row[1:5]), (
        warm.render()
    )
    pushes = {row[0]: row for row in per_push.rows}
    assert pushes["new text message (stateless)"][1:3] == ("1", "1"), per_push.render()
    assert pushes["new follow via a channel QR"][1:3] == ("2", "2"), per_push.render()
    assert all(row[-1] == "same" for row in per_push.rows), per_push.render()
