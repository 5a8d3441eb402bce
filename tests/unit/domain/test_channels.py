"""Channels: a record's times as stored and shown."""

from __future__ import annotations

import time

import pytest

from wxfunnel.domain.channels import timestamp


def test_a_record_time_is_iso_8601_in_utc_to_the_second_whatever_the_machines_zone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TZ", "Asia/Shanghai")
    time.tzset()
    try:
        assert timestamp(1_800_000_000.9) == "2027-01-15T08:00:00Z"
    finally:
        monkeypatch.undo()
        time.tzset()
