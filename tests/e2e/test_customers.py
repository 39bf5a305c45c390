"""Invoices attached to customers (issue 13), end to end: Xero emulator → dlt → DuckDB → dbt
matching → associations and company balances → HubSpot emulator.

Expected matches are set up here in the HubSpot emulator (companies and contacts created as a
person would) and checked against the emulator's own association store; balances against
``marts.dim_customers`` and against the Xero emulator's invoices.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import ROUND_HALF_EVEN, Decimal
from zoneinfo import ZoneInfo

import pytest
from typer.testing import CliRunner

from pipelines.xero.timezones import iana_timezone
from reverse_etl.app.cli import app

runner = CliRunner()
OBJECT = "xero_invoice"
# three to four whole syncs per test (dbt builds dominate): longer than the suite's default
pytestmark = pytest.mark.timeout(2400)


def invoke(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def sync() -> str:
    return invoke("sync")


def customers_by_invoices(world) -> list[dict]:
    """Xero contacts with mirrored invoices, most invoices first (from the Xero emulator)."""
    xero = world.xero.emulator
    counts: dict[int, int] = {}
    for invoice in xero.invoices(world.tenant_id):
        if invoice.type == "ACCREC" and invoice.status in ("AUTHORISED", "PAID"):
            counts[invoice.contact] = counts.get(invoice.contact, 0) + 1
    contacts = {c["index"]: c for c in xero.contacts(world.tenant_id)}
    return [contacts[i] for i, _ in sorted(counts.items(), key=lambda kv: -kv[1])]


def invoice_records_of(world, contact_id: str) -> list[dict]:
    return [
        r
        for r in world.hubspot.emulator.records(OBJECT)
        if r["properties"].get("xero_contact_id") == contact_id and not r["archived"]
    ]


def associated(world, record_id: str, to_type: str) -> set[str]:
    return world.hubspot.emulator.associated(OBJECT, record_id, to_type)


def assert_attached(world, contact_id: str, company: str | None, contact: str | None) -> None:
    records = invoice_records_of(world, contact_id)
    assert records, "the customer should have invoice records in HubSpot"
    for record in records:
        assert associated(world, record["id"], "companies") == ({company} if company else set())
        assert associated(world, record["id"], "contacts") == ({contact} if contact else set())


def association_writes(world) -> int:
    by_route = world.hubspot.emulator.counters.snapshot()["by_route"]
    return sum(
        n
        for route, n in by_route.items()
        if "/crm/associations/" in route
        and "/batch/" in route
        and not route.endswith("/batch/read")
    )


def company_writes(world) -> int:
    by_route = world.hubspot.emulator.counters.snapshot()["by_route"]
    return sum(
        n
        for route, n in by_route.items()
        if route.startswith("POST /crm/objects/2026-09/{objectType}/batch/")
        and not route.endswith(("/read", "/upsert"))
    )


@pytest.fixture
def ready(world):
    """Invoices synced once; the customer schema exists in HubSpot (setup ran in the push)."""
    sync()
    return world


def company(world, **props: str) -> str:
    (company_id,) = world.hubspot.emulator.seed("companies", [props])
    return company_id


def contact(world, **props: str) -> str:
    (contact_id,) = world.hubspot.emulator.seed("contacts", [props])
    return contact_id


def match_rules(world) -> dict[str, str]:
    return dict(world.query("select contact_id, match_rule from reverse_etl.customer_matches"))


def domain_of(customer: dict) -> str:
    return customer["email_address"].split("@")[1]


def test_each_rule_matches_an_ambiguous_name_is_listed_and_a_quiet_run_writes_nothing(ready):
    """One sync for all four rules (dbt builds are the slow part), then one without changes."""
    xero = ready.xero.emulator
    customers = customers_by_invoices(ready)
    by_id, by_email, by_domain, by_name, ambiguous, free_mail = customers[:6]
    # rule 1: a person set the ContactID on a company whose name matches nothing
    pinned = company(ready, name="Somebody Else Entirely", xero_contact_id=by_id["contact_id"])
    # rule 2: a HubSpot contact with a contact person's email, in other case
    person_email = (by_email["persons"] or [by_email])[0]["email_address"].upper()
    employer = company(ready, name="Unrelated Name")
    person = contact(ready, email=person_email, associatedcompanyid=employer)
    # rule 3: the domain of the customer's email, written as a person would ("www.", capitals)
    assert domain_of(by_domain) not in {domain_of(c) for c in customers if c is not by_domain}
    by_domain_company = company(
        ready, name="Different", domain="www." + domain_of(by_domain).upper()
    )
    # rule 4: names equal after case, punctuation and legal suffixes
    ready.xero.clock.advance(minutes=5)
    xero.rename_contact(by_name["contact_id"], "Kiwi Widgets Pty. Ltd.")
    named = company(ready, name="KIWI-WIDGETS, Limited")
    # two companies of one normalised name: listed, not guessed
    xero.rename_contact(ambiguous["contact_id"], "Harbour Supplies Ltd")
    harbour = {company(ready, name="Harbour Supplies"), company(ready, name="harbour supplies LLC")}
    # free mail never matches by domain
    xero.set_contact_email(free_mail["contact_id"], "someone@gmail.com")
    company(ready, name="Google mail", domain="gmail.com")

    sync()

    assert_attached(ready, by_id["contact_id"], pinned, None)
    assert_attached(ready, by_email["contact_id"], employer, person)
    assert_attached(ready, by_domain["contact_id"], by_domain_company, None)
    assert_attached(ready, by_name["contact_id"], named, None)
    assert_attached(ready, ambiguous["contact_id"], None, None)
    rules = match_rules(ready)
    assert [rules.get(c["contact_id"]) for c in (by_id, by_email, by_domain, by_name)] == [
        "1a",
        "2",
        "3",
        "4",
    ]
    unmatched = {
        contact_id: (rule, candidates)
        for contact_id, rule, candidates in ready.query(
            "select contact_id, stopped_at_rule, candidates from reverse_etl.unmatched_customers"
        )
    }
    rule, candidates = unmatched[ambiguous["contact_id"]]
    assert rule == "4" and {c.split(" ")[0] for c in candidates} == harbour
    if free_mail["persons"] == []:
        assert unmatched[free_mail["contact_id"]][0] == "none"
    assert free_mail["contact_id"] not in rules or rules[free_mail["contact_id"]] != "3"

    ready.hubspot.emulator.counters.reset()
    sync()
    assert association_writes(ready) == 0
    assert company_writes(ready) == 0


def test_moves_follow_a_person_and_xero_and_balances_equal_dim_customers(ready):
    xero = ready.xero.emulator
    customers = customers_by_invoices(ready)
    moved, giver, taker = customers[0], customers[1], customers[2]
    ready.xero.clock.advance(minutes=5)
    xero.rename_contact(moved["contact_id"], "Harbour Supplies Ltd")
    first = company(ready, name="Harbour Supplies")  # rule 4, stamped by the tool
    giver_company = company(ready, name="Giver", xero_contact_id=giver["contact_id"])
    taker_company = company(ready, name="Taker", xero_contact_id=taker["contact_id"])
    sync()
    assert_attached(ready, moved["contact_id"], first, None)
    companies = {r["id"]: r["properties"] for r in ready.hubspot.emulator.records("companies")}
    assert companies[first]["xero_contact_id"] == moved["contact_id"]

    # a person pins the customer on another company; Xero moves an invoice to another
    # contact; payments and a credit note arrive
    second = company(ready, name="Harbour Group Holdings", xero_contact_id=moved["contact_id"])
    movable = next(
        i
        for i in xero.invoices(ready.tenant_id)
        if i.contact == giver["index"] and i.type == "ACCREC" and i.status == "AUTHORISED"
        and not i.payments and not i.credits
    )  # fmt: skip
    ready.xero.clock.advance(minutes=5)
    xero.edit(movable.invoice_id, contact_name=xero.contact(taker["contact_id"])["name"])
    for customer in (giver, taker):
        open_invoice = next(
            i
            for i in xero.invoices(ready.tenant_id)
            if i.contact == customer["index"] and i.type == "ACCREC" and i.status == "AUTHORISED"
            and i.invoice_id != movable.invoice_id
        )  # fmt: skip
        xero.pay(open_invoice.invoice_id, Decimal("1.23"))
        xero.credit(open_invoice.invoice_id, Decimal("0.45"))
    sync()

    assert_attached(ready, moved["contact_id"], second, None)
    companies = {r["id"]: r["properties"] for r in ready.hubspot.emulator.records("companies")}
    assert not companies[first].get("xero_contact_id")  # the tool's own stamp is cleared
    assert not companies[first].get("xero_amount_outstanding")
    assert companies[second]["xero_contact_id"] == moved["contact_id"]
    record = next(
        r
        for r in ready.hubspot.emulator.records(OBJECT)
        if r["properties"]["xero_invoice_id"] == movable.invoice_id
    )
    assert associated(ready, record["id"], "companies") == {taker_company}

    pinned = {
        moved["contact_id"]: second,
        giver["contact_id"]: giver_company,
        taker["contact_id"]: taker_company,
    }
    rows = ready.query(
        "select contact_id, receivables_outstanding, receivables_overdue, open_invoice_count, "
        "last_payment_date from marts.dim_customers where contact_id in (select unnest(?))",
        [list(pinned)],
    )
    assert len(rows) == 3
    for contact_id, outstanding, overdue, open_count, last_payment in rows:
        props = companies[pinned[contact_id]]
        assert Decimal(props["xero_amount_outstanding"]) == outstanding
        assert Decimal(props["xero_amount_overdue"]) == overdue
        assert Decimal(props["xero_open_invoices"]) == open_count
        assert props.get("xero_last_payment_date") == (
            last_payment.isoformat() if last_payment else None
        )
    # and independently of the marts, from the Xero emulator's own state
    for contact_id, company_id in pinned.items():
        outstanding, overdue, count, last_payment = owed_in_xero(ready, contact_id)
        props = companies[company_id]
        assert Decimal(props["xero_amount_outstanding"]) == outstanding, contact_id
        assert Decimal(props["xero_amount_overdue"]) == overdue, contact_id
        assert int(props["xero_open_invoices"]) == count, contact_id
        assert props.get("xero_last_payment_date") == last_payment, contact_id
    assert any(owed_in_xero(ready, c)[0] for c in pinned), "a customer should owe something"


def owed_in_xero(world, contact_id: str) -> tuple[Decimal, Decimal, int, str | None]:
    """What a customer owes in base currency, overdue, open invoices and last payment date,
    from the Xero emulator's invoices and payments: each open invoice's AmountDue ÷ its
    CurrencyRate rounded half to even to the cent, summed; overdue when due before today in the
    organisation's time zone."""
    xero = world.xero.emulator
    index = xero.contact(contact_id)["index"]
    zone = iana_timezone(xero.organisation(world.tenant_id)["xero_timezone"])
    today = datetime.now(ZoneInfo(zone)).date()
    outstanding = overdue = Decimal(0)
    count = 0
    mine = set()
    for invoice in xero.invoices(world.tenant_id):
        if invoice.contact != index or invoice.type != "ACCREC":
            continue
        mine.add(invoice.invoice_id)
        due = Decimal(str(xero.invoice(invoice.invoice_id)["AmountDue"]))
        if invoice.status != "AUTHORISED" or due <= 0:
            continue
        base = (due * 1_000_000 / invoice.rate_micros).quantize(
            Decimal("0.01"), rounding=ROUND_HALF_EVEN
        )
        outstanding += base
        count += 1
        if date.fromordinal(invoice.due_date) < today:
            overdue += base
    paid = [
        p["payment_date"]
        for p in xero.payments(world.tenant_id)
        if p["invoice_id"] in mine and p["status"] != "DELETED"
    ]
    return outstanding, overdue, count, max(paid).isoformat() if paid else None


def test_create_companies_makes_one_company_per_unmatched_customer_and_never_twice(
    world, monkeypatch
):
    """``HUBSPOT_CREATE_COMPANIES=true`` on an empty HubSpot: a company for each customer no
    rule found a candidate for, stamped with its ContactID and carrying its invoices; the next
    run finds them by rule 1 and creates nothing more."""
    monkeypatch.setenv("HUBSPOT_CREATE_COMPANIES", "true")
    sync()
    hub = world.hubspot.emulator
    created = [r for r in hub.records("companies") if not r["archived"]]
    stamped = [r["properties"].get("xero_contact_id") for r in created]
    with_invoices = [c["contact_id"] for c in customers_by_invoices(world)]
    assert with_invoices and len(stamped) == len(set(stamped))
    assert set(with_invoices) <= set(stamped), "every customer with invoices gets a company"
    by_contact = {r["properties"]["xero_contact_id"]: r for r in created}
    for contact_id in with_invoices:  # attached in the same run, not an hour later
        company = by_contact[contact_id]
        assert company["properties"]["name"] == world.xero.emulator.contact(contact_id)["name"]
        assert_attached(world, contact_id, company["id"], None)

    hub.counters.reset()
    sync()
    assert [r["id"] for r in hub.records("companies")] == [r["id"] for r in created]
    assert company_writes(world) == 0 and association_writes(world) == 0
    unmatched = {
        c for (c,) in world.query("select contact_id from reverse_etl.unmatched_customers")
    }
    assert not set(with_invoices) & unmatched, "found by their stamp once their company exists"
    rules = match_rules(world)
    assert {rules[c] for c in with_invoices} == {"1b"}
