"""Channels: a record's times as stored and shown, and which pushes through a scene a channel counts."""

from __future__ import annotations

import time

import pytest

from wxfunnel.domain.channels import Channel, epoch_of, timestamp
from wxfunnel_tools import examples


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


def test_a_record_time_reads_back_as_its_epoch_second() -> None:
    assert epoch_of("2027-01-15T08:00:00Z") == 1_800_000_000
    assert epoch_of(timestamp(1_800_000_123.7)) == 1_800_000_123
    with pytest.raises(ValueError):
        epoch_of("2027-01-15 08:00:00")


def _channel(generation: int) -> Channel:
    stamp = "2027-01-15T08:00:00Z"
    return examples.channel("flyer", name="Autumn", generation=generation, created_at=stamp, updated_at=stamp)


def test_a_scenes_first_channel_counts_every_push_and_a_reassigned_one_those_since_its_creation() -> None:
    first, reassigned = _channel(0), _channel(1)
    assert first.since is None
    assert first.counts_touch(0) and first.counts_touch(1_799_999_999)
    assert reassigned.since == 1_800_000_000
    assert reassigned.counts_touch(1_800_000_000) and reassigned.counts_touch(1_800_000_001)
    assert not reassigned.counts_touch(1_799_999_999)
