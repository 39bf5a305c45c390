"""The minimum a client needs: a token, the connected organisations, pages of invoices."""

from __future__ import annotations

from tests.sandbox.xero.conftest import XeroHttp


def test_token_connections_and_first_page(xero_http: XeroHttp) -> None:
    connections = xero_http.get("/connections").json()
    assert [c["tenantId"] for c in connections] == [xero_http.tenant_id]
    assert connections[0]["tenantType"] == "ORGANISATION"

    body = xero_http.invoices({"page": 1}).json()
    assert body["Status"] == "OK"
    assert body["pagination"] == {"page": 1, "pageSize": 100, "pageCount": 3, "itemCount": 250}
    assert len(body["Invoices"]) == 100
    assert all("LineItems" in inv for inv in body["Invoices"])


def test_if_modified_since_returns_only_later_changes(xero_http: XeroHttp) -> None:
    everything = xero_http.invoices({"page": 1, "pageSize": 1000}).json()["Invoices"]
    middle = sorted(inv["UpdatedDateUTC"] for inv in everything)[125]
    ms = int(middle[6:-7])
    from datetime import UTC, datetime

    header = datetime.fromtimestamp(ms // 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S")
    later = xero_http.invoices({"page": 1, "pageSize": 1000}, If_Modified_Since=header).json()
    stamps = [int(inv["UpdatedDateUTC"][6:-7]) for inv in later["Invoices"]]
    assert stamps and min(stamps) > (ms // 1000) * 1000
