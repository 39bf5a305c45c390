"""What goes wrong with Xero, and what the user sees: tokens, limits, faults, bad payloads."""

from __future__ import annotations

import json
import stat

import pytest

import pipelines.xero.client as xero_client
from pipelines.run import run_xero_extract
from reverse_etl.core.errors import XeroAuthError, XeroError, XeroRateLimitError
from sandbox.xero.limits import XeroLimits
from tests.extract.conftest import ExtractEnv

INVOICES = "/api.xro/2.0/Invoices"


def _snapshot(env: ExtractEnv) -> list[tuple[object, ...]]:
    return env.query(
        "select invoice_id, status, reference, updated_date_utc from raw_xero.invoices "
        "order by invoice_id"
    )


def test_access_token_expiring_mid_run_is_refreshed(extract_env: ExtractEnv) -> None:
    env = extract_env
    env.xero.emulator.seed_demo(500)
    settings = env.settings(XERO_PAGE_SIZE="100")
    client = env.xero_client(settings, clock=lambda: 0.0)  # our clock says the token is fresh
    real_pages = client._pages

    def pages_with_time_passing(*args, **kwargs):  # 20 minutes pass per page on Xero's side
        for page in real_pages(*args, **kwargs):
            env.xero.clock.advance(minutes=20)
            yield page

    client._pages = pages_with_time_passing  # type: ignore[method-assign]
    report = run_xero_extract(settings, client=client)

    assert report.invoices_loaded == 500
    assert report.token_calls >= 3  # initial + one refresh per 401 TokenExpired
    assert env.xero.emulator.counters.by_status[401] >= 2


def test_token_refreshed_proactively_from_expires_in(extract_env: ExtractEnv) -> None:
    env = extract_env
    env.xero.emulator.seed_demo(300)
    env.xero.emulator.limits = XeroLimits(access_token_seconds=120)
    settings = env.settings(XERO_PAGE_SIZE="100", XERO_CALLS_PER_MINUTE="1")
    report = run_xero_extract(settings, client=env.xero_client(settings))
    # 1 call per minute: waits of ~60 s between pages; the 120 s token is renewed before use
    assert report.invoices_loaded == 300
    assert report.token_calls >= 2
    assert env.xero.emulator.counters.by_status[401] == 0
    assert max(env.sleeps) == pytest.approx(60.0)


def test_refresh_token_rotation_survives_a_crash(
    extract_env: ExtractEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = extract_env
    env.xero.emulator.seed_demo(50)
    env.xero.emulator.add_client("standard-app", "standard-secret")
    first_token = env.xero.emulator.issue_refresh_token("standard-app")
    settings = env.settings(
        XERO_CLIENT_ID="standard-app",
        XERO_CLIENT_SECRET="standard-secret",
        XERO_REFRESH_TOKEN=first_token,
    )
    token_file = settings.xero.token_file
    real_write = xero_client.write_token_file

    def write_then_crash(*args, **kwargs):
        real_write(*args, **kwargs)
        raise KeyboardInterrupt("simulated crash right after persisting the rotated token")

    monkeypatch.setattr(xero_client, "write_token_file", write_then_crash)
    with pytest.raises(KeyboardInterrupt):
        run_xero_extract(settings, client=env.xero_client(settings))
    monkeypatch.undo()

    saved = json.loads(token_file.read_text())
    assert saved["refresh_token"] != first_token
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    assert not env.warehouse_path.exists()

    report = run_xero_extract(settings, client=env.xero_client(settings))  # uses the file
    assert report.invoices_loaded == 50
    assert json.loads(token_file.read_text())["refresh_token"] not in (
        first_token,
        saved["refresh_token"],
    )

    # The first token was spent by the crashed run; 30 minutes later (Xero's grace period for
    # a used token) Xero refuses it, with a useful message.
    env.xero.clock.advance(minutes=31)
    stale = env.settings(
        XERO_CLIENT_ID="standard-app",
        XERO_CLIENT_SECRET="standard-secret",
        XERO_REFRESH_TOKEN=first_token,
        XERO_TOKEN_FILE=str(env.root / "elsewhere" / "token.json"),
    )
    with pytest.raises(XeroAuthError) as refused:
        run_xero_extract(stale, client=env.xero_client(stale))
    message = str(refused.value)
    assert "invalid_grant" in message and "XERO_REFRESH_TOKEN" in message
    assert "30-minute grace period" in message and first_token not in message

    # A newly authorised token in XERO_REFRESH_TOKEN wins over the file's older chain.
    fresh = env.xero.emulator.issue_refresh_token("standard-app")
    renewed = env.settings(
        XERO_CLIENT_ID="standard-app", XERO_CLIENT_SECRET="standard-secret",
        XERO_REFRESH_TOKEN=fresh,
    )  # fmt: skip
    assert run_xero_extract(renewed, client=env.xero_client(renewed)).invoices_loaded == 0


def test_wrong_credentials_leave_the_warehouse_unchanged(extract_env: ExtractEnv) -> None:
    env = extract_env
    env.xero.emulator.seed_demo(30)
    settings = env.settings()
    run_xero_extract(settings, client=env.xero_client(settings))
    before = _snapshot(env)
    env.xero.clock.advance(minutes=1)
    env.xero.emulator.edit(before[0][0], reference="changed")

    wrong = env.settings(XERO_CLIENT_SECRET="not-the-secret")
    with pytest.raises(XeroAuthError) as error:
        run_xero_extract(wrong, client=env.xero_client(wrong))
    assert "XERO_CLIENT_ID / XERO_CLIENT_SECRET" in str(error.value)
    assert "not-the-secret" not in str(error.value)
    assert _snapshot(env) == before
    assert env.invoice_calls() == 1  # the first run's only call


def test_429_waits_retry_after(extract_env: ExtractEnv) -> None:
    env = extract_env
    env.xero.emulator.seed_demo(250)
    env.xero.emulator.faults.add("status", status=429, path_prefix=INVOICES, retry_after=1, times=2)
    settings = env.settings(XERO_PAGE_SIZE="100")
    report = run_xero_extract(settings, client=env.xero_client(settings))
    assert report.invoices_loaded == 250
    assert env.sleeps.count(1.0) == 2
    assert report.xero_calls == 3 + 2  # three pages, two refused attempts


def test_day_limit_stops_at_a_page_boundary_instead_of_sleeping(extract_env: ExtractEnv) -> None:
    env = extract_env
    env.xero.emulator.seed_demo(300)
    env.xero.emulator.limits = XeroLimits(per_day=2)
    settings = env.settings(XERO_PAGE_SIZE="100")
    report = run_xero_extract(settings, client=env.xero_client(settings))
    (tenant,) = report.tenants
    assert "day limit reached" in report.stopped[tenant]  # from X-DayLimit-Remaining: 0
    assert env.sleeps == []
    assert env.invoice_calls() == 2  # no call after X-DayLimit-Remaining: 0
    assert env.scalar("select count(*) from raw_xero.invoices") == 200  # two whole pages kept
    with pytest.raises(XeroRateLimitError) as stop:
        report.raise_for_limit_stops()
    assert stop.value.exit_code == 75


def test_429_with_an_hours_long_retry_after_stops_without_waiting(
    extract_env: ExtractEnv,
) -> None:
    env = extract_env
    env.xero.emulator.seed_demo(30)
    faults = env.xero.emulator.faults
    faults.add("status", status=429, path_prefix=INVOICES, retry_after=7200, times=1)
    settings = env.settings()
    report = run_xero_extract(settings, client=env.xero_client(settings))
    assert "minute limit reached" in " ".join(report.stopped.values())
    assert env.sleeps == []
    assert report.invoices_loaded == 0


def test_5xx_and_dropped_connections_are_retried(extract_env: ExtractEnv) -> None:
    env = extract_env
    env.xero.emulator.seed_demo(250)
    faults = env.xero.emulator.faults
    faults.add("status", status=503, path_prefix=INVOICES, times=2)
    faults.add("drop", path_prefix=INVOICES, times=1)
    settings = env.settings(XERO_PAGE_SIZE="100")
    report = run_xero_extract(settings, client=env.xero_client(settings))
    assert report.invoices_loaded == 250
    assert report.retries == 3
    assert env.sleeps == [0.375, 0.75, 1.5]  # exponential (0.5 s base, doubling), fixed jitter


def test_persistent_5xx_fails_with_a_clear_error(extract_env: ExtractEnv) -> None:
    env = extract_env
    env.xero.emulator.seed_demo(30)
    env.xero.emulator.faults.add("status", status=500, path_prefix=INVOICES, times=None)
    settings = env.settings()
    with pytest.raises(XeroError, match="500"):
        run_xero_extract(settings, client=env.xero_client(settings, max_retries=3))
    assert len(env.sleeps) == 3
    assert "raw_xero.invoices" not in env.tables()


def test_refused_order_falls_back_to_default_paging_once(extract_env: ExtractEnv) -> None:
    """If Xero ever refuses ``order=InvoiceID`` (believed accepted, not confirmed), the extract
    pages in Xero's default order instead of failing every run; a second 400 is an error."""
    env = extract_env
    env.xero.emulator.seed_demo(250)
    env.xero.emulator.faults.add("status", status=400, path_prefix=INVOICES, times=1)
    settings = env.settings(XERO_PAGE_SIZE="100")
    client = env.xero_client(settings)
    report = run_xero_extract(settings, client=client)
    assert report.invoices_loaded == 250
    assert client._order is None

    env.xero.emulator.faults.add("status", status=400, path_prefix=INVOICES, times=1)
    with pytest.raises(XeroError, match="400"):
        run_xero_extract(settings, client=client, full_refresh=True)
