"""The --every loop: cadence, overruns and failures, with the stages replaced by stubs."""

import pytest

from reverse_etl.app import sync
from reverse_etl.core.errors import ConfigError, XeroError
from reverse_etl.core.settings import load_settings


@pytest.mark.parametrize(
    ("text", "seconds"), [("90s", 90), ("15m", 900), ("1h", 3600), ("1.5h", 5400), ("1d", 86400)]
)
def test_parse_interval(text, seconds):
    assert sync.parse_interval(text) == seconds


@pytest.mark.parametrize("text", ["hourly", "5", "1s", "-1h", "1w"])
def test_parse_interval_rejects_nonsense(text):
    with pytest.raises(ConfigError):
        sync.parse_interval(text)


class FakeClock:
    def __init__(self):
        self.now = 1000.0
        self.sleeps = []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds


def test_every_keeps_the_cadence_and_survives_a_failed_run(monkeypatch):
    clock = FakeClock()
    outcomes = iter([None, XeroError("Xero is down"), None])
    runs = []

    def fake_run(settings, *, full_refresh, console):
        runs.append(full_refresh)
        clock.now += 30  # each run takes 30 s
        outcome = next(outcomes)
        if outcome is not None:
            raise outcome
        return sync.SyncReport()

    monkeypatch.setattr(sync, "run_sync_once", fake_run)
    settings = load_settings({}, dotenv_path=None)
    sync.run_sync_command(
        settings, every="10m", full_refresh=True, max_runs=3, sleep=clock.sleep, clock=clock
    )
    assert runs == [True, False, False]  # --full-refresh applies to the first run only
    assert clock.sleeps == [570, 570]


def test_every_skips_ticks_missed_by_an_overrunning_run(monkeypatch):
    clock = FakeClock()

    def slow_run(settings, *, full_refresh, console):
        clock.now += 25 * 60  # 25 minutes, with a 10 minute schedule
        return sync.SyncReport()

    monkeypatch.setattr(sync, "run_sync_once", slow_run)
    settings = load_settings({}, dotenv_path=None)
    sync.run_sync_command(settings, every="10m", max_runs=2, sleep=clock.sleep, clock=clock)
    assert clock.sleeps == [5 * 60]  # next tick at 30 min, not an immediate catch-up burst


def test_every_survives_any_exception_and_reports_it(monkeypatch, caplog):
    """A tick that raises something unexpected (not a project error) is logged, counted, and
    the loop goes on: before, a RuntimeError or duckdb error ended `sync --every`."""
    clock = FakeClock()
    outcomes = iter([RuntimeError("boom in dbt"), KeyError("x"), None])

    def fake_run(settings, *, full_refresh, console):
        outcome = next(outcomes)
        if outcome is not None:
            raise outcome
        return sync.SyncReport()

    monkeypatch.setattr(sync, "run_sync_once", fake_run)
    health = sync.LoopHealth()
    settings = load_settings({}, dotenv_path=None)
    with caplog.at_level("ERROR"):
        sync.run_sync_command(
            settings, every="10m", max_runs=3, sleep=clock.sleep, clock=clock, health=health
        )
    assert health.failures == 2 and health.successes == 1
    assert health.consecutive_failures == 0  # the third tick succeeded
    errors = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
    assert len(errors) == 2
    assert "boom in dbt" in errors[0] and "1 in a row" in errors[0]
    assert "2 in a row" in errors[1]


def test_every_retries_a_busy_warehouse_with_back_off_within_the_interval(monkeypatch):
    from reverse_etl.core.errors import WarehouseBusyError

    clock = FakeClock()
    attempts = []

    def busy_twice(settings, *, full_refresh, console):
        attempts.append(clock.now)
        if len(attempts) <= 2:
            raise WarehouseBusyError("held by a DuckDB shell")
        return sync.SyncReport()

    monkeypatch.setattr(sync, "run_sync_once", busy_twice)
    health = sync.LoopHealth()
    settings = load_settings({}, dotenv_path=None)
    sync.run_sync_command(
        settings, every="1h", max_runs=1, sleep=clock.sleep, clock=clock, health=health
    )
    assert len(attempts) == 3
    assert clock.sleeps == [60, 120]  # back-off: 1 min, then 2 min
    assert health.successes == 1 and health.failures == 0


def test_every_gives_up_on_a_busy_tick_after_the_back_off_and_says_so(monkeypatch):
    from reverse_etl.core.errors import LockBusyError

    clock = FakeClock()

    def always_busy(settings, *, full_refresh, console):
        raise LockBusyError("webhook sync holds the lock")

    monkeypatch.setattr(sync, "run_sync_once", always_busy)
    health = sync.LoopHealth()
    settings = load_settings({}, dotenv_path=None)
    sync.run_sync_command(
        settings, every="1h", max_runs=1, sleep=clock.sleep, clock=clock, health=health
    )
    assert clock.sleeps == [60, 120, 240, 480]
    assert sum(clock.sleeps) < 3600
    assert health.failures == 1 and "LockBusyError" in (health.last_error or "")
