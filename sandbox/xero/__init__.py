"""A local, stateful emulator of the Xero Accounting API (identity, connections, Invoices,
Contacts, Payments, CreditNotes, Overpayments, Prepayments, Organisation).

Python interface (``emulator.py``)::

    emu = XeroEmulator(limits=XeroLimits() | XeroLimits.unlimited(), clock=ManualClock(...))
    emu.app()                                  # aiohttp app: identity + API + /_sandbox/
    emu.seed_demo(invoices, seed=7, tenants=1) # -> tenant ids (deterministic)
    emu.create_invoice(tenant_id, **fields) / authorise / submit / pay / credit /
        remove_payments / void / delete / edit / corrupt_invoice   # each bumps UpdatedDateUTC
    emu.pay(id, amount=None, on=None) / delete_payment(payment_id) / allocate_credit(doc_id,
        invoice_id, amount) / rename_contact(contact_id, name) / set_contact_email(...)
    emu.contacts() / payments() / credit_docs(kind) / allocations() / organisation()  # views
    emu.activity(hours=1.0, seed=None)         # -> counts by kind
    emu.save(path) ; XeroEmulator.load(path, **kwargs)
    emu.configure_webhooks(url, key[, deliver_every]) ; emu.flush_webhooks() ;
        emu.send_intent_to_receive()
    emu.add_client(id, secret, tenant_ids=None) ; emu.issue_refresh_token(client_id)
    emu.faults, emu.counters, emu.limits, emu.tenant_ids, emu.invoice(id), emu.reset()

HTTP (``app.py``, ``control.py``): ``POST /connect/token``, ``GET /connections``,
``GET /api.xro/2.0/Invoices[/{InvoiceID|InvoiceNumber}]``, ``GET /api.xro/2.0/Contacts``,
``/Payments``, ``/CreditNotes``, ``/Overpayments``, ``/Prepayments`` (paged, If-Modified-Since,
``where``/``order``: ``finance_reading.py``), ``GET /api.xro/2.0/Organisation``, and
``/_sandbox/…`` control routes.

Choices where Xero's documentation is silent, each explained where it is implemented:
``If-Modified-Since`` is inclusive of the header time truncated to the second (``query.py``);
listing without ``page`` returns every match without line items or ``pagination``
(``render.py``); answers are JSON only, so a request without ``Accept: application/json`` gets
406 where Xero would answer XML (``app.py``); the default order is ``UpdatedDateUTC`` ascending.
"""

from sandbox.xero.emulator import XeroEmulator
from sandbox.xero.limits import XeroLimits

__all__ = ["XeroEmulator", "XeroLimits"]
