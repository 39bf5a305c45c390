"""The one result writer of the push: every outcome of every batch, invoices, companies and
associations, is written here to ``sync_log`` (the run's ``record_results`` for invoice records,
``customer_results`` for company and association writes) and counted in the run's one report
(:mod:`reverse_etl.push.report`). It runs in the caller's thread, which alone holds the warehouse
connection, as each answer (or round of answers) comes back from
:func:`reverse_etl.push.batches.send_batches`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import replace
from operator import attrgetter

from reverse_etl.core import sync_log
from reverse_etl.core.warehouse import MISSING_RELATION, Connection
from reverse_etl.core.warehouse_sql import IN_LIST, insert_rows
from reverse_etl.push import records
from reverse_etl.push.actions import Action
from reverse_etl.push.records import BatchOutcome
from reverse_etl.push.report import CustomerOutcome, PushReport

log = logging.getLogger("reverse_etl.push.customer_outcomes")  # the name its lines always had

# sync_log.customer_results' columns, as CustomerOutcome names them (category and message are
# stored as error_category and error_message)
CUSTOMER_FIELDS = (
    "kind",
    "action",
    "outcome",
    "xero_contact_id",
    "hs_company_id",
    "xero_invoice_id",
    "invoice_hs_object_id",
    "to_object_type",
    "to_object_id",
    "category",
    "message",
)
STORED_AS = {"category": "error_category", "message": "error_message"}
# sync_log.customer_results' columns: the run, CUSTOMER_FIELDS, the time recorded
CUSTOMER_COLUMNS = (
    ("run_id", "varchar"),
    *((STORED_AS.get(name, name), "varchar") for name in CUSTOMER_FIELDS),
    ("recorded_at", "timestamptz"),
)


def record_invoice_results(
    con: Connection,
    report: PushReport,
    arrived: BatchOutcome,
    by_id: Mapping[str, Action],
    columns: Sequence[str],
) -> list[str]:
    """Record the invoice batches that came back together in one transaction (their snapshot
    rows and outcome rows, :func:`reverse_etl.push.records.record_batch`), each rejection
    with its invoice number and the properties it tried to change; count them in ``report``.
    Returns the ids of the invoices written."""
    arrived.rejected = [
        replace(
            r,
            invoice_number=by_id[r.xero_invoice_id].values.get("invoice_number"),
            changed_properties=by_id[r.xero_invoice_id].changed_properties,
        )
        for r in arrived.rejected
    ]
    records.record_batch(con, report.run_id, arrived, columns)
    for written in arrived.written:
        if written.new:
            report.inserted += 1
        else:
            report.updated += 1
    report.rejected_records.extend(arrived.rejected)
    return [written.xero_invoice_id for written in arrived.written]


def record_customer_results(
    con: Connection,
    report: PushReport,
    outcomes: list[CustomerOutcome],
    *,
    logged: bool = False,
) -> None:
    """Append every company or association outcome to ``sync_log.customer_results``; name each
    refusal in the log (unless the caller already logged them as one)."""
    if not outcomes:
        return
    refused = [o for o in outcomes if o.outcome == "refused"]
    if refused:
        numbers = invoice_numbers(con, [o.xero_invoice_id for o in refused if o.xero_invoice_id])
        refused = [replace(o, invoice_number=numbers.get(o.xero_invoice_id or "")) for o in refused]
        for outcome in refused if not logged else ():
            log.warning("HubSpot refused %s", outcome.line())
        report.refused.extend(refused)
    at = sync_log.now()
    rows = [(report.run_id, *fields, at) for fields in map(attrgetter(*CUSTOMER_FIELDS), outcomes)]
    insert_rows(con, "sync_log.customer_results", CUSTOMER_COLUMNS, rows)


def invoice_numbers(con: Connection, xero_ids: list[str]) -> dict[str, str]:
    if not xero_ids:
        return {}
    try:
        rows = con.execute(
            "select xero_invoice_id, invoice_number from reverse_etl.hubspot_invoices_desired "
            f"where xero_invoice_id {IN_LIST}",
            [xero_ids],
        ).fetchall()
    except MISSING_RELATION:  # no transform yet (benchmarks, older warehouses)
        return {}
    return {str(x): str(n) for x, n in rows if n}
