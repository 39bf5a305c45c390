"""`start_sandbox`: state kept between runs, and an unreadable state file set aside."""

import requests

from sandbox.server import start_sandbox


def test_state_persists_between_starts_and_bad_files_are_set_aside(tmp_path):
    state = tmp_path / "sandbox"
    first = start_sandbox(xero_port=0, hubspot_port=0, state_dir=state, invoices=25)
    tenants = first.xero.tenant_ids
    ids = {i.invoice_id for i in first.xero.invoices(tenants[0])}
    first.stop()
    assert (state / "xero.json").exists() and (state / "hubspot.json").exists()

    second = start_sandbox(xero_port=0, hubspot_port=0, state_dir=state, invoices=999)
    assert {i.invoice_id for i in second.xero.invoices(tenants[0])} == ids
    second.stop()

    (state / "xero.json").write_text("not a state file")
    third = start_sandbox(xero_port=0, hubspot_port=0, state_dir=state, invoices=10)
    try:
        assert (state / "xero.json.unreadable").read_text() == "not a state file"
        assert len(third.xero.invoices(third.xero.tenant_ids[0])) == 10
        answer = requests.get(f"{third.xero_server.url}/_sandbox/counters", timeout=5)
        assert answer.status_code == 200
    finally:
        third.stop()


def test_xero_tier_sets_the_day_limit(tmp_path):
    """`sandbox up --xero-tier starter`: the Xero emulator allows 1,000 calls a day."""
    handle = start_sandbox(
        xero_port=0, hubspot_port=None, state_dir=tmp_path, invoices=5, xero_tier="starter"
    )
    try:
        limits = requests.get(f"{handle.xero_server.url}/_sandbox/limits", timeout=5).json()
        assert limits["per_day"] == 1_000
    finally:
        handle.stop()


def test_a_fresh_sandbox_has_a_sales_teams_crm_seeded_once(tmp_path):
    """Companies and contacts matching some demo customers (by email, domain and name, and one
    ambiguous name), so the first `make sync` attaches invoices; a restart keeps them as is."""
    state = tmp_path / "sandbox"
    first = start_sandbox(xero_port=0, hubspot_port=0, state_dir=state, invoices=200)
    try:
        companies = [r["properties"] for r in first.hubspot.records("companies")]
        contacts = [r["properties"] for r in first.hubspot.records("contacts")]
        emails = {(c["email_address"] or "").lower() for c in first.xero.contacts()} | {
            p["email_address"].lower() for c in first.xero.contacts() for p in c["persons"]
        }
    finally:
        first.stop()
    assert len(companies) >= 10 and contacts
    assert all(c["email"].lower() in emails for c in contacts)
    assert any((c.get("domain") or "").startswith("www.") for c in companies)
    assert any(c["name"].endswith(", Limited") for c in companies)
    second = start_sandbox(xero_port=0, hubspot_port=0, state_dir=state, invoices=200)
    try:
        assert len(second.hubspot.records("companies")) == len(companies)
    finally:
        second.stop()
