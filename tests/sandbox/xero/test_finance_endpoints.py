"""GET /Contacts, /Payments, /CreditNotes, /Overpayments, /Prepayments, /Organisation, and the
generator's invariants (payments and allocations add up to each invoice's amounts)."""

from __future__ import annotations

from decimal import Decimal

from xero_python.accounting import AccountingApi
from xero_python.accounting.models import Contacts, CreditNotes, Organisations, Payments

from sandbox.xero.model import settle
from tests.fixtures.xero import XeroSandbox
from tests.sandbox.xero.conftest import XeroHttp
from tests.sandbox.xero.test_sdk_conformance import sdk_client

API = "/api.xro/2.0/"


def test_payments_page_by_100_and_honour_if_modified_since(xero_http: XeroHttp) -> None:
    emu = xero_http.sandbox.emulator
    everything = emu.payments(xero_http.tenant_id)
    first = xero_http.get(API + "Payments", {"page": 1}).json()
    assert first["pagination"]["itemCount"] == len(everything) > 100
    assert len(first["Payments"]) == 100
    xero_http.sandbox.clock.advance(3600)
    xero_http.login()  # the token lived 30 minutes
    open_invoice = next(i for i in emu.invoices() if i.status == "AUTHORISED")
    emu.pay(open_invoice.invoice_id, Decimal("2.50"))
    since = xero_http.sandbox.clock().strftime("%Y-%m-%dT%H:%M:%S")
    changed = xero_http.get(API + "Payments", {"page": 1}, If_Modified_Since=since).json()
    assert [p["Amount"] for p in changed["Payments"]] == [2.5]
    assert changed["Payments"][0]["Invoice"]["InvoiceID"] == open_invoice.invoice_id


def test_where_and_order_are_as_strict_as_for_invoices(xero_http: XeroHttp) -> None:
    deleted = xero_http.get(API + "Payments", {"where": 'Status=="DELETED"'}).json()["Payments"]
    assert deleted and {p["Status"] for p in deleted} == {"DELETED"}
    bad = xero_http.get(API + "Payments", {"where": "Amount.Foo(1)"})
    assert bad.status_code == 400 and bad.json()["Type"] == "QueryParseException"
    unknown = xero_http.get(API + "CreditNotes", {"order": "Colour ASC"})
    assert unknown.status_code == 400 and "CreditNote" in unknown.json()["Message"]
    ordered = xero_http.get(API + "CreditNotes", {"order": "Total DESC"}).json()["CreditNotes"]
    totals = [c["Total"] for c in ordered]
    assert totals == sorted(totals, reverse=True)


def test_contacts_leave_archived_out_unless_asked(xero_http: XeroHttp) -> None:
    emu = xero_http.sandbox.emulator
    all_contacts = emu.contacts(xero_http.tenant_id)
    archived = [c for c in all_contacts if c["contact_status"] == "ARCHIVED"]
    default = xero_http.get(API + "Contacts").json()["Contacts"]
    included = xero_http.get(API + "Contacts", {"includeArchived": "true"}).json()["Contacts"]
    assert len(included) == len(all_contacts)
    assert len(default) == len(all_contacts) - len(archived)
    summary = xero_http.get(API + "Contacts", {"summaryOnly": "true"}).json()["Contacts"]
    assert "Balances" not in summary[0] and "Balances" in default[0]


def test_unauthenticated_finance_calls_are_refused_like_invoices(xero_http: XeroHttp) -> None:
    xero_http.access_token = "nope"
    assert xero_http.get(API + "Contacts").status_code == 401
    assert xero_http.get(API + "Organisation").status_code == 401


def test_generator_invariants_hold_for_every_invoice(xero_sandbox: XeroSandbox) -> None:
    emu = xero_sandbox.emulator
    tenants = emu.seed_demo(4000, seed=11, tenants=2)
    for tenant in tenants:
        payments: dict[str, Decimal] = {}
        for p in emu.payments(tenant):
            if p["status"] == "AUTHORISED":
                payments[p["invoice_id"]] = payments.get(p["invoice_id"], Decimal(0)) + p["amount"]
        credited: dict[str, Decimal] = {}
        for a in emu.allocations(tenant):
            if not a["is_deleted"]:
                credited[a["invoice_id"]] = credited.get(a["invoice_id"], Decimal(0)) + a["amount"]
        kinds = {a["source_type"] for a in emu.allocations(tenant)}
        assert kinds == {"CREDITNOTE", "OVERPAYMENT", "PREPAYMENT"}
        assert any(p["status"] == "DELETED" for p in emu.payments(tenant))
        for inv in emu.invoices(tenant):
            totals = inv.totals()
            assert Decimal(totals.amount_paid) / 100 == payments.get(inv.invoice_id, 0)
            assert Decimal(totals.amount_credited) / 100 == credited.get(inv.invoice_id, 0)
            assert totals.amount_due == totals.total - totals.amount_paid - totals.amount_credited
            if inv.status in ("AUTHORISED", "PAID"):
                status, paid_on = inv.status, inv.fully_paid_on
                settle(inv, totals)  # what the derivation says must be what was generated
                assert (inv.status, inv.fully_paid_on) == (status, paid_on)
        for doc in emu.credit_docs("CREDITNOTE", tenant):
            assert doc.remaining >= 0
            assert (doc.status == "PAID") == (doc.remaining == 0 and bool(doc.allocations))


def test_contacts_share_domains_use_free_mail_and_legal_suffixes(xero_sandbox: XeroSandbox) -> None:
    emu = xero_sandbox.emulator
    tenant = emu.seed_demo(3000, seed=3)[0]
    contacts = emu.contacts(tenant)
    domains = [c["email_address"].split("@")[1] for c in contacts if c["email_address"]]
    assert any(d in ("gmail.com", "outlook.com", "yahoo.com", "hotmail.com") for d in domains)
    assert len(set(domains)) < len(domains)  # some companies share a domain
    assert any(c["name"].split(" #")[0].endswith(("Ltd", "GmbH", "Inc", "LLC")) for c in contacts)
    assert sum(len(c["persons"]) for c in contacts) > len(contacts) // 2


def test_mutations_move_the_derived_invoice_fields(xero_sandbox: XeroSandbox) -> None:
    emu = xero_sandbox.emulator
    tenant = emu.seed_demo(400, seed=5)[0]
    inv = next(i for i in emu.invoices(tenant) if i.status == "AUTHORISED" and not i.credits)
    due = Decimal(inv.totals().amount_due) / 100
    emu.pay(inv.invoice_id, due - Decimal("1.00"), on="2024-05-01")
    settled = emu.pay(inv.invoice_id, Decimal("1.00"), on="2024-05-20")
    assert settled["Status"] == "PAID" and settled["AmountDue"] == 0
    assert settled["FullyPaidOnDate"] == "/Date(1716163200000+0000)/"  # 2024-05-20
    last = [p for p in emu.payments(tenant) if p["invoice_id"] == inv.invoice_id][-1]
    back = emu.delete_payment(last["payment_id"])
    assert back["Status"] == "AUTHORISED" and back["AmountDue"] == 1.0
    assert "FullyPaidOnDate" not in back
    note = next(d for d in emu.credit_docs("CREDITNOTE", tenant) if d.remaining > 100)
    target = emu.create_invoice(
        tenant,
        ContactName=emu.store.contacts[note.contact][1],
        CurrencyCode=note.currency,
        CurrencyRate=str(note.rate_micros / 1_000_000),
    )
    credited = emu.allocate_credit(note.doc_id, target["InvoiceID"], Decimal("1.00"))
    assert credited["AmountCredited"] == 1.0


def test_official_sdk_reads_the_finance_endpoints(xero_sandbox: XeroSandbox, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    tenant = xero_sandbox.emulator.seed_demo(600, seed=5)[0]
    api_client = sdk_client(xero_sandbox.url, monkeypatch)
    api_client.get_client_credentials_token()
    accounting = AccountingApi(api_client, base_url=f"{xero_sandbox.url}/api.xro/2.0")
    contacts = accounting.get_contacts(tenant, page=1)
    assert isinstance(contacts, Contacts) and contacts.contacts[0].contact_id
    assert contacts.contacts[0].balances.accounts_receivable.outstanding is not None
    payments = accounting.get_payments(tenant, page=1)
    assert isinstance(payments, Payments)
    assert payments.payments[0].invoice.invoice_id and payments.payments[0].payment_type
    notes = accounting.get_credit_notes(tenant, page=1)
    assert isinstance(notes, CreditNotes) and notes.credit_notes[0].allocations is not None
    assert accounting.get_overpayments(tenant, page=1).overpayments is not None
    assert accounting.get_prepayments(tenant, page=1).prepayments is not None
    org = accounting.get_organisations(tenant)
    assert isinstance(org, Organisations)
    assert org.organisations[0].timezone.value == "NEWZEALANDSTANDARDTIME"  # the SDK enum
    assert org.organisations[0].financial_year_end_month == 3


def test_saved_state_keeps_the_finance_records(xero_sandbox: XeroSandbox, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from sandbox.xero import XeroEmulator

    emu = xero_sandbox.emulator
    tenant = emu.seed_demo(800, seed=9)[0]
    paid = next(p for p in emu.payments(tenant) if p["status"] == "AUTHORISED")
    emu.delete_payment(paid["payment_id"])
    emu.rename_contact(emu.contacts(tenant)[0]["contact_id"], "Saved & Loaded Ltd")
    loaded = XeroEmulator.load(emu.save(tmp_path / "state.json.gz"), clock=xero_sandbox.clock)
    assert loaded.payments(tenant) == emu.payments(tenant)
    assert loaded.allocations(tenant) == emu.allocations(tenant)
    assert loaded.contacts(tenant) == emu.contacts(tenant)
    assert loaded.organisation(tenant) == emu.organisation(tenant)
    for inv in loaded.invoices(tenant):  # allocations are shared with their documents again
        for allocation in inv.credits:
            assert allocation in allocation.source.allocations
