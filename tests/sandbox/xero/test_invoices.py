"""GET /Invoices: envelope, paging, If-Modified-Since boundary, filters, shapes, arithmetic."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from email.utils import format_datetime

from tests.sandbox.xero.conftest import XeroHttp


def ms(value: str) -> int:
    assert value.startswith("/Date(") and value.endswith("+0000)/"), value
    return int(value[6:-7])


def all_invoices(client: XeroHttp, **params: object) -> list[dict]:
    return client.invoices({"page": 1, "pageSize": 1000, **params}).json()["Invoices"]


def test_envelope_and_paging(xero_http: XeroHttp) -> None:
    first = xero_http.invoices({"page": 1}).json()
    assert set(first) == {"Id", "Status", "ProviderName", "DateTimeUTC", "pagination", "Invoices"}
    assert first["DateTimeUTC"].startswith("/Date(")
    assert first["pagination"] == {"page": 1, "pageSize": 100, "pageCount": 3, "itemCount": 250}
    last = xero_http.invoices({"page": 3}).json()
    assert len(last["Invoices"]) == 50
    beyond = xero_http.invoices({"page": 4}).json()
    assert beyond["Invoices"] == [] and beyond["pagination"]["page"] == 4
    sized = xero_http.invoices({"page": 2, "pageSize": 40}).json()
    assert sized["pagination"] == {"page": 2, "pageSize": 40, "pageCount": 7, "itemCount": 250}
    ids = [i["InvoiceID"] for p in range(1, 8)
           for i in xero_http.invoices({"page": p, "pageSize": 40}).json()["Invoices"]]  # fmt: skip
    assert len(ids) == len(set(ids)) == 250


def test_page_size_is_capped_at_1000_and_must_be_positive(xero_http: XeroHttp) -> None:
    capped = xero_http.invoices({"page": 1, "pageSize": 5000}).json()
    assert capped["pagination"]["pageSize"] == 1000
    bad = xero_http.invoices({"page": 1, "pageSize": 0})
    assert bad.status_code == 400
    assert xero_http.invoices({"page": "x"}).status_code == 400


def test_without_page_all_invoices_come_without_line_items(xero_http: XeroHttp) -> None:
    body = xero_http.invoices().json()
    assert "pagination" not in body
    assert len(body["Invoices"]) == 250
    assert not any("LineItems" in inv for inv in body["Invoices"])
    assert all("LineItems" in inv for inv in all_invoices(xero_http))


def test_default_order_is_oldest_change_first(xero_http: XeroHttp) -> None:
    stamps = [ms(i["UpdatedDateUTC"]) for i in all_invoices(xero_http)]
    assert stamps == sorted(stamps)


def test_if_modified_since_is_from_the_truncated_second_on(xero_http: XeroHttp) -> None:
    emulator, clock = xero_http.sandbox.emulator, xero_http.sandbox.clock
    clock.set(datetime(2024, 6, 3, 9, 10, 0, 250_000, tzinfo=UTC))
    target = all_invoices(xero_http)[0]["InvoiceID"]
    emulator.edit(target, reference="changed")
    changed_ms = ms(emulator.invoice(target)["UpdatedDateUTC"])
    assert changed_ms % 1000 == 250

    def since(header: str) -> list[str]:
        answer = xero_http.invoices({"page": 1}, If_Modified_Since=header).json()
        return [i["InvoiceID"] for i in answer["Invoices"]]

    # the same second (with or without the milliseconds) still returns it: overlap, dedupe
    assert since("2024-06-03T09:10:00") == [target]
    assert since("2024-06-03T09:10:00.250") == [target]
    assert since("2024-06-03T09:10:00.999Z") == [target]
    assert since("2024-06-03T09:09:59") == [target]
    assert since("2024-06-03T09:10:01") == []
    clock.set(datetime(2024, 6, 3, 9, 12, 0, tzinfo=UTC))
    emulator.edit(target, reference="on the second")
    assert since("2024-06-03T09:12:00") == [target]  # inclusive of the exact second
    assert since("2024-06-03T09:12:01") == []
    http_date = format_datetime(datetime(2024, 6, 3, 9, 10, 0, tzinfo=UTC), usegmt=True)
    assert since(http_date) == [target]
    assert since("2024-06-03T11:10:00+02:00") == [target]  # offsets are honoured
    bad = xero_http.invoices({"page": 1}, If_Modified_Since="yesterday")
    assert bad.status_code == 400


def test_if_modified_since_keeps_voided_and_deleted_invoices(xero_http: XeroHttp) -> None:
    emulator, clock = xero_http.sandbox.emulator, xero_http.sandbox.clock
    draft = emulator.create_invoice(status="DRAFT")["InvoiceID"]
    approved = emulator.create_invoice(status="AUTHORISED")["InvoiceID"]
    clock.advance(seconds=5)
    mark = clock().strftime("%Y-%m-%dT%H:%M:%S")
    clock.advance(seconds=5)
    emulator.delete(draft)
    emulator.void(approved)
    answer = xero_http.invoices({"page": 1}, If_Modified_Since=mark).json()
    seen = {i["InvoiceID"]: i["Status"] for i in answer["Invoices"]}
    assert seen == {draft: "DELETED", approved: "VOIDED"}


def test_list_filters(xero_http: XeroHttp) -> None:
    invoices = all_invoices(xero_http)
    paid = [i for i in invoices if i["Status"] == "PAID"]
    assert {i["Status"] for i in all_invoices(xero_http, Statuses="PAID")} == {"PAID"}
    assert len(all_invoices(xero_http, Statuses="PAID")) == len(paid)
    assert len(all_invoices(xero_http, Statuses="PAID,VOIDED")) == len(
        [i for i in invoices if i["Status"] in ("PAID", "VOIDED")]
    )
    some = [i["InvoiceID"] for i in invoices[:3]]
    assert [i["InvoiceID"] for i in all_invoices(xero_http, IDs=",".join(some))] == some
    number = next(i["InvoiceNumber"] for i in invoices if i["Type"] == "ACCREC")
    assert [i["InvoiceNumber"] for i in all_invoices(xero_http, InvoiceNumbers=number)] == [number]
    contact = invoices[0]["Contact"]["ContactID"]
    by_contact = all_invoices(xero_http, ContactIDs=contact)
    assert by_contact and {i["Contact"]["ContactID"] for i in by_contact} == {contact}


def test_long_ids_list_is_refused_like_xero(xero_http: XeroHttp) -> None:
    """More than 52 ids: 404 "cannot be found" although every invoice exists (Xero's
    query-length limit); 52 are answered."""
    ids = [i["InvoiceID"] for i in all_invoices(xero_http)][:53]
    assert len(ids) == 53
    answered = xero_http.invoices({"page": 1, "IDs": ",".join(ids[:52])})
    assert answered.status_code == 200 and len(answered.json()["Invoices"]) == 52
    refused = xero_http.invoices({"page": 1, "IDs": ",".join(ids)})
    assert refused.status_code == 404
    assert "cannot be found" in refused.text


def test_where_clauses(xero_http: XeroHttp) -> None:
    invoices = all_invoices(xero_http)
    sales = all_invoices(xero_http, where='Type=="ACCREC"')
    assert sales and {i["Type"] for i in sales} == {"ACCREC"}
    assert len(sales) == len([i for i in invoices if i["Type"] == "ACCREC"])
    paid_sales = all_invoices(xero_http, where='Type=="ACCREC" && Status=="PAID"')
    assert paid_sales and {(i["Type"], i["Status"]) for i in paid_sales} == {("ACCREC", "PAID")}
    same = all_invoices(xero_http, where='Type == "ACCREC" AND Status == "PAID"')
    assert [i["InvoiceID"] for i in same] == [i["InvoiceID"] for i in paid_sales]
    either = all_invoices(xero_http, where='Status=="VOIDED" || Status=="DELETED"')
    assert {i["Status"] for i in either} <= {"VOIDED", "DELETED"}
    contact = invoices[0]["Contact"]["ContactID"]
    by_guid = all_invoices(xero_http, where=f'Contact.ContactID==guid("{contact}")')
    assert by_guid and {i["Contact"]["ContactID"] for i in by_guid} == {contact}
    due = all_invoices(xero_http, where="AmountDue>0")
    assert due and all(i["AmountDue"] > 0 for i in due)
    paid_at = all_invoices(xero_http, where="FullyPaidOnDate != null")
    assert paid_at and all("FullyPaidOnDate" in i for i in paid_at)
    recent = all_invoices(xero_http, where="Date>=DateTime(2024, 01, 01)")
    assert all(i["DateString"] >= "2024-01-01" for i in recent)


def test_unsupported_where_or_order_is_400_like_xero(xero_http: XeroHttp) -> None:
    unsupported = ('Colour=="red"', 'Type="ACCREC"', 'Type=="ACCREC" &&', "Type==ACCREC",
                   'Reference.StartsWith("PO")', "Total > null")  # fmt: skip
    for where in unsupported:
        response = xero_http.invoices({"page": 1, "where": where})
        assert response.status_code == 400, where
        assert response.json()["Type"] == "QueryParseException"
    assert xero_http.invoices({"page": 1, "order": "Colour ASC"}).status_code == 400
    assert xero_http.invoices({"page": 1, "order": "Total UP"}).status_code == 400


def test_order(xero_http: XeroHttp) -> None:
    numbers = [i["InvoiceNumber"] for i in all_invoices(xero_http, order="InvoiceNumber DESC")]
    assert numbers == sorted(numbers, reverse=True)
    stamps = [ms(i["UpdatedDateUTC"]) for i in all_invoices(xero_http, order="UpdatedDateUTC DESC")]
    assert stamps == sorted(stamps, reverse=True)
    totals = [i["Total"] for i in all_invoices(xero_http, order="Total")]
    assert totals == sorted(totals)


def test_summary_only_is_lighter(xero_http: XeroHttp) -> None:
    summary = all_invoices(xero_http, summaryOnly="true")
    full = all_invoices(xero_http)
    assert len(summary) == len(full)
    for key in ("LineItems", "Payments", "CreditNotes", "Prepayments", "Overpayments"):
        assert not any(key in inv for inv in summary)
    assert set(summary[0]["Contact"]) == {"ContactID", "Name"}
    assert summary[0]["Total"] == full[0]["Total"]


def test_unitdp_4_keeps_four_decimal_unit_amounts(xero_http: XeroHttp) -> None:
    def unit_amounts(**params: object) -> list[Decimal]:
        raw = xero_http.invoices({"page": 1, "pageSize": 1000, **params}).text
        body = json.loads(raw, parse_float=Decimal)
        return [line["UnitAmount"] for inv in body["Invoices"] for line in inv["LineItems"]]

    two, four = unit_amounts(), unit_amounts(unitdp=4)
    assert all(-u.as_tuple().exponent <= 2 for u in two)
    assert any(-u.as_tuple().exponent > 2 for u in four)
    assert all(abs(a - b) <= Decimal("0.005") for a, b in zip(two, four, strict=True))


def test_amounts_add_up_and_dates_are_microsoft_json(xero_http: XeroHttp) -> None:
    raw = xero_http.invoices({"page": 1, "pageSize": 1000}).text
    invoices = json.loads(raw, parse_float=Decimal)["Invoices"]
    for inv in invoices:
        lines = inv["LineItems"]
        assert 1 <= len(lines) <= 5
        line_sum = sum(line["LineAmount"] for line in lines)
        tax = sum(line["TaxAmount"] for line in lines)
        assert inv["TotalTax"] == tax
        expected_sub = line_sum - tax if inv["LineAmountTypes"] == "Inclusive" else line_sum
        assert inv["SubTotal"] == expected_sub
        assert inv["Total"] == inv["SubTotal"] + inv["TotalTax"]
        assert inv["AmountDue"] == inv["Total"] - inv["AmountPaid"] - inv["AmountCredited"]
        assert inv["AmountPaid"] == sum((p["Amount"] for p in inv["Payments"]), Decimal(0))
        for key in ("Date", "DueDate", "UpdatedDateUTC"):
            ms(inv[key])
        day = datetime.fromtimestamp(ms(inv["Date"]) / 1000, UTC)
        assert inv["DateString"] == day.strftime("%Y-%m-%dT00:00:00")
        if inv["Status"] == "PAID":
            assert inv["AmountDue"] == 0 and "FullyPaidOnDate" in inv
        if inv["CurrencyCode"] != "NZD":
            assert inv["CurrencyRate"] != 1
    statuses = {inv["Status"] for inv in invoices}
    assert statuses == {"DRAFT", "SUBMITTED", "AUTHORISED", "PAID", "VOIDED", "DELETED"}
    assert {inv["Type"] for inv in invoices} == {"ACCREC", "ACCPAY"}
    assert any(inv["Status"] == "AUTHORISED" and inv["AmountPaid"] > 0 for inv in invoices)
    assert any(inv["AmountCredited"] > 0 for inv in invoices)
    today = xero_http.sandbox.clock().date().isoformat()
    assert any(inv["Status"] == "AUTHORISED" and inv["DueDateString"][:10] < today
               for inv in invoices)  # fmt: skip
    names = {inv["Contact"]["Name"] for inv in invoices}
    assert {"Müller GmbH", "Søren Ærø ApS", "株式会社テスト"} & names


def test_single_invoice_by_id_or_number(xero_http: XeroHttp) -> None:
    first = all_invoices(xero_http, where='Type=="ACCREC"')[0]
    by_id = xero_http.get(f"/api.xro/2.0/Invoices/{first['InvoiceID']}").json()
    assert by_id["Invoices"] == [first]
    by_number = xero_http.get(f"/api.xro/2.0/Invoices/{first['InvoiceNumber']}").json()
    assert by_number["Invoices"][0]["InvoiceID"] == first["InvoiceID"]
    missing = xero_http.get("/api.xro/2.0/Invoices/00000000-0000-4000-8000-000000000000")
    assert missing.status_code == 404


def test_json_is_required(xero_http: XeroHttp) -> None:
    response = xero_http.invoices({"page": 1}, Accept="*/*")
    assert response.status_code == 406
    assert "application/json" in response.text


def test_mutation_moves_invoice_to_the_end_with_a_new_updated_date(xero_http: XeroHttp) -> None:
    emulator, clock = xero_http.sandbox.emulator, xero_http.sandbox.clock
    oldest = all_invoices(xero_http)[0]
    clock.advance(timedelta(minutes=5).total_seconds())
    emulator.edit(oldest["InvoiceID"], reference="PO-NEW")
    newest = all_invoices(xero_http)[-1]
    assert newest["InvoiceID"] == oldest["InvoiceID"]
    assert newest["Reference"] == "PO-NEW"
    assert ms(newest["UpdatedDateUTC"]) == int(clock().timestamp() * 1000)
