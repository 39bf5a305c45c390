"""The contact control routes and contacts made through the invoice control route (issue 20):
a rename answers 200 with the renamed contact, and a contact created with an invoice is
served to incremental ``GET /Contacts`` reads like any other contact."""

from __future__ import annotations

from datetime import timedelta

API = "/api.xro/2.0/"


def _control(xero_http, path: str, body: dict) -> object:
    return xero_http.session.post(f"{xero_http.sandbox.url}/_sandbox/{path}", json=body, timeout=10)


def test_rename_answers_200_with_the_renamed_contact(xero_http):
    (first, *_) = xero_http.get(API + "Contacts").json()["Contacts"]
    response = _control(xero_http, f"contacts/{first['ContactID']}/rename", {"name": "Renamed Ltd"})
    assert response.status_code == 200, response.text
    assert response.json()["contact_id"] == first["ContactID"].lower()
    assert response.json()["name"] == "Renamed Ltd"
    served = {c["ContactID"]: c["Name"] for c in xero_http.get(API + "Contacts").json()["Contacts"]}
    assert served[first["ContactID"]] == "Renamed Ltd"


def test_a_contact_made_with_an_invoice_is_served_to_incremental_reads(xero_http):
    emu = xero_http.sandbox.emulator
    since = emu.now() - timedelta(seconds=1)
    header = since.strftime("%Y-%m-%dT%H:%M:%S")
    before = xero_http.get(API + "Contacts", If_Modified_Since=header).json()["Contacts"]
    assert "Brand New Customer" not in {c["Name"] for c in before}
    response = _control(
        xero_http,
        "invoices",
        {
            "tenant_id": xero_http.tenant_id,
            "ContactName": "Brand New Customer",
            "LineItems": [{"Description": "x", "Quantity": 1, "UnitAmount": 10}],
        },
    )
    assert response.status_code == 201, response.text
    after = xero_http.get(API + "Contacts", If_Modified_Since=header).json()["Contacts"]
    assert "Brand New Customer" in {c["Name"] for c in after}
