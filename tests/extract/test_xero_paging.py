"""Paging against a Xero that ignores ``page`` (issue 20): the read stops at the first repeated
page with an error naming the endpoint, instead of reading the same page until the day limit."""

from __future__ import annotations

import pytest

from pipelines.run import run_xero_extract
from pipelines.xero.finance_tables import FINANCE_TABLES
from reverse_etl.core.errors import XeroError
from tests.extract.conftest import ExtractEnv

INVOICES = "/api.xro/2.0/Invoices"


def test_a_xero_ignoring_page_stops_the_read_at_the_first_repeated_page(
    extract_env: ExtractEnv,
) -> None:
    env = extract_env
    env.xero.emulator.seed_demo(450)
    env.xero.emulator.faults.add("ignore_page", path_prefix=INVOICES, times=None)
    settings = env.settings(XERO_PAGE_SIZE="100")
    with pytest.raises(XeroError, match=r"page 2 of /api\.xro/2\.0/Invoices .* ignore the page"):
        run_xero_extract(settings, client=env.xero_client(settings))
    calls = env.xero.emulator.counters.snapshot()["by_route"]
    assert calls.get("GET /api.xro/2.0/Invoices") == 2, "stopped at the first repeated page"
    assert "raw_xero.invoices" not in env.tables()

    env.xero.emulator.faults.clear()  # Xero honours page again: the next run reads everything
    report = run_xero_extract(settings, client=env.xero_client(settings))
    assert report.invoices_loaded == 450


def test_the_same_detection_guards_the_other_paged_endpoints(extract_env: ExtractEnv) -> None:
    env = extract_env
    (tenant,) = env.xero.emulator.seed_demo(450)
    contacts = next(t.endpoint for t in FINANCE_TABLES if t.endpoint.path == "Contacts")
    settings = env.settings(XERO_PAGE_SIZE="10")
    client = env.xero_client(settings)
    honest = [len(p.invoices) for p in client.pages(contacts, tenant)]
    assert len(honest) > 2 and sum(honest) == len(env.xero.emulator.contacts(tenant))

    env.xero.emulator.faults.add("ignore_page", path_prefix="/api.xro/2.0/Contacts", times=None)
    with pytest.raises(XeroError, match=r"page 2 of /api\.xro/2\.0/Contacts"):
        list(client.pages(contacts, tenant))
