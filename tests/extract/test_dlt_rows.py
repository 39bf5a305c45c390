"""Unit tests: the rows the Xero resources hand to dlt (typed-JSON values, hints once per
table, bounded memory of versions) hold exactly what the typed parse holds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import dlt
from dlt.common.json import custom_pua_decode, json

from pipelines.cursor import VersionTracker
from pipelines.dlt_tables import TableRouter
from pipelines.dlt_values import ENCODING, datetime_for_dlt, plain
from pipelines.xero import finance_records as fr
from pipelines.xero.records import parse_invoice
from tests.extract.test_parsing_and_limits import _payload


def _decoded(value: Any) -> Any:
    if isinstance(value, list):
        return [_decoded(v) for v in value]
    if isinstance(value, dict):
        return {k: _decoded(v) for k, v in value.items()}
    return custom_pua_decode(value)


def _without_none(value: Any) -> Any:
    if isinstance(value, list):
        return [_without_none(v) for v in value]
    if isinstance(value, dict):
        return {k: _without_none(v) for k, v in value.items() if v is not None}
    return value


def test_the_dlt_form_decodes_to_the_typed_row_exactly() -> None:
    assert ENCODING  # dlt 1.31's typed JSON: if this fails, the parser falls back to objects
    payload = _payload(
        Total=Decimal("99999999999999999999999999999.999999999"),
        SubTotal=Decimal("0.1500000000000"),  # trailing zeros beyond 9 places: exact
        AmountDue=Decimal("-0.10"),  # the exponent (two places) is kept
        AmountPaid=7,  # an integer amount
        # AmountDue = Total - AmountPaid - AmountCredited (the gate's reconciliation)
        AmountCredited=Decimal("99999999999999999999999999993.099999999"),
        DueDate="/Date(1539950400000+1300)/",
    )
    typed = parse_invoice(payload, "tenant-1")
    for_dlt = parse_invoice(payload, "tenant-1", for_dlt=True)
    assert _decoded(for_dlt) == _without_none(typed)
    assert str(_decoded(for_dlt)["amount_due"]) == "-0.10"
    assert isinstance(_decoded(for_dlt)["total"], Decimal)
    assert "fully_paid_on_date" not in for_dlt  # None is left out (dlt drops it anyway)
    # what dlt's own writer makes of the typed row is what the dlt form already is
    assert json.typed_dumps(_without_none(typed)) == json.typed_dumps(for_dlt)


def test_timestamps_and_finance_rows_in_dlt_form() -> None:
    moment = datetime(2024, 6, 3, 10, 0, 0, 123_000, tzinfo=UTC)
    assert custom_pua_decode(datetime_for_dlt(moment)) == moment
    payment = {
        "PaymentID": "p-1",
        "Invoice": {"InvoiceID": "i-1", "Contact": {"ContactID": "c-1"}},
        "Date": "/Date(1539993600000+0000)/",
        "Amount": Decimal("12.50"),
        "UpdatedDateUTC": "/Date(1717408800123+0000)/",
    }
    args = ("payment", "PaymentID", fr.PAYMENT_FIELDS, payment, "t")
    typed = fr.parse_record(*args)
    assert _decoded(fr.parse_record(*args, for_dlt=True)) == _without_none(typed)
    allocation = {"Amount": Decimal("3.10"), "Date": "/Date(1539993600000+0000)/"}
    rows = fr.parse_children("credit note", "cn", "t", [allocation], "Allocations",
                             fr.ALLOCATION_FIELDS, for_dlt=True)  # fmt: skip
    key = fr.allocation_key("CREDITNOTE", "cn", rows[0])
    assert key == "CREDITNOTE:cn:None:2018-10-20:3.10" and plain(rows[0]["amount"]) == "3.10"


def test_table_hints_are_declared_once_per_table() -> None:
    hints = dlt.mark.make_hints(table_name="invoices", primary_key="invoice_id")
    router = TableRouter()
    first, second = router.rows([{"a": 1}], hints), router.rows([{"a": 2}], hints)
    assert first.meta.hints["table_name"] == "invoices"  # declares the variant
    assert second.meta.table_name == "invoices" and not hasattr(second.meta, "hints")


def test_version_tracker_remembers_recent_pages_only() -> None:
    t = datetime(2024, 6, 3, 10, 0, 0, tzinfo=UTC)
    tracker = VersionTracker(recent_pages=2)
    assert tracker.is_new("a", t)
    tracker.end_page()
    assert not tracker.is_new("a", t)  # the previous page is remembered
    assert not tracker.is_new("a", t.astimezone(timezone(timedelta(hours=2))))  # same instant
    tracker.end_page()
    tracker.end_page()
    assert tracker.is_new("a", t)  # two pages back: forgotten (the merge keeps one copy)
    assert tracker.max_seen == t
