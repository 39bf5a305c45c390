"""The emulator encodes its answers with orjson when it can (speed, issue 19): the pages must
say exactly what the stdlib encoder said — same records, same values, the same bad values a
test planted — so the emulator got faster, never kinder."""

from __future__ import annotations

import json
import math
from decimal import Decimal
from typing import Any

import pytest

from sandbox.xero import XeroEmulator, render

LIST_ENDPOINTS = (
    "Contacts",
    "Payments",
    "CREDITNOTE",
    "OVERPAYMENT",
    "PREPAYMENT",
)  # emulator keys


def _decoded(body: bytes) -> dict[str, Any]:
    """A body as a client reads it (exact amounts), less the per-answer envelope fields."""
    data = json.loads(body, parse_float=Decimal)
    for volatile in ("Id", "DateTimeUTC"):
        data.pop(volatile, None)
    return data


def _pages(emu: XeroEmulator, tenants: list[str]) -> dict[tuple[str, str, str], Any]:
    emu._clear_cache()
    emu.reader._fragments.clear()
    out = {}
    for tenant in tenants:
        for page in ("1", "2"):
            for shape in ({}, {"summaryOnly": "true"}, {"unitdp": "4"}):
                query = {"page": page, "pageSize": "100", **shape}
                body = emu.list_invoices_body(tenant, query, {})
                out[(tenant, "Invoices", json.dumps(query))] = _decoded(body)
        for endpoint in LIST_ENDPOINTS:
            body = emu.finance.list_body(endpoint, tenant, {"page": "1"}, {})
            out[(tenant, endpoint, "page 1")] = _decoded(body)
    return out


@pytest.fixture
def emulator() -> XeroEmulator:
    emu = XeroEmulator()
    emu.seed_demo(300, seed=11, tenants=2)
    return emu


def test_pages_decode_to_the_same_records_with_either_encoder(
    emulator: XeroEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    tenants = [t.tenant_id for t in emulator.store.tenants]
    fast = _pages(emulator, tenants)
    monkeypatch.setattr(render, "orjson", None)
    stdlib = _pages(emulator, tenants)
    assert fast.keys() == stdlib.keys()
    assert sum(len(v.get("Invoices", [])) for v in fast.values()) > 0
    assert sum(len(v.get("Payments", [])) for v in fast.values()) > 0
    for key, answer in stdlib.items():
        assert fast[key] == answer, key


def test_a_planted_bad_value_reaches_the_client_verbatim(emulator: XeroEmulator) -> None:
    tenant = emulator.store.tenants[0].tenant_id
    first = json.loads(emulator.list_invoices_body(tenant, {"page": "1", "pageSize": "1000"}, {}))[
        "Invoices"
    ]
    nan_id, huge_id = first[0]["InvoiceID"], first[1]["InvoiceID"]
    emulator.corrupt_invoice(nan_id, "Total", float("nan"))
    emulator.corrupt_invoice(huge_id, "SubTotal", 10**40)  # beyond orjson's 64-bit integers
    body = emulator.list_invoices_body(tenant, {"page": "1", "pageSize": "1000"}, {})
    served = {i["InvoiceID"]: i for i in json.loads(body, parse_float=Decimal)["Invoices"]}
    assert math.isnan(served[nan_id]["Total"])  # NaN, as the stdlib writes it, not null
    assert served[huge_id]["SubTotal"] == 10**40


def test_payments_pages_follow_changes_after_the_invoices_were_read(
    emulator: XeroEmulator,
) -> None:
    """A page of payments reuses the totals the page of invoices computed (per invoice
    version): a payment, credit or deletion made after that read shows in the next answer."""
    tenant = emulator.store.tenants[0].tenant_id
    query = {"page": "1", "pageSize": "1000"}
    invoices = json.loads(emulator.list_invoices_body(tenant, query, {}), parse_float=Decimal)
    due = [i for i in invoices["Invoices"] if i["Status"] == "AUTHORISED" and i["AmountDue"] > 2]
    partly, credited = due[0], due[1]
    emulator.pay(partly["InvoiceID"], Decimal("1.25"))
    emulator.pay(partly["InvoiceID"])  # the rest: its amount follows from the new totals
    emulator.credit(credited["InvoiceID"], Decimal("1.00"))
    emulator.pay(credited["InvoiceID"])

    def served() -> dict[str, list[Decimal]]:
        body = emulator.finance.list_body("Payments", tenant, query, {})
        out: dict[str, list[Decimal]] = {}
        for p in json.loads(body, parse_float=Decimal)["Payments"]:
            out.setdefault(p["Invoice"]["InvoiceID"], []).append(p["Amount"])
        return out

    cached = served()
    emulator.reader._totals.clear()
    assert cached == served()  # the same as computed from scratch
    assert sorted(cached[partly["InvoiceID"]]) == sorted(
        [Decimal("1.25"), partly["AmountDue"] - Decimal("1.25")]
    )
    assert cached[credited["InvoiceID"]] == [credited["AmountDue"] - Decimal("1.00")]
