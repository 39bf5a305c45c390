"""The --every loop: cadence, overruns and failures, with the stages replaced by stubs."""

import pytest

from reverse_etl import sync
from reverse_etl.errors import ConfigError, XeroError
from reverse_etl.settings import load_settings


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
