"""Contact details for generated contacts: people, e-mail addresses and company domains.

Made for the customer-matching work (issue 13): most companies write from their own domain,
derived from the name without its legal suffix (``Ridgeway Traders Ltd`` →
``ridgewaytraders.co.nz``); about one in ten contacts shares its domain with another contact
(the same company entered twice, or a branch: ``… (Wellington)``), and sole traders use
free-mail domains (gmail.com, outlook.com …), whose domain says nothing about the company.
A few contacts are ARCHIVED, one in a few hundred is a GDPRREQUEST (Xero's ContactStatus).
"""

from __future__ import annotations

import random
import re
import unicodedata

from sandbox.xero.ledger import ContactDetail, ContactPerson

FREE_MAIL = ("gmail.com", "outlook.com", "yahoo.com", "hotmail.com", "icloud.com", "xtra.co.nz")
LEGAL_SUFFIXES = (
    "pty ltd", "ltd", "limited", "gmbh", "inc", "llc", "co", "aps", "sp. z o.o.", "& sons",
    "company", "plc", "bv", "sarl",
)  # fmt: skip
GIVEN = (
    "Aroha", "James", "Mia", "Liam", "Sofia", "Noah", "Hana", "Oliver", "Ava", "Tama",
    "Charlotte", "Lukas", "Emma", "Jack", "Zoë", "Mateo", "Ngaio", "Isla", "Finn", "Ruby",
)  # fmt: skip
FAMILY = (
    "Smith", "Williams", "Ngata", "Brown", "Müller", "Jensen", "O'Connor", "Taylor", "Wilson",
    "Nguyen", "Kowalski", "Patel", "Walker", "Te Rangi", "Fischer", "Lee", "Martin", "King",
)  # fmt: skip
TLD = {"NZ": "co.nz", "DE": "de", "AU": "com.au", "GB": "co.uk", "US": "com"}


def company_stem(name: str) -> str:
    """``"Ridgeway Traders Ltd #12"`` → ``"ridgewaytraders"``: ASCII, no suffix, no number."""
    text = re.sub(r"#\d+$", "", name).strip().lower()
    text = re.sub(r"\(.*?\)", "", text).strip()
    changed = True
    while changed:
        changed = False
        for suffix in LEGAL_SUFFIXES:
            if text.endswith(" " + suffix):
                text = text[: -len(suffix) - 1].strip(" ,")
                changed = True
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]", "", ascii_text) or "company"


def _local(first: str, last: str) -> str:
    text = unicodedata.normalize("NFKD", f"{first}.{last}").encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z.]", "", text.lower())


def contact_detail(
    rng: random.Random, tenant: int, name: str, index: int, country: str, shared: str | None
) -> tuple[ContactDetail, str]:
    """Details of contact ``name``; returns them and the domain used (``shared`` reuses one)."""
    first, last = rng.choice(GIVEN), rng.choice(FAMILY)
    sole_trader = rng.random() < 0.12
    if sole_trader:
        domain = rng.choice(FREE_MAIL)
    else:
        domain = shared or f"{company_stem(name)}.{TLD.get(country, 'com')}"
    person_count = 0 if rng.random() < 0.2 else 1 + int(rng.random() * 3)
    persons = []
    for n in range(person_count):
        pf, pl = rng.choice(GIVEN), rng.choice(FAMILY)
        pdomain = rng.choice(FREE_MAIL) if sole_trader else domain
        persons.append(ContactPerson(pf, pl, f"{_local(pf, pl)}@{pdomain}", n == 0))
    if sole_trader:
        email = f"{_local(first, last)}{index % 97}@{domain}"
    else:
        email = f"{rng.choice(('accounts', 'info', 'billing', _local(first, last)))}@{domain}"
    roll = rng.random()
    status = "ARCHIVED" if roll < 0.04 else "GDPRREQUEST" if roll < 0.045 else "ACTIVE"
    detail = ContactDetail(
        tenant=tenant,
        first_name=first,
        last_name=last,
        email="" if rng.random() < 0.05 else email,
        account_number=f"CUST-{index:05d}" if rng.random() < 0.6 else "",
        status=status,
        persons=persons,
    )
    return detail, domain
