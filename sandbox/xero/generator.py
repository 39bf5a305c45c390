"""Deterministic demo data: organisations, contacts and invoices that look like a real ledger.

``generate(store, invoices=N, seed=S, tenants=T, now=...)`` fills an empty :class:`Store`.
Everything (ids, numbers, amounts, statuses) is a pure function of the seed; dates are placed
relative to ``now`` (so "overdue" means overdue today) — with a fixed clock the output is
identical byte for byte. Mix per organisation: ~85 % sales invoices (``ACCREC``), ~15 % bills
(``ACCPAY``); every status (DRAFT, SUBMITTED, AUTHORISED incl. overdue and part-paid, PAID,
VOIDED, DELETED); ~20 % in a foreign currency with a ``CurrencyRate`` ≠ 1; contacts with
non-ASCII names, people and e-mail domains (:mod:`people`). Money received, as Xero records it:
single and part payments, payments later deleted (``Status: DELETED``, no longer counted),
credit notes, overpayments and prepayments allocated to invoices (some with credit left over,
a few credit notes unallocated). An invoice's ``AmountPaid``/``AmountCredited``/``AmountDue``
are computed from those records (:func:`model.compute_totals`); its PAID status and
``FullyPaidOnDate`` agree with them (what :func:`model.settle` derives). Decisions added for
these records draw from a second random stream, so the invoices themselves are the same as
before they existed. Line items are not stored (see ``model``) and
full payments keep no amount (they settle the remainder), so most invoices are generated
without computing lines: measured on a busy 2-core machine, 100,000 invoices in ~2 s and a
million in ~30 s, at ~0.85 KB of memory per invoice.
"""

from __future__ import annotations

import random
from datetime import datetime

from sandbox.xero.ledger import (
    CREDIT_NOTE,
    DOC_TYPES,
    OVERPAYMENT,
    PREPAYMENT,
    Allocation,
    CreditDoc,
    settle_doc,
)
from sandbox.xero.model import (
    Invoice,
    Payment,
    compute_totals,
    generated_lines,
    round_div,
    seeded_uuid,
)
from sandbox.xero.people import contact_detail
from sandbox.xero.render import datetime_ms
from sandbox.xero.store import Store, Tenant

ORGANISATIONS = (
    ("Kiwi Kitchen Supplies Ltd", "NZD", "!kQ7pR"),
    ("Nordlicht Handel GmbH", "EUR", "!Nd4xL"),
    ("Harbour & Co Pty Ltd", "AUD", "!Hb9sT"),
    ("Thames Digital Ltd", "GBP", "!Tm2wV"),
    ("Maple Ridge Consulting Inc", "USD", "!Mr5zQ"),
)
# by base currency: CountryCode, Xero's Timezone value, financial year end (day, month)
ORG_LOCALE = {
    "NZD": ("NZ", "NEWZEALANDSTANDARDTIME", 31, 3),
    "EUR": ("DE", "WEUROPESTANDARDTIME", 31, 12),
    "AUD": ("AU", "AUSEASTERNSTANDARDTIME", 30, 6),
    "GBP": ("GB", "GMTSTANDARDTIME", 31, 3),
    "USD": ("US", "EASTERNSTANDARDTIME", 31, 12),
}
# units of the foreign currency per unit of the base currency, roughly
FX = {"NZD": 1.0, "AUD": 0.91, "USD": 0.60, "EUR": 0.55, "GBP": 0.47, "JPY": 89.5, "DKK": 4.1}
FIXED_CONTACTS = (
    "Müller GmbH",
    "Søren Ærø ApS",
    "株式会社テスト",
    "Café Olé Ltd",
    "Zoë & Björn O'Connor",
    "Ōtautahi Print Co",
    "Łódź Logistics Sp. z o.o.",
    "Acme Widgets Ltd",
)
FIRST = (
    "Ridgeway",
    "Blue Harbour",
    "Pukeko",
    "Summit",
    "Ironbark",
    "Lumen",
    "Kauri",
    "Atlas",
    "Silver Fern",
    "Northwind",
    "Greenway",
    "Tūī",
    "Orbit",
    "Cobalt",
    "Riverbend",
    "Juniper",
)
SECOND = (
    "Traders",
    "Consulting",
    "Builders",
    "Studio",
    "Foods",
    "Logistics",
    "Media",
    "Health",
    "Engineering",
    "Outfitters",
    "Labs",
    "Partners",
    "Bakery",
    "Motors",
    "Gardens",
)
SUFFIX = ("Ltd", "Limited", "Pty Ltd", "GmbH", "Inc", "& Sons", "LLC", "Co")
SOURCE_URLS = "https://shop.example.com/orders/{}"
DAY_MS = 86_400_000


class Rng(random.Random):
    """``random.Random`` with the two helpers the generator reads best with."""

    def below(self, n: int) -> int:
        return int(self.random() * n)

    def chance(self, percent: float) -> bool:
        return self.random() * 100 < percent

    def next(self) -> int:
        return self.getrandbits(63)


def generate(store: Store, *, invoices: int, seed: int, tenants: int, now: datetime) -> list[str]:
    """Add ``tenants`` organisations and ``invoices`` invoices (spread over them) to ``store``."""
    # a second seeding of the same store gets new organisations, not copies of the first
    rng = Rng(seed * 1_000_003 + 17 + len(store.tenants) * 7_919)
    extra = Rng(seed * 7_368_787 + 3 + len(store.tenants) * 104_729)  # payments, credit, people
    now_ms = datetime_ms(now)
    today = now.date().toordinal()
    tenant_ids = []
    for t in range(tenants):
        name, currency, short = ORGANISATIONS[t % len(ORGANISATIONS)]
        if t >= len(ORGANISATIONS):
            name = f"{name} ({t // len(ORGANISATIONS) + 1})"
        tenant = Tenant(
            tenant_id=seeded_uuid(rng),
            name=name,
            base_currency=currency,
            short_code=short,
            created_ms=now_ms - 900 * DAY_MS,
            branding_theme_id=seeded_uuid(rng),
            connection_id=seeded_uuid(rng),
            auth_event_id=seeded_uuid(rng),
        )
        country, zone, fy_day, fy_month = ORG_LOCALE[currency]
        tenant.country_code, tenant.timezone = country, zone
        tenant.financial_year_end_day, tenant.financial_year_end_month = fy_day, fy_month
        tenant.organisation_id = seeded_uuid(extra)
        index = store.add_tenant(tenant)
        tenant_ids.append(tenant.tenant_id)
        domains: list[str] = []
        contact_count = max(len(FIXED_CONTACTS), min(2_000, invoices // max(tenants, 1) // 15))
        for c in range(contact_count):
            if c < len(FIXED_CONTACTS):
                contact_name = FIXED_CONTACTS[c]
            else:
                contact_name = (
                    f"{FIRST[rng.below(len(FIRST))]} {SECOND[rng.below(len(SECOND))]} "
                    f"{SUFFIX[rng.below(len(SUFFIX))]} #{c}"
                )
            shared = domains[extra.below(len(domains))] if domains and extra.chance(10) else None
            detail, domain = contact_detail(extra, index, contact_name, c, country, shared)
            detail.updated_ms = tenant.created_ms + extra.below(880) * DAY_MS + extra.below(DAY_MS)
            if extra.chance(15):
                detail.default_currency = currency
            domains.append(domain)
            store.add_contact(index, seeded_uuid(rng), contact_name, detail)

    # Invoices are created oldest first so UpdatedDateUTC roughly follows the invoice date.
    span_days = 730
    records: list[Invoice] = []
    for n in range(invoices):
        tenant = n % tenants
        records.append(_invoice(store, rng, extra, tenant, n, invoices, today, now_ms, span_days))
    records.sort(key=lambda inv: inv.updated_ms)
    for inv in records:
        store.insert(inv, event=None)
        for allocation in inv.credits:
            if allocation.source.doc_id not in store.credit_docs:
                store.add_doc(allocation.source)
    for tenant_index in range(len(store.tenants) - tenants, len(store.tenants)):
        for _ in range(max(1, invoices // tenants // 400)):  # credit not (yet) allocated
            store.add_doc(_unallocated_note(store, extra, tenant_index, today, now_ms))
    return tenant_ids


def _invoice(
    store: Store,
    rng: Rng,
    extra: Rng,
    tenant: int,
    n: int,
    total: int,
    today: int,
    now_ms: int,
    span: int,
) -> Invoice:
    org = store.tenants[tenant]
    # position in time: older invoices first, the newest dated today
    age = span - (n * span) // max(total, 1)
    date = today - age
    kind = "ACCPAY" if rng.chance(15) else "ACCREC"
    contacts = store.tenant_contacts[tenant]
    contact = contacts[rng.below(len(contacts))]
    if rng.chance(80):
        currency, rate = org.base_currency, 1_000_000
    else:
        currency = ("USD", "EUR", "GBP", "AUD", "JPY", "DKK")[rng.below(6)]
        if currency == org.base_currency:
            currency = "JPY"
        drift = 0.97 + rng.below(600) / 10_000
        rate = int(FX[currency] / FX.get(org.base_currency, 1.0) * drift * 1_000_000)
    lat = ("Exclusive",) * 8 + ("Inclusive", "NoTax")
    line_amount_types = lat[rng.below(len(lat))]
    due = date + (7, 14, 20, 30, 30, 60)[rng.below(6)]
    status = _status(rng, age)
    line_seed = rng.next()
    number = store.take_number(tenant) if kind == "ACCREC" else f"SUP-{rng.below(90_000) + 10_000}"
    # last change between the invoice date and now (never in the future)
    created_ms = max(0, (date - 719_163) * DAY_MS + 9 * 3_600_000 + rng.below(8 * 3_600_000))
    settle_days = min(age, rng.below(45) + 1)
    updated_ms = min(now_ms - 1_000, created_ms + settle_days * DAY_MS + rng.below(DAY_MS))
    inv = Invoice(
        invoice_id=seeded_uuid(rng),
        tenant=tenant,
        type=kind,
        number=number,
        reference=f"PO-{rng.below(9_000) + 1_000}" if rng.chance(60) else "",
        contact=contact,
        date=date,
        due_date=due,
        status=status,
        line_amount_types=line_amount_types,
        currency=currency,
        rate_micros=rate,
        updated_ms=updated_ms,
        line_seed=line_seed,
        sent_to_contact=status not in ("DRAFT", "SUBMITTED") and kind == "ACCREC",
        has_attachments=rng.chance(10),
        url=SOURCE_URLS.format(n) if kind == "ACCREC" and rng.chance(25) else None,
    )
    paid_on = min(today, date + settle_days)
    if status not in ("PAID", "AUTHORISED"):
        return inv

    def total() -> int:  # only computed when an amount depends on it
        lines = generated_lines(line_seed, kind, line_amount_types)
        return compute_totals(lines, line_amount_types, (), ()).total

    reconciled = paid_on < today - 7 and extra.chance(90)
    if status == "PAID":
        if rng.chance(8):
            credit = round_div(total() * (10 + rng.below(40)), 100)
            inv.credits = (_allocate(store, extra, inv, n, paid_on, credit),)
        payments = [Payment(1, paid_on, None, "Bank transfer", False, updated_ms, reconciled)]
        if extra.chance(12):  # paid in two instalments
            part = round_div(total() * (10 + extra.below(40)), 100)
            first = paid_on - extra.below(max(1, paid_on - date))
            payments.insert(0, Payment(2, first, part, "Part payment", False, updated_ms, True))
        if extra.chance(4):  # a payment entered by mistake and deleted
            wrong = round_div(total() * (20 + extra.below(60)), 100)
            payments.insert(0, Payment(3, paid_on, wrong, "Duplicate", True, updated_ms, False))
        inv.payments = tuple(payments)
        inv.fully_paid_on = paid_on
    elif status == "AUTHORISED":
        if rng.chance(25):
            part = round_div(total() * (10 + rng.below(80)), 100)
            inv.payments = (
                Payment(1, paid_on, part, "Part payment", False, updated_ms, reconciled),
            )
        elif rng.chance(6):
            inv.credits = (_allocate(store, extra, inv, n, paid_on, round_div(total(), 4)),)
        elif extra.chance(3):
            wrong = round_div(total() * (20 + extra.below(60)), 100)
            inv.payments = (Payment(3, paid_on, wrong, "Reversed", True, updated_ms, False),)
        if kind == "ACCREC" and rng.chance(30):
            inv.expected_payment = max(due, today) + rng.below(14)
    return inv


def _allocate(store: Store, extra: Rng, inv: Invoice, n: int, day: int, amount: int) -> Allocation:
    """A credit note (~70 %), overpayment (~20 %) or prepayment (~10 %) of the invoice's contact
    and currency, allocating ``amount`` to it; a quarter keep some credit unallocated."""
    roll = extra.below(100)
    kind = CREDIT_NOTE if roll < 70 else OVERPAYMENT if roll < 90 else PREPAYMENT
    left_over = round_div(amount * (5 + extra.below(50)), 100) if extra.chance(25) else 0
    doc = CreditDoc(
        kind=kind,
        doc_id=seeded_uuid(extra),
        tenant=inv.tenant,
        type=DOC_TYPES[(kind, inv.type)],
        number=f"CN-{n:06d}" if kind == CREDIT_NOTE else f"{kind[:4]}-{n:06d}",
        contact=inv.contact,
        date=day,
        currency=inv.currency,
        rate_micros=inv.rate_micros,
        total=amount + left_over,
        updated_ms=inv.updated_ms,
    )
    allocation = Allocation(doc, inv.invoice_id, inv.number, day, amount, salt=1)
    doc.allocations.append(allocation)
    doc.next_salt = 2
    settle_doc(doc)
    return allocation


def _unallocated_note(store: Store, extra: Rng, tenant: int, today: int, now_ms: int) -> CreditDoc:
    contacts = store.tenant_contacts[tenant]
    day = today - extra.below(200)
    doc = CreditDoc(
        kind=CREDIT_NOTE,
        doc_id=seeded_uuid(extra),
        tenant=tenant,
        type="ACCRECCREDIT",
        number=f"CN-U{extra.below(900_000) + 100_000}",
        contact=contacts[extra.below(len(contacts))],
        date=day,
        currency=store.tenants[tenant].base_currency,
        rate_micros=1_000_000,
        total=(1 + extra.below(2_000)) * 100,
        updated_ms=min(now_ms - 1_000, (day - 719_163) * DAY_MS + 10 * 3_600_000),
    )
    settle_doc(doc)
    return doc


def _status(rng: Rng, age_days: int) -> str:
    roll = rng.below(100)
    if age_days < 45:  # recent invoices are still open more often
        table = ((8, "DRAFT"), (12, "SUBMITTED"), (62, "AUTHORISED"), (94, "PAID"), (97, "VOIDED"))
    else:
        table = ((2, "DRAFT"), (3, "SUBMITTED"), (15, "AUTHORISED"), (93, "PAID"), (97, "VOIDED"))
    for limit, status in table:
        if roll < limit:
            return status
    return "DELETED"
