"""Invoice records in HubSpot that no Xero invoice explains (issue 20), as the run reports them.

``reverse_etl.hubspot_unexplained_invoices`` (dbt) lists the live records whose
``xero_invoice_id`` is no Xero InvoiceID in the warehouse: made by hand, or a copy of a real
one typed in upper case or with spaces. The push never writes or deletes them (a person
decides); this module reads them for the run's alert (:mod:`reverse_etl.push.alerts`) and ``--json``
summary, and remembers which ones an alert has named (``sync_log.alerted_unexplained_invoices``)
so that a record appearing is alerted once, while every later message still counts them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

from reverse_etl.core.warehouse import MISSING_RELATION, Connection

MODEL = "reverse_etl.hubspot_unexplained_invoices"
ALERTED = "sync_log.alerted_unexplained_invoices"


@dataclass(frozen=True)
class UnexplainedInvoice:
    hs_object_id: str
    xero_invoice_id: str
    invoice_number: str | None
    reason: str  # case_or_spaces | unknown_invoice_id
    resembles_invoice_number: str | None
    alerted: bool = False  # named by an earlier alert

    def line(self) -> str:
        what = f"HubSpot record {self.hs_object_id} (xero_invoice_id {self.xero_invoice_id!r}"
        what += f", number {self.invoice_number})" if self.invoice_number else ")"
        if self.reason == "case_or_spaces":
            return (
                f"{what}: a copy of Xero invoice {self.resembles_invoice_number or '?'} with "
                "the id in other case or with spaces"
            )
        return f"{what}: no Xero invoice has that id"

    def as_dict(self) -> dict[str, object]:
        return {k: v for k, v in asdict(self).items() if k != "alerted"}


def read_unexplained(con: Connection) -> list[UnexplainedInvoice]:
    """The model's rows, oldest record first; none before the first transform built it."""
    _ensure_table(con)
    try:
        rows = con.execute(
            f"""
            select u.hs_object_id, u.xero_invoice_id, u.invoice_number, u.reason,
                   u.resembles_invoice_number,
                   exists (select 1 from {ALERTED} as a where a.hs_object_id = u.hs_object_id
                           and a.xero_invoice_id = u.xero_invoice_id)
            from {MODEL} as u
            order by u.hs_created_at nulls last, u.hs_object_id
            """
        ).fetchall()
    except MISSING_RELATION:
        return []
    return [
        UnexplainedInvoice(str(hs_id), str(invoice_id), number, str(reason), resembles, bool(seen))
        for hs_id, invoice_id, number, reason, resembles, seen in rows
    ]


def mark_alerted(con: Connection, records: Sequence[UnexplainedInvoice]) -> None:
    new = [r for r in records if not r.alerted]
    if new:
        con.executemany(
            f"insert into {ALERTED} (hs_object_id, xero_invoice_id, alerted_at) "
            "values (?, ?, now())",
            [[r.hs_object_id, r.xero_invoice_id] for r in new],
        )


def _ensure_table(con: Connection) -> None:
    con.execute("create schema if not exists sync_log")
    con.execute(
        f"create table if not exists {ALERTED} (hs_object_id varchar not null, "
        "xero_invoice_id varchar, alerted_at timestamp with time zone)"
    )
