"""What the push remembers for its alerts, on both warehouse engines (issue 22): status
changes alerted once (and those no target took kept for the next run), HubSpot records no Xero
invoice explains alerted once, records in quarantine logged every run and alerted once per bad
version. The models they read are created here with their dbt contract's columns."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest

from pipelines.quarantine import QUARANTINE_COLUMNS
from reverse_etl.core.settings import Settings
from reverse_etl.push.invoices import run_push
from reverse_etl.push.quarantine_report import report_quarantine
from tests.fixtures.hubspot import HubSpotSandbox
from tests.push.conftest import inserts, invoice, make_client, warehouse_query, write_actions_to

OBJECT = "xero_invoice"
BAD = "6f3c8c5e-1111-4222-8333-944444444444"


class Sent:
    """A notifier that records the messages (``up`` False: no target takes them)."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, str]] = []
        self.up = True

    def __call__(self, _url: str, title: str, body: str) -> bool:
        if self.up:
            self.messages.append((title, body))
        return self.up


def _execute(settings: Settings, *statements: tuple[str, list[Any] | None]) -> None:
    con = settings.warehouse.connect()
    try:
        for sql, params in statements:
            con.execute(sql, params)
    finally:
        con.close()


def _status_changes(settings: Settings, numbers: list[int]) -> None:
    """``reverse_etl.invoice_status_changes``: AUTHORISED → PAID for invoices ``numbers``."""
    statements: list[tuple[str, list[Any] | None]] = [
        ("create schema if not exists reverse_etl", None),
        ("drop table if exists reverse_etl.invoice_status_changes", None),
        (
            "create table reverse_etl.invoice_status_changes (xero_invoice_id varchar, "
            "hs_object_id varchar, invoice_number varchar, contact_name varchar, "
            "currency_code varchar, total decimal(18, 2), amount_due decimal(18, 2), "
            "previous_status varchar, new_status varchar, xero_updated_at timestamptz)",
            None,
        ),
    ]
    for n in numbers:
        row = invoice(n)
        statements.append(
            (
                "insert into reverse_etl.invoice_status_changes values "
                "(?, null, ?, ?, 'NZD', 1234.50, 0, 'AUTHORISED', 'PAID', ?)",
                [
                    row["xero_invoice_id"],
                    row["invoice_number"],
                    row["contact_name"],
                    datetime(2026, 11, 24, 10, tzinfo=UTC),
                ],
            )
        )
    _execute(settings, *statements)


def _paid(sandbox: HubSpotSandbox, settings: Settings, notify: Sent) -> None:
    """Invoices 1 and 2 in HubSpot, then paid in Xero: their updates and status changes."""
    write_actions_to(settings, inserts([1, 2]))
    run_push(settings, client=make_client(settings), notify=notify)
    ids = {r["properties"]["xero_invoice_id"]: r["id"] for r in sandbox.emulator.records(OBJECT)}
    updates = [
        {
            **invoice(n, status="PAID", amount_due="0"),
            "action": "UPDATE",
            "hs_object_id": ids[invoice(n)["xero_invoice_id"]],
            "changed_properties": ["status", "amount_due"],
        }
        for n in (1, 2)
    ]
    write_actions_to(settings, updates)
    _status_changes(settings, [1, 2])


def test_status_changes_no_target_took_are_kept_then_alerted_once(
    hubspot_sandbox: HubSpotSandbox, engine_settings: Settings
) -> None:
    settings = replace(engine_settings, alert_urls=("json://127.0.0.1:9/hook",))
    notify = Sent()
    _paid(hubspot_sandbox, settings, notify)
    notify.up = False

    down = run_push(settings, client=make_client(settings), notify=notify)

    assert down.updated == 2 and down.alerts_failed == 1
    kept = warehouse_query(
        settings,
        "select invoice_number, total, new_status from sync_log.undelivered_status_changes "
        "order by invoice_number",
    )
    assert kept == [("INV-00001", "1234.50", "PAID"), ("INV-00002", "1234.50", "PAID")]

    # the next transform sees HubSpot up to date: the written changes leave the model
    write_actions_to(settings, [])
    _status_changes(settings, [])
    notify.up, notify.messages = True, []
    run_push(settings, client=make_client(settings), notify=notify)

    assert len(notify.messages) == 1
    assert "INV-00001 (Customer 1, 1,234.50 NZD): AUTHORISED → PAID" in notify.messages[0][1]
    assert "INV-00002" in notify.messages[0][1]
    assert warehouse_query(
        settings, "select count(*) from sync_log.alerted_status_changes where new_status = 'PAID'"
    ) == [(2,)]

    run_push(settings, client=make_client(settings), notify=notify)
    assert len(notify.messages) == 1  # delivered once, then not again


def test_a_record_no_xero_invoice_explains_is_alerted_once(
    hubspot_sandbox: HubSpotSandbox, engine_settings: Settings
) -> None:
    settings = replace(engine_settings, alert_urls=("json://127.0.0.1:9/hook",))
    notify = Sent()
    write_actions_to(settings, [])
    _execute(
        settings,
        (
            "create table reverse_etl.hubspot_unexplained_invoices (hs_object_id varchar, "
            "xero_invoice_id varchar, invoice_number varchar, contact_name varchar, "
            "reason varchar, resembles_xero_invoice_id varchar, "
            "resembles_invoice_number varchar, hs_created_at timestamptz)",
            None,
        ),
        (
            "insert into reverse_etl.hubspot_unexplained_invoices values "
            "('901', 'HAND-MADE-1', 'INV-X', null, 'unknown_invoice_id', null, null, ?)",
            [datetime(2026, 11, 1, tzinfo=UTC)],
        ),
    )

    first = run_push(settings, client=make_client(settings), notify=notify)
    second = run_push(settings, client=make_client(settings), notify=notify)

    assert [u.hs_object_id for u in first.unexplained] == ["901"]
    assert [u.alerted for u in second.unexplained] == [True]
    assert len(notify.messages) == 1
    assert "HAND-MADE-1" in notify.messages[0][1]
    assert warehouse_query(
        settings, "select hs_object_id, xero_invoice_id from sync_log.alerted_unexplained_invoices"
    ) == [("901", "HAND-MADE-1")]


def _quarantine(settings: Settings, source_updated: str) -> None:
    types = {"text": "varchar", "timestamp": "timestamptz", "bool": "boolean"}
    columns = ", ".join(f"{n} {types[h['data_type']]}" for n, h in QUARANTINE_COLUMNS.items())
    _execute(
        settings,
        ("create schema if not exists raw_xero", None),
        (f"create table if not exists raw_xero.quarantine ({columns})", None),
        ("delete from raw_xero.quarantine", None),
        (
            "insert into raw_xero.quarantine (resource, tenant_id, record_key, record_id, "
            "record_name, field, error, fix, source_updated, quarantined_at) "
            "values ('invoices', 't-1', ?, ?, 'INV-[/x]', 'Status', "
            "'''ON_HOLD'' is not a Xero invoice Status', 'correct the invoice in Xero', ?, ?)",
            [BAD, BAD, source_updated, datetime(2026, 11, 30, tzinfo=UTC)],
        ),
    )


@pytest.mark.usefixtures("hubspot_sandbox")
def test_quarantine_logged_every_run_alerted_once_per_bad_version(
    engine_settings: Settings,
) -> None:
    settings = replace(engine_settings, alert_urls=("json://127.0.0.1:9/alerts",))
    notify = Sent()
    _quarantine(settings, "/Date(1)/")

    first = report_quarantine(settings, "run-1", notify=notify)
    report_quarantine(settings, "run-2", notify=notify)
    _quarantine(settings, "/Date(2)/")  # changed in Xero, still bad: alerted again
    report_quarantine(settings, "run-3", notify=notify)

    assert [r.record_id for r in first] == [BAD]
    assert len(notify.messages) == 2 and "INV-[/x]" in notify.messages[0][1]
    assert warehouse_query(
        settings,
        "select run_id, source_updated from sync_log.quarantine where record_id = ? "
        "order by run_id",
        [BAD],
    ) == [("run-1", "/Date(1)/"), ("run-2", "/Date(1)/"), ("run-3", "/Date(2)/")]
    _execute(settings, ("delete from raw_xero.quarantine", None))
    assert report_quarantine(settings, "run-4", notify=notify) == []
