"""The manual clock the sandboxes read in tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from sandbox.clock import ManualClock, utc_now


def test_manual_clock_moves_only_when_told() -> None:
    clock = ManualClock(datetime(2024, 1, 1, 10, tzinfo=UTC))
    assert clock() == clock() == datetime(2024, 1, 1, 10, tzinfo=UTC)
    assert clock.advance(seconds=90) == datetime(2024, 1, 1, 10, 1, 30, tzinfo=UTC)
    clock.advance(hours=1)
    assert clock() == datetime(2024, 1, 1, 11, 1, 30, tzinfo=UTC)
    clock.set(datetime(2025, 1, 1, tzinfo=UTC))
    assert clock().year == 2025
    with pytest.raises(ValueError):
        ManualClock(datetime(2024, 1, 1))


def test_utc_now_is_aware() -> None:
    assert utc_now().utcoffset() == timedelta(0)
