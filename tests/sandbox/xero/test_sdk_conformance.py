"""The official ``xero-python`` SDK reads the emulator's answers into its models.

The SDK is pointed at the emulator by giving ``AccountingApi`` a ``base_url`` (the API host +
``/api.xro/2.0``) and the ``IdentityApi``'s token endpoint URLs; the token itself comes from the
emulator's ``/connect/token`` through the SDK's own client-credentials call.
"""

from __future__ import annotations

import datetime
from decimal import Decimal

from xero_python.accounting import AccountingApi
from xero_python.accounting.models import Invoice, Invoices
from xero_python.api_client import ApiClient, Configuration
from xero_python.api_client.oauth2 import OAuth2Token, TokenApi
from xero_python.exceptions import ApiException
from xero_python.identity import IdentityApi

from reverse_etl.core.settings import SANDBOX_XERO_CLIENT_ID, SANDBOX_XERO_CLIENT_SECRET
from tests.fixtures.xero import XeroSandbox


def sdk_client(url: str, monkeypatch) -> ApiClient:  # type: ignore[no-untyped-def]
    store: dict[str, dict] = {}
    for name in ("client_credentials_token_url", "refresh_token_url"):
        monkeypatch.setattr(TokenApi, name, f"{url}/connect/token")
    token = OAuth2Token(client_id=SANDBOX_XERO_CLIENT_ID, client_secret=SANDBOX_XERO_CLIENT_SECRET)
    api_client = ApiClient(Configuration(oauth2_token=token), pool_threads=1)
    api_client.oauth2_token_getter(lambda: store.get("token"))
    api_client.oauth2_token_saver(lambda token: store.__setitem__("token", token))
    return api_client


def test_sdk_reads_invoices_into_models(xero_sandbox: XeroSandbox, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    tenant = xero_sandbox.emulator.seed_demo(150, seed=5)[0]
    api_client = sdk_client(xero_sandbox.url, monkeypatch)
    token = api_client.get_client_credentials_token()
    assert token["access_token"] and token["expires_in"] == 1800

    connections = IdentityApi(api_client, base_url=xero_sandbox.url).get_connections()
    assert [c.tenant_id for c in connections] == [tenant]
    assert connections[0].tenant_type == "ORGANISATION"

    accounting = AccountingApi(api_client, base_url=f"{xero_sandbox.url}/api.xro/2.0")
    page = accounting.get_invoices(tenant, page=1)
    assert isinstance(page, Invoices)
    assert page.pagination.item_count == 150 and page.pagination.page_count == 2
    assert len(page.invoices) == 100
    invoice = page.invoices[0]
    assert isinstance(invoice, Invoice)
    assert isinstance(invoice.date, datetime.date)
    assert isinstance(invoice.updated_date_utc, datetime.datetime)
    assert invoice.updated_date_utc.utcoffset() == datetime.timedelta(0)
    assert invoice.line_items and invoice.line_items[0].line_item_id
    assert invoice.contact.contact_id and invoice.contact.name
    assert invoice.status in {"DRAFT", "SUBMITTED", "AUTHORISED", "PAID", "VOIDED", "DELETED"}
    for inv in page.invoices:
        lines = sum(Decimal(str(li.line_amount)) for li in inv.line_items)
        tax = Decimal(str(inv.total_tax))
        expected = lines - tax if inv.line_amount_types.value == "Inclusive" else lines
        assert Decimal(str(inv.sub_total)) == expected
        if inv.status == "PAID":
            assert isinstance(inv.fully_paid_on_date, datetime.date)

    since = datetime.datetime(2024, 6, 1, tzinfo=datetime.UTC)
    recent = accounting.get_invoices(
        tenant, if_modified_since=since, where='Type=="ACCREC"', order="UpdatedDateUTC ASC", page=1
    )
    assert recent.invoices, "some invoices changed in the last days before the clock's now"
    assert all(i.updated_date_utc > since for i in recent.invoices)
    assert {str(i.type) for i in recent.invoices} == {"ACCREC"}

    one = accounting.get_invoice(tenant, invoice.invoice_id)
    assert one.invoices[0].invoice_id == invoice.invoice_id
    summary = accounting.get_invoices(tenant, page=1, summary_only=True, page_size=10)
    assert len(summary.invoices) == 10 and not summary.invoices[0].line_items


def test_sdk_surfaces_the_emulators_401(xero_sandbox: XeroSandbox, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    tenant = xero_sandbox.emulator.seed_demo(3)[0]
    api_client = sdk_client(xero_sandbox.url, monkeypatch)
    api_client.get_client_credentials_token()
    xero_sandbox.emulator.identity.forget_tokens()
    accounting = AccountingApi(api_client, base_url=f"{xero_sandbox.url}/api.xro/2.0")
    try:
        accounting.get_invoices(tenant, page=1)
    except ApiException as exc:
        assert exc.status == 401
    else:  # pragma: no cover
        raise AssertionError("expected 401")
