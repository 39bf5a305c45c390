"""Demo CRM for the sandbox: HubSpot companies and contacts as a sales team would already have
them, so that the first `make sync` shows invoices attached to customers (issue 13).

Seeded once, with a fresh HubSpot emulator beside a freshly seeded Xero one, from the Xero
customers that have invoices, busiest first, in a fixed order (the demo is deterministic):

- every 4th: a HubSpot contact with the customer's email, in capitals (rule 2), at a company
  whose name has nothing in common with the customer's;
- every 4th + 1: a company at the customer's email domain, written as a person would
  (``www.`` and capitals; rule 3), unless the domain is free mail;
- every 4th + 2: a company of the customer's name with other punctuation and a legal suffix
  (rule 4);
- the first customer left after those gets two companies of one normalised name, so it is
  listed in ``reverse_etl.unmatched_customers`` rather than guessed;
- the rest have no company (left unmatched; ``HUBSPOT_CREATE_COMPANIES=true`` creates theirs).
"""

from __future__ import annotations

from typing import Any

from sandbox.hubspot import HubSpotEmulator
from sandbox.xero import XeroEmulator

FREE_MAIL = ("gmail.com", "outlook.com", "hotmail.com", "yahoo.com", "icloud.com")
CUSTOMERS = 24  # how many of the busiest customers get a CRM presence


def seed_demo_crm(xero: XeroEmulator, hubspot: HubSpotEmulator) -> dict[str, int]:
    """Seed companies and contacts; returns how many of each."""
    customers = _busiest_customers(xero)[:CUSTOMERS]
    companies: list[dict[str, Any]] = []
    contacts: list[tuple[dict[str, Any], int]] = []  # (contact, index of its company)
    ambiguous_done = False
    for n, customer in enumerate(customers):
        email = _email(customer)
        domain = email.split("@")[1] if email and "@" in email else ""
        kind = n % 4
        if kind == 0 and email:
            companies.append({"name": f"Account {n + 1} (sales)"})
            first, last = customer.get("first_name") or "", customer.get("last_name") or ""
            contacts.append(
                ({"email": email.upper(), "firstname": first, "lastname": last}, len(companies) - 1)
            )
        elif kind == 1 and domain and domain not in FREE_MAIL:
            companies.append({"name": f"Prospect {n + 1}", "domain": "www." + domain.upper()})
        elif kind == 2:
            companies.append({"name": _respelled(customer["name"])})
        elif not ambiguous_done:
            ambiguous_done = True
            companies.append({"name": _respelled(customer["name"])})
            companies.append({"name": customer["name"].upper() + " LLC"})
    company_ids = hubspot.seed("companies", companies) if companies else []
    if contacts:
        hubspot.seed(
            "contacts",
            [{**contact, "associatedcompanyid": company_ids[i]} for contact, i in contacts],
        )
    return {"companies": len(company_ids), "contacts": len(contacts)}


def _busiest_customers(xero: XeroEmulator) -> list[dict[str, Any]]:
    tenant = xero.tenant_ids[0]
    counts: dict[int, int] = {}
    for invoice in xero.invoices(tenant):
        if invoice.type == "ACCREC" and invoice.status in ("AUTHORISED", "PAID"):
            counts[invoice.contact] = counts.get(invoice.contact, 0) + 1
    by_index = {c["index"]: c for c in xero.contacts(tenant)}
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    return [by_index[i] for i, _ in ranked if i in by_index]


def _email(customer: dict[str, Any]) -> str:
    persons = customer.get("persons") or []
    return str(customer.get("email_address") or (persons[0]["email_address"] if persons else ""))


def _respelled(name: str) -> str:
    """The same company as a person might type it: other case, no punctuation, a suffix."""
    words = "".join(ch if ch.isalnum() else " " for ch in name).split()
    return (" ".join(words).upper() + ", Limited") if words else name
