"""Xero's stricter edges: the day limit mid-backfill (resume, nothing lost or read twice), the
concurrency 429 without Retry-After, long IDs lists, the refresh-token grace period, scopes."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests

import pipelines.xero.client as xero_client
from pipelines.run import run_xero_extract
from reverse_etl.core.errors import XeroAuthError, XeroError
from sandbox.xero.limits import XeroLimits
from tests.extract.conftest import ExtractEnv


class RecordingSession(requests.Session):
    """Remembers which Invoices page (and window) every request asked for."""

    def __init__(self, log: list[tuple[str | None, str]]) -> None:
        super().__init__()
        self.log = log

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        if url.endswith("/Invoices"):
            headers = kwargs.get("headers") or {}
            self.log.append((headers.get("If-Modified-Since"), kwargs["params"]["page"]))
        return super().request(method, url, *args, **kwargs)


def test_backfill_over_the_day_limit_resumes_and_reads_every_page_once(
    extract_env: ExtractEnv,
) -> None:
    """450 invoices, 100 a page, 2 calls a day: three runs, five pages, each read once."""
    env = extract_env
    (tenant,) = env.xero.emulator.seed_demo(450)
    env.xero.emulator.limits = XeroLimits(per_day=2)
    settings = env.settings(XERO_PAGE_SIZE="100")
    requested: list[tuple[str | None, str]] = []

    def run() -> Any:
        session = RecordingSession(requested)
        return run_xero_extract(settings, client=env.xero_client(settings, session=session))

    first = run()
    assert first.invoices_loaded == 200 and first.pages_per_tenant == {tenant: 2}
    assert first.stopped[tenant] == (
        f"Xero day limit reached for organisation {tenant} after 2 page(s) this run; what was "
        "read is saved, and the next run resumes from page 3 of all."
    )
    assert env.scalar("select count(*) from raw_xero.invoices") == 200

    # Between the runs: one invoice already read is edited, one not yet read is paid.
    ids = sorted(i.invoice_id for i in env.xero.emulator.invoices(tenant))  # paging order
    env.xero.clock.advance(days=1, seconds=1)
    env.xero.emulator.edit(ids[0], reference="edited after it was read")
    unread = next(i for i in ids[300:] if env.xero.emulator.invoice(i)["Status"] == "AUTHORISED")
    env.xero.emulator.pay(unread)

    second = run()
    assert second.pages_per_tenant == {tenant: 2} and tenant in second.stopped
    assert "resumes from page 5 of all" in second.stopped[tenant]
    env.xero.clock.advance(days=1, seconds=1)
    third = run()
    assert third.stopped == {} and third.pages_per_tenant == {tenant: 1}

    # every page of the backfill requested exactly once, no window change in between
    assert requested == [(None, str(page)) for page in range(1, 6)]
    assert env.invoice_calls() == 5
    assert env.scalar("select count(*) from raw_xero.invoices") == 450
    assert env.scalar("select count(distinct invoice_id) from raw_xero.invoices") == 450
    status = "select status from raw_xero.invoices where invoice_id = ?"
    assert env.scalar(status, unread) == "PAID"  # read in its new version on page 4 or 5

    # The cursor is where one uninterrupted read would have put it: the next (incremental)
    # run reads the edit made while the backfill was under way, in one call.
    env.xero.clock.advance(days=1, seconds=1)
    fourth = run()
    assert fourth.stopped == {} and fourth.xero_calls == 1
    reference = "select reference from raw_xero.invoices where invoice_id = ?"
    assert env.scalar(reference, ids[0]) == "edited after it was read"
    assert env.scalar("select count(*) from raw_xero.invoices") == 450


def test_full_refresh_starts_a_stopped_read_over(extract_env: ExtractEnv) -> None:
    env = extract_env
    (tenant,) = env.xero.emulator.seed_demo(250)
    env.xero.emulator.limits = XeroLimits(per_day=1)
    settings = env.settings(XERO_PAGE_SIZE="100")
    assert tenant in run_xero_extract(settings, client=env.xero_client(settings)).stopped
    env.xero.clock.advance(days=1, seconds=1)
    env.xero.emulator.limits = XeroLimits()
    report = run_xero_extract(settings, full_refresh=True, client=env.xero_client(settings))
    assert report.stopped == {} and report.pages_per_tenant == {tenant: 3}
    env.xero.clock.advance(minutes=5)
    after = run_xero_extract(settings, client=env.xero_client(settings))  # nothing to resume
    assert after.xero_calls == 1 and after.invoices_loaded == 0


def test_concurrency_429_without_retry_after_waits_briefly(extract_env: ExtractEnv) -> None:
    """Another process holds the organisation's only concurrent slot: Xero answers 429
    ``concurrent`` with no Retry-After; the client backs off for well under a second."""
    env = extract_env
    (tenant,) = env.xero.emulator.seed_demo(50)
    emulator = env.xero.emulator
    emulator.limits = XeroLimits(concurrent=1)
    emulator.limiter.acquire(tenant, emulator.now())  # the other process's call in flight

    def sleep(seconds: float) -> None:
        env.sleep(seconds)
        emulator.limiter.release(tenant)  # the other call ends while we wait

    settings = env.settings()
    report = run_xero_extract(settings, client=env.xero_client(settings, sleep=sleep))
    assert report.invoices_loaded == 50
    assert env.sleeps == [0.375]  # 0.5 s backoff with (fixed) jitter, not a blind 60 s
    assert env.xero.emulator.counters.by_status[429] == 1


def test_named_invoices_are_read_in_chunks_xero_accepts(
    extract_env: ExtractEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Webhook mode reads by ``IDs``; Xero answers more than 52 ids with a 404."""
    env = extract_env
    (tenant,) = env.xero.emulator.seed_demo(150)
    ids = [i.invoice_id for i in env.xero.emulator.invoices(tenant)][:120]
    settings = env.settings()
    report = run_xero_extract(settings, invoice_ids=ids, client=env.xero_client(settings))
    assert report.invoices_loaded == 120 and report.xero_calls == 3  # 40 + 40 + 40

    monkeypatch.setattr(xero_client, "IDS_PER_CALL", 60)  # a client that chunks too coarsely
    with pytest.raises(XeroError, match="404"):
        run_xero_extract(settings, invoice_ids=ids, client=env.xero_client(settings))


def test_lost_refresh_answer_is_recovered_within_the_grace_period(
    extract_env: ExtractEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The token endpoint answered but the run died before saving the new token: within
    Xero's 30-minute grace period the old token still works, and the newest one is saved."""
    env = extract_env
    env.xero.emulator.seed_demo(20)
    env.xero.emulator.add_client("standard-app", "standard-secret")
    first = env.xero.emulator.issue_refresh_token("standard-app")
    settings = env.settings(
        XERO_CLIENT_ID="standard-app",
        XERO_CLIENT_SECRET="standard-secret",
        XERO_REFRESH_TOKEN=first,
    )

    def lose_the_answer(*_args: object, **_kwargs: object) -> None:
        raise ConnectionResetError("the answer never arrived")

    monkeypatch.setattr(xero_client, "write_token_file", lose_the_answer)
    with pytest.raises(ConnectionResetError):
        run_xero_extract(settings, client=env.xero_client(settings))
    monkeypatch.undo()
    assert not settings.xero.token_file.exists()

    env.xero.clock.advance(minutes=20)
    report = run_xero_extract(settings, client=env.xero_client(settings))
    assert report.invoices_loaded == 20
    saved = json.loads(settings.xero.token_file.read_text())["refresh_token"]
    assert saved != first
    env.xero.clock.advance(hours=2)  # the saved (newest) token carries on
    assert run_xero_extract(settings, client=env.xero_client(settings)).xero_calls == 1


def test_403_names_the_granular_and_the_broad_scope(extract_env: ExtractEnv) -> None:
    env = extract_env
    env.xero.emulator.seed_demo(5)
    settings = env.settings(XERO_TENANT_ID="00000000-0000-0000-0000-000000000000")
    with pytest.raises(XeroAuthError) as refused:
        run_xero_extract(settings, client=env.xero_client(settings))
    message = str(refused.value)
    assert "403" in message and "XERO_TENANT_ID" in message
    assert "accounting.invoices.read" in message and "accounting.transactions.read" in message
    assert "2 March 2026" in message


def test_each_organisation_stops_and_resumes_on_its_own(extract_env: ExtractEnv) -> None:
    """Day limits are per organisation: one stopping does not stop (or move) the other."""
    env = extract_env
    tenants = env.xero.emulator.seed_demo(300, tenants=2)
    sizes = {t: len(env.xero.emulator.invoices(t)) for t in tenants}
    assert all(100 < n < 200 for n in sizes.values())  # two pages each
    env.xero.emulator.limits = XeroLimits(per_day=1)
    settings = env.settings(XERO_PAGE_SIZE="100")

    first = run_xero_extract(settings, client=env.xero_client(settings))
    assert set(first.stopped) == set(tenants) and first.invoices_loaded == 200
    env.xero.clock.advance(days=1, seconds=1)
    second = run_xero_extract(settings, client=env.xero_client(settings))
    assert second.stopped == {}
    assert second.pages_per_tenant == {t: 1 for t in tenants}
    for tenant, size in sizes.items():
        loaded = "select count(*) from raw_xero.invoices where tenant_id = ?"
        assert env.scalar(loaded, tenant) == size
